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
# holds anything else). With keyd_handshake=kernel (below): no keyd-handshaked and so no
# GnuTLS and no libnl, and the patched nvme-keyring and nvme-tcp modules instead.
#
# dracut.conf variables (all optional):
#   keyd_sysroot=DIR     take keyd's programs and files from DIR instead of / (an image
#                        builder's tree, or "make install DESTDIR=DIR")
#   keyd_store=DIR       the store to copy (default: keyd.conf's store, else /var/lib/keyd)
#   keyd_policy="F..."   policy files to install in place of /etc/keyd/policy.d/*.policy
#   keyd_handshake=agent|kernel
#                        who runs the NVMe/TCP host's TLS handshake. agent (default):
#                        keyd-handshaked, with GnuTLS and libnl. kernel: nvme-tcp runs it in
#                        the kernel (kernel-patches/0001-0003, docs/in-kernel-handshake.md); the
#                        image then holds no keyd-handshaked, no GnuTLS and no libnl, carries
#                        the patched nvme-keyring and nvme-tcp modules in place of the
#                        kernel's own, and sets "options nvme_tcp tls_handshake=kernel" in
#                        /etc/modprobe.d/keyd-handshake.conf. keyd and keyd-request-key stay
#                        (keyd still unseals the PSK from the TPM).
#   keyd_handshake_modules=DIR
#                        with keyd_handshake=kernel: where the patched nvme-keyring.ko and
#                        nvme-tcp.ko for the image's kernel are (searched below DIR: keyd's
#                        build/kernel/<kver> from mk/kernel.sh, or /lib/modules/<kver> of
#                        another tree). Default: the kernel's own modules, which must then
#                        come from a kernel built with the series. dracut stops when the
#                        modules are not found or are not the patched ones.

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

# The in-kernel TLS handshake (keyd_handshake=kernel) instead of the agent?
_keyd_kernel_handshake() { [[ ${keyd_handshake:-agent} == kernel ]]; }

# _keyd_ko_cat FILE: a module's bytes, decompressed.
_keyd_ko_cat() {
    case $1 in
        *.xz) xz -dc "$1" ;;
        *.zst) zstd -dc "$1" ;;
        *.gz) gzip -dc "$1" ;;
        *) cat "$1" ;;
    esac
}

# _keyd_patched_module NAME: the file of NAME (nvme-keyring, nvme-tcp) built with
# kernel-patches/0001-0003 for $kernel, below keyd_handshake_modules (default: the kernel's own
# modules). Patched: nvme-keyring exports tls13_psk_client_hello, nvme-tcp has the
# tls_handshake parameter; and the vermagic names $kernel. Prints what it found otherwise.
_keyd_patched_module() {
    local name=$1 dir=${keyd_handshake_modules:-$srcmods} f vm seen=""
    # (DIR/: follow DIR when it is a link, nothing below it - /lib/modules/V/build would
    # lead into the headers.)
    while IFS= read -r f; do
        vm=$(modinfo -F vermagic "$f" 2> /dev/null)
        vm=${vm%% *}
        if [[ $vm != "$kernel" ]]; then
            seen+=" $f (for ${vm:-an unknown kernel})"
            continue
        fi
        case $name in
            nvme-keyring) _keyd_ko_cat "$f" | grep -ac tls13_psk_client_hello > /dev/null ;;
            nvme-tcp) modinfo -F parm "$f" 2> /dev/null | grep -q '^tls_handshake:' ;;
        esac || {
            seen+=" $f (not patched)"
            continue
        }
        printf '%s' "$f"
        return 0
    done < <(find "$dir/" \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" \
        -o -name "$name.ko.gz" \) -type f 2> /dev/null | sort)
    printf '%s' "${seen:- none}"
    return 1
}

# _keyd_ko_put SRC DEST: module SRC written to DEST, compressed as DEST's name says (as kbuild
# compresses: xz with CRC32 checks, which the kernel's own decompressor also accepts). Debug
# information out first (strip --strip-debug, what INSTALL_MOD_STRIP=1 does; distribution
# modules ship that way; an out-of-tree build keeps megabytes of it), unless the module is
# signed: the signature covers the bytes.
_keyd_ko_put() {
    local tmp rc=0
    tmp=$(mktemp "${DRACUT_TMPDIR:-/tmp}/keyd-ko.XXXXXX") || return 1
    _keyd_ko_cat "$1" > "$tmp" || rc=1
    if [[ $rc == 0 && -z $(modinfo -F sig_id "$tmp" 2> /dev/null) ]] && command -v strip > /dev/null; then
        strip --strip-debug "$tmp" || rc=1
    fi
    if [[ $rc == 0 ]]; then
        case $2 in
            *.xz) xz --check=crc32 --lzma2=dict=1MiB -c "$tmp" > "$2" ;;
            *.zst) zstd -q -19 -c "$tmp" > "$2" ;;
            *.gz) gzip -9 -n -c "$tmp" > "$2" ;;
            *) cat "$tmp" > "$2" ;;
        esac || rc=1
    fi
    rm -f "$tmp"
    return $rc
}

