#!/bin/bash
# Two guests joined by a virtual network link (qemu stream netdev over a unix socket: no host
# port): "target" serves a loop-device namespace over NVMe/TCP on 10.0.2.1:4420, "host"
# (10.0.2.2) connects, writes 1 MiB of random data and tells the target its sha256 on a second
# TCP connection; the target passes only when its backing file holds exactly that data.
# The shape the early-boot scenarios build on (a root fs over NVMe/TCP from another machine).
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"

vm_require
vm_fetch_kernel

mkdir -p "$T/root"
cat >"$T/root/init" <<'INIT'
#!/bin/sh
. /lib/keyd-vm/guest.sh
vm_guest_init
SUBNQN=nqn.2014-08.org.keyd:vm-two-target
HOSTNQN=nqn.2014-08.org.keyd:vm-two-host
HOSTID=0f3e9a52-41c7-4d8e-b6a2-7c5d1e9f8a31
role=$(sed -n 's/.*keyd\.role=\([a-z]*\).*/\1/p' /proc/cmdline)

case $role in
target)
	vm_guest_net 10.0.2.1/24
	vm_check "modprobe nvmet-tcp loop" modprobe -a nvmet-tcp loop
	dd if=/dev/zero of=/tmp/backing bs=1M count=8 2>/dev/null
	vm_wait_for /dev/loop0 50 || vm_fail "no /dev/loop0"
	vm_check "losetup" losetup /dev/loop0 /tmp/backing
	vm_nvmet_target "$SUBNQN" 10.0.2.1 4420 /dev/loop0
	vm_time target-ready
	# One message from the host when it is done: "done <sha256 of what it wrote>".
	msg=$(nc -l -p 5000 | head -n 1)
	echo "host says: $msg"
	want=${msg#done }
	got=$(dd if=/tmp/backing bs=65536 skip=16 count=16 2>/dev/null | sha256sum | cut -d' ' -f1)
	[ -n "$want" ] && [ "$got" = "$want" ] ||
		vm_fail "the backing file holds $got, the host wrote $want"
	vm_time host-done
	vm_result PASS "the host's data reached this target's disk"
	;;
host)
	vm_guest_net 10.0.2.2/24
	vm_check "modprobe nvme-tcp" modprobe nvme-tcp
	i=0
	until vm_nvme_connect "nqn=$SUBNQN,transport=tcp,traddr=10.0.2.1,trsvcid=4420,hostnqn=$HOSTNQN,hostid=$HOSTID"; do
		# The target guest may still be booting.
		i=$((i + 1)); [ $i -gt 60 ] && vm_fail "no NVMe/TCP target at 10.0.2.1:4420 after 60 tries"
		sleep 1
	done
	vm_wait_for /dev/nvme0n1 100 || vm_fail "no /dev/nvme0n1 after the connect"
	vm_time connect
	head -c 1048576 /dev/urandom >/tmp/pattern
	vm_check "write through /dev/nvme0n1" dd if=/tmp/pattern of=/dev/nvme0n1 bs=65536 seek=16 conv=fsync
	sum=$(sha256sum /tmp/pattern | cut -d' ' -f1)
	echo 1 >/sys/class/nvme/nvme0/delete_controller
	echo "done $sum" | nc 10.0.2.1 5000 || vm_fail "could not reach the target on 10.0.2.1:5000"
	vm_time io
	vm_result PASS "wrote 1 MiB over NVMe/TCP to the other guest"
	;;
*) vm_fail "no keyd.role= on the kernel command line" ;;
esac
INIT
chmod 0755 "$T/root/init"
vm_initramfs "$T/root" --out "$T/initrd.cpio" \
	--module nvmet-tcp --module nvme-tcp --module loop --module virtio_net

vm_start two-target --append keyd.role=target --net-listen "$T/net.sock"
vm_start two-host --append keyd.role=host --net-connect "$T/net.sock"
rc_host=0 rc_target=0
vm_wait two-host || rc_host=$?
vm_wait two-target || rc_target=$?
[ "$rc_host" = 0 ] || exit "$rc_host"
[ "$rc_target" = 0 ] || exit "$rc_target"
echo "PASS: nvme-tcp-two-guests"
