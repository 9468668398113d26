#!/bin/bash
# Root over NVMe/TCP with TLS, initramfs built by keyd's dracut module (initramfs/dracut/95keyd):
# dracut 059 from Debian (apt-get download, unpacked in the test's temp dir, run with
# dracutbasedir= on a copied tree that holds 95keyd: nothing is installed, /boot untouched)
# builds the host's initramfs for the unpacked 6.12 kernel. The host guest unseals the PSK
# (sealed to PCR 23) from its swtpm, starts keyd-handshaked, connects to the target guest
# (second VM, qemu stream netdev) with TLS, mounts / from /dev/nvme0n1 and switches root;
# the new root's /sbin/init checks / and tls_key (tests/vm/lib/root.sh).
# Then the image check (lsinitrd): no libssl, GnuTLS only as the agent links it, no plaintext
# key; and the bytes 95keyd adds (zstd, as dracut --zstd compresses) and the provisioning time.
#   KEYD_VM_ROOT_CASE=pcr-changed   the same boot after the PCR the PSK is sealed to changed:
#                                   the initramfs must stop, naming the PCR and the recovery
#                                   steps, without retrying (root-pcr-mismatch.sh runs it).
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"
source "$KEYD_TOP/tests/vm/lib/root.sh"

t0=$(vm_now)
case=${KEYD_VM_ROOT_CASE:-boot}
vm_require
require_cmd mkfs.ext4 tpm2_pcrextend zstd
root_say "Fetching Debian's 6.12 kernel (apt-get download, unpacked in build/vm-cache, never installed)"
vm_fetch_kernel
root_build_programs