# _keyd_install_patched_modules: keyd_handshake=kernel's kernel side: the patched nvme-keyring
# and nvme-tcp written over the kernel's own copies in the image (same path and compression,
# so a later instmods of either finds it installed and leaves it), what they need, and
# nvme_tcp's option. dracut runs depmod on the image afterwards.
_keyd_install_patched_modules() {
    local m f dep dst
    local -A found
    for m in nvme-keyring nvme-tcp; do
        if ! f=$(_keyd_patched_module "$m"); then
            dfatal "keyd: keyd_handshake=kernel needs $m built with kernel-patches/0001-0003 for" \
                "kernel $kernel; keyd_handshake_modules='${keyd_handshake_modules:-}' (default: the" \
                "kernel's own modules in $srcmods) has:$f. Build them with" \
                "'mk/kernel.sh --kver $kernel' in keyd's source tree and set" \
                "keyd_handshake_modules=<that tree>/build/kernel/$kernel in dracut.conf, install" \
                "a kernel built with the series, or set keyd_handshake=agent."
            return 1
        fi
        found[$m]=$f
        # What the patched module links to (nvme-keyring: ecdh_generic and curve25519 for the
        # handshake's key shares) comes from the kernel's own modules.
        for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
            case $dep in
                nvme-keyring | nvme_keyring | nvme-tcp | nvme_tcp) continue ;;
            esac
            hostonly='' instmods "$dep" || {
                dfatal "keyd: $m needs the module $dep, which kernel $kernel does not have"
                return 1
            }
        done
    done
    # The kernel's own modules are the patched ones: installkernel() has put them in.
    if [[ -n $keyd_handshake_modules ]]; then
        for m in nvme-keyring nvme-tcp; do
            dst=$(find "$initdir/lib/modules/$kernel/" \( -name "$m.ko" -o -name "$m.ko.*" \) \
                -type f | head -n 1)
            if [[ -z $dst ]]; then
                dfatal "keyd: no $m of kernel $kernel in the image to replace (is it built in?)"
                return 1
            fi
            _keyd_ko_put "${found[$m]}" "$dst" || {
                dfatal "keyd: could not write ${found[$m]} to ${dst#"$initdir"}"
                return 1
            }
            dinfo "keyd: ${dst#"$initdir"} is ${found[$m]}"
        done
    fi
    # In the image's modprobe.d rather than on the kernel command line: the option travels
    # with the modules that know it, so this image cannot boot into an nvme-tcp that waits for
    # an agent it does not carry, and no boot loader entry has to change. (A command-line
    # nvme_tcp.tls_handshake= still overrides it: kmod appends those options last.)
    mkdir -p "$initdir/etc/modprobe.d"
    printf '%s\n' "# keyd (dracut keyd_handshake=kernel): the in-kernel TLS handshake, no agent" \
        "options nvme_tcp tls_handshake=kernel" > "$initdir/etc/modprobe.d/keyd-handshake.conf"
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
    _keyd_kernel_handshake || _keyd_bin keyd-handshaked > /dev/null || return 1
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
    case ${keyd_handshake:-agent} in
        agent) ;;
        kernel) _keyd_install_patched_modules || return 1 ;;
        *)
            dfatal "keyd: keyd_handshake='$keyd_handshake' in dracut.conf: use agent or kernel"
            return 1
            ;;
    esac
}

# called by dracut
install() {
    local store f b
    store=$(_keyd_store_dir)

    inst_binary "$(_keyd_bin keyd)" /usr/sbin/keyd || return 1
    # The agent (and with it GnuTLS and libnl) only when it runs the handshake.
    if ! _keyd_kernel_handshake; then
        inst_binary "$(_keyd_bin keyd-handshaked)" /usr/sbin/keyd-handshaked || return 1
    fi
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
    ! _keyd_kernel_handshake && [[ -f "$(_keyd_root)/etc/keyd/handshaked.conf" ]] &&
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
