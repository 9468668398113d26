#!/bin/bash
# Root over NVMe/TCP with TLS and no TLS library in the initramfs: keyd's dracut module with
# keyd_handshake=kernel (initramfs/dracut/95keyd) - or, with KEYD_VM_ROOT_BUILDER=initramfs-tools
# (root-kernel-handshake-itools.sh), mkinitramfs with keyd's hook and KEYD_HANDSHAKE=kernel -
# builds the host's initramfs with the patched nvme-keyring.ko and nvme-tcp.ko
# (kernel-patches/0001-0003, built by mk/kernel.sh) in place of Debian's, "options nvme_tcp
# tls_handshake=kernel" in its modprobe.d, keyd and keyd-request-key, and no keyd-handshaked,
# GnuTLS, libnl or libssl.
#  - the builder refuses the in-kernel handshake when the modules variable names no patched
#    modules, and says which variable and what to do;
#  - the image check (lsinitrd / lsinitramfs and the unpacked cpio): no libgnutls*, libssl*,
#    libnl*, no keyd-handshaked; one nvme-keyring and one nvme-tcp, the patched ones, at the
#    kernel's own paths; nvme-keyring's new dependencies; the option; no plaintext key;
#  - the two-guest boot of tests/vm/lib/root.sh: keyd unseals the PSK from the host's swtpm,
#    nvme-tcp runs the TLS 1.3 handshake itself against the target guest (nvmet-tcp served by
#    keyd-handshaked), / is mounted from /dev/nvme0n1 and switched to; the new root's
#    /sbin/init checks that / is the NVMe namespace, tls_key is keyd's PSK, tls_handshake is
#    "kernel", no agent ever ran, the kernel log names the in-kernel handshake for every queue
#    (nvme-tcp's dev_dbg, enabled with nvme_tcp.dyndbg=+p), a controller reset reconnects with
#    TLS without any agent, and the kernel log has no warning;
#  - the size: this image against the agent-based one built the same way in the same run
#    (zstd -15 both: dracut's uncompressed cpio compressed as dracut --zstd does; mkinitramfs
#    with COMPRESS=zstd COMPRESSLEVEL=15).
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"
source "$KEYD_TOP/tests/vm/lib/root.sh"

t0=$(vm_now)
vm_require
require_cmd mkfs.ext4 zstd modinfo strip
vm_fetch_kernel
root_build_programs

# The patched modules: mk/kernel.sh's build/kernel/<kver>, rebuilt when a patch or the script
# is newer than it; copied under the cache lock (mk/kernel.sh holds it while it replaces them).
kmods() {
	local out=$KEYD_TOP/build/kernel/$VM_KVER newer="" rc=0 start
	start=$(vm_now)
	[ -e "$out/modules.list" ] && newer=$(find "$KEYD_TOP/kernel-patches" "$KEYD_TOP/mk/kernel.sh" \
		-newer "$out/modules.list" -print -quit 2>/dev/null)
	if [ ! -e "$out/modules.list" ] || [ -n "$newer" ]; then
		note "building the patched modules (mk/kernel.sh --kver $VM_KVER)"
		"$KEYD_TOP/mk/kernel.sh" --kver "$VM_KVER" >"$T/kernel.log" 2>&1 || rc=$?
		[ "$rc" = 77 ] && skip "mk/kernel.sh could not fetch the kernel packages: $(tail -n 1 "$T/kernel.log")"
		[ "$rc" = 0 ] || { tail -n 20 "$T/kernel.log"; fail "mk/kernel.sh failed (exit $rc)"; }
	fi
	flock -w 900 "$KEYD_VM_CACHE/.lock" cp -a "$out" "$T/kmods" || fail "cannot copy $out"
	KMOD_DIR=$T/kmods
	for m in common/nvme-keyring host/nvme-tcp; do
		[ -r "$KMOD_DIR/drivers/nvme/$m.ko" ] || fail "mk/kernel.sh made no drivers/nvme/$m.ko"
	done
	note "patched modules from build/kernel/$VM_KVER in $(vm_since "$start") s"
}
kmods

