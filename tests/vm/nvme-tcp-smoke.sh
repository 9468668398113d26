#!/bin/bash
# VM smoke test: proves the VM harness (tests/vm/lib/vm.sh) end to end in one guest.
# Boots Debian's 6.12 kernel with a busybox initramfs and a swtpm attached, and in the guest:
#  - /dev/tpmrm0 exists and keyd-ctl (release build) reads the TPM through it ('tpm info');
#  - the 'psk' key type is absent until nvme-keyring loads, then '%:.nvme' is found by keyctl
#    and a 32-byte psk key can be added to it and read back;
#  - nvmet-tcp + nvme-tcp load; a loopback NVMe/TCP target (configfs, loop-device namespace,
#    no TLS) accepts a connect written to /dev/nvme-fabrics; data written through /dev/nvme0n1
#    reaches the backing file and reads back; the controller is deleted again;
#  - the tls, gcm and ghash-generic modules a TLS connect needs load.
# The guest's 'tpm info --json' comes back through the outbox disk and is checked here.
# Prints timings: kernel fetch, initramfs build, boot to verdict, and the guest's steps.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"

t0=$(vm_now)
vm_require
vm_fetch_kernel

note "building the release keyd-ctl (make NO_DEPS=1 build/release/keyd-ctl)"
ctl_bin=$KEYD_TOP/build/release/keyd-ctl
make -s -C "$KEYD_TOP" NO_DEPS=1 build/release/keyd-ctl >"$T/make.log" 2>&1 ||
	fail "could not build $ctl_bin (the release build is what runs in the guest): $(tail -n 5 "$T/make.log")"

mkdir -p "$T/root"
cat >"$T/root/init" <<'INIT'
#!/bin/sh
. /lib/keyd-vm/guest.sh
vm_guest_init

HOSTNQN=nqn.2014-08.org.keyd:vm-smoke-host
HOSTID=6b1f3c2e-8d4a-4e0b-9a51-0c7d2f9e4b10
SUBNQN=nqn.2014-08.org.keyd:vm-smoke-target

# -- TPM: swtpm seen by the guest's built-in tpm_tis driver, used by keyd-ctl.
vm_wait_for /dev/tpmrm0 50 || vm_fail "no /dev/tpmrm0 in the guest (is the swtpm attached?)"
vm_check "keyd-ctl tpm info over /dev/tpmrm0" \
	keyd-ctl --root /tmp/no-store --tcti device:/dev/tpmrm0 tpm info
echo "$VM_OUT"
echo "$VM_OUT" | grep -q '^manufacturer: *IBM$' || vm_fail "tpm info names no IBM (swtpm) manufacturer"
keyd-ctl --root /tmp/no-store --tcti device:/dev/tpmrm0 --json tpm info >/out/tpm-info.json ||
	vm_fail "keyd-ctl --json tpm info failed"
vm_time tpm

# -- keyrings: the psk type comes with nvme-keyring, which also creates .nvme.
# (ENODEV, "No such device": the kernel knows no key type of that name.)
if out=$(head -c 32 /dev/urandom | keyctl padd psk early @s 2>&1); then
	vm_fail "a 'psk' key was accepted before nvme-keyring was loaded"
fi
echo "$out" | grep -q 'No such device' || vm_fail "psk before nvme-keyring: unexpected '$out'"
vm_check "modprobe nvme-keyring" modprobe nvme-keyring
vm_check "keyctl finds %:.nvme" keyctl describe %:.nvme
psk=$(head -c 32 /dev/urandom | keyctl padd psk "NVMe0R01 $HOSTNQN $SUBNQN" %:.nvme) ||
	vm_fail "keyctl padd psk into %:.nvme failed"
case $(keyctl rdescribe "$psk") in
"psk;"*";NVMe0R01 $HOSTNQN $SUBNQN") echo "ok: psk key $psk in .nvme" ;;
*) vm_fail "unexpected psk key description: $(keyctl rdescribe "$psk")" ;;
esac
# Keys in .nvme grant read to their possessor only: link .nvme into a keyring the reader
# searches, as tlshd does at start, and the key reads back. (PID 1 has no session keyring,
# so each keyctl call would get a throwaway @s: use the user session keyring @us.)
vm_check "link %:.nvme into the user session keyring" keyctl link %:.nvme @us
[ "$(keyctl pipe "$psk" | wc -c)" = 32 ] || vm_fail "the psk key does not read back as 32 bytes"
keyctl unlink "$psk" %:.nvme >/dev/null
vm_time keyring

# -- NVMe/TCP modules (no TLS yet), then the TLS prerequisites separately.
vm_check "modprobe nvmet-tcp" modprobe nvmet-tcp
vm_check "modprobe nvme-tcp" modprobe nvme-tcp
vm_check "modprobe loop" modprobe loop
vm_time module-load
vm_check "modprobe tls gcm ghash-generic" modprobe -a tls gcm ghash-generic
vm_time tls-module-load

