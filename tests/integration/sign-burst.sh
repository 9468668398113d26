#!/bin/bash
# The signing service keeps the key of a burst loaded: after the first signature
# each costs one TPM command (TPM2_Sign, keyd's debug log); at most one key is
# loaded at a time (signing with another flushes the first); sign-hold-ms after
# the last signature nothing is left in the TPM; a key removed and created again
# under the same name is signed with as the new key at once (the held key is
# matched to its file); sign-hold-ms = 0 leaves nothing loaded between requests;
# a provisioning pass flushes the key first; keyd stopped in the middle of a hold
# flushes the key on its way out; a keyd killed during a hold leaves a record next
# to its socket, and the next keyd flushes the key it names (same handle, same
# Name) before its first pass.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd tpm2_getcap
[ -x "$KEYD_BUILD/tests/sign-loop" ] || skip "tests/sign-loop is not built"
source "$KEYD_TOP/tests/lib/openssl-provider.sh"

transients() { tpm2_getcap handles-transient | grep -c '^- 0x80' || true; }
# requests_since LINE: the TPM command counts of the SIGN requests logged since.
requests_since() {
	tail -n +"$1" "$T/keyd.log" | sed -n "s/.*sign with key .*: \([0-9]*\) TPM command(s).*/\1/p"
}
# SIGHUP; wait for the reload's log line.
reload_keyd() {
	local line
	line=$(wc -l <"$T/keyd.log")
	kill -HUP "$KEYD_PID"
	for _ in $(seq 100); do tail -n +"$line" "$T/keyd.log" | grep -q 'reloaded' && return 0; sleep 0.05; done
	fail "keyd did not reload: $(tail -n +"$line" "$T/keyd.log")"
}
wait_no_transients() {
	for _ in $(seq 30); do [ "$(transients)" = 0 ] && return 0; sleep 0.1; done
	fail "transient objects left in the TPM: $(tpm2_getcap handles-transient)"
}
echo "keyd burst" >msg

note "a burst: one TPM command per signature after the first"
line=$(($(wc -l <"$T/keyd.log") + 1))
"$KEYD_BUILD/tests/sign-loop" keyd:host-ec 20 keyd default >/dev/null || fail "sign-loop failed"
counts=$(requests_since "$line")
# sign-loop signs once before its 20 and once after (checked), 22 in all.
[ "$(wc -l <<<"$counts")" = 22 ] || fail "expected 22 SIGN requests in the log, got: $counts"
[ "$(tail -n 21 <<<"$counts" | sort -u)" = 1 ] ||
	fail "a signature after the first cost more than one TPM command: $(tr '\n' ' ' <<<"$counts")"
[ "$(transients)" = 1 ] || fail "expected the held key loaded: $(tpm2_getcap handles-transient)"

note "another key: the first is flushed, one key loaded at a time"
"$KEYD_BUILD/tests/sign-loop" keyd:host-rsa 3 keyd default >/dev/null || fail "sign-loop failed"
assert_contains "$(tail -n 20 "$T/keyd.log")" "key 'host-ec' flushed from the TPM"
[ "$(transients)" = 1 ] || fail "expected one key loaded: $(tpm2_getcap handles-transient)"

note "sign-hold-ms after the last signature nothing is loaded"
wait_no_transients
assert_contains "$(tail -n 20 "$T/keyd.log")" "key 'host-rsa' flushed from the TPM"

note "a key made again under the same name is used as the new key at once"
openssl dgst $PROV -sha256 -sign keyd:host-ec -out old.sig msg || fail "sign failed"
ctl key export-pub host-ec --out old.pub >/dev/null
ctl key remove host-ec >/dev/null
ctl key create host-ec --alg ec-p256 >/dev/null
ctl key export-pub host-ec --out new.pub >/dev/null
! cmp -s old.pub new.pub || fail "the new key has the old public key"
openssl dgst $PROV -sha256 -sign keyd:host-ec -out new.sig msg || fail "sign with the new key failed"
openssl dgst -sha256 -verify new.pub -signature new.sig msg >/dev/null ||
	fail "the signature after re-creation is not the new key's"
! openssl dgst -sha256 -verify old.pub -signature new.sig msg >/dev/null 2>&1 ||
	fail "the signature after re-creation verifies with the old key"
assert_contains "$(tail -n 20 "$T/keyd.log")" "key 'host-ec' changed in the store"

note "sign-hold-ms = 0: nothing loaded between requests"
wait_no_transients
sed -i '/^sign-hold-ms/d' "$KEYD_CONF"
echo "sign-hold-ms = 0" >>"$KEYD_CONF"
reload_keyd
openssl dgst $PROV -sha256 -sign keyd:host-ec -out new.sig msg || fail "sign failed"
[ "$(transients)" = 0 ] || fail "sign-hold-ms = 0 left a key loaded: $(tpm2_getcap handles-transient)"

note "a provisioning pass (a reload runs one) flushes the key first"
sed -i 's/^sign-hold-ms = 0$/sign-hold-ms = 60000/' "$KEYD_CONF"
reload_keyd
openssl dgst $PROV -sha256 -sign keyd:host-ec -out new.sig msg || fail "sign failed"
[ "$(transients)" = 1 ] || fail "expected the held key loaded: $(tpm2_getcap handles-transient)"
reload_keyd
[ "$(transients)" = 0 ] || fail "the reload's pass left the key loaded: $(tpm2_getcap handles-transient)"

note "keyd stopped during a hold flushes the key"
openssl dgst $PROV -sha256 -sign keyd:host-ec -out new.sig msg || fail "sign failed"
[ "$(transients)" = 1 ] || fail "expected the held key loaded: $(tpm2_getcap handles-transient)"
[ -s "$T/run/signer-loaded" ] || fail "no record of the loaded key next to the socket"
stop_keyd
assert_no_transients
[ ! -e "$T/run/signer-loaded" ] || fail "the record of the loaded key outlived keyd"

note "keyd killed during a hold: the next keyd flushes the key it left, by handle and Name"
start_keyd
openssl dgst $PROV -sha256 -sign keyd:host-ec -out new.sig msg || fail "sign failed"
[ "$(transients)" = 1 ] || fail "expected the held key loaded: $(tpm2_getcap handles-transient)"
kill -9 "$KEYD_PID"
wait "$KEYD_RELAY" 2>/dev/null || true
[ "$(transients)" = 1 ] || fail "expected the killed keyd's key still loaded: $(tpm2_getcap handles-transient)"
start_keyd
[ "$(transients)" = 0 ] || fail "the new keyd left the old key loaded: $(tpm2_getcap handles-transient)"
assert_contains "$(cat "$T/keyd.log")" "flushed the key a previous keyd left loaded at 0x80"
[ ! -e "$T/run/signer-loaded" ] || fail "the stale record was not removed"
openssl dgst $PROV -sha256 -sign keyd:host-ec -out new.sig msg || fail "sign after the restart failed"
openssl dgst -sha256 -verify new.pub -signature new.sig msg >/dev/null || fail "signature does not verify"
stop_keyd
assert_no_transients
echo "ok"