BUILDER=${KEYD_VM_ROOT_BUILDER:-dracut}
# pkg_debs DIR PACKAGE...: the packages unpacked into DIR (apt-get download into the cache,
# never installed).
pkg_debs() {
	local p deb out=$1 dir=$KEYD_VM_CACHE/debs/$2
	shift 2
	mkdir -p "$dir" "$out"
	chmod 0755 "$dir"
	for p in "$@"; do
		deb=$(find "$dir" -maxdepth 1 -name "${p}_*.deb" | sort -V | tail -n 1)
		if [ -z "$deb" ]; then
			(cd "$dir" && apt-get download -q "$p") >"$T/apt-$p.log" 2>&1 ||
				skip "'apt-get download $p' failed (offline?): $(tail -n 2 "$T/apt-$p.log")"
			deb=$(find "$dir" -maxdepth 1 -name "${p}_*.deb" | sort -V | tail -n 1)
		fi
		dpkg-deb -x "$deb" "$out" || fail "dpkg-deb -x $deb failed"
	done
}
case $BUILDER in
dracut)
	# dracut 059 from Debian, run with dracutbasedir= on the unpacked tree holding 95keyd.
	pkg_debs "$T/dracut" dracut dracut-core dracut-network
	D=$T/dracut/usr/lib/dracut
	mkdir -p "$D/modules.d/95keyd"
	cp "$KEYD_TOP"/initramfs/dracut/95keyd/* "$D/modules.d/95keyd/"
	cp "$KEYD_TOP/initramfs/keyd-boot.sh" "$D/modules.d/95keyd/keyd-boot.sh"
	;;
initramfs-tools)
	# mkinitramfs from Debian, in a private mount namespace (as root-initramfs-tools.sh).
	require_cmd unshare
	unshare -m true 2>/dev/null || skip "no private mount namespace here (unshare -m)"
	pkg_debs "$T/it" initramfs-tools initramfs-tools-core klibc-utils libklibc
	;;
*) fail "KEYD_VM_ROOT_BUILDER='$BUILDER': dracut or initramfs-tools" ;;
esac

root_enroll
root_sysroot
ROOT_INIT=$T/init-kernel-handshake
cat >"$ROOT_INIT" <<'INIT'
#!/bin/sh
# The switched-to root (root-kernel-handshake.sh): the TLS handshakes ran in the kernel.
. /lib/keyd-vm/guest.sh
[ -e /proc/mounts ] || mount -t proc proc /proc
grep -q ' /sys ' /proc/mounts || mount -t sysfs sysfs /sys
grep -q ' /dev ' /proc/mounts || mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
trap 'vm_result FAIL "the new root'"'"'s /sbin/init ended without a verdict"' EXIT
_vm_mark=$(vm_uptime)
echo "KEYD-VM-TIME: switch-root-at $(vm_uptime) s"
vm_check_nvme_tls_root
[ -e /run/keyd/initrd.done ] || vm_fail "no /run/keyd/initrd.done: keyd's early boot did not finish"
mode=$(cat /sys/module/nvme_tcp/parameters/tls_handshake 2>/dev/null)
[ "$mode" = kernel ] || vm_fail "nvme_tcp's tls_handshake is '$mode', not kernel"
echo "ok: nvme_tcp tls_handshake=$mode (set by the initramfs's modprobe.d)"
# No agent: none runs, and early boot started none.
[ ! -e /run/keyd/handshaked-initrd.pid ] ||
	vm_fail "early boot started an agent (pid $(cat /run/keyd/handshaked-initrd.pid))"
for c in /proc/[0-9]*/comm; do
	[ "$(cat "$c" 2>/dev/null)" = keyd-handshaked ] && vm_fail "a keyd-handshaked runs (${c%/comm})"
done
echo "ok: no handshake agent was started or runs"
# nvme-tcp's dev_dbg names who ran each queue's handshake (key printed with %x).
khex=$(printf '%x' "0x$key")
n=$(dmesg | grep -c "start TLS with key $khex (in-kernel handshake)" || true)
[ "$n" -ge 1 ] || vm_fail "the kernel log shows no in-kernel TLS handshake with key $khex: $(dmesg | grep -i 'tls' | tail -n 5)"
dmesg | grep -q '(handshake agent)' && vm_fail "the kernel log shows a handshake given to an agent"
echo "ok: kernel log: $n queue(s) started TLS in the kernel: $(dmesg | grep -m 1 'in-kernel handshake' | sed 's/^\[[^]]*\] //')"
# A reconnect with no agent anywhere: the kernel handshakes again.
echo 1 >$ctrl/reset_controller
i=0
until [ "$(cat $ctrl/state)" = live ]; do
	i=$((i + 1)); [ $i -gt 200 ] && vm_fail "$ctrl not live 20 s after reset ($(cat $ctrl/state))"
	sleep 0.1
