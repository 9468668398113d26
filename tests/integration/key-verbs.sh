#!/bin/bash
# keyd-ctl key create/list/show/export-pub/remove on a private swtpm: --json output
# parses and says what the store holds, a second create with the same name is
# refused and changes nothing, the public key matches the fingerprint, store
# files are 0600 and directories 0700, and no TPM object is left loaded.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd keyd-ctl tpm2_getcap openssl jq sha256sum
start_swtpm
new_store

# Every file and directory the store holds, with its content hash: "nothing changed".
store_state() { (cd "$STORE" && find . -type f -print0 | sort -z | xargs -0r sha256sum); }

note "create one key of each algorithm"
ctl key create web --alg ec-p256 --description "web server, rack 4"
assert_no_transients
ctl key create big --alg rsa3072
assert_no_transients
[ -s "$STORE/keys/web.tss2" ] && [ -s "$STORE/keys/web.meta" ] || fail "key files missing"
head -n1 "$STORE/keys/web.tss2" | grep -qx -- "-----BEGIN TSS2 ${TSS2_LABEL_TAIL}-----" ||
	fail "keys/web.tss2 is not a TSS2 PRIVATE KEY PEM"
asn=$(openssl asn1parse -in "$STORE/keys/web.tss2")
assert_contains "$asn" 'OBJECT +:2\.23\.133\.10\.1\.3'
assert_contains "$asn" 'INTEGER +:81000001'
assert_contains "$asn" 'BOOLEAN +:(1|255)'    # emptyAuth TRUE
assert_not_contains "$asn" 'cont \[ (1|2|3|4) \]' # no policy, secret or description fields

note "the same name is refused and nothing changes"
before=$(store_state)
expect_status 1 ctl key create web --alg ec-p384
assert_contains "$OUT" "'web' already exists"
assert_contains "$OUT" "remove it first"
[ "$(store_state)" = "$before" ] || fail "a refused create changed the store"
assert_no_transients

note "bad names and algorithms are usage errors"
for bad in ../x .hidden -dash "a b" "x/y" "" "$(printf 'a%.0s' {1..65})"; do
	expect_status 2 ctl key create --alg ec-p256 -- "$bad"
	assert_contains "$OUT" "invalid key name"
done
expect_status 2 ctl key create other --alg ec-p521
assert_contains "$OUT" "unknown --alg 'ec-p521'"
expect_status 2 ctl key create other
assert_contains "$OUT" "needs --alg"
[ "$(store_state)" = "$before" ] || fail "a refused create changed the store"

note "key list --json"
json=$(ctl key list --json)
assert_no_transients
jq -e . <<<"$json" >/dev/null || fail "key list --json is not JSON: $json"
[ "$(jq -r '[.[].name] | join(",")' <<<"$json")" = "big,web" ] || fail "names: $json"
jq -e '.[] | select(.name == "web") | .alg == "ec-p256" and .origin == "created" and
	.certificate == false and .description == "web server, rack 4"' <<<"$json" >/dev/null ||
	fail "web in key list: $json"
jq -e '.[] | select(.name == "big") | .alg == "rsa3072" and .description == null' \
	<<<"$json" >/dev/null || fail "big in key list: $json"
