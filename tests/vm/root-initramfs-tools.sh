#!/bin/bash
# Root over NVMe/TCP with TLS, initramfs built by mkinitramfs (initramfs-tools, Debian's default
# builder) with keyd's hook (initramfs/initramfs-tools): the same two-guest boot and checks as
# root-dracut.sh (tests/vm/lib/root.sh).
# initramfs-tools-core, klibc-utils and libklibc come from apt-get download and are never
# installed: mkinitramfs hard-codes /usr/share/initramfs-tools, /usr/lib/klibc and
# /lib/modules/<version> (and reads /boot/config-<version>), so it runs in a private mount namespace where /usr is an overlay
# (tmpfs upper layer) holding the unpacked packages and the unpacked 6.12 kernel's modules,
# and /boot a private tmpfs with the kernel's config.
# Nothing on the machine changes; /boot is untouched.
#   KEYD_VM_ROOT_CASE=pcr-changed   the same boot after the PCR the PSK is sealed to changed: the
#                                   initramfs must stop (initramfs-tools' panic, with panic=-1 on
#                                   the command line: reboot -f, which qemu -no-reboot ends),
#                                   naming the PCR and the recovery steps, without retrying
#                                   (root-pcr-mismatch-initramfs-tools.sh runs it).
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"
source "$KEYD_TOP/tests/vm/lib/root.sh"

t0=$(vm_now)
case=${KEYD_VM_ROOT_CASE:-boot}
vm_require
require_cmd mkfs.ext4 tpm2_pcrextend zstd unshare
unshare -m true 2>/dev/null || skip "no private mount namespace here (unshare -m)"
vm_fetch_kernel
root_build_programs

it_debs() {
	local p deb dir=$KEYD_VM_CACHE/debs/initramfs-tools
	mkdir -p "$dir" "$T/it"
	chmod 0755 "$dir"
	for p in initramfs-tools-core klibc-utils libklibc; do
		deb=$(find "$dir" -maxdepth 1 -name "${p}_*.deb" | sort -V | tail -n 1)
		if [ -z "$deb" ]; then
			(cd "$dir" && apt-get download -q "$p") >"$T/apt-$p.log" 2>&1 ||
				skip "'apt-get download $p' failed (offline?): $(tail -n 2 "$T/apt-$p.log")"
			deb=$(find "$dir" -maxdepth 1 -name "${p}_*.deb" | sort -V | tail -n 1)
		fi
		dpkg-deb -x "$deb" "$T/it" || fail "dpkg-deb -x $deb failed"
	done
}
it_debs

if [ "$case" = pcr-changed ]; then
	root_enroll --pcr-changed
	root_sysroot
else
	root_enroll
	root_sysroot
	root_rootfs
	root_target_initramfs
fi

# A configuration directory of our own (mkinitramfs -d): keyd's hook and boot script, the NIC
# and file system drivers, busybox.
conf_dir() {
	local c=$1 with=$2
	mkdir -p "$c/hooks" "$c/scripts/local-top" "$c/conf.d"
	cat >"$c/initramfs.conf" <<-EOF
	MODULES=list
	BUSYBOX=y
	COMPRESS=zstd
	COMPRESSLEVEL=15
	DEVICE=
	NFSROOT=auto
	RUNSIZE=10%
	FSTYPE=ext4
	EOF
	printf '%s\n' virtio_net virtio_pci ext4 >"$c/modules"
	if [ "$with" = 1 ]; then
		install -m 0755 "$KEYD_TOP/initramfs/initramfs-tools/hooks/keyd" "$c/hooks/keyd"
		install -m 0755 "$KEYD_TOP/initramfs/initramfs-tools/scripts/local-top/keyd" \
			"$c/scripts/local-top/keyd"
	fi
}
conf_dir "$T/conf-keyd" 1
conf_dir "$T/conf-plain" 0

