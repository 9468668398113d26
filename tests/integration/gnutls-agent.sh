#!/bin/bash
# keyd-handshaked's x509 client handshake with a TPM-resident key, through
# libkeyd-gnutls (tls.c's seam): keyd provisions a keyring from the policy with the
# client certificate ("cert = K as user") and a reference to its key ("key = K as
# ref", a user key holding "keyd:K"), and another with the CA ("ca-set = C as
# user"). The agent reads them as it reads the kernel's serials, signs through
# keyd and completes TLS 1.3 mutual authentication with openssl s_server -Verify 1
# (ECDSA P-256 and RSA-2048). A reference to a key the policy does not grant to the
# agent's uid fails with EACCES and keyd's reason.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd keyd-ctl
HS="$KEYD_BUILD/keyd-handshaked"
[ -x "$HS" ] || skip "$HS is not built"
start_swtpm
new_store
source "$KEYD_TOP/tests/lib/daemon.sh"
source "$KEYD_TOP/tests/lib/gnutls.sh"

make_ca gtls-ca
make_server_cert gtls-ca server
ctl ca add "$T/gtls-ca.pem" --set gtls-ca >/dev/null
for alg in ec-p256 rsa2048 nogrant; do
	ctl key create "k-$alg" --alg "${alg/nogrant/ec-p256}"
	ctl csr "k-$alg" --subject "/CN=agent-$alg" --out "$T/$alg.csr"
	sign_csr gtls-ca "$T/$alg.csr" "$T/$alg.pem" \
		"extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE"
	ctl cert add "k-$alg" "$T/$alg.pem" >/dev/null
done
write_policy 50-agent "[keyring gtls-trust]
ca-set = gtls-ca as user
link = session
seal = closed

[keyring gtls-client]
cert = k-ec-p256 as user
key = k-ec-p256 as ref
cert = k-rsa2048 as user
key = k-rsa2048 as ref
cert = k-nogrant as user
key = k-nogrant as ref
link = session
seal = closed

[signing]
grant key k-ec-p256 to uid=0
grant key k-rsa2048 to uid=0"
write_keyd_conf
start_keyd
for _ in $(seq 100); do keyctl search @s keyring keyd:gtls-client >/dev/null 2>&1 && break; sleep 0.1; done
TRUST=$(keyctl search @s keyring keyd:gtls-trust) || fail "keyd did not provision gtls-trust"

for alg in ec-p256 rsa2048; do
	note "$alg: the agent signs through keyd against openssl s_server -Verify 1"
	CERT=$(keyctl search @s user "keyd:cert:k-$alg")
	KEY=$(keyctl search @s user "keyd:key:k-$alg")
	[ "$(keyctl pipe "$KEY")" = "keyd:k-$alg" ] || fail "the reference holds '$(keyctl pipe "$KEY")'"
	start_s_server_tcp "agent-$alg" server gtls-ca
	expect_status 0 "$HS" --test-handshake --x509 --connect "127.0.0.1:$SERVER_PORT" \
		--cert-serial "$CERT" --key-serial "$KEY" --ca-keyring "$TRUST" --peername localhost \
		--send $'agent ok\n' --expect $'ko tnega\n'
	echo "$OUT"
	assert_contains "$OUT" "status=ok"
	assert_contains "$OUT" "peer=CN=localhost"
	wait "$SERVER_PID" 2>/dev/null || true
	log=$(cat "$T/agent-$alg.log")
	assert_contains "$log" "CN ?= ?agent-$alg"
	assert_not_contains "$log" "verify error"
	assert_contains "$(cat "$T/keyd.log")" "sign with key 'k-$alg'"
done

note "a reference to a key not granted to the agent: EACCES with keyd's reason"
CERT=$(keyctl search @s user "keyd:cert:k-nogrant")
KEY=$(keyctl search @s user "keyd:key:k-nogrant")
start_s_server_tcp agent-nogrant server gtls-ca
expect_status 1 "$HS" --test-handshake --x509 --connect "127.0.0.1:$SERVER_PORT" \
	--cert-serial "$CERT" --key-serial "$KEY" --ca-keyring "$TRUST" --peername localhost
echo "$OUT"
assert_contains "$OUT" "EACCES"
assert_contains "$OUT" "permission denied: uid 0 may not read key 'k-nogrant'"
stop_server
note "one TPM signature per handshake (no GnuTLS test signature at setup)"
n=$(grep -c "sign with key" "$T/keyd.log" || true)
[ "$n" = 2 ] || fail "$n signatures for 2 handshakes"
stop_keyd
assert_no_transients
echo "ok"
