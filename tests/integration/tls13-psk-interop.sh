#!/bin/bash
# The in-kernel TLS 1.3 PSK client core (kernel-patches/tls13-psk), built in
# userspace on the OpenSSL backend (tests/lib/tls13-client.c), against real
# servers: openssl s_server with a SHA-256 PSK, a SHA-384 PSK
# (TLS_AES_256_GCM_SHA384) and a forced HelloRetryRequest (server wants
# P-256, the client offers an x25519 share only), and gnutls-serv with a
# --pskpasswd file. Each handshake is followed by application data both ways
# under the derived traffic keys (s_server -rev sends the line back reversed,
# gnutls-serv --echo as is). A wrong PSK and an unknown identity must fail
# with the server's alert reported.
source "$KEYD_TOP/tests/lib/harness.sh"

require_cmd openssl xxd base64
command -v gnutls-serv >/dev/null 2>&1 || skip "'gnutls-serv' is not installed (gnutls-bin)"
client=$KEYD_BUILD/tests/tls13-client
[ -x "$client" ] || fail "$client is missing: build it with 'make NO_DEPS=1 SANITIZE=1 build-all'"

ID="NVMe0R01 nqn.2014-08.org.nvmexpress:uuid:host nqn.test-subsys"

# start_s_server NAME ARGS...: openssl s_server on the unix socket $T/NAME.sock.
start_s_server() {
	local name=$1; shift
	openssl s_server -unix "$T/$name.sock" -tls1_3 -nocert -rev "$@" >"$T/$name.log" 2>&1 &
	track_pid $!
	for _ in $(seq 50); do [ -S "$T/$name.sock" ] && return 0; sleep 0.1; done
	cat "$T/$name.log"
	fail "openssl s_server '$name' did not start"
}

note "SHA-256 PSK, TLS_AES_128_GCM_SHA256, x25519"
PSK256=$(openssl rand -hex 32)
start_s_server s256 -psk "$PSK256" -psk_identity "$ID" -ciphersuites TLS_AES_128_GCM_SHA256
expect_status 0 "$client" --unix "$T/s256.sock" --psk "$PSK256" --identity "$ID" \
	--send "nvme over tls" --expect "slt revo emvn" --timeout 10
assert_contains "$OUT" "handshake ok suite=0x1301 hrr=no"
assert_contains "$OUT" "received: slt revo emvn"

note "wrong PSK: the server refuses the binder"
expect_status 1 "$client" --unix "$T/s256.sock" --psk "$(openssl rand -hex 32)" --identity "$ID" \
	--timeout 10
assert_contains "$OUT" "handshake failed: Key was rejected by service \(alert sent -1, alert received 47\)"

note "unknown identity: the server has no PSK and no certificate"
expect_status 1 "$client" --unix "$T/s256.sock" --psk "$PSK256" --identity "NVMe0R01 other" \
	--timeout 10
assert_contains "$OUT" "handshake failed: .*alert received (40|47|115)\)"

note "SHA-384 PSK, TLS_AES_256_GCM_SHA384"
# s_server's -psk always uses SHA-256 for TLS 1.3; a SHA-384 external PSK needs
# -psk_session: an SSL_SESSION (OpenSSL's ssl_asn1.c layout) carrying the key
# and TLS_AES_256_GCM_SHA384: SEQUENCE { version 1, ssl_version 0x0304,
# cipher 13 02, session_id '', master_key, [1] time, [2] timeout 7200 }.
PSK384=$(openssl rand -hex 48)
now=$(printf '%08x' "$(date +%s)")
{
	echo "-----BEGIN SSL SESSION PARAMETERS-----"
	echo "304d020101020203040402130204000430${PSK384}a1060204${now}a20402021c20" |
		xxd -r -p | base64 -w64
	echo "-----END SSL SESSION PARAMETERS-----"
} >"$T/psk384.pem"
openssl sess_id -in "$T/psk384.pem" -noout -text | grep -q "TLS_AES_256_GCM_SHA384" ||
	fail "could not build the SHA-384 PSK session for s_server"
start_s_server s384 -psk_session "$T/psk384.pem" -psk_identity "$ID" \
	-ciphersuites TLS_AES_256_GCM_SHA384
expect_status 0 "$client" --unix "$T/s384.sock" --psk "$PSK384" --identity "$ID" \
	--send "sha384" --expect "483ahs" --timeout 10
assert_contains "$OUT" "handshake ok suite=0x1302 hrr=no"
assert_contains "$OUT" "received: 483ahs"

note "HelloRetryRequest: the server wants P-256, the client's first share is x25519"
start_s_server hrr -psk "$PSK256" -psk_identity "$ID" -ciphersuites TLS_AES_128_GCM_SHA256 \
	-groups P-256
expect_status 0 "$client" --unix "$T/hrr.sock" --psk "$PSK256" --identity "$ID" \
	--send "retry" --expect "yrter" --timeout 10
assert_contains "$OUT" "handshake ok suite=0x1301 hrr=yes"
assert_contains "$OUT" "received: yrter"
note "the same server with a P-256 share offered up front: no HelloRetryRequest"
expect_status 0 "$client" --unix "$T/hrr.sock" --psk "$PSK256" --identity "$ID" --share-p256 \
	--send "direct" --expect "tcerid" --timeout 10
assert_contains "$OUT" "handshake ok suite=0x1301 hrr=no"

note "gnutls-serv --pskpasswd"
GID=keyd-test-identity
echo "$GID:$PSK256" >"$T/psk.passwd"
chmod 0600 "$T/psk.passwd"
# gnutls-serv listens on TCP only: try a few random high ports.
port=""
for _ in 1 2 3 4 5 6 7 8; do
	p=$((20000 + RANDOM % 40000))
	gnutls-serv -p "$p" --pskpasswd "$T/psk.passwd" --echo --nodb \
		--priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK:+PSK' \
		>"$T/gnutls.log" 2>&1 &
	gpid=$!
	for _ in $(seq 30); do
		grep -q "listening" "$T/gnutls.log" 2>/dev/null && break
		kill -0 "$gpid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$gpid" 2>/dev/null && grep -q "listening" "$T/gnutls.log"; then
		track_pid "$gpid"
		port=$p
		break
	fi
	kill "$gpid" 2>/dev/null || true
	wait "$gpid" 2>/dev/null || true
done
[ -n "$port" ] || { cat "$T/gnutls.log"; skip "gnutls-serv found no free TCP port"; }
expect_status 0 "$client" --tcp "127.0.0.1:$port" --psk "$PSK256" --identity "$GID" \
	--send "echo through gnutls" --expect "echo through gnutls" --timeout 10
assert_contains "$OUT" "handshake ok suite=0x1301 hrr=no"
assert_contains "$OUT" "received: echo through gnutls"
grep -q "PSK authentication. Connected as '$GID'" "$T/gnutls.log" ||
	fail "gnutls-serv did not report the PSK identity: $(cat "$T/gnutls.log")"
expect_status 1 "$client" --tcp "127.0.0.1:$port" --psk "$(openssl rand -hex 32)" \
	--identity "$GID" --timeout 10
assert_contains "$OUT" "handshake failed: Key was rejected by service \(alert sent -1, alert received 47\)"

echo "PASS: tls13 PSK client core interoperates with openssl s_server and gnutls-serv"