# dracut-core (dracut itself and its modules) and dracut-network (nvmf, network), never
# installed: the dracut package conflicts with initramfs-tools.
dracut_debs() {
	local p deb dir=$KEYD_VM_CACHE/debs/dracut
	mkdir -p "$dir"
	chmod 0755 "$dir"
	for p in dracut-core dracut-network; do
		deb=$(find "$dir" -maxdepth 1 -name "${p}_*.deb" | sort -V | tail -n 1)
		if [ -z "$deb" ]; then
			(cd "$dir" && apt-get download -q "$p") >"$T/apt-$p.log" 2>&1 ||
				skip "'apt-get download $p' failed (offline?): $(tail -n 2 "$T/apt-$p.log")"
			deb=$(find "$dir" -maxdepth 1 -name "${p}_*.deb" | sort -V | tail -n 1)
		fi
		dpkg-deb -x "$deb" "$T/dracut" || fail "dpkg-deb -x $deb failed"
	done
}
root_say "Fetching dracut 059 (dracut-core, dracut-network), unpacked in a temp dir with keyd's module 95keyd"
dracut_debs
D=$T/dracut/usr/lib/dracut
mkdir -p "$D/modules.d/95keyd"
cp "$KEYD_TOP"/initramfs/dracut/95keyd/* "$D/modules.d/95keyd/"
cp "$KEYD_TOP/initramfs/keyd-boot.sh" "$D/modules.d/95keyd/keyd-boot.sh"

root_say "Enrolling a generated NVMe/TCP TLS PSK on the host's private swtpm, sealed to PCR $ROOT_PCR;" \
	"the storage target (a second VM) gets the same PSK on its own swtpm"
if [ "$case" = pcr-changed ]; then
	root_enroll --pcr-changed
else
	root_enroll
fi
root_sysroot
if [ "$case" != pcr-changed ]; then
	root_say "Making the root file system (ext4 from a busybox tree whose /sbin/init checks the boot)" \
		"and the target VM's initramfs (keyd, keyd-handshaked, nvmet-tcp)"
	root_rootfs
	root_target_initramfs
fi

# dracut MODULES... OUT [--zstd|--no-compress]: an image for the unpacked kernel, no host
# configuration (--conf/--confdir point at nothing), modules from $VM_KROOT.
dracut_build() {
	local mods=$1 out=$2 comp=$3 start
	start=$(vm_now)
	dracutbasedir=$D keyd_sysroot=$ROOT_SYSROOT \
		"$T/dracut/usr/bin/dracut" -f -q --no-hostonly --no-hostonly-cmdline \
		--conf /dev/null --confdir "$T/dracut-conf.d" --tmpdir "$T" \
		--kver "$VM_KVER" --kmoddir "$VM_KROOT/lib/modules/$VM_KVER" \
		-m "$mods" --add-drivers "ext4 virtio_net virtio_pci" "$comp" \
		"$out" >"$T/dracut.log" 2>&1 || fail "dracut failed: $(tail -n 20 "$T/dracut.log")"
	DRACUT_TIME=$(vm_since "$start")
}
mkdir -p "$T/dracut-conf.d"
BASE_MODS="bash udev-rules base fs-lib rootfs-block"
root_say "Building the host's initramfs with dracut: modules $BASE_MODS + keyd"
dracut_build "$BASE_MODS keyd" "$T/host.cpio" --no-compress
note "dracut (with 95keyd, uncompressed): $(du -k "$T/host.cpio" | cut -f1) KiB in $DRACUT_TIME s"

root_say "Checking the image (lsinitrd): no libssl, GnuTLS only as keyd-handshaked links it, no plaintext key"
# The image check, on the image that boots.
mkdir -p "$T/unpacked"
(cd "$T/unpacked" && cpio -idm --quiet <"$T/host.cpio") || fail "cannot unpack the initramfs"
"$T/dracut/usr/bin/lsinitrd" "$T/host.cpio" >"$T/lsinitrd.txt" 2>&1 || true
grep -q 'usr/sbin/keyd$' "$T/lsinitrd.txt" || grep -q ' usr/sbin/keyd' "$T/lsinitrd.txt" ||
	fail "lsinitrd does not list usr/sbin/keyd"
root_image_check "$T/unpacked"

append="$(root_cmdline) rd.shell=0 rd.emergency=poweroff rd.retry=60"
root_say "Booting the target VM and the host VM on a private link: the host's initramfs unseals the" \
	"PSK from the TPM, starts the agent, connects over NVMe/TCP with TLS, mounts / and switches root"
rc=0
if [ "$case" = pcr-changed ]; then
	# The host stops before it needs the network: no target guest.
	vm_swtpm "$T/tpm-host"
	# No verdict is the expected outcome (the initramfs stops): keep vm_run's failure report
	# out of the output and judge the console below.
	vm_run root-pcr-host --initrd "$T/host.cpio" --tpm "$T/tpm-host" --append "$append" \
		--timeout 150 >"$T/vm-run.log" 2>&1 || rc=$?
	ROOT_HOST_LOG=$VM_LOGDIR/vm-root-pcr-host.serial.log
	ROOT_TIME_HOST=$VM_TIME_BOOT
else
	root_boot root-dracut "$T/host.cpio" "$append" || rc=$?
fi

ptime=$(root_provision_time "$ROOT_HOST_LOG")
if [ "$case" = pcr-changed ]; then
	log=$(tr -d '\r' <"$ROOT_HOST_LOG")
	[ "$rc" != 0 ] || fail "the boot succeeded although PCR $ROOT_PCR changed"
	grep -q "keyd: PCR mismatch: PCR $ROOT_PCR (sha256) changed" <<<"$log" ||
		fail "the console does not name the PCR mismatch (PCR $ROOT_PCR)"
	grep -q 'keyd: RECOVERY' <<<"$log" || fail "the console shows no recovery steps"
	grep -q 'keyd-ctl psk add .*--replace\|--pcrs sha256:N --replace' <<<"$log" ||
		fail "the recovery steps do not say how to re-seal"
	n=$(grep -c 'keyd: provisioning took' <<<"$log" || true)
	[ "$n" = 1 ] || fail "provisioning ran $n times (a retry loop?)"
	grep -q 'KEYD-VM-TIME: switch-root' <<<"$log" && fail "the boot went on to the root"
	note "host stopped after ${ROOT_TIME_HOST} s with:"
	grep 'keyd: PCR mismatch\|dracut: FATAL\|keyd: The boot stops' <<<"$log" | sed 's/^/    /'
	echo "PASS: root-dracut (pcr-changed: the boot stops, names PCR $ROOT_PCR and the recovery)"
	exit 0
fi
[ "$rc" = 0 ] || exit "$rc"
if [ "${KEYD_DEMO:-0}" = 1 ]; then
	root_say "What the host's console said (keyd in the initramfs, then the checks in the new root)"
	root_show_console "$ROOT_HOST_LOG"
	root_say "Measuring what keyd's module adds to the image"
fi

# What 95keyd adds, compressed as dracut --zstd does (zstd -15): the same image without keyd,
# both compressed alike.
dracut_build "$BASE_MODS" "$T/without.cpio" --no-compress
with=$(zstd -15 -q -T0 -c "$T/host.cpio" | wc -c)
without=$(zstd -15 -q -T0 -c "$T/without.cpio" | wc -c)
note "95keyd adds $((with - without)) bytes compressed (zstd -15: $with with, $without without;" \
	"uncompressed $(($(stat -c %s "$T/host.cpio") - $(stat -c %s "$T/without.cpio"))));" \
	"the provisioning pass took ${ptime:-?} s in the guest"
note "timings: host qemu start to verdict ${ROOT_TIME_HOST} s, whole test $(vm_since "$t0") s"
echo "PASS: root-dracut"
