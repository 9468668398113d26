#!/bin/bash
# keyd-handshaked with SHA-384 NVMe PSKs (TLS_AES_256_GCM_SHA384) on loopback, without the
# kernel upcall. GnuTLS 3.7 cannot compute SHA-384 PSK binders, so these handshakes run on
# keyd's TLS 1.3 core (keyd/handshake/tls13-agent.c):
#  - client role (--test-handshake --connect) against openssl s_server, data both ways;
#    a wrong PSK -> EKEYREJECTED;
#  - server role (--test-handshake --listen --psk-keyring) against openssl s_client, data
#    both ways; a wrong PSK -> EKEYREJECTED (decrypt_error to the client), an unknown
#    identity -> ENOKEY; a SHA-256 PSK still goes to GnuTLS;
#  - the agent's client against the agent's server.
# OpenSSL's -psk option is SHA-256 only in TLS 1.3; a SHA-384 external PSK is given as
# -psk_session: an SSL_SESSION (OpenSSL's ssl_asn1.c layout) with the key and cipher 13 02.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd keyctl openssl xxd base64 timeout
HS="$KEYD_BUILD/keyd-handshaked"
[ -x "$HS" ] || fail "$HS is not built"

nqnh=nqn.2014-08.org.example.host
nqns=nqn.2014-08.org.example.sub
psk_identity() { echo "NVMe1R$1 $nqnh $nqns $(head -c "$2" /dev/urandom | base64 -w0)"; }

# psk_session FILE HEXKEY: the SSL_SESSION for a SHA-384 external PSK.
psk_session() {
	local now
	now=$(printf '%08x' "$(date +%s)")
	{
		echo "-----BEGIN SSL SESSION PARAMETERS-----"
		echo "304d020101020203040402130204000430${2}a1060204${now}a20402021c20" |
			xxd -r -p | base64 -w64
		echo "-----END SSL SESSION PARAMETERS-----"
	} >"$1"
	openssl sess_id -in "$1" -noout -text | grep -q TLS_AES_256_GCM_SHA384 ||
		fail "could not build the SHA-384 PSK session $1"
}

# start_bg NAME READY-PATTERN CMD...: run CMD in the background on a random port (PORT in
# CMD), wait for READY-PATTERN in its output; sets PORT and BPID.
start_bg() {
	local name=$1 ready=$2; shift 2
	for _ in 1 2 3 4 5 6 7 8; do
		PORT=$((20000 + RANDOM % 40000))
		local args=("${@//PORT/$PORT}")
		"${args[@]}" >"$T/$name.log" 2>&1 &
		BPID=$!
		track_pid "$BPID"
		for _ in $(seq 100); do
			kill -0 "$BPID" 2>/dev/null || break
			grep -q -- "$ready" "$T/$name.log" && return 0
			sleep 0.05
		done
		kill "$BPID" 2>/dev/null || true
		wait "$BPID" 2>/dev/null || true
	done
	fail "$name would not start: $(tail -n 3 "$T/$name.log")"
}
wait_bg() { set +e; wait "$BPID"; BRC=$?; set -e; }

K384=$(openssl rand -hex 48)
ID384=$(psk_identity 02 48)
S384=$(xxd -r -p <<<"$K384" | keyctl padd user "$ID384" @s)
psk_session "$T/good.pem" "$K384"
psk_session "$T/bad.pem" "$(openssl rand -hex 48)"

note "client: SHA-384 PSK against openssl s_server (reverses lines)"
start_bg s_server ACCEPT openssl s_server -accept PORT -nocert -tls1_3 -num_tickets 0 -rev \
	-ciphersuites TLS_AES_256_GCM_SHA384 -psk_session "$T/good.pem" -psk_identity "$ID384"
expect_status 0 "$HS" --test-handshake --connect "127.0.0.1:$PORT" --psk-serial "$S384" \
	--timeout 10000 --send $'sha384 ok\n' --expect $'ko 483ahs\n'
assert_contains "$OUT" "status=ok"
assert_contains "$OUT" "cipher=TLS_AES_256_GCM_SHA384"
assert_contains "$OUT" "identity=NVMe1R02 $nqnh"
assert_contains "$OUT" "ktls=(kernel|soft)"
KTLS=$(grep -o 'ktls=.*' <<<"$OUT")
kill "$BPID"; wait_bg

note "client: the server holds another SHA-384 PSK: EKEYREJECTED"
start_bg s_server-bad ACCEPT openssl s_server -accept PORT -nocert -tls1_3 -num_tickets 0 -rev \
	-ciphersuites TLS_AES_256_GCM_SHA384 -psk_session "$T/bad.pem" -psk_identity "$ID384"
expect_status 1 "$HS" --test-handshake --connect "127.0.0.1:$PORT" --psk-serial "$S384" \
	--timeout 10000
assert_contains "$OUT" "status=EKEYREJECTED"
kill "$BPID"; wait_bg

