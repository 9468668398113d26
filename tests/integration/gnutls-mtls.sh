#!/bin/bash
# libkeyd-gnutls, x509: a GnuTLS client built on the library (tests/lib/gnutls-client.c)
# trusts the CA keyring the test makes (DER user keys, as keyd's policy fills them)
# and signs with a TPM-resident key through keyd; it completes TLS 1.3 mutual
# authentication against openssl s_server -Verify 1 and gnutls-serv
# --require-client-cert, for an ECDSA P-256 and an RSA-2048 key, and exchanges data.
# The servers verify the client certificate (made with keyd-ctl csr, signed by the
# test CA). A server whose certificate comes from a CA not in the keyring is refused.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd keyd-ctl
start_swtpm
new_store
source "$KEYD_TOP/tests/lib/daemon.sh"
source "$KEYD_TOP/tests/lib/gnutls.sh"

make_ca gtls-ca
make_ca other-ca
make_server_cert gtls-ca server
make_server_cert other-ca rogue
new_trust_ring "gtls-trust-$$" gtls-ca
# The server certificate (not a CA) in the same ring must not become an anchor.
openssl x509 -in "$T/server.pem" -outform DER | keyctl padd user "not-a-ca" "$RING" >/dev/null
TRUST=$RING

# keyd-ctl cert add checks the certificate against an enrolled CA.
ctl ca add "$T/gtls-ca.pem" --set gtls-ca >/dev/null
for alg in ec-p256 rsa2048; do
	ctl key create "k-$alg" --alg "$alg"
	ctl csr "k-$alg" --subject "/CN=client-$alg" --out "$T/$alg.csr"
	sign_csr gtls-ca "$T/$alg.csr" "$T/$alg.pem" \
		"extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature"
	ctl cert add "k-$alg" "$T/$alg.pem" >/dev/null
done
write_policy 50-gnutls "[signing]
grant key k-* to uid=0"
write_keyd_conf
start_keyd

declare -A want_sig=([ec-p256]=ECDSA-SECP256R1-SHA256 [rsa2048]=RSA-PSS-RSAE-SHA256)
for alg in ec-p256 rsa2048; do
	note "$alg against openssl s_server -Verify 1"
	start_s_server "ossl-$alg" server gtls-ca
	expect_status 0 "$GNUTLS_CLIENT" --unix "$SERVER_SOCK" --server-name localhost \
		--key "k-$alg" --trust-keyring "$TRUST" --send "keyd-ping" --expect "gnip-dyek"
	echo "$OUT"
	assert_contains "$OUT" "1 CA certificate\(s\) from keyring"
	assert_contains "$OUT" "ok: \(TLS1.3\).* auth certificate"
	assert_contains "$OUT" "client signature ${want_sig[$alg]}"
	wait "$SERVER_PID" 2>/dev/null || true
	log=$(cat "$T/ossl-$alg.log")
	assert_contains "$log" "CN ?= ?client-$alg"
	assert_not_contains "$log" "verify error"

	note "$alg against gnutls-serv --require-client-cert"
	start_gnutls_serv "gserv-$alg" --x509certfile "$T/server.pem" --x509keyfile "$T/server.key" \
		--x509cafile "$T/gtls-ca.pem" --require-client-cert \
		--priority "NORMAL:-VERS-ALL:+VERS-TLS1.3"
	expect_status 0 "$GNUTLS_CLIENT" --tcp "127.0.0.1:$SERVER_PORT" --server-name localhost \
		--key "k-$alg" --trust-keyring "$TRUST" --send "keyd-ping" --expect "keyd-ping"
	echo "$OUT"
	assert_contains "$OUT" "ok: \(TLS1.3\).* auth certificate"
	assert_contains "$OUT" "client signature ${want_sig[$alg]}"
	stop_server
	log=$(cat "$T/gserv-$alg.log")
	assert_contains "$log" "client-$alg"
done

note "rsa2048, RSA PKCS#1 v1.5 (TLS 1.2 client authentication, rsa_pkcs1_sha256)"
# TLS 1.3 never signs a CertificateVerify with PKCS#1 v1.5; TLS 1.2 with only that
# algorithm offered by the server exercises the DigestInfo path of the callback.
start_s_server ossl-tls12 server gtls-ca -tls1_2 -client_sigalgs RSA+SHA256
expect_status 0 "$GNUTLS_CLIENT" --unix "$SERVER_SOCK" --server-name localhost --key k-rsa2048 \
	--trust-keyring "$TRUST" --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2" \
	--send "keyd-ping" --expect "gnip-dyek"
echo "$OUT"
assert_contains "$OUT" "ok: \(TLS1.2\).* auth certificate client signature RSA-SHA256"
wait "$SERVER_PID" 2>/dev/null || true
assert_contains "$(cat "$T/ossl-tls12.log")" "CN ?= ?client-rsa2048"

note "a P-256 key is not offered for ecdsa_secp384r1_sha384, the only algorithm asked for"
signs=$(grep -c "sign with key 'k-ec-p256'" "$T/keyd.log" || true)
start_s_server ossl-p384only server gtls-ca -tls1_3 -client_sigalgs ECDSA+SHA384
expect_status 1 "$GNUTLS_CLIENT" --unix "$SERVER_SOCK" --server-name localhost --key k-ec-p256 \
	--trust-keyring "$TRUST" --send "keyd-ping" --expect "gnip-dyek"
echo "$OUT"
# TLS 1.3: the client finishes first, without a certificate (it has none to offer
# for that algorithm), and the server's refusal arrives as an alert afterwards.
assert_contains "$OUT" "client signature \?"
assert_contains "$OUT" "receive: A TLS fatal alert has been received"
wait "$SERVER_PID" 2>/dev/null || true
assert_contains "$(cat "$T/ossl-p384only.log")" "peer did not return a certificate"
[ "$(grep -c "sign with key 'k-ec-p256'" "$T/keyd.log" || true)" = "$signs" ] ||
	fail "GnuTLS asked keyd to sign with k-ec-p256 for an algorithm it cannot do"

note "a server certificate from an unknown CA is refused"
start_s_server ossl-rogue rogue other-ca
expect_status 1 "$GNUTLS_CLIENT" --unix "$SERVER_SOCK" --server-name localhost \
	--key k-ec-p256 --trust-keyring "$TRUST" --send "keyd-ping" --expect "gnip-dyek"
echo "$OUT"
assert_contains "$OUT" "handshake failed: Error in the certificate verification"
assert_contains "$OUT" "NOT trusted. The certificate issuer is unknown"
assert_not_contains "$OUT" "^ok:"
stop_server

note "the signatures left nothing loaded in the TPM"
stop_keyd
assert_no_transients
echo "ok"