done
[ "$(cat $ctrl/tls_key)" = "$key" ] || vm_fail "after the reset tls_key is $(cat $ctrl/tls_key)"
n2=$(dmesg | grep -c "start TLS with key $khex (in-kernel handshake)" || true)
[ "$n2" -gt "$n" ] || vm_fail "no new in-kernel handshake in the kernel log after the reset"
echo "ok: reset_controller: reconnected with TLS (tls_key $key), $((n2 - n)) more in-kernel handshake(s), no agent"
if dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection'; then
	vm_fail "the kernel log has a warning or oops"
fi
echo "ok: no oops/BUG/WARN in the kernel log; taint $(cat /proc/sys/kernel/tainted) (unsigned modules)"
vm_time checks
sync
echo "done $key" | nc 10.0.2.1 5000 || echo "(could not tell the target)"
vm_result PASS "root on $dev over NVMe/TCP+TLS with the in-kernel handshake, tls_key $key = keyd's PSK, no agent, a reconnect without an agent"
INIT
root_rootfs
root_target_initramfs

# build_image MODE OUT: the host's initramfs with keyd; MODE kernel (the in-kernel handshake,
# modules from $KMOD_DIR), missing (the in-kernel handshake, modules from an empty directory)
# or agent (the default). Builder output in $T/build.log; BUILD_TIME.
build_image() {
	local mode=$1 out=$2 start rc=0 mdir=""
	start=$(vm_now)
	case $mode in
	kernel) mdir=$KMOD_DIR ;;
	missing) mdir=$T/no-modules; mkdir -p "$mdir" ;;
	esac
	if [ "$BUILDER" = dracut ]; then
		# The setting as a dracut.conf.d file (the host's dracut.conf is not read).
		mkdir -p "$T/conf-$mode"
		[ -z "$mdir" ] || printf 'keyd_handshake=kernel\nkeyd_handshake_modules=%s\n' "$mdir" \
			>"$T/conf-$mode/keyd.conf"
		dracutbasedir=$D keyd_sysroot=$ROOT_SYSROOT \
			"$T/dracut/usr/bin/dracut" -f -q --no-hostonly --no-hostonly-cmdline \
			--conf /dev/null --confdir "$T/conf-$mode" --tmpdir "$T" \
			--kver "$VM_KVER" --kmoddir "$VM_KROOT/lib/modules/$VM_KVER" \
			-m "bash udev-rules base fs-lib rootfs-block keyd" \
			--add-drivers "ext4 virtio_net virtio_pci" --no-compress \
			"$out" >"$T/build.log" 2>&1 || rc=$?
	else
		# The setting in the environment (the hook reads it there or in
		# /etc/keyd/initramfs.conf, which is the machine's own and left alone here).
		it_conf "$T/it-conf"
		KEYD_HANDSHAKE=${mdir:+kernel} KEYD_HANDSHAKE_MODULES=$mdir \
			KEYD_SYSROOT=$ROOT_SYSROOT IT=$T/it KROOT=$VM_KROOT V=$VM_KVER TMPDIR=$T \
			unshare -m sh -ec '
			mount --make-rprivate /
			mkdir -p "$TMPDIR/ov"
			mount -t tmpfs tmpfs "$TMPDIR/ov"
			mkdir "$TMPDIR/ov/up" "$TMPDIR/ov/work"
			mount -t overlay overlay \
				-o "lowerdir=/usr,upperdir=$TMPDIR/ov/up,workdir=$TMPDIR/ov/work" /usr
			cp -a "$IT/usr/." /usr/
			cp -a "$IT/lib/." /usr/lib/
			mkdir -p "/usr/lib/modules/$V"
			mount --bind "$KROOT/lib/modules/$V" "/usr/lib/modules/$V"
			mount -t tmpfs tmpfs /boot
			cp "$KROOT/boot/config-$V" /boot/
			/usr/sbin/mkinitramfs -d "$1" -o "$2" "$V"
		' _ "$T/it-conf" "$out" >"$T/build.log" 2>&1 || rc=$?
	fi
	BUILD_TIME=$(vm_since "$start")
	return "$rc"
}
# it_conf DIR: mkinitramfs's configuration directory (-d): keyd's hook and boot script, the NIC
# and file system drivers, busybox, zstd -15.
it_conf() {
	local c=$1
	[ -e "$c/initramfs.conf" ] && return 0
	mkdir -p "$c/hooks" "$c/scripts/local-top" "$c/conf.d"
	printf '%s\n' MODULES=list BUSYBOX=y COMPRESS=zstd COMPRESSLEVEL=15 DEVICE= NFSROOT=auto \
		RUNSIZE=10% FSTYPE=ext4 >"$c/initramfs.conf"
	printf '%s\n' virtio_net virtio_pci ext4 >"$c/modules"
	install -m 0755 "$KEYD_TOP/initramfs/initramfs-tools/hooks/keyd" "$c/hooks/keyd"
	install -m 0755 "$KEYD_TOP/initramfs/initramfs-tools/scripts/local-top/keyd" \
		"$c/scripts/local-top/keyd"
}
# image_list IMG: the builder's own listing (lsinitrd, lsinitramfs).
image_list() {
	if [ "$BUILDER" = dracut ]; then
		"$T/dracut/usr/bin/lsinitrd" "$1"
	else
		PATH=$T/it/usr/bin:$PATH lsinitramfs "$1"
	fi
}
# image_unpack IMG DIR
image_unpack() {
	mkdir -p "$2"
	if [ "$BUILDER" = dracut ]; then
		(cd "$2" && cpio -idm --quiet <"$1")
	else
		(cd "$2" && zstd -dc "$1" | cpio -idm --quiet)
	fi
}
# image_bytes IMG: its size compressed with zstd -15 (mkinitramfs's image already is).
image_bytes() {
	if [ "$BUILDER" = dracut ]; then
		zstd -15 -q -T0 -c "$1" | wc -c
	else
		stat -c %s "$1"
	fi
}
if [ "$BUILDER" = dracut ]; then
	VAR=keyd_handshake_modules