jq -e 'all(.[]; (.fingerprint | test("^[0-9a-f]{64}$")) and
	(.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")))' \
	<<<"$json" >/dev/null || fail "fingerprint or created malformed: $json"
text=$(ctl key list)
assert_contains "$text" '^web +ec-p256 +created'
assert_contains "$text" '^big +rsa3072 +created'

note "key show --json and export-pub agree with each other and with openssl"
show=$(ctl key show web --json)
assert_no_transients
jq -e '.parent == "0x81000001" and .name == "web" and .alg == "ec-p256" and .chain == false' \
	<<<"$show" >/dev/null || fail "key show: $show"
jq -j .public_key <<<"$show" >"$T/show.pub"
ctl key export-pub web --out "$T/web.pub"
ctl key export-pub web >"$T/web-stdout.pub"
cmp -s "$T/web.pub" "$T/show.pub" || fail "export-pub and show disagree"
cmp -s "$T/web.pub" "$T/web-stdout.pub" || fail "export-pub --out and stdout disagree"
openssl pkey -pubin -in "$T/web.pub" -noout -text >"$T/web.txt" ||
	fail "openssl cannot read export-pub"
grep -q 'prime256v1\|P-256' "$T/web.txt" || fail "not a P-256 key: $(cat "$T/web.txt")"
fpr=$(openssl pkey -pubin -in "$T/web.pub" -outform DER | sha256sum | cut -d' ' -f1)
[ "$(jq -r .fingerprint <<<"$show")" = "$fpr" ] || fail "fingerprint is not SHA-256 of the SPKI"
ctl key export-pub big --out "$T/big.pub"
openssl pkey -pubin -in "$T/big.pub" -noout -text | grep -q '3072 bit' || fail "big is not RSA-3072"
text=$(ctl key show web)
assert_contains "$text" '^parent: +0x81000001'
assert_contains "$text" 'BEGIN PUBLIC KEY'
expect_status 1 ctl key show nosuch
assert_contains "$OUT" "no key 'nosuch'"
expect_status 1 ctl key export-pub nosuch

note "keyd-ctl list --json sees the keys and a certificate next to one"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout /dev/null \
	-subj /CN=web -days 1 -out "$T/web.crt" 2>/dev/null
install -m 0600 "$T/web.crt" "$STORE/keys/web.crt"
all=$(ctl list --json)
jq -e '[.keys[].name] == ["big", "web"]' <<<"$all" >/dev/null || fail "list --json: $all"
jq -e '.keys[] | select(.name == "web") | .certificate == true' <<<"$all" >/dev/null ||
	fail "the certificate is not reported: $all"
jq -e '.srk.handle == "0x81000001"' <<<"$all" >/dev/null || fail "no SRK in list: $all"

note "store modes: files 0600, directories 0700"
bad=$(find "$STORE" \( -type f ! -perm 0600 \) -o \( -type d ! -perm 0700 \))
[ -z "$bad" ] || fail "wrong modes: $(stat -c '%a %n' $bad)"

note "remove takes the key, its metadata and its certificate"
ctl key remove web
assert_no_transients
for f in web.tss2 web.meta web.crt web.chain; do
	[ ! -e "$STORE/keys/$f" ] || fail "keys/$f is still there after remove"
done
[ "$(ctl key list --json | jq -r '[.[].name] | join(",")')" = "big" ] || fail "web still listed"
expect_status 1 ctl key remove web
assert_contains "$OUT" "no key 'web'"
expect_status 2 ctl key remove ../big
[ -e "$STORE/keys/big.tss2" ] || fail "big was removed"

note "the name can be used again after remove"
ctl key create web --alg ec-p384
assert_no_transients
[ "$(ctl key show web --json | jq -r .alg)" = "ec-p384" ] || fail "re-created key has the wrong alg"

note "keyd-ctl list reads metadata only and survives damaged and foreign files"
mkdir -p -m 0700 "$STORE/psk" "$STORE/ca"
host=nqn.2014-08.org.example:host sub=nqn.2014-08.org.example:sub
printf 'hostnqn = %s\nsubnqn = %s\nidentity = NVMe1R01 %s %s\n' "$host" "$sub" "$host" "$sub" \
	>"$STORE/psk/p1.meta"
printf 'count = 3\n' >"$STORE/ca/corp.meta"
printf 'this is = not metadata\n\x01\n' >"$STORE/keys/broken.meta" # corrupt metadata
printf 'alg = ec-p256\n' >"$STORE/keys/nokey.meta"                  # metadata without its key
cp "$STORE/keys/big.tss2" "$STORE/keys/orphan.tss2"                   # key file without metadata
printf 'x\n' >"$STORE/keys/.foreign~"                                 # not keyd's at all
printf 'count = many\n' >"$STORE/ca/badcount.meta"
chmod 0600 "$STORE"/psk/* "$STORE"/ca/* "$STORE"/keys/*
before=$(store_state)
ctl list --json >"$T/list.json" 2>"$T/list.err" || fail "keyd-ctl list failed: $(cat "$T/list.err")"
jq -e . "$T/list.json" >/dev/null || fail "list --json is not JSON"
jq -e '[.keys[].name] == ["big", "web"]' "$T/list.json" >/dev/null ||
	fail "keys: $(cat "$T/list.json")"
jq -e --arg h "$host" --arg s "$sub" '.psks == [{"id": "p1", "identity": "NVMe1R01 \($h) \($s)",
	"hostnqn": $h, "subnqn": $s}]' "$T/list.json" >/dev/null ||
	fail "psks: $(cat "$T/list.json")"
jq -e '.ca_sets == [{"name": "corp", "count": 3}]' "$T/list.json" >/dev/null ||
	fail "ca sets: $(cat "$T/list.json")"
err=$(cat "$T/list.err")
assert_contains "$err" 'keys/broken\.meta'
assert_contains "$err" 'keys/nokey\.meta'
assert_contains "$err" 'keys/orphan\.tss2 has no metadata'
assert_contains "$err" 'ca/badcount\.meta'
text=$(ctl list 2>/dev/null)
assert_contains "$text" '^corp +3'
assert_contains "$text" '^p1 +NVMe1R01'
assert_contains "$text" '^web +ec-p384'
# key list skips the same way; show names the damaged file.
[ "$(ctl key list --json 2>/dev/null | jq -r '[.[].name] | join(",")')" = "big,web" ] ||
	fail "key list does not skip damaged keys"
expect_status 1 ctl key show broken
assert_contains "$OUT" 'keys/broken\.meta'
[ "$(store_state)" = "$before" ] || fail "listing changed the store"
(cd "$STORE/keys" && rm -f broken.meta nokey.meta orphan.tss2 .foreign~)

note "usage"
expect_status 2 ctl key
expect_status 2 ctl key frobnicate
expect_status 0 ctl key --help
assert_contains "$OUT" "key create NAME --alg"
echo "PASS"
