#!/bin/bash
# keyd-ctl key import refuses bad key files with a clear error that names the file,
# exits 1 and adds nothing to the store: truncated and garbled TSS2 files (cut from
# and corrupted in a real one made at run time), wrong OIDs (byte-patched and
# re-encoded with openssl asn1parse -genconf), oversized fields and files, ordinary
# private keys, and keys that need a password. No TPM object is left loaded.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd keyd-ctl jq openssl xxd od base64 sha256sum tpm2_getcap tpm2_create tpm2_encodeobject \
	tpm2_flushcontext
start_swtpm
new_store

store_state() { (cd "$STORE" && find . -type f -print0 | sort -z | xargs -0r sha256sum); }

# A real key file to cut up: made by keyd (this also creates and pins the SRK).
ctl key create base --alg ec-p256
assert_no_transients
cp "$STORE/keys/base.tss2" "$T/real.pem"
sed '1d;$d' "$T/real.pem" | base64 -d >"$T/real.der"
before=$(store_state)
n=0

# refused FILE PATTERN: import exits 1, the message names FILE and matches PATTERN,
# the store is unchanged.
refused() {
	local file=$1 pattern=$2
	n=$((n + 1))
	expect_status 1 ctl key import "bad$n" "$file"
	assert_contains "$OUT" "'$file'"
	assert_contains "$OUT" "$pattern"
	assert_not_contains "$OUT" 'AddressSanitizer|runtime error'
	[ "$(store_state)" = "$before" ] || fail "refused import of $file changed the store"
	assert_no_transients
	note "refused $(basename "$file"): $(grep -m1 error: <<<"$OUT")"
}

