#!/bin/bash
# keyd-ctl csr on a private swtpm, for each key algorithm: `openssl req -verify`
# accepts the request signed inside the TPM, its public key is the TPM key's
# (keyd-ctl key export-pub), subject and subject alternative names are the ones
# asked for, the signature algorithm is the expected one, and no transient object
# is left in the TPM after each request. Bad subjects and SANs are usage errors.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd keyd-ctl tpm2_getcap openssl
start_swtpm
new_store
cd "$T"

declare -A sigalg=(
	[ec-p256]=ecdsa-with-SHA256 [ec-p384]=ecdsa-with-SHA384
	[rsa2048]=sha256WithRSAEncryption [rsa3072]=sha256WithRSAEncryption
)
for alg in ec-p256 ec-p384 rsa2048 rsa3072; do
	note "$alg"
	ctl key create "k-$alg" --alg "$alg"
	assert_no_transients
	ctl csr "k-$alg" --subject "/CN=$alg.example/O=keyd test/OU=a\/b" --san "DNS:$alg.example" \
		--san www.example --san IP:192.0.2.7 --san URI:spiffe://example/host --out "$alg.csr"
	assert_no_transients
	v=$(openssl req -in "$alg.csr" -noout -verify 2>&1) || fail "openssl req -verify: $v"
	assert_contains "$v" "verify OK"
	subj=$(openssl req -in "$alg.csr" -noout -subject -nameopt RFC2253)
	[ "$subj" = "subject=OU=a/b,O=keyd test,CN=$alg.example" ] || fail "subject: $subj"
	text=$(openssl req -in "$alg.csr" -noout -text)
	assert_contains "$text" "DNS:$alg.example, DNS:www.example, IP Address:192.0.2.7, URI:spiffe://example/host"
	assert_contains "$text" "Signature Algorithm: ${sigalg[$alg]}"
	cmp <(openssl req -in "$alg.csr" -noout -pubkey) <(ctl key export-pub "k-$alg") ||
		fail "the request's public key is not TPM key 'k-$alg'"
done

note "the other subject form, no SANs, PEM on stdout"
out=$(ctl csr k-ec-p256 --subject "CN=plain.example,O=Example\, Inc.")
assert_no_transients
v=$(openssl req -noout -verify -subject -nameopt RFC2253 <<<"$out" 2>&1) || fail "openssl: $v"
assert_contains "$v" "verify OK"
assert_contains "$v" 'subject=O=Example\\, Inc.,CN=plain.example'

note "bad subjects and SANs are usage errors; a missing key is an error"
expect_status 2 ctl csr k-ec-p256 --subject "/CN=x/XX=y"
assert_contains "$OUT" "unknown attribute 'XX'"
expect_status 2 ctl csr k-ec-p256 --subject "/CN=x" --san "DNS:bad name"
assert_contains "$OUT" "'DNS:bad name' is not a valid DNS name"
expect_status 2 ctl csr k-ec-p256 --subject "/CN=x" --san "IP:999.1.1.1"
expect_status 2 ctl csr k-ec-p256
assert_contains "$OUT" "needs --subject"
expect_status 1 ctl csr nokey --subject "/CN=x"
assert_contains "$OUT" "no TPM key 'nokey'"
assert_no_transients
echo "ok"
