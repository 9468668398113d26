#!/bin/sh
# keyd-initrd-handover: retire the handshake agent the initramfs started, once the real
# root's agent runs (installed as /usr/lib/keyd/keyd-initrd-handover; keyd-handshaked.service
# runs it as ExecStartPost=, see initramfs/systemd/keyd-handshaked.service.d).
#   keyd-initrd-handover [NEW_AGENT_PID]
# The new agent gets a moment to join the netlink group first: two agents listening at once
# is harmless (each request is accepted by exactly one), no agent listening would make a
# reconnect fail with ESRCH. The old agent is told to stop with SIGTERM: it stops listening
# and its handshakes in progress run to their end.
pidf=/run/keyd/handshaked-initrd.pid
[ -s "$pidf" ] || exit 0
old=$(cat "$pidf")
case $old in '' | *[!0-9]*) rm -f "$pidf"; exit 0 ;; esac
# Only that agent: a recycled pid belongs to someone else.
if [ "$(cat "/proc/$old/comm" 2>/dev/null)" != keyd-handshaked ]; then
	rm -f "$pidf"
	exit 0
fi
new=${1:-${MAINPID:-}}
i=0
while [ "$i" -lt 10 ]; do
	sleep 0.2
	i=$((i + 1))
done
if [ -n "$new" ] && ! kill -0 "$new" 2>/dev/null; then
	echo "keyd-initrd-handover: the new agent (pid $new) is not running; the initramfs's agent stays" >&2
	exit 1
fi
kill -TERM "$old" 2>/dev/null
rm -f "$pidf"
echo "keyd-initrd-handover: the initramfs's keyd-handshaked (pid $old) handed over${new:+ to pid $new}"
exit 0
