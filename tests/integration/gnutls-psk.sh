#!/bin/bash
# libkeyd-gnutls, PSK: a GnuTLS TLS 1.3 PSK handshake whose identity and key the
# client reads from a key serial as a handshake agent reads them (description =
# identity, payload = raw PSK), against gnutls-serv --pskpasswd holding the same
# identity and key. This kernel may have no "psk" key type (nvme-keyring), so the
# key is a "user" key, which the agent and the library accept as well. The same
# identity with another key is refused by the server; a key whose length does not
# fit its identity's hash, a key of the wrong type and a missing key fail before
# any connection, with the reason.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/gnutls.sh"
require_cmd xxd

# An NVMe v0 identity (hh 01 = SHA-256, 32-byte PSK). gnutls-serv's password file
# splits at the first ':', so the NQNs here have none.
ID="NVMe0R01 nqn.2026-01.test.keyd.host nqn.2026-01.test.keyd.sub"
head -c 32 /dev/urandom >"$T/psk.bin"
RING=$(keyctl newring "gtls-psk-$$" @s)
SERIAL=$(keyctl padd user "$ID" "$RING" <"$T/psk.bin")
printf '%s:%s\n' "$ID" "$(xxd -p -c 64 "$T/psk.bin")" >"$T/psk.passwd"
chmod 0600 "$T/psk.passwd"
PRIO="NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK:+PSK"

note "PSK from the keyring against gnutls-serv --pskpasswd"
start_gnutls_serv gserv-psk --pskpasswd "$T/psk.passwd" --priority "$PRIO"
expect_status 0 "$GNUTLS_CLIENT" --tcp "127.0.0.1:$SERVER_PORT" --psk-serial "$SERIAL" \
	--send "keyd-psk-ping" --expect "keyd-psk-ping"
echo "$OUT"
assert_contains "$OUT" "PSK identity '$ID', 32 bytes"
assert_contains "$OUT" "ok: \(TLS1.3\).* auth PSK"
assert_contains "$(cat "$T/gserv-psk.log")" "$ID"

note "the same identity with another key is refused by the server"
head -c 32 /dev/urandom | keyctl padd user "$ID" "$RING" >/dev/null # updates SERIAL in place
expect_status 1 "$GNUTLS_CLIENT" --tcp "127.0.0.1:$SERVER_PORT" --psk-serial "$SERIAL" \
	--send "keyd-psk-ping" --expect "keyd-psk-ping"
echo "$OUT"
assert_contains "$OUT" "handshake failed"
stop_server

note "a key that does not fit its identity, a wrong type, a missing key"
BAD=$(head -c 48 /dev/urandom | keyctl padd user "$ID" "$RING")
expect_status 3 "$GNUTLS_CLIENT" --tcp 127.0.0.1:1 --psk-serial "$BAD"
assert_contains "$OUT" "48 bytes do not fit identity '$ID' \(it needs 32 bytes, SHA-256\)"
OTHER=$(keyctl newring "gtls-notapsk-$$" "$RING")
expect_status 3 "$GNUTLS_CLIENT" --tcp 127.0.0.1:1 --psk-serial "$OTHER"
assert_contains "$OUT" "is a 'keyring' key, not a psk or user key"
keyctl invalidate "$OTHER"
expect_status 3 "$GNUTLS_CLIENT" --tcp 127.0.0.1:1 --psk-serial 2147483000
assert_contains "$OUT" "PSK key 2147483000: cannot describe it"
assert_contains "$OUT" "Requested data not available|not available"
echo "ok"
