#!/bin/bash
# keyd-ctl cert add/list/show/remove on a private swtpm, with a PKI made by openssl
# at run time. A certificate for another key is refused with "the certificate's
# public key is not the public key of TPM key ..."; one from a CA that is not
# enrolled is refused naming the issuer that was not found; one whose intermediate
# is missing names the intermediate; the matching certificate from the enrolled CA
# (chain given with --chain, or in the same file) is stored with its chain. A
# refused add changes nothing in the store, and no TPM object is left loaded.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd keyd-ctl tpm2_getcap openssl jq
start_swtpm
new_store
store_state() { (cd "$STORE" && find . -type f -print0 | sort -z | xargs -0r sha256sum); }

note "two TPM keys and a CSR for each"
ctl key create web --alg ec-p256
ctl key create db --alg rsa2048
ctl csr web --subject "/CN=web.example/O=keyd test" --san DNS:web.example --out "$T/web.csr"
ctl csr db --subject "/CN=db.example" --out "$T/db.csr"
assert_no_transients

note "a PKI: root -> intermediate -> leaves, and an unrelated root"
cd "$T"
cat >ext.cnf <<'EOF'
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
genkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
genkey root.key
openssl req -x509 -new -key root.key -subj "/CN=keyd test root" -days 3650 -out root.pem \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
genkey other.key
openssl req -x509 -new -key other.key -subj "/CN=keyd other root" -days 3650 -out other.pem \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
genkey inter.key
openssl req -new -key inter.key -subj "/CN=keyd test intermediate" -out inter.csr
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 365 \
	-extfile ext.cnf -extensions ca -out inter.pem 2>/dev/null
sign() { # CSR ISSUER OUT
	openssl x509 -req -in "$1" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 90 \
		-extfile ext.cnf -extensions leaf -out "$3" 2>/dev/null
}
sign web.csr inter web.pem
sign db.csr inter db.pem
sign web.csr other web-other.pem
openssl verify -CAfile root.pem -untrusted inter.pem web.pem >/dev/null || fail "openssl rejects web.pem"

note "before any CA set is enrolled, the chain cannot be checked"
before=$(store_state)
expect_status 1 ctl cert add web web.pem --chain inter.pem
assert_contains "$OUT" "no CA set is enrolled"
assert_contains "$OUT" "keyd-ctl ca add"
expect_status 0 ctl ca add root.pem --set pki
before=$(store_state)

note "a certificate for another key is refused"
expect_status 1 ctl cert add web db.pem --chain inter.pem
assert_contains "$OUT" "the certificate's public key is not the public key of TPM key 'web'"
assert_contains "$OUT" "keyd-ctl csr web"
expect_status 1 ctl cert add db web.pem --chain inter.pem
assert_contains "$OUT" "the certificate's public key is not the public key of TPM key 'db'"

note "a certificate from a CA that is not enrolled is refused, naming the issuer"
expect_status 1 ctl cert add web web-other.pem
assert_contains "$OUT" "does not lead to an enrolled CA: issuer 'CN=keyd other root' .*not found"

note "without its intermediate the chain names the intermediate"
expect_status 1 ctl cert add web web.pem
assert_contains "$OUT" "issuer 'CN=keyd test intermediate' .*not found"
assert_contains "$OUT" "--chain"

note "no such key; a garbled certificate file"
expect_status 1 ctl cert add nokey web.pem
assert_contains "$OUT" "no TPM key 'nokey'"
head -c 300 web.pem >cut.pem
expect_status 1 ctl cert add web cut.pem
assert_contains "$OUT" "'cut.pem', block 1: not a valid certificate"
[ "$(store_state)" = "$before" ] || fail "a refused cert add changed the store"

note "the matching certificate from the enrolled CA is stored with its chain"
expect_status 0 ctl cert add web web.pem --chain inter.pem
assert_contains "$OUT" "stored the certificate 'O=keyd test,CN=web.example'"
[ -s "$STORE/keys/web.crt" ] && [ -s "$STORE/keys/web.chain" ] || fail "keys/web.crt or .chain missing"
cmp <(openssl x509 -in "$STORE/keys/web.crt" -outform DER) <(openssl x509 -in web.pem -outform DER) ||
	fail "keys/web.crt is not the certificate"
cmp <(openssl x509 -in "$STORE/keys/web.chain" -outform DER) <(openssl x509 -in inter.pem -outform DER) ||
	fail "keys/web.chain is not the intermediate"
[ "$(stat -c %a "$STORE/keys/web.crt")" = 600 ] || fail "keys/web.crt is not 0600"
openssl verify -CAfile root.pem -untrusted "$STORE/keys/web.chain" "$STORE/keys/web.crt" >/dev/null ||
	fail "openssl does not verify what the store holds"

note "cert show and cert list"
show=$(ctl cert show web --json)
[ "$(jq -r .subject <<<"$show")" = "O=keyd test,CN=web.example" ] || fail "show: $show"
[ "$(jq -r .issuer <<<"$show")" = "CN=keyd test intermediate" ] || fail "show: $show"
[ "$(jq -r .key_type <<<"$show")" = ec-p256 ] || fail "show: $show"
[ "$(jq -r '.chain | length' <<<"$show")" = 1 ] || fail "show: $show"
fp=$(openssl x509 -in web.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
[ "$(jq -r .fingerprint <<<"$show")" = "$fp" ] || fail "fingerprint differs from openssl's"
text=$(ctl cert show web)
assert_contains "$text" "subject: +O=keyd test,CN=web.example"
assert_contains "$text" "not after: "
[ "$(ctl cert list --json | jq -r '[.certificates[].key] | join(" ")')" = web ] || fail "cert list"
expect_status 1 ctl cert show db
assert_contains "$OUT" "key 'db' has no certificate"

note "a full-chain file (leaf then intermediate) and a DER leaf are accepted too"
cat db.pem inter.pem >db-full.pem
expect_status 0 ctl cert add db db-full.pem
[ -s "$STORE/keys/db.chain" ] || fail "the chain of a full-chain file was not stored"
openssl x509 -in web.pem -outform DER -out web.der
expect_status 0 ctl cert add web web.der --chain inter.pem
[ "$(ctl cert list --json | jq -r '[.certificates[].key] | join(" ")')" = "db web" ] || fail "cert list"

note "with the intermediate enrolled in a CA set, no --chain is needed"
expect_status 0 ctl ca add inter.pem --set inter
expect_status 0 ctl cert add web web.pem
[ ! -e "$STORE/keys/web.chain" ] || fail "a stale chain was left beside the new certificate"

note "cert remove keeps the key"
expect_status 0 ctl cert remove web
[ ! -e "$STORE/keys/web.crt" ] && [ -e "$STORE/keys/web.tss2" ] || fail "cert remove"
expect_status 1 ctl cert remove web
assert_no_transients
echo "ok"