# -- target: subsystem with a loop-device namespace, port on 127.0.0.1:4420 (the guest's
# own network namespace, so the port is free).
dd if=/dev/zero of=/tmp/backing bs=1M count=32 2>/dev/null
vm_wait_for /dev/loop0 50 || vm_fail "no /dev/loop0"
vm_check "losetup" losetup /dev/loop0 /tmp/backing
vm_nvmet_target "$SUBNQN" 127.0.0.1 4420 /dev/loop0
vm_time target-setup

# -- host: connect by writing the options to /dev/nvme-fabrics (what nvme-cli does).
vm_nvme_connect "nqn=$SUBNQN,transport=tcp,traddr=127.0.0.1,trsvcid=4420,hostnqn=$HOSTNQN,hostid=$HOSTID" ||
	vm_fail "connect refused by /dev/nvme-fabrics"
[ "$VM_NVME_CTRL" = nvme0 ] || vm_fail "unexpected connect reply '$VM_NVME_REPLY'"
vm_wait_for /dev/nvme0n1 100 || vm_fail "no /dev/nvme0n1 after the connect"
vm_time connect
c=/sys/class/nvme/nvme0
[ "$(cat $c/transport)" = tcp ] || vm_fail "nvme0 transport is '$(cat $c/transport)'"
[ "$(cat $c/subsysnqn)" = "$SUBNQN" ] || vm_fail "nvme0 subsysnqn is '$(cat $c/subsysnqn)'"
[ "$(cat $c/state)" = live ] || vm_fail "nvme0 state is '$(cat $c/state)'"
echo "nvme0: $(cat $c/transport) $(cat $c/address) $(cat $c/state)" | tee /out/nvme0.txt

# -- I/O: 1 MiB of random data at offset 1 MiB, through NVMe/TCP into the loop device.
head -c 1048576 /dev/urandom >/tmp/pattern
vm_check "write through /dev/nvme0n1" \
	dd if=/tmp/pattern of=/dev/nvme0n1 bs=65536 seek=16 conv=fsync
dd if=/tmp/backing bs=65536 skip=16 count=16 2>/dev/null | cmp -s - /tmp/pattern ||
	vm_fail "the data written through /dev/nvme0n1 is not in the backing file"
blockdev --flushbufs /dev/nvme0n1
echo 3 >/proc/sys/vm/drop_caches
dd if=/dev/nvme0n1 bs=65536 skip=16 count=16 2>/dev/null | cmp -s - /tmp/pattern ||
	vm_fail "the data does not read back through /dev/nvme0n1"
echo "ok: 1 MiB written through NVMe/TCP reached the backing file and reads back"
vm_time io

echo 1 >$c/delete_controller
i=0
while [ -e $c ]; do
	i=$((i + 1)); [ $i -gt 100 ] && vm_fail "nvme0 still present after delete_controller"
	sleep 0.1
done
vm_time disconnect
vm_result PASS "TPM, .nvme/psk, NVMe/TCP connect and I/O"
INIT
chmod 0755 "$T/root/init"

vm_initramfs "$T/root" --out "$T/initrd.cpio" \
	--bin "$ctl_bin" --bin keyctl --tcti \
	--module nvme-keyring --module nvmet-tcp --module nvme-tcp --module loop \
	--module tls --module gcm --module ghash-generic --module virtio_blk

vm_swtpm "$T/tpm"
vm_outbox "$T/outbox.img"
rc=0
vm_run nvme-tcp-smoke --tpm "$T/tpm" --outbox "$T/outbox.img" || rc=$?
[ "$rc" = 0 ] || exit "$rc"

vm_outbox_extract "$T/outbox.img" "$T/out"
jq -e '.srk.present == false and .store.state == "none" and .pcr_banks.sha256 == "0-23"' \
	"$T/out/tpm-info.json" >/dev/null || fail "unexpected tpm info from the guest: $(cat "$T/out/tpm-info.json")"
assert_contains "$(cat "$T/out/nvme0.txt")" "^nvme0: tcp traddr=127.0.0.1,trsvcid=4420.* live$"
# swtpm exits when qemu disconnects; make sure (the harness would kill it by pid anyway).
for _ in $(seq 20); do kill -0 "$VM_SWTPM_PID" 2>/dev/null || break; sleep 0.1; done
note "timings: kernel fetch ${VM_TIME_FETCH} s, initramfs ${VM_TIME_INITRAMFS} s, qemu start to verdict ${VM_TIME_BOOT} s, whole test $(vm_since "$t0") s"
echo "PASS: nvme-tcp-smoke"