else
	VAR=KEYD_HANDSHAKE_MODULES
fi

# 1. No patched modules where the variable points: the build stops, naming the variable and
# the remedy.
if build_image missing "$T/missing.img"; then
	fail "$BUILDER built an image for the in-kernel handshake without patched modules"
fi
msg=$(grep -o "KEYD_HANDSHAKE=kernel needs.*\|keyd_handshake=kernel needs.*" "$T/build.log" || true)
grep -q "$VAR=" <<<"$msg" && grep -q 'mk/kernel.sh --kver' <<<"$msg" ||
	fail "$BUILDER's refusal does not name $VAR= and mk/kernel.sh: $(tail -n 5 "$T/build.log")"
note "no patched modules: $BUILDER refused: $(cut -c1-200 <<<"$msg")..."

# 2. The image for the in-kernel handshake.
build_image kernel "$T/host.img" || fail "$BUILDER failed: $(tail -n 20 "$T/build.log")"
note "$BUILDER with the in-kernel handshake: $(stat -c %s "$T/host.img") bytes in $BUILD_TIME s"

# 3. The image check: the builder's listing and the unpacked files.
image_list "$T/host.img" >"$T/list.txt" 2>&1 || true
grep -q 'usr/sbin/keyd$' "$T/list.txt" || fail "the image listing has no usr/sbin/keyd"
bad=$(grep -E 'libgnutls|libssl|libnl|keyd-handshaked' "$T/list.txt" || true)
[ -z "$bad" ] || fail "image check: the listing shows $bad"
image_unpack "$T/host.img" "$T/unpacked" || fail "cannot unpack the initramfs"
U=$T/unpacked
bad=$(find "$U" \( -name 'libgnutls*' -o -name 'libssl*' -o -name 'libnl*' -o -name 'keyd-handshaked*' \
	-o -name 'handshaked.conf' \) -printf '%P\n')
[ -z "$bad" ] || fail "image check: in the unpacked initramfs: $bad"
[ -x "$U/usr/sbin/keyd" ] || fail "image check: no usr/sbin/keyd"
if [ -x "$ROOT_BIN/keyd-request-key" ]; then
	[ -x "$U/usr/sbin/keyd-request-key" ] || fail "image check: no usr/sbin/keyd-request-key"
