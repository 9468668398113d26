#!/bin/bash
# NVMe/TCP over TLS in one guest (Debian's 6.12 kernel), with keyd-handshaked serving both
# the host's client handshake and the target's server handshake (PSK, TLS 1.3, kTLS):
#  - a PSK added to .nvme; nvmet-tcp port with addr_tsas=tls1.3; the host connects with
#    ",tls"; data written through /dev/nvme0n1 reaches the backing device; the controller's
#    tls_key is the serial of that PSK (the agent returned it as remote-auth);
#  - a SHA-384 PSK (NVMe0R02, TLS_AES_256_GCM_SHA384), chosen with tls_key=: both ends run
#    on keyd's TLS 1.3 core instead of GnuTLS 3.7 (which has no SHA-384 PSK binders); data
#    reaches the backing device, tls_key names that PSK;
#  - no PSK: the connect fails with ENOKEY;
#  - mismatched PSKs (the host forced onto a different key with the same identity): the
#    connect fails, within the handshake timeout, and no controller is left;
#  - the agent stopped during a handshake: the kernel times the request out; a restarted
#    agent serves the next connect.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"

t0=$(vm_now)
vm_require
vm_fetch_kernel

note "building the release keyd-handshaked (make NO_DEPS=1 build/release/keyd-handshaked)"
hs_bin=$KEYD_TOP/build/release/keyd-handshaked
make -s -C "$KEYD_TOP" NO_DEPS=1 build/release/keyd-handshaked >"$T/make.log" 2>&1 ||
	fail "could not build $hs_bin: $(tail -n 5 "$T/make.log")"

mkdir -p "$T/root"
cat >"$T/root/init" <<'INIT'
#!/bin/sh
. /lib/keyd-vm/guest.sh
vm_guest_init
HOSTNQN=nqn.2014-08.org.keyd:vm-tls-host
HOSTID=3c1d9e7a-5b42-4f0e-8a6d-2e9b7c4f1a05
SUBNQN=nqn.2014-08.org.keyd:vm-tls-target
ID="NVMe0R01 $HOSTNQN $SUBNQN"
CONNECT="nqn=$SUBNQN,transport=tcp,traddr=127.0.0.1,trsvcid=4420,hostnqn=$HOSTNQN,hostid=$HOSTID,tls"

# The kernel's handshake timeout for nvme-tcp (seconds) is a module parameter: keep it short.
vm_check "modprobe nvme-keyring nvmet-tcp loop tls gcm ghash-generic" \
	modprobe -a nvme-keyring nvmet-tcp loop tls gcm ghash-generic
vm_check "modprobe nvme-tcp tls_handshake_timeout=4" modprobe nvme-tcp tls_handshake_timeout=4
vm_time modules

agent_start() {
	keyd-handshaked -d >>/out/agent.log 2>&1 &
	AGENT=$!
	sleep 0.5
	kill -0 $AGENT 2>/dev/null || { cat /out/agent.log; vm_fail "keyd-handshaked did not start"; }
}
# fabrics_fail OPTIONS: a connect that must fail; its error text (from the shell's write
# error, or the kernel's log line) ends up in /tmp/err.
fabrics_fail() {
	dmesg -c >/dev/null
	if sh -c 'echo -n "$1" >/dev/nvme-fabrics' _ "$1" 2>/tmp/err; then
		return 1
	fi
	dmesg | tail -n 3 >>/tmp/err
	return 0
}
delete_ctrl() {
	local c=/sys/class/nvme/nvme0 i=0
	[ -e $c ] || return 0
	echo 1 >$c/delete_controller
	while [ -e $c ]; do
		i=$((i + 1)); [ $i -gt 100 ] && vm_fail "nvme0 still present after delete_controller"
		sleep 0.1
	done
}

# -- target with TLS required, and the PSK both ends find in .nvme.
dd if=/dev/zero of=/tmp/backing bs=1M count=16 2>/dev/null
vm_wait_for /dev/loop0 50 || vm_fail "no /dev/loop0"
vm_check "losetup" losetup /dev/loop0 /tmp/backing
vm_nvmet_target "$SUBNQN" 127.0.0.1 4420 /dev/loop0 tls1.3
[ "$(cat /sys/kernel/config/nvmet/ports/1/addr_treq)" = required ] ||
	vm_fail "addr_treq is '$(cat /sys/kernel/config/nvmet/ports/1/addr_treq)', not 'required'"
