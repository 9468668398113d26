# Shared helper for VM scenarios (tests/vm/*.sh): boots Debian's 6.12 kernel under qemu with a
# hand-made busybox initramfs and a swtpm, and reads the verdict from the serial console.
# Source it after tests/lib/harness.sh, or alone (it then sources the harness itself).
#
#   vm_fetch_kernel             fetch + unpack + depmod the newest linux-image-6.12.*-amd64 into
#                               the cache (never /boot); sets VM_KVER, VM_KROOT, VM_KERNEL
#   vm_initramfs DIR [opts]     pack DIR (the scenario's /init and files) plus busybox, binaries,
#                               their libraries and modules into an uncompressed cpio; sets VM_INITRD
#   vm_swtpm DIR                start a swtpm for one guest (qemu's tpm-emulator), tracked by pid
#   vm_run NAME [opts] [-- qemu]  boot, wait for the verdict, stop qemu by pid; 0 PASS, 1 FAIL, 77 SKIP
#   vm_start / vm_wait          the same in two halves, for scenarios with two guests at once
#
# Guest side: every initramfs gets /lib/keyd-vm/guest.sh (written below) with vm_guest_init,
# vm_time, vm_check, vm_result and the outbox; the verdict is the serial line
# "KEYD-VM-RESULT: PASS|FAIL|SKIP <reason>". See tests/vm/README.md.
#
# Facts this file relies on were measured on these machines (/work/shared/reference/vm-testing.md):
# KVM does not work here (TCG only), an uncompressed cpio, -nic none and "quiet" keep TCG boots
# at 7-12 s, Debian ships .ko.xz modules that are best decompressed for busybox/kmod.

# qemu's option values are comma lists, not mistaken array separators:
# shellcheck disable=SC2054
if ! declare -F track_pid >/dev/null; then
	# shellcheck source=../../lib/harness.sh
	source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../lib" && pwd)/harness.sh"
fi
# set -e stops a scenario silently; say where (inherited by functions and subshells: -E).
set -E
trap 'echo "FAIL: ${BASH_SOURCE[0]##*/}:$LINENO: \"$BASH_COMMAND\" failed (exit $?)" >&2' ERR

: "${KEYD_VM_CACHE:=$KEYD_TOP/build/vm-cache}"
: "${KEYD_VM_TIMEOUT:=170}"
VM_LOGDIR=${VM_LOGDIR:-$KEYD_TOP/build/test-logs}
VM_GUEST_LIB=/lib/keyd-vm/guest.sh
VM_PACKAGES_TRIED=0

# Seconds since the epoch with milliseconds, and a difference of two of them.
vm_now() { date +%s.%N | cut -c1-14; }
vm_since() { awk -v a="$1" -v b="$(vm_now)" 'BEGIN { printf "%.1f", b - a }'; }

# vm_require: the host tools the harness needs; installs the "vm" package group (mk/deps.sh vm)
# once when one is missing, unless KEYD_NO_DEPS=1. Skips only when qemu cannot be had; a missing
# helper tool after a successful install is a broken machine (fail, not skip).
vm_require() {
	local c missing=""
	for c in qemu-system-x86_64 busybox depmod modprobe cpio xz swtpm flock keyctl; do
		command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
	done
	# busybox-static, not the dynamic busybox: the guest has no libc of its own for it.
	if [ -z "$missing" ] && ldd "$(command -v busybox)" >/dev/null 2>&1; then
		missing="$missing busybox-static"
	fi
	[ -z "$missing" ] && return 0
	if [ "${KEYD_NO_DEPS:-0}" != 1 ] && [ "$VM_PACKAGES_TRIED" = 0 ]; then
		VM_PACKAGES_TRIED=1
		note "installing the VM packages (missing:$missing)"
		"$KEYD_TOP/mk/deps.sh" vm >&2 || skip "VM tools missing:$missing; 'mk/deps.sh vm' could not install them"
		hash -r
		vm_require
		return
	fi
	command -v qemu-system-x86_64 >/dev/null 2>&1 ||
		skip "qemu-system-x86_64 is not installed (Debian package qemu-system-x86; run mk/deps.sh vm)"
	fail "VM tools missing:$missing (Debian packages: see vm_pkgs in mk/deps.sh)"
}

# The newest installable linux-image-6.12.<N>+deb<M>-amd64 the package lists know, or nothing.
_vm_kernel_candidate() {
	local p names policy
	# Whole outputs into variables: with pipefail, grep -q closing a pipe early fails it.
	names=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb[0-9]+-amd64$' \
		2>/dev/null | awk '{ print $1 }' | sort -V -r) || true
	for p in $names; do
		policy=$(apt-cache policy "$p" 2>/dev/null) || continue
		if grep -q 'Candidate: [0-9]' <<<"$policy"; then
			echo "$p"
			return 0
		fi
	done
}

