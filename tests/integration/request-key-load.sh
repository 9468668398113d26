#!/bin/bash
# Load: upcalls for KEYD_RK_LOAD_N (default 1000) distinct enrolled NVMe
# identities (v0, imported from a tls-keys file made here), once one after the
# other and once from 8 processes at once, with keyd running: no failure, every
# payload a 32-byte TLS PSK, and afterwards nothing under construction, no
# callout left running, no transient object in the TPM, no sanitizer report.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/daemon.sh"
source "$KEYD_TOP/tests/lib/request-key.sh"
require_cmd openssl gzip base64 od tpm2_getcap
N=${KEYD_RK_LOAD_N:-1000}

rk_setup "[request-key]
allow user \"keyd:psk:NVMe0R01 $RK_HOST* *\" uid=0"

hex2bin() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")"; }
# interchange KEYHEX (hh 01): key || CRC-32 (little-endian, as gzip's trailer holds it)
interchange() {
	local crc
	crc=$(hex2bin "$1" | gzip -c | tail -c 8 | head -c 4 | od -An -tx1 | tr -d ' \n')
	printf 'NVMeTLSkey-1:01:%s:' "$(hex2bin "$1$crc" | base64 -w0)"
}
note "enrolling $N PSKs"
: >"$T/tls-keys"
: >"$T/descs"
for i in $(seq 1 "$N"); do
	id="NVMe0R01 $RK_HOST-$i $RK_SUB"
	printf '%s %s\n' "$id" "$(interchange "$(openssl rand -hex 32)")" >>"$T/tls-keys"
	echo "keyd:psk:$id" >>"$T/descs"
done
# The store writes at most 256 files (128 PSKs) in one transaction.
split -l 100 "$T/tls-keys" "$T/tls-keys."
for f in "$T"/tls-keys.*; do
	ctl psk import "$f" >/dev/null || fail "psk import of $f failed"
done
rm -f "$T"/tls-keys*

start_keyd
note "$N sequential upcalls"
out=$("$KEYD_TOP/tests/lib/reqkey-load.py" "$T/descs" "$RK_CALLOUT" 1 32) ||
	fail "sequential: $out; $(tail -n 3 "$RK_LOG")"
echo "$out"
note "$N upcalls, 8 at once"
out=$("$KEYD_TOP/tests/lib/reqkey-load.py" "$T/descs" "$RK_CALLOUT" 8 32) ||
	fail "concurrent: $out; $(tail -n 3 "$RK_LOG")"
echo "$out"

[ "$(grep -c 'instantiated from keyd' "$RK_LOG")" = $((2 * N)) ] ||
	fail "not every upcall was answered by keyd: $(grep -vc 'instantiated from keyd' "$RK_LOG") other lines"
if awk -v id="$RK_ID" 'index($0, id) && substr($3, 3, 1) == "U"' /proc/keys | grep -q .; then
	fail "keys left under construction"
fi
pgrep -f "keyd-request-key --config $KEYD_CONF" >/dev/null && fail "a callout is still running"
stop_keyd
assert_no_transients
rk_assert_clean_log
echo "ok"
