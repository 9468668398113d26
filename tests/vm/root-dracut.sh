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
#   KEYD_VM_ROOT_CASE=systemd       the same boot with systemd in the initramfs (dracut's
#                                   systemd, systemd-initrd, systemd-udevd, systemd-journald and
#                                   dracut-systemd modules, systemd 252 from this machine): 95keyd
#                                   installs keyd-initrd.service instead of initqueue hooks; the
#                                   console must show the unit start, do its work (provision,
#                                   agent, connect) and finish before the root device is reached
#                                   (root-dracut-systemd.sh runs it).
#   KEYD_VM_ROOT_CASE=systemd-pcr-changed
#                                   pcr-changed with systemd in the initramfs: keyd-initrd.service
#                                   fails, emergency.target (rd.emergency=poweroff) stops the boot
#                                   (root-pcr-mismatch-systemd.sh runs it).
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"
source "$KEYD_TOP/tests/vm/lib/root.sh"

t0=$(vm_now)
case=${KEYD_VM_ROOT_CASE:-boot}
case $case in
boot | pcr-changed | systemd | systemd-pcr-changed) ;;
*) fail "KEYD_VM_ROOT_CASE='$case': use boot, pcr-changed, systemd or systemd-pcr-changed" ;;
esac
# sd: systemd in the initramfs; pcr: the PCR the PSK is sealed to has changed.
sd=0 pcr=0
[ "${case#systemd}" != "$case" ] && sd=1
[ "${case%pcr-changed}" != "$case" ] && pcr=1
# The guests' names (their console logs: build/test-logs/vm-NAME-host.serial.log), one per case.
vmname=$(printf '%s' "$case" | sed 's/^boot$/root-dracut/; s/^pcr-changed$/root-pcr/;
	s/^systemd$/root-dracut-systemd/; s/^systemd-pcr-changed$/root-pcr-systemd/')
vm_require
require_cmd mkfs.ext4 tpm2_pcrextend zstd
if [ "$sd" = 1 ]; then
	# dracut's systemd modules take systemd's programs from this machine.
	[ -x /usr/lib/systemd/systemd ] && [ -x /usr/lib/systemd/systemd-udevd ] ||
		skip "systemd is not installed here: dracut's systemd modules need its programs"
fi
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
if [ "$pcr" = 1 ]; then
	root_enroll --pcr-changed
else
	root_enroll
fi
root_sysroot
if [ "$pcr" = 0 ]; then
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
[ "$sd" = 1 ] &&
	BASE_MODS="systemd systemd-initrd systemd-udevd systemd-journald dracut-systemd $BASE_MODS"
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
if [ "$sd" = 1 ]; then
	grep -q 'keyd-initrd.service' "$T/lsinitrd.txt" ||
		fail "dracut with systemd: keyd-initrd.service is not in the image"
	[ -L "$T/unpacked/etc/systemd/system/initrd.target.wants/keyd-initrd.service" ] ||
		fail "dracut with systemd: keyd-initrd.service is not enabled (initrd.target.wants)"
	grep -q 'initqueue/settled/10-keyd' "$T/lsinitrd.txt" &&
		fail "dracut with systemd: keyd's initqueue hook is in the image too (two starts)"
	# systemd's status lines on the console despite "quiet": the unit's start and finish.
	append="$append systemd.show_status=1"
fi
root_say "Booting the target VM and the host VM on a private link: the host's initramfs unseals the" \
	"PSK from the TPM, starts the agent, connects over NVMe/TCP with TLS, mounts / and switches root"
rc=0
if [ "$pcr" = 1 ]; then
	# The host stops before it needs the network: no target guest.
	vm_swtpm "$T/tpm-host"
	# No verdict is the expected outcome (the initramfs stops): keep vm_run's failure report
	# out of the output and judge the console below.
	vm_run "$vmname-host" --initrd "$T/host.cpio" --tpm "$T/tpm-host" --append "$append" \
		--timeout 150 >"$T/vm-run.log" 2>&1 || rc=$?
	ROOT_HOST_LOG=$VM_LOGDIR/vm-$vmname-host.serial.log
	ROOT_TIME_HOST=$VM_TIME_BOOT
else
	root_boot "$vmname" "$T/host.cpio" "$append" || rc=$?
fi

ptime=$(root_provision_time "$ROOT_HOST_LOG")
if [ "$pcr" = 1 ]; then
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
	if [ "$sd" = 1 ]; then
		# The unit failed once, OnFailure= isolated emergency.target, whose rd.emergency=poweroff
		# ended the boot: no root mount, no second start of the unit.
		clean=$(sed 's/\x1b\[[0-9;]*m//g' <<<"$log")
		grep -q -a 'Failed to start keyd-initr' <<<"$clean" ||
			fail "systemd initramfs: keyd-initrd.service did not fail"
		n=$(grep -c -a 'Starting keyd-initr' <<<"$clean" || true)
		[ "$n" = 1 ] || fail "systemd initramfs: keyd-initrd.service started $n times, want once"
		grep -q -a 'Reached target emergency.target' <<<"$clean" ||
			fail "systemd initramfs: the failure did not lead to emergency.target"
		grep -q -a 'Mounted sysroot.mount' <<<"$clean" && fail "systemd initramfs: /sysroot was mounted"
	fi
	# The guest stopped by itself, not at the harness's timeout: rd.emergency=poweroff powers it
	# off, or (the image without systemd has no poweroff program) dracut's init exits and the
	# kernel panics, which panic=-1 and qemu -no-reboot turn into a stop.
	grep -q -a 'reboot: Power down\|Kernel panic - not syncing: Attempted to kill init' <<<"$log" ||
		fail "the guest did not stop by itself"
	note "host stopped after ${ROOT_TIME_HOST} s with:"
	grep -a 'keyd: PCR mismatch\|dracut: FATAL\|keyd: The boot stops\|Failed to start keyd-initr\|Reached target emergency' \
		<<<"$log" | sed 's/\x1b\[[0-9;]*m//g; s/^/    /'
	echo "PASS: root-dracut ($case: the boot stops, names PCR $ROOT_PCR and the recovery)"
	exit 0
fi
[ "$rc" = 0 ] || exit "$rc"
if [ "$sd" = 1 ]; then
	# keyd-initrd.service ran once, its output went through the journal (journald's console
	# lines "keyd-initrd[PID]: keyd: ..."), and its steps came in this order on the console:
	# the unit starts, provisions, starts the agent, connects with TLS, finishes; only then is
	# the root device's target reached and /sysroot mounted (Before=initrd-root-device.target).
	# (systemd shortens a status line's unit name to fit the console: "keyd-initr" is matched.)
	clean=$(tr -d '\r' <"$ROOT_HOST_LOG" | sed 's/\x1b\[[0-9;]*m//g')
	n=$(grep -c -a 'keyd: provisioning took' <<<"$clean" || true)
	[ "$n" = 1 ] || fail "systemd initramfs: the provisioning pass ran $n times, want once"
	prev=0 prevstep="the boot"
	for step in 'Starting keyd-initr' \
		'keyd-initrd\[[0-9]+\]: keyd: provisioning took [0-9.]+ s \(exit 0\)' \
		'keyd-initrd\[[0-9]+\]: keyd: handshake agent keyd-handshaked running' \
		'keyd-initrd\[[0-9]+\]: keyd: connecting NVMe/TCP with TLS' \
		'keyd-initrd\[[0-9]+\]: keyd: connected: ' \
		'Finished keyd-initr' \
		'Reached target initrd-root.*Initrd Root Device' \
		'Mounted sysroot.mount' \
		'KEYD-VM-TIME: switch-root-at'; do
		at=$(grep -n -a -m1 -E "$step" <<<"$clean" | cut -d: -f1)
		[ -n "$at" ] || fail "systemd initramfs: no console line '$step'"
		[ "$at" -gt "$prev" ] ||
			fail "systemd initramfs: '$step' (console line $at) came before '$prevstep' (line $prev)"
		prev=$at prevstep=$step
	done
	note "systemd initramfs: keyd-initrd.service started, provisioned, started the agent," \
		"connected and finished before initrd-root-device.target and sysroot.mount:"
	grep -a -E 'Starting keyd-initrd|keyd-initrd\[[0-9]+\]: keyd: (provisioning|connect|early)|Finished keyd-initrd|Initrd Root Device|Mounted sysroot' \
		<<<"$clean" | grep -v Stopped | cut -c1-150 | sed 's/^/    /'
fi
if [ "${KEYD_DEMO:-0}" = 1 ]; then
	root_say "What the host's console said (keyd in the initramfs, then the checks in the new root)"
	root_show_console "$ROOT_HOST_LOG"
	root_say "Measuring what keyd's module adds to the image"
fi

# What 95keyd adds, compressed as dracut --zstd does (zstd -15): the same image without keyd,
# both compressed alike. (Not again with systemd: the same files, and two zstd -15 runs of a
# 50 MiB image cost tens of seconds.)
if [ "$sd" = 1 ]; then
	note "image with systemd: $(($(stat -c %s "$T/host.cpio") / 1024)) KiB uncompressed;" \
		"the provisioning pass took ${ptime:-?} s in the guest"
else
	dracut_build "$BASE_MODS" "$T/without.cpio" --no-compress
	with=$(zstd -15 -q -T0 -c "$T/host.cpio" | wc -c)
	without=$(zstd -15 -q -T0 -c "$T/without.cpio" | wc -c)
	note "95keyd adds $((with - without)) bytes compressed (zstd -15: $with with, $without without;" \
		"uncompressed $(($(stat -c %s "$T/host.cpio") - $(stat -c %s "$T/without.cpio"))));" \
		"the provisioning pass took ${ptime:-?} s in the guest"
fi
note "timings: host qemu start to verdict ${ROOT_TIME_HOST} s, whole test $(vm_since "$t0") s"
if [ "$sd" = 1 ]; then
	echo "PASS: root-dracut (systemd in the initramfs: keyd-initrd.service)"
else
	echo "PASS: root-dracut"
fi