# vm_fetch_kernel: sets VM_KVER (e.g. 6.12.117+deb12-amd64), VM_KROOT (the unpacked package: lib/
# modules/$VM_KVER with a fresh depmod) and VM_KERNEL (its vmlinuz). KEYD_VM_KERNEL_PKG pins a
# package; otherwise the newest 6.12 image the package lists know (apt-get update once if none).
# Cached under $KEYD_VM_CACHE (build/vm-cache), shared by scenarios and runs, locked with flock.
vm_fetch_kernel() {
	vm_require
	local pkg=${KEYD_VM_KERNEL_PKG:-} start kdir debdir deb lock fd
	start=$(vm_now)
	mkdir -p "$KEYD_VM_CACHE/debs"
	lock="$KEYD_VM_CACHE/.lock"
	exec {fd}>"$lock"
	flock -w 900 "$fd" || fail "could not lock $lock within 15 minutes"

	if [ -z "$pkg" ]; then
		pkg=$(_vm_kernel_candidate)
		if [ -z "$pkg" ]; then
			note "no linux-image-6.12 package known: apt-get update"
			apt-get update -q >"$KEYD_VM_CACHE/apt-update.log" 2>&1 || true
			pkg=$(_vm_kernel_candidate)
		fi
	fi
	if [ -z "$pkg" ]; then
		# Offline with an old cache: use the newest kernel unpacked before.
		kdir=$(find "$KEYD_VM_CACHE" -maxdepth 2 -name .ready -path '*/kernel-6.12.*' \
			-printf '%h\n' 2>/dev/null | sort -V -r | head -n 1)
		if [ -z "$kdir" ]; then
			exec {fd}>&-
			skip "no linux-image-6.12.*-amd64 package: Debian's bookworm-security suite is not in the apt sources or not reachable (see $KEYD_VM_CACHE/apt-update.log)"
		fi
		pkg=linux-image-${kdir##*/kernel-}
	fi
	VM_KVER=${pkg#linux-image-}
	kdir="$KEYD_VM_CACHE/kernel-$VM_KVER"

	if [ ! -e "$kdir/.ready" ]; then
		deb=$(find "$KEYD_VM_CACHE/debs" -maxdepth 1 -name "${pkg}_*_amd64.deb" | sort -V | tail -n 1)
		if [ -z "$deb" ]; then
			debdir=$(mktemp -d "$KEYD_VM_CACHE/debs/.dl.XXXXXX")
			# apt's _apt sandbox user must be able to write there, or apt warns.
			chmod 0755 "$debdir"
			if ! (cd "$debdir" && apt-get download -q "$pkg") \
				>"$KEYD_VM_CACHE/apt-download.log" 2>&1; then
				rm -rf "$debdir"
				exec {fd}>&-
				skip "'apt-get download $pkg' failed (no network, or no such package?); see $KEYD_VM_CACHE/apt-download.log"
			fi
			mv "$debdir"/*.deb "$KEYD_VM_CACHE/debs/"
			rm -rf "$debdir"
			deb=$(find "$KEYD_VM_CACHE/debs" -maxdepth 1 -name "${pkg}_*_amd64.deb" | sort -V | tail -n 1)
			note "downloaded $(basename "$deb") in $(vm_since "$start") s"
		fi
		rm -rf "$kdir" "$kdir.tmp"
		dpkg-deb -x "$deb" "$kdir.tmp" || fail "dpkg-deb -x $deb failed"
		# Debian's modules.dep is built by the package's postinst, which we do not run.
		depmod -b "$kdir.tmp" "$VM_KVER" || fail "depmod -b $kdir.tmp $VM_KVER failed"
		mv "$kdir.tmp" "$kdir"
		touch "$kdir/.ready"
	fi
	exec {fd}>&-
	VM_KROOT=$kdir
	VM_KERNEL="$kdir/boot/vmlinuz-$VM_KVER"
	[ -r "$VM_KERNEL" ] || fail "no kernel image at $VM_KERNEL"
	VM_TIME_FETCH=$(vm_since "$start")
	note "kernel $VM_KVER ready in $VM_TIME_FETCH s ($VM_KROOT)"
	export VM_KVER VM_KROOT VM_KERNEL
}

# _vm_copy SRC DEST_IN_STAGE: copy a file (following links), creating the parent directory.
_vm_copy() {
	mkdir -p "$(dirname "$2")"
	cp -L --preserve=mode "$1" "$2"
}

# _vm_copy_libs STAGE FILE: the shared libraries ldd lists for FILE, at the same paths.
_vm_copy_libs() {
	local stage=$1 file=$2 lib
	# "libx.so.1 => /lib/.../libx.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
	ldd "$file" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }' |
		while read -r lib; do
			[ -e "$stage$lib" ] || _vm_copy "$lib" "$stage$lib"
		done
}

# _vm_copy_module STAGE NAME: NAME and its dependencies from $VM_KROOT, decompressed.
_vm_copy_module() {
	local stage=$1 name=$2 line path rel dest out
	out=$(modprobe -d "$VM_KROOT" -S "$VM_KVER" --show-depends "$name" 2>&1) ||
		fail "module '$name' is not in kernel $VM_KVER: $out"
	while read -r line; do
		case $line in
		insmod\ *) ;;
		builtin\ *) continue ;;
		*) continue ;;
		esac
		path=${line#insmod }
		path=${path%% *}
		rel=${path#"$VM_KROOT"}
		dest="$stage${rel%.xz}"
		dest=${dest%.zst}
		[ -e "$dest" ] && continue
		mkdir -p "$(dirname "$dest")"
		case $path in
		*.ko.xz) xz -dc "$path" >"$dest" ;;
		*.ko.zst) zstd -qdc "$path" >"$dest" ;;
		*) cp "$path" "$dest" ;;
		esac
	done <<<"$out"
}

# vm_initramfs DIR [options]: DIR holds the scenario's files, laid out as in the guest, and
# DIR/init (the scenario's script; it should start with ". /lib/keyd-vm/guest.sh; vm_guest_init").
# Adds busybox (all applets), kmod, the guest helper, and:
#   --bin FILE[:DEST]  an executable and its libraries (ldd); DEST defaults to /usr/bin/NAME for
#                      files of this tree (build/...) and to the same path for system binaries
#   --lib NAME|PATH    a library loaded with dlopen (ldd cannot see it), and its libraries
#   --tcti             the tss2 TCTIs keyd-ctl may dlopen: device, swtpm, and the tctildr
#   --module NAME      a kernel module and what it depends on (decompressed)
#   --out FILE         where to write the cpio (default DIR.cpio)
# Writes an uncompressed newc cpio and sets VM_INITRD; run vm_fetch_kernel first.
vm_initramfs() {
	local dir=$1; shift
	local out="$dir.cpio" start stage spec src dest lib m a
	local -a bins=() libs=() mods=()
	[ -n "${VM_KROOT:-}" ] || fail "vm_initramfs: call vm_fetch_kernel first"
	[ -x "$dir/init" ] || fail "vm_initramfs: $dir/init is missing or not executable"
	while [ $# -gt 0 ]; do
		case $1 in
		--bin) bins+=("$2"); shift 2 ;;
		--lib) libs+=("$2"); shift 2 ;;
		--module) mods+=("$2"); shift 2 ;;
		--tcti) libs+=(libtss2-tcti-device.so.0 libtss2-tcti-swtpm.so.0); shift ;;
		--out) out=$2; shift 2 ;;
		*) fail "vm_initramfs: unknown option '$1'" ;;
		esac
	done
	start=$(vm_now)
	stage=$(mktemp -d "$T/initramfs.XXXXXX")
	cp -a "$dir/." "$stage/"
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,out,lib/keyd-vm}

	# busybox-static provides the shell and the tools; kmod provides modprobe/insmod that
	# understand modules.dep.bin and decompressed modules (busybox's insmod is not used).
	cp "$(command -v busybox)" "$stage/bin/busybox"
	for a in $("$stage/bin/busybox" --list); do
		[ -e "$stage/bin/$a" ] || ln -s busybox "$stage/bin/$a"
	done
	_vm_copy "$(command -v kmod)" "$stage/sbin/kmod"
	_vm_copy_libs "$stage" "$(command -v kmod)"
	for a in modprobe insmod rmmod lsmod modinfo depmod; do
		rm -f "$stage/bin/$a" "$stage/sbin/$a"
		ln -s kmod "$stage/sbin/$a"
	done

	for spec in "${bins[@]+"${bins[@]}"}"; do
		src=${spec%%:*}
		dest=""
		[ "$src" != "$spec" ] && dest=${spec#*:}
		case $src in
		/*) ;;
		*) [ -e "$src" ] || src=$(command -v "$src") || fail "vm_initramfs: no program '$spec'" ;;
		esac
		[ -x "$src" ] || fail "vm_initramfs: '$src' is not an executable"
		if [ -z "$dest" ]; then
			case $(readlink -f "$src") in
			"$KEYD_TOP"/*) dest=/usr/bin/$(basename "$src") ;;
			*) dest=$(readlink -f "$src") ;;
			esac
		fi
		rm -f "$stage$dest"
		_vm_copy "$src" "$stage$dest"
		_vm_copy_libs "$stage" "$src"
	done
	for lib in "${libs[@]+"${libs[@]}"}"; do
		case $lib in
		/*) src=$lib ;;
		# (awk reads to the end: an early exit would fail the pipe under pipefail)
		*) src=$(ldconfig -p | awk -v n="$lib" '$1 == n && /x86-64/ && !f { print $NF; f = 1 }') ;;
		esac
		if [ -z "$src" ] || [ ! -e "$src" ]; then
			fail "vm_initramfs: no library '$lib' on this host"
		fi
		_vm_copy "$src" "$stage$src"
		_vm_copy_libs "$stage" "$src"
	done
	# The dynamic linker finds dlopen'ed libraries through the cache, as on the host.
	printf '%s\n' /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib /usr/lib \
		>"$stage/etc/ld.so.conf"
	ldconfig -r "$stage" 2>/dev/null || true

	for m in "${mods[@]+"${mods[@]}"}"; do
		_vm_copy_module "$stage" "$m"
	done
	mkdir -p "$stage/lib/modules/$VM_KVER"
	for a in modules.order modules.builtin modules.builtin.modinfo; do
		cp "$VM_KROOT/lib/modules/$VM_KVER/$a" "$stage/lib/modules/$VM_KVER/"
	done
	depmod -b "$stage" "$VM_KVER" || fail "depmod on the initramfs failed"

	_vm_guest_lib >"$stage$VM_GUEST_LIB"
	# The kernel opens /dev/console before /init runs; without the node init starts with no
	# stdout (the guest helper reopens it after mounting devtmpfs, so this is best effort).
	mknod -m 0600 "$stage/dev/console" c 5 1 2>/dev/null || true
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) >"$out" || fail "cpio failed"
	rm -rf "$stage"
	VM_INITRD=$out
	VM_TIME_INITRAMFS=$(vm_since "$start")
	note "initramfs $(basename "$out"): $(du -m "$out" | cut -f1) MiB in $VM_TIME_INITRAMFS s"
}

# vm_swtpm DIR: a swtpm for one guest boot, its control socket at DIR/sock (qemu's
# tpm-emulator backend talks to the control channel and passes the data channel over it).
# The state in DIR survives between boots; swtpm exits when qemu disconnects (--terminate),
# so call this again before every boot. Sets VM_SWTPM_PID (tracked).
vm_swtpm() {
	local d=$1
	mkdir -p "$d"
	rm -f "$d/sock" "$d/pid"
	swtpm socket --tpm2 --tpmstate dir="$d" --ctrl type=unixio,path="$d/sock" --terminate \
		--log file="$d/log",level=1 --daemon --pid file="$d/pid" ||
		fail "swtpm did not start (log: $d/log)"
	for _ in $(seq 100); do [ -s "$d/pid" ] && [ -S "$d/sock" ] && break; sleep 0.05; done
	[ -S "$d/sock" ] || fail "swtpm made no socket at $d/sock"
	VM_SWTPM_PID=$(cat "$d/pid")
	track_pid "$VM_SWTPM_PID"
}

# vm_outbox FILE [MIB]: a zeroed raw disk the guest fills with a tar of its /out directory
# (vm_result does it); after vm_run, vm_outbox_extract FILE DIR unpacks it on the host.
vm_outbox() {
	rm -f "$1"
	truncate -s "${2:-16}M" "$1"
}
vm_outbox_extract() {
	mkdir -p "$2"
	tar -xf "$1" -C "$2" 2>/dev/null || fail "the guest wrote no outbox (tar of /out) to $1"
}

# vm_start NAME [options] [-- extra qemu arguments]: boot in the background.
#   --initrd FILE    (default $VM_INITRD)
#   --tpm DIR        attach the swtpm started with vm_swtpm DIR
#   --outbox FILE    attach FILE as the virtio disk with serial "keydout" (vm_outbox)
#   --append ARGS    more kernel command line (the guest's /init sees it in /proc/cmdline)
#   --mem MIB        (default 1024)
#   --timeout SECS   hard limit for vm_wait (default $KEYD_VM_TIMEOUT = 170)
#   --net-listen SOCK / --net-connect SOCK
#                    a virtio NIC joined to one other guest through the unix socket SOCK (qemu's
#                    stream netdev: no TCP port on the host); start the listening guest first,
#                    vm_start waits for SOCK before starting the connecting one. MACs differ
#                    (...:01 listen, ...:02 connect); in the guest: vm_guest_net ADDR/PREFIX.
# Serial console in build/test-logs/vm-NAME.serial.log. Sets VM_PID (tracked by pid).
# KEYD_VM_KVM=1 uses KVM instead of TCG (it does not work on this project's machines).
# KEYD_VM_APPEND="ARGS" adds ARGS to every guest's kernel command line, for a debugging run
# (e.g. "loglevel=7", "systemd.log_level=debug systemd.log_target=console").
declare -A _vm_pid=() _vm_log=() _vm_deadline=() _vm_started=() _vm_args=() _vm_retried=()
vm_start() {
	local name=$1; shift
	# Kept for vm_wait's one retry of a guest whose kernel crashed before running anything of
	# the test's (see vm_early_crash).
	_vm_args[$name]=$(printf '%q ' "$@")
	local initrd=${VM_INITRD:-} tpm="" outbox="" append="" mem=1024 timeout=$KEYD_VM_TIMEOUT
	local -a qargs=() accel
	while [ $# -gt 0 ]; do
		case $1 in
		--initrd) initrd=$2; shift 2 ;;
		--tpm) tpm=$2; shift 2 ;;
		--outbox) outbox=$2; shift 2 ;;
		--append) append=$2; shift 2 ;;
		--mem) mem=$2; shift 2 ;;
		--timeout) timeout=$2; shift 2 ;;
		--net-listen)
			rm -f "$2"
			qargs+=(-netdev "stream,id=keydnet,server=on,addr.type=unix,addr.path=$2"
				-device virtio-net-pci,netdev=keydnet,mac=52:54:00:6b:64:01)
			shift 2 ;;
		--net-connect)
			for _ in $(seq 100); do [ -S "$2" ] && break; sleep 0.1; done
			[ -S "$2" ] || fail "vm_start: no listening guest at $2"
			qargs+=(-netdev "stream,id=keydnet,server=off,addr.type=unix,addr.path=$2"
				-device virtio-net-pci,netdev=keydnet,mac=52:54:00:6b:64:02)
			shift 2 ;;
		--) shift; qargs+=("$@"); break ;;
		*) fail "vm_start: unknown option '$1'" ;;
		esac
	done
	[ -n "${VM_KERNEL:-}" ] || fail "vm_start: call vm_fetch_kernel first"
	[ -r "$initrd" ] || fail "vm_start: no initramfs '$initrd'"
	if [ "${KEYD_VM_KVM:-0}" = 1 ]; then
		accel=(-accel kvm -cpu host)
	else
		accel=(-accel tcg -cpu max)
	fi
	if [ -n "$tpm" ]; then
		[ -S "$tpm/sock" ] || fail "vm_start: no swtpm at $tpm/sock (call vm_swtpm $tpm)"
		qargs+=(-chardev "socket,id=chrtpm,path=$tpm/sock" -tpmdev emulator,id=tpm0,chardev=chrtpm
			-device tpm-tis,tpmdev=tpm0)
	fi
	if [ -n "$outbox" ]; then
		qargs+=(-drive "file=$outbox,format=raw,if=none,id=keydout,cache=unsafe"
			-device virtio-blk-pci,drive=keydout,serial=keydout)
	fi
	mkdir -p "$VM_LOGDIR"
	local log="$VM_LOGDIR/vm-$name.serial.log"
	: >"$log"
	qemu-system-x86_64 "${accel[@]}" -m "$mem" -smp 1 -nographic -no-reboot -nic none \
		-kernel "$VM_KERNEL" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet $append${KEYD_VM_APPEND:+ $KEYD_VM_APPEND}" \
		"${qargs[@]+"${qargs[@]}"}" </dev/null >"$log" 2>&1 &
	VM_PID=$!
	track_pid "$VM_PID"
	_vm_pid[$name]=$VM_PID
	_vm_log[$name]=$log
	_vm_started[$name]=$(vm_now)
	_vm_deadline[$name]=$(($(date +%s) + timeout))
}

# vm_wait NAME: wait for the guest to power off (or the hard timeout, then kill qemu by pid),
# print its timing lines, and return the verdict: 0 PASS, 1 FAIL, 77 SKIP (reason printed).
# Sets VM_RESULT (the verdict line) and VM_TIME_BOOT (start to power-off, seconds).
vm_wait() {
	local name=$1 pid=${_vm_pid[$1]} log=${_vm_log[$1]} timed_out=0 line
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$(date +%s)" -ge "${_vm_deadline[$name]}" ]; then
			timed_out=1
			kill "$pid" 2>/dev/null || true
			sleep 1
			kill -9 "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	wait "$pid" 2>/dev/null || true
	# The console log's last write is the power-off (vm_wait may be called late, with guests
	# running side by side).
	local end
	end=$(stat -c %.3Y "$log")
	VM_TIME_BOOT=$(awk -v a="${_vm_started[$name]}" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	# Markers are matched anywhere in a line: the firmware's escape sequences share the first.
	tr -d '\r' <"$log" | grep -a -o 'KEYD-VM-TIME: .*' |
		sed "s/^KEYD-VM-TIME: /--- [$name] guest time: /" || true
	note "[$name] qemu start to power-off: $VM_TIME_BOOT s (serial log: $log)"
	VM_RESULT=$(tr -d '\r' <"$log" | grep -a -o 'KEYD-VM-RESULT: .*' | head -n 1 || true)
	if [ $timed_out = 1 ] && [ -z "$VM_RESULT" ]; then
		tail -n 40 "$log" | sed 's/^/      | /'
		vm_keep_log "$name"
		echo "FAIL: [$name] no verdict within the hard timeout; qemu killed" >&2
		return 1
	fi
	case $VM_RESULT in
	"KEYD-VM-RESULT: PASS"*) echo "[$name] ${VM_RESULT#KEYD-VM-RESULT: }"; return 0 ;;
	"KEYD-VM-RESULT: SKIP"*) echo "SKIP: [$name] ${VM_RESULT#KEYD-VM-RESULT: SKIP }"; return 77 ;;
	"KEYD-VM-RESULT: FAIL"*)
		tail -n 30 "$log" | sed 's/^/      | /'
		vm_keep_log "$name"
		echo "FAIL: [$name] ${VM_RESULT#KEYD-VM-RESULT: FAIL }" >&2
		return 1 ;;
	*)
		tail -n 30 "$log" | sed 's/^/      | /'
		vm_keep_log "$name"
		line=$(tr -d '\r' <"$log" | grep -a -m1 -E 'Kernel panic|Oops|BUG:' || true)
		if vm_early_crash "$name"; then
			_vm_retried[$name]=1
			note "[$name] the guest kernel crashed inside start_kernel, before init ran" \
				"(${line:-a panic}); under TCG this is an emulation fault, not the test's" \
				"code: booting it once more"
			eval "vm_start $(printf '%q' "$name") ${_vm_args[$name]}"
			vm_wait "$name"
			return
		fi
		echo "FAIL: [$name] the guest stopped without a verdict${line:+: $line}" >&2
		return 1 ;;
	esac
}

# vm_early_crash NAME: true when NAME's kernel died inside start_kernel (the oops trace names
# it), so no code of the test's ran yet, NAME was not retried already and is not the listening
# side of a guest pair (its peer would have to be restarted too; qemu's stream netdev server
# takes a new connection when its client goes away, so a connecting guest can boot again).
# Seen once in a clean-clone run: a double fault in alloc_workqueue at 0.86 s under TCG with
# -cpu max, in the connecting guest of a root boot.
vm_early_crash() {
	local log=${_vm_log[$1]}
	[ -z "${_vm_retried[$1]:-}" ] || return 1
	case ${_vm_args[$1]} in *--net-listen*) return 1 ;; esac
	tr -d '\r' <"$log" | grep -a -q -E 'Kernel panic|Oops' || return 1
	tr -d '\r' <"$log" | grep -a -q -E '[ ?]start_kernel\+' || return 1
	! tr -d '\r' <"$log" | grep -a -q 'KEYD-VM-'
}

# vm_keep_log NAME: a copy of NAME's console log that later runs do not overwrite, for a failed
# boot (build/test-logs/failed/vm-NAME.DATE.PID.serial.log); says where.
vm_keep_log() {
	local log=${_vm_log[$1]:-$VM_LOGDIR/vm-$1.serial.log} keep
	[ -s "$log" ] || return 0
	mkdir -p "$VM_LOGDIR/failed"
	keep=$VM_LOGDIR/failed/vm-$1.$(date +%Y%m%d-%H%M%S).$$.serial.log
	cp "$log" "$keep" && echo "      (console log of [$1] kept: $keep)" >&2
	return 0
}

# vm_stop NAME: stop a guest that still runs (its qemu, by pid), e.g. the peer of a guest that
# failed; its console log stays.
vm_stop() {
	local pid=${_vm_pid[$1]:-}
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# vm_run NAME [vm_start options] [-- qemu arguments]: boot, wait, verdict (see vm_wait).
vm_run() {
	vm_start "$@"
	vm_wait "$1"
}

# The guest-side library, sourced by the scenario's /init (busybox ash, PID 1).
_vm_guest_lib() {
	cat <<'GUEST'
# keyd VM guest helper (written by tests/vm/lib/vm.sh). Source it from /init, then call
# vm_guest_init. The host reads the serial console: one "KEYD-VM-RESULT: PASS|FAIL|SKIP ..."
# line is the verdict, "KEYD-VM-TIME: ..." lines are timings. Everything ends in poweroff -f.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
_vm_done=0
_vm_mark=0

# Seconds since the kernel started (the guest's clock; /proc/uptime).
vm_uptime() { cut -d' ' -f1 /proc/uptime; }

# vm_time LABEL: print LABEL's duration since the previous mark (or since boot).
vm_time() {
	local now
	now=$(vm_uptime)
	echo "KEYD-VM-TIME: $1 $(awk -v a="$_vm_mark" -v b="$now" 'BEGIN { printf "%.1f", b - a }') s (uptime $now s)"
	_vm_mark=$now
}

# vm_result PASS|FAIL|SKIP REASON...: save /out to the outbox disk, print the verdict, power off.
vm_result() {
	local verdict="$1" i=0; shift
	[ "$_vm_done" = 1 ] && return 0
	_vm_done=1
	trap - EXIT
	vm_outbox_save
	# The verdict before the sync, the sync bounded (10 s) and poweroff -n (no second sync): a
	# sync that waits on a stalled device (an NVMe/TCP root whose controller is down) must not
	# keep the verdict off the console until the host's hard timeout.
	echo "KEYD-VM-RESULT: $verdict $*"
	sync &
	while kill -0 $! 2>/dev/null && [ "$i" -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$i" -lt 100 ] || echo "keyd-vm: sync did not finish in 10 s: powering off without it"
	poweroff -f -n &
	sleep 10
	# Still here: the power-off itself waits (device shutdown or a usermode helper stuck on a
	# stalled device). Reset at once; qemu's -no-reboot turns the reset into an exit.
	echo "keyd-vm: poweroff did not finish in 10 s: resetting"
	echo b >/proc/sysrq-trigger
	sleep 10
}
vm_fail() { vm_result FAIL "$@"; }
vm_skip() { vm_result SKIP "$@"; }

# vm_check DESCRIPTION CMD...: run CMD; on failure show its output and fail the scenario.
vm_check() {
	local desc="$1" out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	if [ "$rc" != 0 ]; then
		echo "$out"
		vm_fail "$desc (exit $rc: $*)"
	fi
	echo "ok: $desc"
	VM_OUT=$out
}

# vm_check_nvme_tls_root: in a root switched to over NVMe/TCP (tests/vm/root-*.sh), check that
# / is an NVMe/TCP namespace whose controller's tls_key is keyd's PSK for the identity in
# /etc/keyd-test/identity. Sets dev, ctrl, key, want and line for the caller's later checks.
vm_check_nvme_tls_root() {
	dev=$(awk '$2 == "/" { d = $1 } END { print d }' /proc/mounts)
	case $dev in
	/dev/nvme*n1) echo "ok: / is mounted from $dev" ;;
	*) vm_fail "/ is mounted from '$dev', not an NVMe namespace" ;;
	esac
	ctrl=${dev#/dev/}
	ctrl=/sys/class/nvme/${ctrl%n1}
	[ "$(cat $ctrl/transport)" = tcp ] || vm_fail "$ctrl is not NVMe/TCP ($(cat $ctrl/transport))"
	echo "ok: controller $(cat $ctrl/address) over $(cat $ctrl/transport)"
	key=$(cat $ctrl/tls_key 2>/dev/null)
	[ -n "$key" ] && [ "$key" != 00000000 ] || vm_fail "$ctrl has no tls_key: not TLS"
	want=$(cat /etc/keyd-test/identity)
	line=$(awk -v k="$key" '$1 == k' /proc/keys)
	echo "tls_key $key: $line"
	case $line in
	*" psk "*"$want"*) echo "ok: tls_key $key is keyd's PSK '$want'" ;;
	*) vm_fail "tls_key $key is not keyd's PSK '$want' (/proc/keys: '$line')" ;;
	esac
}

# vm_wait_for PATH [TENTHS]: wait until PATH exists (default 10 s).
vm_wait_for() {
	local i=0
	while [ ! -e "$1" ]; do
		i=$((i + 1))
		[ "$i" -gt "${2:-100}" ] && return 1
		sleep 0.1
	done
	return 0
}

# The outbox: the virtio disk whose serial is "keydout" receives a tar of /out.
vm_outbox_save() {
	local s i=0 dev=""
	[ -n "$(ls -A /out 2>/dev/null)" ] || return 0
	modprobe -q virtio_blk 2>/dev/null
	while [ -z "$dev" ] && [ "$i" -lt 30 ]; do
		for s in /sys/block/*/serial; do
			[ -r "$s" ] && [ "$(cat "$s")" = keydout ] && dev=/dev/$(basename "${s%/serial}")
		done
		[ -n "$dev" ] || sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$dev" ]; then
		echo "keyd-vm: no outbox disk (serial keydout): /out not saved"
		return 0
	fi
	tar -cf "$dev" -C /out . && sync
}

# vm_guest_net ADDR/PREFIX: bring up the NIC from --net-listen/--net-connect (needs the
# virtio_net module in the initramfs).
vm_guest_net() {
	local dev
	modprobe -q virtio_net || vm_fail "modprobe virtio_net failed (add --module virtio_net)"
	vm_wait_for /sys/class/net/eth0 50 || vm_fail "no eth0 in the guest"
	dev=eth0
	ip addr add "$1" dev $dev && ip link set $dev up || vm_fail "could not configure $dev as $1"
}

# vm_nvmet_target SUBNQN TRADDR TRSVCID DEVICE [TSAS]: an NVMe/TCP target through configfs (needs
# the nvmet-tcp module): subsystem SUBNQN open to any host, namespace 1 on the block device
# DEVICE, port 1 on TRADDR:TRSVCID; TSAS "tls1.3" makes the port require TLS (addr_treq then
# reads "required"; the server handshake then needs an agent in the guest).
vm_nvmet_target() {
	local n=/sys/kernel/config/nvmet sub="$1"
	[ -d $n ] || vm_fail "no nvmet configfs at $n (modprobe nvmet-tcp first)"
	mkdir $n/subsystems/"$sub" &&
		echo 1 >$n/subsystems/"$sub"/attr_allow_any_host &&
		mkdir $n/subsystems/"$sub"/namespaces/1 &&
		printf %s "$4" >$n/subsystems/"$sub"/namespaces/1/device_path &&
		echo 1 >$n/subsystems/"$sub"/namespaces/1/enable ||
		vm_fail "nvmet: could not create subsystem '$sub' with namespace '$4'"
	mkdir $n/ports/1 &&
		echo tcp >$n/ports/1/addr_trtype &&
		echo ipv4 >$n/ports/1/addr_adrfam &&
		echo "$2" >$n/ports/1/addr_traddr &&
		echo "$3" >$n/ports/1/addr_trsvcid || vm_fail "nvmet: could not configure port 1"
	if [ -n "${5:-}" ]; then
		echo "$5" >$n/ports/1/addr_tsas || vm_fail "nvmet: addr_tsas '$5' refused"
	fi
	ln -s $n/subsystems/"$sub" $n/ports/1/subsystems/"$sub" ||
		vm_fail "nvmet: could not enable port 1 on $2:$3"
}

# vm_nvme_connect OPTIONS: write a connect string to /dev/nvme-fabrics (what nvme-cli does);
# on success VM_NVME_REPLY holds the kernel's reply ("instance=N,cntlid=M") and
# VM_NVME_CTRL the controller (nvmeN). Returns the write's failure (the errno shows as text).
vm_nvme_connect() {
	VM_NVME_REPLY=""
	VM_NVME_CTRL=""
	exec 3<>/dev/nvme-fabrics || return 1
	if ! printf '%s' "$1" >&3; then
		exec 3>&-
		return 1
	fi
	read -r VM_NVME_REPLY <&3
	exec 3>&-
	VM_NVME_CTRL=nvme$(echo "$VM_NVME_REPLY" | sed -n 's/^instance=\([0-9]*\),.*/\1/p')
	echo "connect: $VM_NVME_REPLY"
}

vm_guest_init() {
	mkdir -p /proc /sys /dev /tmp /run /out
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	exec </dev/console >/dev/console 2>&1
	mkdir -p /dev/pts /dev/shm
	mount -t devpts devpts /dev/pts
	mount -t tmpfs tmpfs /tmp
	mount -t tmpfs tmpfs /run
	modprobe -q configfs 2>/dev/null
	grep -qw configfs /proc/filesystems && mount -t configfs configfs /sys/kernel/config
	ip link set lo up 2>/dev/null
	hostname keyd-vm
	# An init that ends or fails without a verdict would panic the kernel: report it instead.
	trap 'vm_result FAIL "/init ended without a verdict (last status $?)"' EXIT
	vm_time boot-to-init
}
GUEST
}
