#!/bin/bash
# The hostile TLS 1.3 server of tests/vm/kernel-tls13-hostile.sh (tests/tls13/tls13-hostile.c)
# against the userspace build of the same client core (tests/lib/tls13-client.c), so its mode
# table is checked without a VM: for every mode the client fails, and the server reads the
# alert the mode expects (or none where none may be sent) from it, 3 connections each.
source "$KEYD_TOP/tests/lib/harness.sh"

require_cmd openssl xxd
client=$KEYD_BUILD/tests/tls13-client
hostile=$KEYD_BUILD/tests/tls13-hostile
for b in "$client" "$hostile"; do
	[ -x "$b" ] || fail "$b is missing: build it with 'make NO_DEPS=1 SANITIZE=1 build-all'"
done

openssl rand 32 >"$T/psk.bin"
PSK=$(xxd -p -c 64 "$T/psk.bin")
ID="NVMe0R01 nqn.2014-08.org.keyd:host nqn.2014-08.org.keyd:sub"
n=0
while read -r name status alert; do
	n=$((n + 1))
	# Port 0: the server binds a free port and prints it (ports on this host may be in use).
	"$hostile" --mode "$name" --port 0 --count 3 --psk-file "$T/psk.bin" >"$T/$name.out" 2>&1 &
	hpid=$!
	track_pid "$hpid"
	port=""
	for _ in $(seq 100); do
		port=$(sed -n 's/^port=//p' "$T/$name.out")
		[ -n "$port" ] && break
		kill -0 "$hpid" 2>/dev/null || fail "$name: the hostile server ended: $(cat "$T/$name.out")"
		sleep 0.1
	done
	[ -n "$port" ] || fail "$name: the hostile server did not listen within 10 s"
	for _ in 1 2 3; do
		expect_status 1 "$client" --tcp "127.0.0.1:$port" --psk "$PSK" --identity "$ID" \
			--timeout 5
		assert_contains "$OUT" "handshake failed"
	done
	hrc=0
	wait "$hpid" || hrc=$?
	[ "$hrc" = 0 ] || fail "$name (status $status, alert $alert): $(grep -v '^port=' "$T/$name.out")"
	note "$name: $(grep -v '^port=' "$T/$name.out")"
done < <("$hostile" --list)
[ "$n" -ge 20 ] || fail "only $n modes listed"
echo "PASS: tls13-hostile ($n modes)"
