#!/bin/bash
# The storage root key at 0x81000001 (tests/lib/tpm-tool over keyd/core/tpm.c):
# created once and reused; an SRK made beforehand by tpm2-tools with the standard
# template is accepted (and is the same key keyd would make, so the name is equal);
# keys tpm2-openssl makes with parent 0x40000001 load; replacing the key at
# 0x81000001 after pinning is reported as SRK mismatch (exit 6).
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd tpm2_getcap tpm2_evictcontrol tpm2_createprimary tpm2_flushcontext
TOOL="$KEYD_BUILD/tests/tpm-tool"
[ -x "$TOOL" ] || skip "$TOOL is not built (make SANITIZE=1 build-all)"
start_swtpm

note "absent, then created once, then found with the same name"
expect_status 0 "$TOOL" srk-name
assert_contains "$OUT" "^absent$"
expect_status 0 "$TOOL" srk-ensure
assert_contains "$OUT" "^created 000b[0-9a-f]{64}$"
NAME=${OUT#created }
expect_status 0 "$TOOL" srk-ensure
assert_contains "$OUT" "^found $NAME$"
expect_status 0 "$TOOL" pin-check "$NAME"
assert_contains "$OUT" "^match$"
assert_no_transients

note "seal something under it"
head -c 16 /dev/urandom >"$T/secret"
expect_status 0 "$TOOL" seal --in "$T/secret" --out "$T/sealed"

note "an SRK made by tpm2-tools with the standard template is accepted (same key)"
tpm2_evictcontrol -Q -C o -c 0x81000001
expect_status 0 "$TOOL" srk-name
assert_contains "$OUT" "^absent$"
tpm2_createprimary -Q -C o -G ecc -c "$T/srk.ctx" \
	-a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda'
tpm2_evictcontrol -Q -C o -c "$T/srk.ctx" 0x81000001
tpm2_flushcontext -t
expect_status 0 "$TOOL" srk-ensure
assert_contains "$OUT" "^found $NAME$"
expect_status 0 "$TOOL" pin-check "$NAME"
expect_status 0 "$TOOL" unseal "$T/sealed"
assert_contains "$OUT" "^$(sha256sum "$T/secret" | cut -d' ' -f1)$"
assert_no_transients

note "keys made by tpm2-openssl (parent 0x40000001) load under the persistent SRK"
if openssl list -providers -provider tpm2 >/dev/null 2>&1; then
	openssl genpkey -provider tpm2 -provider default -algorithm EC -pkeyopt group:P-256 \
		-out "$T/ossl.pem" 2>/dev/null
	mkdir -p "$T/ossl"
	openssl asn1parse -in "$T/ossl.pem" >"$T/ossl.asn1"
	assert_contains "$(cat "$T/ossl.asn1")" "INTEGER +:40000001"
	grep 'OCTET STRING' "$T/ossl.asn1" | sed 's/.*HEX DUMP\]://' >"$T/ossl.hex"
	sed -n 1p "$T/ossl.hex" | xxd -r -p >"$T/ossl/pub"
	sed -n 2p "$T/ossl.hex" | xxd -r -p >"$T/ossl/priv"
	echo 0x40000001 >"$T/ossl/parent"
	expect_status 0 "$TOOL" count key-check "$T/ossl"
	# ReadPublic of the SRK, Load, FlushContext: no CreatePrimary needed
	assert_contains "$OUT" "^commands 3$"
	expect_status 0 "$TOOL" sign "$T/ossl" ecdsa sha256 \
		"$(printf abc | sha256sum | cut -d' ' -f1)"
	assert_no_transients
else
	note "tpm2-openssl provider not available: interop part not run"
fi

note "a signing key at 0x81000001 is not used as SRK and not replaced"
tpm2_evictcontrol -Q -C o -c 0x81000001
tpm2_createprimary -Q -C o -G ecc -c "$T/sig.ctx" \
	-a 'sign|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda'
tpm2_evictcontrol -Q -C o -c "$T/sig.ctx" 0x81000001
tpm2_flushcontext -t
expect_status 1 "$TOOL" srk-ensure
assert_contains "$OUT" "not a storage key"
assert_contains "$OUT" "never replaces"
tpm2_evictcontrol -Q -C o -c 0x81000001

note "the key at 0x81000001 replaced by an RSA one after pinning: SRK mismatch, exit 6"
tpm2_createprimary -Q -C o -G rsa2048 -c "$T/rsa.ctx" \
	-a 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda'
tpm2_evictcontrol -Q -C o -c "$T/rsa.ctx" 0x81000001
tpm2_flushcontext -t
expect_status 0 "$TOOL" srk-name
[ "$OUT" != "$NAME" ] || fail "the RSA SRK has the same name"
if [ -d "$T/ossl" ]; then
	note "a tpm2-openssl key still loads: its primary is created transiently and flushed"
	expect_status 0 "$TOOL" count key-check "$T/ossl"
	# ReadPublic, Load (refused: other parent), CreatePrimary, Load, 2 x FlushContext
	assert_contains "$OUT" "^commands 6$"
	assert_no_transients
fi
expect_status 6 "$TOOL" pin-check "$NAME"
assert_contains "$OUT" "the SRK at 0x81000001 is not the one this store was enrolled with: "
assert_contains "$OUT" "the TPM was cleared or this is another machine's store; re-enroll"
note "and with no SRK at all"
tpm2_evictcontrol -Q -C o -c 0x81000001
expect_status 6 "$TOOL" pin-check "$NAME"
assert_contains "$OUT" "no SRK at 0x81000001"
assert_no_transients
echo "PASS: tpm-srk"