RING=$(keyctl newring keyd-test-sha384 @s)
xxd -r -p <<<"$K384" | keyctl padd user "$ID384" "$RING" >/dev/null

# s_client NAME SESSION-ARGS...: connect to $PORT, send "hello", print what comes back.
s_client() {
	local name=$1; shift
	set +e
	(printf 'hello\n'; sleep 2) | timeout 15 openssl s_client -connect "127.0.0.1:$PORT" \
		-tls1_3 -ign_eof "$@" >"$T/$name.log" 2>&1
	set -e
}

note "server: openssl s_client with the SHA-384 PSK"
start_bg agent listening= "$HS" --test-handshake --listen 127.0.0.1:PORT --psk-keyring "$RING" \
	--timeout 10000 --expect $'hello\n' --send $'world\n'
s_client s_client -ciphersuites TLS_AES_256_GCM_SHA384 -psk_session "$T/good.pem" \
	-psk_identity "$ID384"
wait_bg
AOUT=$(cat "$T/agent.log")
[ "$BRC" = 0 ] || fail "agent server failed ($BRC): $AOUT"
assert_contains "$AOUT" "status=ok"
assert_contains "$AOUT" "cipher=TLS_AES_256_GCM_SHA384"
assert_contains "$AOUT" "received=hello"
grep -q '^world$' "$T/s_client.log" || fail "s_client did not get the agent's data: $(cat "$T/s_client.log")"
grep -q 'Cipher is TLS_AES_256_GCM_SHA384' "$T/s_client.log" ||
	fail "s_client did not negotiate TLS_AES_256_GCM_SHA384: $(cat "$T/s_client.log")"

note "server: the client's SHA-384 PSK differs: decrypt_error, EKEYREJECTED"
start_bg agent-bad listening= "$HS" --test-handshake --listen 127.0.0.1:PORT \
	--psk-keyring "$RING" --timeout 10000
s_client s_client-bad -ciphersuites TLS_AES_256_GCM_SHA384 -psk_session "$T/bad.pem" \
	-psk_identity "$ID384"
wait_bg
AOUT=$(cat "$T/agent-bad.log")
[ "$BRC" = 1 ] || fail "agent server: expected exit 1, got $BRC: $AOUT"
assert_contains "$AOUT" "status=EKEYREJECTED"
assert_contains "$AOUT" "alert sent decrypt_error"
grep -qi 'decrypt error' "$T/s_client-bad.log" ||
	fail "s_client did not see decrypt_error: $(cat "$T/s_client-bad.log")"

note "server: an identity the keyring does not hold: ENOKEY (unknown_psk_identity)"
start_bg agent-unknown listening= "$HS" --test-handshake --listen 127.0.0.1:PORT \
	--psk-keyring "$RING" --timeout 10000
s_client s_client-unknown -ciphersuites TLS_AES_256_GCM_SHA384 -psk_session "$T/good.pem" \
	-psk_identity "$(psk_identity 02 48)"
wait_bg
AOUT=$(cat "$T/agent-unknown.log")
[ "$BRC" = 1 ] || fail "agent server: expected exit 1, got $BRC: $AOUT"
assert_contains "$AOUT" "status=ENOKEY"

note "server: a SHA-256 PSK still goes to GnuTLS"
K256=$(openssl rand -hex 32)
ID256=$(psk_identity 01 32)
xxd -r -p <<<"$K256" | keyctl padd user "$ID256" "$RING" >/dev/null
start_bg agent-256 listening= "$HS" --test-handshake --listen 127.0.0.1:PORT \
	--psk-keyring "$RING" --timeout 10000 --expect $'hello\n' --send $'world\n'
s_client s_client-256 -ciphersuites TLS_AES_128_GCM_SHA256 -psk "$K256" -psk_identity "$ID256"
wait_bg
AOUT=$(cat "$T/agent-256.log")
[ "$BRC" = 0 ] || fail "agent server (SHA-256) failed ($BRC): $AOUT"
assert_contains "$AOUT" "cipher=TLS_AES_128_GCM_SHA256"
grep -q '^world$' "$T/s_client-256.log" || fail "s_client (SHA-256): $(cat "$T/s_client-256.log")"

note "the agent's client against the agent's server, SHA-384"
start_bg agent-both listening= "$HS" --test-handshake --listen 127.0.0.1:PORT \
	--psk-keyring "$RING" --timeout 10000 --expect $'ping\n' --send $'pong\n'
expect_status 0 "$HS" --test-handshake --connect "127.0.0.1:$PORT" --psk-serial "$S384" \
	--timeout 10000 --send $'ping\n' --expect $'pong\n'
assert_contains "$OUT" "cipher=TLS_AES_256_GCM_SHA384"
wait_bg
[ "$BRC" = 0 ] || fail "agent server failed ($BRC): $(cat "$T/agent-both.log")"
echo "PASS ($KTLS)"