# mkinitramfs CONFDIR OUT, in a private mount namespace.
mkinitramfs_ns() {
	local start
	start=$(vm_now)
	KEYD_SYSROOT=$ROOT_SYSROOT IT=$T/it KROOT=$VM_KROOT V=$VM_KVER TMPDIR=$T \
		unshare -m sh -ec '
		mount --make-rprivate /
		mkdir -p "$TMPDIR/ov"
		mount -t tmpfs tmpfs "$TMPDIR/ov"
		mkdir "$TMPDIR/ov/up" "$TMPDIR/ov/work"
		mount -t overlay overlay \
			-o "lowerdir=/usr,upperdir=$TMPDIR/ov/up,workdir=$TMPDIR/ov/work" /usr
		cp -a "$IT/usr/." /usr/
		# libklibc ships /lib/klibc-*.so; /lib is /usr/lib on Debian 12.
		cp -a "$IT/lib/." /usr/lib/
		mkdir -p "/usr/lib/modules/$V"
		mount --bind "$KROOT/lib/modules/$V" "/usr/lib/modules/$V"
		# It reads the kernel config from /boot: a private tmpfs over it, never the real one.
		mount -t tmpfs tmpfs /boot
		cp "$KROOT/boot/config-$V" /boot/
		/usr/sbin/mkinitramfs -d "$1" -o "$2" "$V"
	' _ "$1" "$2" >"$T/mkinitramfs.log" 2>&1 ||
		fail "mkinitramfs failed: $(tail -n 20 "$T/mkinitramfs.log")"
	MKI_TIME=$(vm_since "$start")
}
mkinitramfs_ns "$T/conf-keyd" "$T/host.img"
note "mkinitramfs (with keyd's hook, zstd -15): $(stat -c %s "$T/host.img") bytes in $MKI_TIME s"
grep -i 'warn\|error' "$T/mkinitramfs.log" | sed 's/^/    mkinitramfs: /' | head -n 5 || true

# The image check (the image is one zstd cpio: no early microcode hooks here).
mkdir -p "$T/unpacked"
(cd "$T/unpacked" && zstd -dc "$T/host.img" | cpio -idm --quiet) || fail "cannot unpack the initramfs"
[ -x "$T/unpacked/usr/sbin/keyd" ] || fail "usr/sbin/keyd is not in the image"
[ -x "$T/unpacked/scripts/local-top/keyd" ] || fail "scripts/local-top/keyd is not in the image"
root_image_check "$T/unpacked"

rc=0
if [ "$case" = pcr-changed ]; then
	# The host stops before it needs the network: no target guest. No verdict is the expected
	# outcome: keep vm_run's failure report out of the output and judge the console.
	vm_swtpm "$T/tpm-host"
	vm_run root-itools-pcr-host --initrd "$T/host.img" --tpm "$T/tpm-host" \
		--append "$(root_cmdline)" --timeout 150 >"$T/vm-run.log" 2>&1 || rc=$?
	ROOT_HOST_LOG=$VM_LOGDIR/vm-root-itools-pcr-host.serial.log
	log=$(tr -d '\r' <"$ROOT_HOST_LOG")
	[ "$rc" != 0 ] || fail "the boot succeeded although PCR $ROOT_PCR changed"
	grep -q "keyd: PCR mismatch: PCR $ROOT_PCR (sha256) changed" <<<"$log" ||
		fail "the console does not name the PCR mismatch (PCR $ROOT_PCR)"
	grep -q 'keyd: RECOVERY' <<<"$log" || fail "the console shows no recovery steps"
	grep -q 'keyd-ctl psk add .*--replace\|--pcrs sha256:N --replace' <<<"$log" ||
		fail "the recovery steps do not say how to re-seal"
	n=$(grep -c 'keyd: provisioning took' <<<"$log" || true)
	[ "$n" = 1 ] || fail "provisioning ran $n times (a retry loop?)"
	# The stop is initramfs-tools' own (panic, then reboot -f for panic=-1), not the harness's
	# timeout: a retry loop or a rescue shell waiting on the console would end in the timeout.
	grep -q 'Rebooting automatically due to panic= boot argument' <<<"$log" ||
		fail "the initramfs did not stop by itself (no panic= reboot on the console)"
	grep -q 'reboot: Restarting system' <<<"$log" || fail "the guest did not reboot (stop) by itself"
	grep -q 'KEYD-VM-TIME: switch-root' <<<"$log" && fail "the boot went on to the root"
	grep -q 'Begin: Waiting for root file system\|Gave up waiting for root' <<<"$log" &&
		fail "the boot went on to wait for the root device after keyd failed"
	note "host stopped after ${VM_TIME_BOOT:-?} s with:"
	grep 'keyd: PCR mismatch\|keyd: The boot stops\|Rebooting automatically' <<<"$log" |
		sed 's/^/    /'
	note "timings: whole test $(vm_since "$t0") s"
	echo "PASS: root-initramfs-tools (pcr-changed: the boot stops, names PCR $ROOT_PCR and the recovery)"
	exit 0
fi
root_boot root-itools "$T/host.img" "$(root_cmdline)" || rc=$?
[ "$rc" = 0 ] || exit "$rc"
ptime=$(root_provision_time "$ROOT_HOST_LOG")

mkinitramfs_ns "$T/conf-plain" "$T/plain.img"
with=$(stat -c %s "$T/host.img")
without=$(stat -c %s "$T/plain.img")
note "keyd's hook adds $((with - without)) bytes compressed (zstd -15: $with with, $without" \
	"without); the provisioning pass took ${ptime:-?} s in the guest"
note "timings: host qemu start to verdict ${ROOT_TIME_HOST} s, whole test $(vm_since "$t0") s"
echo "PASS: root-initramfs-tools"
