#!/bin/bash
# The VM harness reports what happened in the guest, and nothing else: four guests run at once
# (vm_start/vm_wait, as two-guest scenarios do), one initramfs, the case chosen on the kernel
# command line (--append keyd.case=...):
#   pass      vm_result PASS                       -> 0, and /out comes back through the outbox
#   fail      a vm_check that fails                -> 1 with the check's description
#   exit      /init ends without a verdict         -> 1 "/init ended without a verdict"
#   skip      vm_skip                              -> 77 with the reason
#   hang      /init never finishes                 -> 1 after the hard timeout, qemu killed by pid
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"

vm_require
vm_fetch_kernel

mkdir -p "$T/root"
cat >"$T/root/init" <<'INIT'
#!/bin/sh
. /lib/keyd-vm/guest.sh
vm_guest_init
case=$(sed -n 's/.*keyd\.case=\([a-z]*\).*/\1/p' /proc/cmdline)
echo "case: $case"
case $case in
pass) echo "from the guest" >/out/hello.txt; vm_result PASS "all good" ;;
fail) vm_check "the expected failure" false ;;
exit) exit 3 ;;
skip) vm_skip "no such feature in this kernel" ;;
hang) while :; do sleep 1; done ;;
esac
vm_result FAIL "unknown case '$case'"
INIT
chmod 0755 "$T/root/init"
vm_initramfs "$T/root" --out "$T/initrd.cpio" --module virtio_blk

vm_outbox "$T/outbox.img"
vm_start verdict-pass --outbox "$T/outbox.img" --append keyd.case=pass
vm_start verdict-fail --append keyd.case=fail
vm_start verdict-exit --append keyd.case=exit
vm_start verdict-skip --append keyd.case=skip
vm_start verdict-hang --append keyd.case=hang --timeout 30
hang_pid=$VM_PID

expect_verdict() { # name, status, pattern
	local rc=0 out
	out=$(vm_wait "$1" 2>&1) || rc=$?
	echo "$out"
	[ "$rc" = "$2" ] || fail "$1: vm_wait returned $rc, expected $2"
	assert_contains "$out" "$3"
}
expect_verdict verdict-pass 0 "^\[verdict-pass\] PASS all good$"
expect_verdict verdict-fail 1 "^FAIL: \[verdict-fail\] the expected failure \(exit 1: false\)$"
expect_verdict verdict-exit 1 "^FAIL: \[verdict-exit\] /init ended without a verdict \(last status 3\)$"
expect_verdict verdict-skip 77 "^SKIP: \[verdict-skip\] no such feature in this kernel$"
expect_verdict verdict-hang 1 "no verdict within the hard timeout; qemu killed"
! kill -0 "$hang_pid" 2>/dev/null || fail "the hung guest's qemu ($hang_pid) is still running"

vm_outbox_extract "$T/outbox.img" "$T/out"
[ "$(cat "$T/out/hello.txt")" = "from the guest" ] || fail "the outbox did not bring /out back"
echo "PASS: harness-verdicts"
