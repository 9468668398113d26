#!/bin/bash
# keyd.so through OSSL_STORE, keymgmt and signature: `openssl req -new -key
# keyd:NAME` makes a request that verifies, carries the TPM key's public key and
# the expected signature algorithm; pkeyutl signatures (ECDSA, RSA PKCS#1, PSS)
# verify with the enrolled certificate's key, and the forgery of a changed digest
# does not; a P-384 key's public part is keyd's and its signature verifies; the store also yields the enrolled certificate; the provider exports
# nothing but OSSL_provider_init; the key of the last burst stays loaded in the
# TPM (one transient object) until sign-hold-ms after its last signature, then
# nothing is left.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd tpm2_getcap
source "$KEYD_TOP/tests/lib/openssl-provider.sh"

note "keyd.so exports only OSSL_provider_init"
syms=$(nm -D --defined-only "$KEYD_BUILD/keyd.so" | awk '{print $3}')
[ "$syms" = OSSL_provider_init ] || fail "keyd.so exports: $syms"

declare -A sigalg=([host-ec]=ecdsa-with-SHA256 [host-rsa]=sha256WithRSAEncryption)
for k in $HOST_KEYS; do
	note "$k: openssl req -new"
	openssl req -new $PROV -key "keyd:$k" -subj "/CN=req-$k.keyd.test" -out "req-$k.csr" ||
		fail "openssl req -new with keyd:$k failed"
	v=$(openssl req -in "req-$k.csr" -noout -verify 2>&1) || fail "req -verify: $v"
	assert_contains "$v" "verify OK"
	assert_contains "$(openssl req -in "req-$k.csr" -noout -text)" \
		"Signature Algorithm: ${sigalg[$k]}"
	cmp <(openssl req -in "req-$k.csr" -noout -pubkey) <(ctl key export-pub "$k") ||
		fail "the request's public key is not TPM key '$k'"

	note "$k: the store yields the key and the enrolled certificate"
	out=$(openssl storeutl $PROV -noout -text "keyd:$k" 2>&1) || fail "storeutl: $out"
	assert_contains "$out" "CN ?= ?$k.keyd.test"
	assert_contains "$out" "Total found: 2"

	openssl x509 -in "$k.pem" -pubkey -noout >"$k.pub"
	if [ "$k" = host-ec ]; then modes="ecdsa"; else modes="pkcs1 pss"; fi
	for m in $modes; do
		note "$k: pkeyutl -sign ($m)"
		opts=()
		[ "$m" = ecdsa ] || opts=(-pkeyopt digest:sha256)
		[ "$m" = pss ] && opts+=(-pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:digest)
		openssl pkeyutl -sign $PROV -inkey "keyd:$k" "${opts[@]}" -in digest.bin \
			-out "sig-$k-$m" || fail "pkeyutl -sign with keyd:$k ($m) failed"
		v=$(openssl pkeyutl -verify -pubin -inkey "$k.pub" "${opts[@]}" -in digest.bin \
			-sigfile "sig-$k-$m" 2>&1) || fail "signature ($k, $m) does not verify: $v"
		assert_contains "$v" "Signature Verified Successfully"
		echo 'keyd provider forgery' | openssl dgst -sha256 -binary >forged.bin
		if openssl pkeyutl -verify -pubin -inkey "$k.pub" "${opts[@]}" -in forged.bin \
			-sigfile "sig-$k-$m" >/dev/null 2>&1; then
			fail "the signature ($k, $m) verifies for another digest"
		fi
	done
done

note "openssl dgst -sign: SHA-384 over a file verifies; SHA-1 is refused with the provider's reason"
openssl dgst $PROV -sha384 -sign keyd:host-ec -out dgst.sig "$k.csr" || fail "dgst -sign failed"
v=$(openssl dgst -sha384 -verify host-ec.pub -signature dgst.sig "$k.csr" 2>&1) ||
	fail "dgst signature does not verify: $v"
assert_contains "$v" "Verified OK"
expect_status 1 openssl dgst $PROV -sha1 -sign keyd:host-ec -out dgst.sig "$k.csr"
assert_contains "$OUT" "keyd:.*signature parameters keyd does not support.*SHA-256, SHA-384 or SHA-512"

note "P-384: the provider's public key is keyd's, and a SHA-384 signature verifies with it"
ctl key create host-p384 --alg ec-p384 >/dev/null
openssl pkey $PROV -in keyd:host-p384 -pubout -out host-p384.pub || fail "pkey -pubout failed"
cmp host-p384.pub <(ctl key export-pub host-p384) || fail "keyd.so's P-384 key is not keyd's"
openssl dgst -sha384 -binary digest.bin >digest384.bin
openssl pkeyutl -sign $PROV -inkey keyd:host-p384 -in digest384.bin -out sig-p384 ||
	fail "pkeyutl -sign with keyd:host-p384 failed"
v=$(openssl pkeyutl -verify -pubin -inkey host-p384.pub -in digest384.bin -sigfile sig-p384 2>&1) ||
	fail "the P-384 signature does not verify: $v"

note "keyd.so activated from openssl.cnf: pkeyutl signs without -provider options"
OPENSSL_CONF=keyd-openssl.cnf openssl pkeyutl -sign -inkey keyd:host-ec -in digest.bin \
	-out sig-cnf || fail "pkeyutl with keyd.so from openssl.cnf failed"
v=$(openssl pkeyutl -verify -pubin -inkey host-ec.pub -in digest.bin -sigfile sig-cnf 2>&1) ||
	fail "the signature made with keyd.so from openssl.cnf does not verify: $v"
out=$(OPENSSL_CONF=keyd-openssl.cnf openssl list -providers 2>&1)
assert_contains "$out" "keyd"

note "the signatures went through keyd; the last key is flushed after sign-hold-ms"
assert_contains "$(cat "$T/keyd.log")" "sign with key 'host-rsa'"
openssl dgst $PROV -sha256 -sign keyd:host-ec -out dgst.sig "$k.csr" || fail "dgst -sign failed"
h=$(tpm2_getcap handles-transient)
[ "$(grep -c '^- 0x80' <<<"$h")" = 1 ] || fail "expected the one held key loaded, got: $h"
# The default hold is 500 ms: nothing is left well within 2 s.
for _ in $(seq 20); do [ -z "$(tpm2_getcap handles-transient)" ] && break; sleep 0.1; done
assert_no_transients
assert_contains "$(cat "$T/keyd.log")" "key 'host-ec' flushed from the TPM"
stop_keyd
echo "ok"
