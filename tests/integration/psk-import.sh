#!/bin/bash
# psk import of an nvme-cli tls-keys file made here with 16 random keys: the
# identities in the file are computed independently (openssl kdf/dgst, CRC-32 from
# gzip's trailer), every entry is sealed in one transaction, the file is left as it
# was, and no configured or derived key appears anywhere in the store, in hex (either
# case), base64 or raw bytes. A file with a wrong identity imports the rest and
# exits 7.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd tpm2_getcap openssl od gzip base64 sha256sum
start_swtpm
new_store

hexstr() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
hex2bin() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")"; }
hkdf() { openssl kdf -keylen "$4" -kdfopt digest:"$1" -kdfopt hexkey:"$2" -kdfopt hexinfo:"$3" HKDF |
	tr -d ':\n' | tr 'A-F' 'a-f'; }
label() { printf '%04x%02x%s%02x%s' "$1" "${#2}" "$(hexstr "$2")" "${#3}" "$(hexstr "$3")"; }
# interchange HH KEYHEX: key || crc32 (little-endian, as gzip stores it) in base64
interchange() {
	local crc
	crc=$(hex2bin "$2" | gzip -c | tail -c 8 | head -c 4 | od -An -tx1 | tr -d ' \n')
	printf 'NVMeTLSkey-1:%s:%s:' "$1" "$(hex2bin "$2$crc" | base64 -w0)"
}
# identity HH KEYHEX HOST SUB
identity() {
	local hh=$1 key=$2 len=$((${#2} / 2)) md=sha256 retained digest
	[ "$hh" = 02 ] && md=sha384
	retained=$(hkdf "$md" "$key" "$(label "$len" "tls13 HostNQN" "$3")" "$len")
	digest=$(printf '%s %s NVMe-over-Fabrics' "$3" "$4" |
		openssl dgst -"$md" -mac HMAC -macopt hexkey:"$retained" -binary | base64 -w0)
	printf 'NVMe1R%s %s %s %s' "$hh" "$3" "$4" "$digest"
}

keys=() hhs=() hosts=()
: >"$T/tls-keys"
for i in $(seq 1 16); do
	hh=01 len=32
	[ $((i % 2)) = 0 ] && { hh=02; len=48; }
	key=$(openssl rand -hex $len)
	host="nqn.2014-08.org.example:host-$i"
	keys+=("$key"); hhs+=("$hh"); hosts+=("$host")
	printf '%s %s\n' "$(identity $hh "$key" "$host" nqn.2014-08.org.example:array)" \
		"$(interchange $hh "$key")" >>"$T/tls-keys"
done
sum_before=$(sha256sum "$T/tls-keys")

expect_status 0 ctl psk import "$T/tls-keys"
assert_no_transients
assert_contains "$OUT" "imported 16 PSKs"
assert_contains "$OUT" "shred -u"
[ "$(sha256sum "$T/tls-keys")" = "$sum_before" ] || fail "the tls-keys file was changed"
[ "$(ctl psk list --json | grep -o '"id":' | wc -l)" = 16 ] || fail "psk list does not show 16 PSKs"
[ "$(ls "$STORE/psk" | grep -c '\.sealed$')" = 16 ] || fail "not 16 sealed files"

# Every file of the store as one hex stream per file, to find raw key bytes too.
hexdump_store() { find "$STORE" -type f -print0 | xargs -0 -n1 sh -c 'od -An -tx1 -v "$0" | tr -d " \n"; echo'; }
hexdump_store >"$T/store.hex"
for i in "${!keys[@]}"; do
	key=${keys[$i]}
	derived=$(ctl psk derive --hostnqn "${hosts[$i]}" --subnqn nqn.2014-08.org.example:array \
		--i-understand-this-prints-a-secret) || fail "derive ${hosts[$i]} failed"
	for h in "$key" "$derived"; do
		b64=$(hex2bin "$h" | base64 -w0)
		! grep -rqiF -- "$h" "$STORE" || fail "a key in hex was found in the store"
		! grep -rqF -- "$b64" "$STORE" || fail "a key in base64 was found in the store"
		! grep -rqF -- "${b64:0:40}" "$STORE" || fail "a key's base64 prefix was found in the store"
		! grep -qF -- "$h" "$T/store.hex" || fail "raw key bytes were found in the store"
	done
	inter=$(interchange "${hhs[$i]}" "$key")
	! grep -rqF -- "${inter:16:40}" "$STORE" || fail "an interchange string was found in the store"
done
assert_no_transients
note "16 PSKs sealed; no key material found in $(find "$STORE" -type f | wc -l) store files"

# A file with one wrong identity: the other line is imported, the bad one named, exit 7.
STORE="$T/store2"; mkdir -m 0700 "$STORE"
k1=$(openssl rand -hex 32); k2=$(openssl rand -hex 32)
{
	printf '%s %s\n' "$(identity 01 "$k1" nqn.a:good nqn.a:sub)" "$(interchange 01 "$k1")"
	printf '# a comment\n\n'
	printf '%s %s\n' "$(identity 01 "$k1" nqn.a:bad nqn.a:sub)" "$(interchange 01 "$k2")"
} >"$T/mixed"
expect_status 7 ctl psk import "$T/mixed"
assert_contains "$OUT" "line 4: the identity 'NVMe1R01 nqn.a:bad nqn.a:sub [^']*' does not match the key"
assert_contains "$OUT" "imported 1 PSK "
assert_not_contains "$OUT" "$k2"
[ "$(ctl psk list --json | grep -o '"id":' | wc -l)" = 1 ] || fail "expected exactly one PSK"
assert_no_transients
