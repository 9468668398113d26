#!/bin/bash
# Every public libnvme PSK vector reproduced through keyd-ctl: interchange strings go
# in with --key-file, the v1 identities (RFC 8446 and --compat labels) come out of
# `psk add`, `psk export` gives the same string back after sealing and unsealing,
# and `psk derive` equals a TLS PSK computed here with `openssl kdf` (HKDF
# extract-and-expand, default zero salt) over HkdfLabels built in shell: a path
# that shares no code with keyd.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/vectors-psk.sh"
require_cmd tpm2_getcap openssl od
start_swtpm

hexstr() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
# HkdfLabel: RFC 8446 (uint16_be L, len+label, len+ctx) or libnvme compat (uint16_le L, label, ctx)
hkdf_label() { # L label ctx compat
	if [ "$4" = 1 ]; then
		printf '%02x%02x%s%s' $(($1 & 255)) $(($1 >> 8)) "$(hexstr "$2")" "$(hexstr "$3")"
	else
		printf '%04x%02x%s%02x%s' "$1" "${#2}" "$(hexstr "$2")" "${#3}" "$(hexstr "$3")"
	fi
}
hkdf() { # digest keyhex infohex len
	openssl kdf -keylen "$4" -kdfopt digest:"$1" -kdfopt hexkey:"$2" -kdfopt hexinfo:"$3" HKDF |
		tr -d ':\n' | tr 'A-F' 'a-f'
}
# expected_tls_psk hh keyhex len compat digest
expected_tls_psk() {
	local hh=$1 key=$2 len=$3 compat=$4 digest=$5 md retained
	md=SHA256; [ "$len" = 48 ] && md=SHA384
	if [ "$hh" = 00 ]; then
		retained=$key
	else
		retained=$(hkdf $md "$key" "$(hkdf_label "$len" "tls13 HostNQN" "$VEC_HOSTNQN" "$compat")" "$len")
	fi
	local cipher=01; [ "$len" = 48 ] && cipher=02
	hkdf $md "$retained" "$(hkdf_label "$len" "tls13 nvme-tls-psk" "$cipher $digest" "$compat")" "$len"
}

n=0
# check NAME INTERCHANGE HH KEYHEX LEN COMPAT EXPECTED-IDENTITY-OR-PREFIX
check() {
	local name=$1 str=$2 hh=$3 key=$4 len=$5 compat=$6 want=$7 id out digest expected
	n=$((n + 1))
	STORE="$T/store-$name"; mkdir -m 0700 "$STORE"
	printf '%s\n' "$str" >"$T/key-$name"
	local args=(psk add --hostnqn "$VEC_HOSTNQN" --subnqn "$VEC_SUBNQN" --key-file "$T/key-$name")
	[ "$compat" = 1 ] && args+=(--compat)
	id=$(ctl "${args[@]}") || fail "$name: psk add failed"
	assert_no_transients
	case "$want" in
	*' ') [[ "$id" == "$want"* ]] || fail "$name: identity '$id' does not start with '$want'" ;;
	*) [ "$id" = "$want" ] || fail "$name: identity '$id', expected '$want'" ;;
	esac
	note "$name: $id"

	out=$(ctl psk export --hostnqn "$VEC_HOSTNQN" --subnqn "$VEC_SUBNQN" \
		--i-understand-this-prints-a-secret) || fail "$name: export failed"
	assert_no_transients
	[ "$out" = "$str" ] || fail "$name: export gave '$out', expected '$str'"

	digest=${id##* }
	expected=$(expected_tls_psk "$hh" "$key" "$len" "$compat" "$digest")
	[ ${#expected} = $((2 * len)) ] || fail "$name: openssl kdf gave '$expected'"
	out=$(ctl psk derive --hostnqn "$VEC_HOSTNQN" --subnqn "$VEC_SUBNQN" \
		--i-understand-this-prints-a-secret) || fail "$name: derive failed"
	assert_no_transients
	[ "$out" = "$expected" ] || fail "$name: derive gave $out, openssl kdf $expected"

	expect_status 0 ctl psk show --hostnqn "$VEC_HOSTNQN" --subnqn "$VEC_SUBNQN" --unseal-check
	assert_contains "$OUT" "unseal check: +ok"
	assert_no_transients
}

check k32-hh01 "$VEC_K32_HH01" 01 "$VEC_K32" 32 0 "$VEC_ID_K32_HH01"
check k48-hh02 "$VEC_K48_HH02" 02 "$VEC_K48" 48 0 "$VEC_ID_K48_HH02"
check k32-hh01-compat "$VEC_K32_HH01" 01 "$VEC_K32" 32 1 "$VEC_ID_COMPAT_K32_HH01"
check k48-hh02-compat "$VEC_K48_HH02" 02 "$VEC_K48" 48 1 "$VEC_ID_COMPAT_K48_HH02"
# hh 00 has no public identity vector: the identity hash follows the key length (libnvme)
# and the digest is checked through the derived TLS PSK.
check k32-hh00 "$VEC_K32_HH00" 00 "$VEC_K32" 32 0 "NVMe1R01 $VEC_HOSTNQN $VEC_SUBNQN "

# The v0 identity form.
STORE="$T/store-v0"; mkdir -m 0700 "$STORE"
printf '%s\n' "$VEC_K48_HH02" >"$T/key-v0"
id=$(ctl psk add --hostnqn "$VEC_HOSTNQN" --subnqn "$VEC_SUBNQN" --key-file "$T/key-v0" --identity v0)
[ "$id" = "NVMe0R02 $VEC_HOSTNQN $VEC_SUBNQN" ] || fail "v0 identity '$id'"
assert_no_transients

echo "all $n vector sets and the v0 form reproduced"