PSK=$(head -c 32 /dev/urandom | keyctl padd psk "$ID" %:.nvme) || vm_fail "cannot add the PSK to .nvme"
echo "ok: PSK $PSK '$ID' in .nvme"
vm_time target-setup

# -- 1. the good path.
agent_start
vm_nvme_connect "$CONNECT" || { cat /out/agent.log; vm_fail "TLS connect refused"; }
vm_wait_for /dev/nvme0n1 100 || vm_fail "no /dev/nvme0n1 after the TLS connect"
c=/sys/class/nvme/nvme0
[ "$(cat $c/state)" = live ] || vm_fail "nvme0 state is '$(cat $c/state)'"
want=$(printf %08x "$PSK")
[ "$(cat $c/tls_key)" = "$want" ] || vm_fail "tls_key is '$(cat $c/tls_key)', the PSK is $want"
echo "ok: nvme0 live over TLS, tls_key $(cat $c/tls_key) = PSK serial"
head -c 1048576 /dev/urandom >/tmp/pattern
vm_check "write through /dev/nvme0n1" dd if=/tmp/pattern of=/dev/nvme0n1 bs=65536 seek=16 conv=fsync
dd if=/tmp/backing bs=65536 skip=16 count=16 2>/dev/null | cmp -s - /tmp/pattern ||
	vm_fail "the data written over NVMe/TCP+TLS is not in the backing file"
echo "ok: 1 MiB over NVMe/TCP with TLS reached the backing device"
delete_ctrl
grep -q "handshake client .*mode psk identity '$ID': ok, TLS_AES_128_GCM_SHA256, kTLS" /out/agent.log ||
	vm_fail "no client success line in the agent log"
grep -q "handshake server .*mode psk identity '$ID': ok, TLS_AES_128_GCM_SHA256, kTLS" /out/agent.log ||
	vm_fail "no server success line in the agent log"
vm_time tls-connect-io

# -- 1b. a SHA-384 PSK: keyd's TLS 1.3 core on both ends (tls13-agent.c), then kTLS.
ID384="NVMe0R02 $HOSTNQN $SUBNQN"
PSK384=$(head -c 48 /dev/urandom | keyctl padd psk "$ID384" %:.nvme) ||
	vm_fail "cannot add the SHA-384 PSK to .nvme"
vm_nvme_connect "$CONNECT,tls_key=$PSK384" || { cat /out/agent.log; vm_fail "SHA-384 TLS connect refused"; }
vm_wait_for /dev/nvme0n1 100 || vm_fail "no /dev/nvme0n1 after the SHA-384 connect"
[ "$(cat $c/state)" = live ] || vm_fail "nvme0 state is '$(cat $c/state)' (SHA-384)"
want=$(printf %08x "$PSK384")
[ "$(cat $c/tls_key)" = "$want" ] || vm_fail "tls_key is '$(cat $c/tls_key)', the SHA-384 PSK is $want"
head -c 1048576 /dev/urandom >/tmp/pattern384
vm_check "write through /dev/nvme0n1 (SHA-384)" \
	dd if=/tmp/pattern384 of=/dev/nvme0n1 bs=65536 seek=48 conv=fsync
dd if=/tmp/backing bs=65536 skip=48 count=16 2>/dev/null | cmp -s - /tmp/pattern384 ||
	vm_fail "the data written over the SHA-384 session is not in the backing file"
delete_ctrl
grep -q "handshake client .*mode psk identity '$ID384': ok, TLS_AES_256_GCM_SHA384, kTLS" /out/agent.log ||
	vm_fail "no SHA-384 client success line in the agent log"
grep -q "handshake server .*mode psk identity '$ID384': ok, TLS_AES_256_GCM_SHA384, kTLS" /out/agent.log ||
	vm_fail "no SHA-384 server success line in the agent log"
