#!/bin/bash
# keyd-ctl ca add/list/remove. The system CA bundle is enrolled: every certificate
# that openssl finds valid now and marked as a CA is in the set (compared by SHA-256
# fingerprint), and each one that is not (roots past their end date) is reported
# by its position. A crafted bundle with a non-CA certificate, an expired CA, a
# not-yet-valid CA, a garbled PEM block, a duplicate and a CA close to expiry gives
# each its own message and exit 7, and every good certificate is enrolled. DER
# input, --set, remove by fingerprint and whole sets. No TPM is needed.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd keyd-ctl openssl jq awk
new_store

SYS=/etc/ssl/certs/ca-certificates.crt
[ -s "$SYS" ] || skip "$SYS is missing (Debian package ca-certificates)"

# ---- the system bundle --------------------------------------------------------------
note "split the system bundle with awk and classify each certificate with openssl"
mkdir "$T/sys"
awk -v d="$T/sys" '/-----BEGIN CERTIFICATE-----/ { n++; f = sprintf("%s/%04d.pem", d, n) }
	f { print > f } /-----END CERTIFICATE-----/ { close(f); f = "" }' "$SYS"
total=$(grep -c -- '-----BEGIN CERTIFICATE-----' "$SYS")
[ "$(ls "$T/sys" | wc -l)" = "$total" ] || fail "awk split $total blocks into $(ls "$T/sys" | wc -l) files"
: >"$T/want-fps"
expired=() notca=()
for f in "$T"/sys/*.pem; do
	i=$((10#$(basename "$f" .pem)))
	if ! openssl x509 -in "$f" -noout -checkend 0 >/dev/null; then
		expired+=("$i")
	elif ! openssl x509 -in "$f" -noout -ext basicConstraints 2>/dev/null | grep -q 'CA:TRUE'; then
		notca+=("$i")
	else
		openssl x509 -in "$f" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
			tr 'A-F' 'a-f' >>"$T/want-fps"
	fi
done
want=$(sort -u "$T/want-fps" | wc -l)
note "$total certificates in $SYS: $want valid CAs, ${#expired[@]} expired, ${#notca[@]} not CAs"
[ "$want" -gt 100 ] || fail "only $want usable CAs in $SYS: is the clock right?"

want_rc=0
[ $((${#expired[@]} + ${#notca[@]})) -eq 0 ] || want_rc=7
expect_status "$want_rc" ctl ca add "$SYS" --set system
for i in "${expired[@]+"${expired[@]}"}"; do
	assert_contains "$OUT" "certificate $i \('.*'\): expired on [0-9-]+ [0-9:]+ UTC; skipped"
done
for i in "${notca[@]+"${notca[@]}"}"; do
	assert_contains "$OUT" "certificate $i \('.*'\): not a CA \(basic constraints\); skipped"
done
assert_contains "$OUT" "set 'system': enrolled $want certificates"

note "ca list shows exactly the valid CAs of the file"
list=$(ctl ca list --set system --json)
[ "$(jq '.sets[0].count' <<<"$list")" = "$want" ] || fail "ca list count is not $want: $(jq '.sets[0].count' <<<"$list")"
diff <(jq -r '.sets[0].certificates[].fingerprint' <<<"$list" | sort) <(sort -u "$T/want-fps") ||
	fail "the enrolled fingerprints differ from openssl's"
[ "$(jq '[.sets[0].certificates[] | select(.expired)] | length' <<<"$list")" = 0 ] ||
	fail "an expired certificate was enrolled"
jq -e '.sets[0].certificates[0] | has("subject") and has("issuer") and has("not_after")' \
	<<<"$list" >/dev/null || fail "ca list --json misses fields: $(jq -c '.sets[0].certificates[0]' <<<"$list")"
text=$(ctl ca list --set system)
[ "$(grep -c '^system ' <<<"$text")" = "$want" ] || fail "ca list shows $(grep -c '^system ' <<<"$text") lines, not $want"
grep -q "^count = $want\$" "$STORE/ca/system.meta" || fail "ca/system.meta: $(cat "$STORE/ca/system.meta")"
[ "$(grep -c -- '-----BEGIN CERTIFICATE-----' "$STORE/ca/system.pem")" = "$want" ] ||
	fail "ca/system.pem does not hold $want certificates"
[ "$(stat -c %a "$STORE/ca/system.pem")" = 600 ] || fail "ca/system.pem is not 0600"

note "adding the bundle again adds nothing and names every duplicate"
expect_status 7 ctl ca add "$SYS" --set system
assert_contains "$OUT" "certificate [0-9]+ \('.*'\) is already in set 'system'"
[ "$(ctl ca list --set system --json | jq '.sets[0].count')" = "$want" ] || fail "count changed"

# ---- a crafted bundle -----------------------------------------------------------------
note "make a PKI with openssl: root, intermediate, leaf, expired, future and short-lived CAs"
cd "$T"
mkdir -p pki/new && : >pki/index.txt && echo 1000 >pki/serial
cat >pki/ca.cnf <<EOF
[ca]
default_ca = test_ca
[test_ca]
dir = $T/pki
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
x509_extensions = v3_ca
[anything]
commonName = supplied
organizationName = optional
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_leaf]
basicConstraints = CA:FALSE
subjectKeyIdentifier = hash
EOF
genkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# selfsign NAME CN STARTDATE ENDDATE: a self-signed CA with a chosen validity window
# (openssl 3.0's "ca" sets both dates; "req -x509" and "x509" cannot start in the past).
selfsign() {
	genkey "pki/$1.key"
	openssl req -new -key "pki/$1.key" -subj "/CN=$2/O=keyd test" -out "pki/$1.csr"
	openssl ca -batch -config pki/ca.cnf -selfsign -keyfile "pki/$1.key" -in "pki/$1.csr" \
		-startdate "$3" -enddate "$4" -out "pki/$1.pem" 2>/dev/null
}
utc() { date -u -d "$1" +%Y%m%d%H%M%SZ; }
selfsign root "keyd test root" "$(utc '-1 day')" "$(utc '+3650 days')"
selfsign expired "keyd test expired" 20200101000000Z 20210101000000Z
selfsign future "keyd test future" "$(utc '+10 days')" "$(utc '+400 days')"
selfsign soon "keyd test soon" "$(utc '-1 day')" "$(utc '+5 days')"
genkey pki/inter.key
openssl req -new -key pki/inter.key -subj "/CN=keyd test intermediate/O=keyd test" -out pki/inter.csr
openssl ca -batch -config pki/ca.cnf -cert pki/root.pem -keyfile pki/root.key -in pki/inter.csr \
	-days 365 -out pki/inter.pem 2>/dev/null
genkey pki/leaf.key
openssl req -new -key pki/leaf.key -subj "/CN=keyd test leaf" -out pki/leaf.csr
openssl ca -batch -config pki/ca.cnf -cert pki/inter.pem -keyfile pki/inter.key -in pki/leaf.csr \
	-extensions v3_leaf -days 30 -out pki/leaf.pem 2>/dev/null
openssl x509 -in pki/expired.pem -noout -checkend 0 >/dev/null && fail "the expired CA is not expired"
# Block 5: the intermediate with its base64 broken on the third line.
openssl x509 -in pki/inter.pem | awk 'NR == 3 { $0 = "!!!!" substr($0, 5) } { print }' >pki/garbled.pem
openssl x509 -in pki/garbled.pem -noout 2>/dev/null && fail "the garbled block still parses"

strip() { openssl x509 -in "$1"; } # PEM without openssl ca's text dump
{
	echo "# a bundle with text between the blocks"
	strip pki/root.pem    # 1 enrolled
	strip pki/inter.pem   # 2 enrolled
	strip pki/leaf.pem    # 3 not a CA
	strip pki/expired.pem # 4 expired
	cat pki/garbled.pem   # 5 garbled
	strip pki/root.pem    # 6 duplicate of 1
	strip pki/future.pem  # 7 not valid yet
	strip pki/soon.pem    # 8 expires in 5 days: warned and enrolled
} >bundle.pem

note "each bad certificate gets its own message, the good ones are enrolled, exit 7"
expect_status 7 ctl ca add bundle.pem --set test
assert_contains "$OUT" "certificate 3 \('CN=keyd test leaf'\): not a CA \(basic constraints\); skipped"
assert_contains "$OUT" "certificate 4 \('O=keyd test,CN=keyd test expired'\): expired on 2021-01-01 00:00:00 UTC; skipped"
assert_contains "$OUT" "block 5: not a valid certificate \(.*\); skipped"
assert_contains "$OUT" "certificate 6 \('O=keyd test,CN=keyd test root'\) is already in set 'test'"
assert_contains "$OUT" "certificate 7 \('O=keyd test,CN=keyd test future'\): not valid yet"
assert_contains "$OUT" "certificate 8 \('O=keyd test,CN=keyd test soon'\): expires on .*, in [45] days; enrolled"
assert_not_contains "$OUT" "certificate [128] \(.*skipped"
assert_contains "$OUT" "set 'test': enrolled 3 certificates from 'bundle.pem', skipped 5"
list=$(ctl ca list --set test --json)
[ "$(jq -r '[.sets[0].certificates[].subject] | join("|")' <<<"$list")" = \
	"O=keyd test,CN=keyd test root|O=keyd test,CN=keyd test intermediate|O=keyd test,CN=keyd test soon" ] ||
	fail "set 'test' holds: $(jq -c '[.sets[0].certificates[].subject]' <<<"$list")"
[ "$(jq '.sets[0].certificates[2].expiring' <<<"$list")" = true ] || fail "no expiry warning in ca list --json"
assert_contains "$(ctl ca list --set test)" "keyd test soon'  \[expires in [45] days\]"

note "--json for ca add reports each block"
expect_status 7 ctl ca add bundle.pem --set test2 --json
# stderr (the messages) is mixed into OUT; the JSON document is the one line starting with '{'.
j=$(grep '^{' <<<"$OUT")
[ "$(jq -r '[.items[] | "\(.block):\(.status)"] | join(" ")' <<<"$j")" = \
	"1:enrolled 2:enrolled 3:skipped 4:skipped 5:skipped 6:skipped 7:skipped 8:enrolled-with-warning" ] ||
	fail "ca add --json items: $(jq -c .items <<<"$j")"

note "a file with nothing usable fails with 1; no file, 1; bad set name, 2"
expect_status 1 ctl ca add pki/garbled.pem --set test3
assert_contains "$OUT" "block 1: not a valid certificate"
echo "hello" >junk.txt
expect_status 1 ctl ca add junk.txt
assert_contains "$OUT" "no certificate in 'junk.txt'"
expect_status 1 ctl ca add missing.pem
expect_status 2 ctl ca add bundle.pem --set ../etc
[ ! -e "$STORE/ca/test3.pem" ] || fail "a set was created from a file with no good certificate"

note "a DER certificate is one certificate"
openssl x509 -in pki/inter.pem -outform DER -out inter.der
expect_status 0 ctl ca add inter.der --set der
[ "$(ctl ca list --set der --json | jq -r '.sets[0].certificates[0].subject')" = \
	"O=keyd test,CN=keyd test intermediate" ] || fail "DER certificate not enrolled"

note "ca remove: one certificate by fingerprint, then a whole set"
fp=$(openssl x509 -in pki/soon.pem -noout -fingerprint -sha256 | sed 's/.*=//')
expect_status 0 ctl ca remove --set test "$fp"
[ "$(ctl ca list --set test --json | jq '.sets[0].count')" = 2 ] || fail "not removed"
grep -q '^count = 2$' "$STORE/ca/test.meta" || fail "ca/test.meta not updated"
expect_status 1 ctl ca remove --set test "$fp"
assert_contains "$OUT" "no certificate with fingerprint"
expect_status 2 ctl ca remove --set test zz
expect_status 0 ctl ca remove --set der
[ ! -e "$STORE/ca/der.pem" ] && [ ! -e "$STORE/ca/der.meta" ] || fail "set 'der' still on disk"
expect_status 1 ctl ca list --set der
assert_contains "$OUT" "no CA set 'der'"
expect_status 2 ctl ca remove bundle.pem
sets=$(ctl ca list --json | jq -r '[.sets[].name] | join(" ")')
[ "$sets" = "system test test2" ] || fail "sets left: $sets"
echo "ok"