# patch FILE OFFSET HEXBYTE: overwrite one byte.
patch() { printf "\\x$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
# offset_of FILE HEX: byte offset of the first occurrence of HEX in FILE.
offset_of() {
	local hex prefix
	hex=$(od -An -v -tx1 "$1" | tr -d ' \n')
	prefix=${hex%%"$2"*}
	[ "$prefix" != "$hex" ] || fail "pattern $2 not in $1"
	[ $((${#prefix} % 2)) = 0 ] || fail "pattern $2 found at half a byte in $1"
	echo $((${#prefix} / 2))
}
to_pem() { # DER PEM
	{ echo "-----BEGIN TSS2 ${TSS2_LABEL_TAIL}-----"; base64 -w 64 "$1"
	  echo "-----END TSS2 ${TSS2_LABEL_TAIL}-----"; } >"$2"
}
# octets_hex FILE N: the hex of the N-th OCTET STRING of a TSS2 PEM (1 pubkey, 2 privkey).
octets_hex() {
	openssl asn1parse -in "$1" | grep 'OCTET STRING' | sed -n "$2p" | sed 's/.*HEX DUMP\]://'
}

size=$(stat -c %s "$T/real.der")
lines=$(wc -l <"$T/real.pem")

note "truncated"
head -c $((size / 2)) "$T/real.der" >"$T/trunc-half.der"
refused "$T/trunc-half.der" 'not a valid TSS2 key file'
head -c $((size - 1)) "$T/real.der" >"$T/trunc-1.der"
refused "$T/trunc-1.der" 'not a valid TSS2 key file'
head -n $((lines - 1)) "$T/real.pem" >"$T/trunc-noend.pem" # no END line
refused "$T/trunc-noend.pem" 'not a valid TSS2 key file|cannot be imported'
{ head -n $((lines / 2)) "$T/real.pem"; tail -n1 "$T/real.pem"; } >"$T/trunc-body.pem"
refused "$T/trunc-body.pem" 'not a valid TSS2 key file'
: >"$T/empty"
refused "$T/empty" 'not a valid TSS2 key file|cannot be imported'

note "garbled"
cp "$T/real.der" "$T/garbled-tag.der"
patch "$T/garbled-tag.der" 0 31 # SEQUENCE -> SET
refused "$T/garbled-tag.der" 'not a valid TSS2 key file'
cp "$T/real.der" "$T/garbled-len.der"
patch "$T/garbled-len.der" 1 ff # a length of 0xff octets that do not exist
refused "$T/garbled-len.der" 'not a valid TSS2 key file'
{ cat "$T/real.der"; printf '\x00\x00'; } >"$T/trailing.der"
refused "$T/trailing.der" 'not a valid TSS2 key file'
sed '3s/^..../@@@@/' "$T/real.pem" >"$T/garbled-b64.pem"
refused "$T/garbled-b64.pem" 'not a valid TSS2 key file'
head -c 300 /dev/urandom >"$T/random.bin"
refused "$T/random.bin" 'not a valid TSS2 key file|cannot be imported'
# A length inside pubkey's TPM2B that runs past its OCTET STRING: the TPM layer's check.
cp "$T/real.der" "$T/garbled-tpm2b.der"
off=$(offset_of "$T/garbled-tpm2b.der" "0023000b") # TPM2B_PUBLIC size precedes TPMI_ALG_ECC
patch "$T/garbled-tpm2b.der" $((off - 2)) 7f
refused "$T/garbled-tpm2b.der" 'not a valid TSS2 key file|malformed|not a signing key|does not load'

note "wrong OID"
# OID 2.23.133.10.1.3 is 06 06 67 81 05 0a 01 03; its last arc is at +7.
oid_off=$(offset_of "$T/real.der" "06066781050a0103")
oid_off=$((oid_off + 7))
for last in 04 09; do # importable key (.4), an unknown TCG OID (.9)
	cp "$T/real.der" "$T/oid-$last.der"
	patch "$T/oid-$last.der" "$oid_off" "$last"
	refused "$T/oid-$last.der" 'cannot be imported: .*OID'
done
cp "$T/real.der" "$T/oid-sealed.der" # sealed data (.5) is not a key
patch "$T/oid-sealed.der" "$oid_off" 05
refused "$T/oid-sealed.der" 'sealed data|not a valid TSS2 key file'
# Re-encoded with another OID altogether (id-ecPublicKey), real pubkey and privkey.
pub_hex=$(octets_hex "$T/real.pem" 1)
priv_hex=$(octets_hex "$T/real.pem" 2)
[ -n "$pub_hex" ] && [ -n "$priv_hex" ] || fail "cannot take the real key apart"
genconf() { # OUT TYPE-OID [EXTRA-LINES]: a TPMKey with the real key's parts
	cat >"$T/genconf.cnf" <<-EOF
	asn1=SEQUENCE:tpmkey
	[tpmkey]
	type=OID:$2
	${3-emptyAuth=EXPLICIT:0,BOOLEAN:true}
	parent=INTEGER:0x81000001
	pubkey=FORMAT:HEX,OCTETSTRING:${PUB_HEX:-$pub_hex}
	privkey=FORMAT:HEX,OCTETSTRING:${PRIV_HEX:-$priv_hex}
	EOF
	openssl asn1parse -genconf "$T/genconf.cnf" -out "$1" -noout || fail "asn1parse -genconf"
}
genconf "$T/oid-ec.der" 1.2.840.10045.2.1
to_pem "$T/oid-ec.der" "$T/oid-ec.pem"
refused "$T/oid-ec.pem" 'cannot be imported: .*OID'
# The control: the same construction with the right OID imports.
genconf "$T/good.der" 2.23.133.10.1.3
ctl key import control "$T/good.der"
assert_no_transients
ctl key remove control
[ "$(store_state)" = "$before" ] || fail "import + remove of the control did not restore the store"

note "oversized fields and files"
PUB_HEX=$(head -c 5000 /dev/zero | xxd -p -c 100000) genconf "$T/big-pubkey.der" 2.23.133.10.1.3
refused "$T/big-pubkey.der" 'larger than|not a valid TSS2 key file'
genconf "$T/big-desc.der" 2.23.133.10.1.3 \
	"emptyAuth=EXPLICIT:0,BOOLEAN:true
description=EXPLICIT:4,UTF8String:$(printf 'd%.0s' {1..400})"
refused "$T/big-desc.der" 'larger than|not a valid TSS2 key file|fields'
head -c 20000 /dev/zero >"$T/huge.bin"
refused "$T/huge.bin" 'larger than 16384 bytes'

note "ordinary private keys are not TPM keys"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/plain-ec.pem"
refused "$T/plain-ec.pem" 'cannot be imported.*made in this TPM'
openssl pkey -in "$T/plain-ec.pem" -outform DER -out "$T/plain-ec.der"
refused "$T/plain-ec.der" 'not a valid TSS2 key file|cannot be imported'
openssl pkey -in "$T/plain-ec.pem" -pubout -out "$T/plain-ec.pub"
refused "$T/plain-ec.pub" 'cannot be imported'

note "keys that need a password are refused"
genconf "$T/noauth-field.der" 2.23.133.10.1.3 "" # emptyAuth absent: auth needed
refused "$T/noauth-field.der" 'needs an auth value'
genconf "$T/auth-false.der" 2.23.133.10.1.3 "emptyAuth=EXPLICIT:0,BOOLEAN:false"
refused "$T/auth-false.der" 'needs an auth value.*tpm2_encodeobject -p'
tpm2_create -C 0x81000001 -G ecc256 -p keyd-test-pw -u "$T/pw.pub" -r "$T/pw.priv" >/dev/null
tpm2_flushcontext -t >/dev/null 2>&1 || true
# tpm2-tools before the fix of its issue #3458 writes emptyAuth inverted; whichever
# call yields emptyAuth FALSE describes this key truthfully.
tpm2_encodeobject -C 0x81000001 -u "$T/pw.pub" -r "$T/pw.priv" -o "$T/pw.tss2" >/dev/null
if openssl asn1parse -in "$T/pw.tss2" | grep -qE 'BOOLEAN *:(1|255)'; then
	tpm2_encodeobject -C 0x81000001 -u "$T/pw.pub" -r "$T/pw.priv" -o "$T/pw.tss2" -p >/dev/null
fi
tpm2_flushcontext -l >/dev/null 2>&1 || true
refused "$T/pw.tss2" 'needs an auth value'

note "a key made in another TPM does not load in this one"
d2="$T/tpm-other"
mkdir -p "$d2"
swtpm socket --tpm2 --server type=unixio,path="$d2/sock" --ctrl type=unixio,path="$d2/sock.ctrl" \
	--tpmstate dir="$d2" --flags not-need-init,startup-clear --daemon --pid file="$d2/pid" ||
	fail "a second swtpm does not start"
for _ in $(seq 50); do [ -s "$d2/pid" ] && [ -S "$d2/sock" ] && break; sleep 0.05; done
track_pid "$(cat "$d2/pid")"
(
	export TPM2TOOLS_TCTI="swtpm:path=$d2/sock"
	tpm2_createprimary -C o -G ecc256:aes128cfb -c "$d2/srk.ctx" -a \
		'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda|restricted|decrypt' \
		>/dev/null
	tpm2_evictcontrol -C o -c "$d2/srk.ctx" 0x81000001 >/dev/null
	tpm2_flushcontext -t >/dev/null
	tpm2_create -C 0x81000001 -G ecc256 -u "$d2/k.pub" -r "$d2/k.priv" >/dev/null
	tpm2_encodeobject -C 0x81000001 -u "$d2/k.pub" -r "$d2/k.priv" -o "$T/other-tpm.tss2" \
		>/dev/null
) || fail "cannot make a key in the second swtpm"
# Rebuilt around its pubkey and privkey so only the TPM's answer can refuse it.
PUB_HEX=$(octets_hex "$T/other-tpm.tss2" 1) PRIV_HEX=$(octets_hex "$T/other-tpm.tss2" 2) \
	genconf "$T/other-tpm.der" 2.23.133.10.1.3
to_pem "$T/other-tpm.der" "$T/other-tpm.tss2"
refused "$T/other-tpm.tss2" 'does not load in this TPM'

note "a missing file"
expect_status 1 ctl key import missing "$T/does-not-exist"
assert_contains "$OUT" "cannot read '$T/does-not-exist'"
[ "$(store_state)" = "$before" ] || fail "the store changed"

note "keyd-ctl list still shows exactly the one key"
[ "$(ctl list --json | jq -r '[.keys[].name] | join(",")')" = "base" ] ||
	fail "store listing changed"
echo "PASS ($n bad files refused)"