echo "ok: SHA-384 PSK: nvme0 live, tls_key $want, 1 MiB reached the backing device"
keyctl unlink "$PSK384" %:.nvme >/dev/null
vm_time sha384-connect-io

# -- 2. mismatched PSKs: the host is forced onto another key with the same identity.
RING=$(keyctl newring keyd-other @us)
BAD=$(head -c 32 /dev/urandom | keyctl padd psk "$ID" "$RING") || vm_fail "cannot add the other PSK"
keyctl setperm "$BAD" 0x3f030000 >/dev/null
start=$(vm_uptime)
fabrics_fail "$CONNECT,tls_key=$BAD" || vm_fail "a connect with mismatched PSKs succeeded"
took=$(awk -v a="$start" -v b="$(vm_uptime)" 'BEGIN { printf "%d", b - a }')
echo "ok: mismatched PSKs refused in ${took} s: $(cat /tmp/err)"
[ "$took" -le 12 ] || vm_fail "the mismatched connect took ${took} s (a hang?)"
[ ! -e /sys/class/nvme/nvme0 ] || vm_fail "a controller was left after the failed connect"
grep -q "EKEYREJECTED\|ENOKEY\|EACCES" /out/agent.log || vm_fail "the agent logged no refusal"
vm_time mismatch

# -- 3. no PSK at all: the kernel refuses before asking the agent.
keyctl unlink "$PSK" %:.nvme >/dev/null
fabrics_fail "$CONNECT" || vm_fail "a TLS connect without a PSK succeeded"
grep -q "Required key not available\|no valid PSK found" /tmp/err ||
	vm_fail "no PSK: expected ENOKEY, got '$(cat /tmp/err)'"
echo "ok: no PSK -> ENOKEY"
PSK=$(head -c 32 /dev/urandom | keyctl padd psk "$ID" %:.nvme)
vm_time no-psk

# -- 4. the agent stops in the middle: the kernel times out; a new agent serves the next one.
kill -STOP $AGENT
start=$(vm_uptime)
fabrics_fail "$CONNECT" || vm_fail "a TLS connect succeeded with the agent stopped"
took=$(awk -v a="$start" -v b="$(vm_uptime)" 'BEGIN { printf "%d", b - a }')
echo "ok: with the agent stopped the connect failed after ${took} s: $(cat /tmp/err)"
[ "$took" -le 15 ] || vm_fail "the kernel took ${took} s to time out"
kill -KILL $AGENT
agent_start
vm_nvme_connect "$CONNECT" || { cat /out/agent.log; vm_fail "the restarted agent did not serve the connect"; }
vm_wait_for /dev/nvme0n1 100 || vm_fail "no /dev/nvme0n1 after the restart"
[ "$(cat /sys/class/nvme/nvme0/tls_key)" = "$(printf %08x "$PSK")" ] || vm_fail "tls_key after the restart"
echo "ok: a restarted agent serves the next connect"
delete_ctrl
kill $AGENT
vm_time restart
vm_result PASS "NVMe/TCP TLS through keyd-handshaked: connect+I/O (SHA-256, SHA-384), tls_key, mismatch, no PSK, restart"
INIT
chmod 0755 "$T/root/init"

vm_initramfs "$T/root" --out "$T/initrd.cpio" \
	--bin "$hs_bin" --bin keyctl \
	--module nvme-keyring --module nvmet-tcp --module nvme-tcp --module loop \
	--module tls --module gcm --module ghash-generic --module virtio_blk
vm_outbox "$T/outbox.img"
rc=0
vm_run nvme-tls --outbox "$T/outbox.img" || rc=$?
vm_outbox_extract "$T/outbox.img" "$T/out" 2>/dev/null || true
if [ -f "$T/out/agent.log" ]; then
	note "agent log from the guest:"
	sed 's/^/    /' "$T/out/agent.log"
fi
[ "$rc" = 0 ] || exit "$rc"
note "timings: initramfs ${VM_TIME_INITRAMFS} s, qemu start to verdict ${VM_TIME_BOOT} s, whole test $(vm_since "$t0") s"
echo "PASS: nvme-tls"
