#!/bin/bash
# TLS 1.3 mutual authentication with TPM-resident client keys through keyd.so:
# `openssl s_client -provider keyd -provider default -key keyd:NAME -cert NAME.pem`
# against `openssl s_server -Verify 1 -CAfile ca.pem` (over a unix socket) and
# against `gnutls-serv --require-client-cert` (on loopback, in a private network
# namespace), for an ECDSA P-256 and an RSA-2048 key; each server reports the
# enrolled certificate's subject. Also with the P-256 group, so that OpenSSL's
# ephemeral keys go through keyd.so's key management (it is loaded first).
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd tpm2_getcap
source "$KEYD_TOP/tests/lib/openssl-provider.sh"

# s_client to the server at "$@"; the HTTP request is for s_server -www, the
# echo for gnutls-serv --echo. Output in $T/client.out.
client() {
	local key=$1; shift
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 30 openssl s_client $PROV -key "keyd:$key" \
		-cert "$key.pem" -CAfile ca.pem -verify_return_error -tls1_3 -ign_eof "$@" \
		>"$T/client.out" 2>&1
}

for k in $HOST_KEYS; do
	for groups in default P-256; do
		note "$k: s_client against s_server -Verify 1 (groups: $groups)"
		gopt=()
		[ "$groups" = default ] || gopt=(-groups "$groups")
		rm -f "$T/tls.sock"
		openssl s_server -unix "$T/tls.sock" -cert srv.pem -key srv.key -Verify 1 \
			-CAfile ca.pem -verify_return_error -tls1_3 -naccept 1 -www \
			>"$T/server.out" 2>&1 </dev/null &
		spid=$!
		track_pid "$spid"
		for _ in $(seq 100); do [ -S "$T/tls.sock" ] && break; sleep 0.05; done
		client "$k" -unix "$T/tls.sock" "${gopt[@]}" ||
			fail "s_client failed: $(cat "$T/client.out")"
		wait "$spid" || fail "s_server failed: $(cat "$T/server.out")"
		out=$(cat "$T/server.out")
		assert_contains "$out" "depth=0 CN = $k.keyd.test, O = keyd test"
		assert_contains "$out" "1 server accepts that finished"
		out=$(cat "$T/client.out")
		assert_contains "$out" "Protocol *: TLSv1.3"
		assert_contains "$out" "Verify return code: 0"
	done
done

# gnutls-serv listens on every address: give it a network namespace of its own
# with only loopback, and run the client there too (keyd's socket is a path, so
# it is reachable from any network namespace).
if ! unshare -n true 2>/dev/null || ! command -v gnutls-serv >/dev/null; then
	skip "gnutls-serv or a private network namespace (unshare -n, needs root) is not available"
fi
cat >"$T/gnutls.sh" <<'INNER'
set -eu
ip link set lo up
k=$1 port=4433
gnutls-serv --port "$port" --require-client-cert --x509cafile ca.pem \
	--x509certfile srv.pem --x509keyfile srv.key --echo >gnutls.out 2>&1 </dev/null &
gpid=$!
trap 'kill $gpid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	grep -q "listening" gnutls.out 2>/dev/null && break
	sleep 0.05
done
# stdin stays open a moment so the echo comes back before s_client sees EOF and closes.
{ printf 'hello keyd\n'; sleep 1; } | timeout 30 openssl s_client $PROV -key "keyd:$k" \
	-cert "$k.pem" -CAfile ca.pem -verify_return_error -tls1_3 -connect "127.0.0.1:$port" \
	>client.out 2>&1
INNER
for k in $HOST_KEYS; do
	note "$k: s_client against gnutls-serv --require-client-cert"
	PROV="$PROV" unshare -n bash "$T/gnutls.sh" "$k" ||
		fail "s_client to gnutls-serv failed: $(cat client.out) -- server: $(cat gnutls.out)"
	out=$(cat gnutls.out)
	assert_contains "$out" "Subject: O=keyd test,CN=$k.keyd.test"
	assert_contains "$(cat client.out)" "Protocol *: TLSv1.3"
	assert_contains "$(cat client.out)" "hello keyd"
done

assert_no_transients
stop_keyd
echo "ok"