fi
M=$U/lib/modules/$VM_KVER
# One module of each name, at the kernel's own path, and its bytes (decompressed) the patched
# module's with the debug information stripped (the builders strip unsigned modules as
# INSTALL_MOD_STRIP=1 does).
for m in common/nvme-keyring host/nvme-tcp; do
	b=${m#*/}
	strip --strip-debug -o "$T/$b.stripped.ko" "$KMOD_DIR/drivers/nvme/$m.ko" ||
		fail "strip --strip-debug $m.ko failed"
	f=$(find "$M" -name "$b.ko*" -printf '%P\n')
	[ "$(wc -w <<<"$f")" = 1 ] || fail "image check: want one $b module in the image, found: '$f'"
	case $f in
	*.xz) xz -dc "$M/$f" ;;
	*.zst) zstd -dc "$M/$f" ;;
	*) cat "$M/$f" ;;
	esac | cmp -s - "$T/$b.stripped.ko" || fail "image check: $f is not the patched $b.ko (stripped)"
	grep -q "^${f}:" "$M/modules.dep" || fail "image check: modules.dep does not list $f"
	note "image check: $f is build/kernel/$VM_KVER/drivers/nvme/$m.ko ($(stat -c %s \
		"$KMOD_DIR/drivers/nvme/$m.ko") bytes, $(stat -c %s "$T/$b.stripped.ko") without debug information)"
done
for m in $(modinfo -F depends "$KMOD_DIR/drivers/nvme/common/nvme-keyring.ko" | tr ',' ' '); do
	[ -n "$(find "$M" -name "$m.ko*" -o -name "$(tr - _ <<<"$m").ko*")" ] ||
		fail "image check: nvme-keyring's dependency $m is not in the image"
done
grep -qx 'options nvme_tcp tls_handshake=kernel' "$U/etc/modprobe.d/keyd-handshake.conf" ||
	fail "image check: no 'options nvme_tcp tls_handshake=kernel' in etc/modprobe.d/keyd-handshake.conf"
root_image_check "$U"
note "image check (listing + unpacked): no libgnutls*, libssl*, libnl*, keyd-handshaked;" \
	"libs: $(find "$U" -name 'lib*.so*' -type f -printf '%f\n' | sed 's/\.so.*//' | sort -u | tr '\n' ' ')"

# 4. The boot. nvme_tcp.dyndbg=+p: nvme-tcp's dev_dbg lines (who runs each queue's handshake)
# reach the kernel log.
append="$(root_cmdline) nvme_tcp.dyndbg=+p"
[ "$BUILDER" = dracut ] && append="$append rd.shell=0 rd.emergency=poweroff rd.retry=60"
rc=0
root_boot "root-khs-${BUILDER%%-*}" "$T/host.img" "$append" || rc=$?
[ "$rc" = 0 ] || exit "$rc"
log=$(tr -d '\r' <"$ROOT_HOST_LOG")
grep -q 'keyd: TLS handshake: in the kernel' <<<"$log" ||
	fail "keyd's boot script did not report the in-kernel handshake"
ptime=$(root_provision_time "$ROOT_HOST_LOG")
grep -a -E '^ok: (kernel log|nvme_tcp|no handshake|reset_controller)' <<<"$log" | sed 's/^/    /'

# 5. Bytes: the agent-based image, built the same way now.
build_image agent "$T/agent.img" || fail "$BUILDER (agent) failed: $(tail -n 20 "$T/build.log")"
kern=$(image_bytes "$T/host.img")
agent=$(image_bytes "$T/agent.img")
[ "$kern" -lt "$agent" ] || fail "the in-kernel-handshake image ($kern) is not smaller than the agent's ($agent)"
note "$BUILDER image size (zstd -15): in-kernel handshake $kern bytes, agent-based $agent bytes:" \
	"$((agent - kern)) bytes saved ($(awk -v a="$agent" -v k="$kern" 'BEGIN { printf "%.1f", 100 * (a - k) / a }')%)"
note "the provisioning pass took ${ptime:-?} s in the guest; host qemu start to verdict" \
	"${ROOT_TIME_HOST} s, whole test $(vm_since "$t0") s"
echo "PASS: root-kernel-handshake ($BUILDER)"
