#!/bin/bash
# libkeyd-gnutls when keyd says no or is gone: a peer the policy grants no key
# (setpriv --reuid=65534) gets keyd's permission error through the library
# (GNUTLS_E_INSUFFICIENT_CREDENTIALS and the reason), an unknown key name gets
# "no key"; with keyd stopped, setting up the key fails at once with "keyd is not
# running", and a client whose key was set up while keyd ran fails its handshake
# cleanly and quickly when keyd is gone by the time it must sign (no hang, no
# crash: the client reports and exits normally).
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd keyd-ctl setpriv
start_swtpm
new_store
source "$KEYD_TOP/tests/lib/daemon.sh"
source "$KEYD_TOP/tests/lib/gnutls.sh"

make_ca gtls-ca
make_server_cert gtls-ca server
new_trust_ring "gtls-trust-$$" gtls-ca
TRUST=$RING
# keyd-ctl cert add checks the certificate against an enrolled CA.
ctl ca add "$T/gtls-ca.pem" --set gtls-ca >/dev/null
ctl key create k-ec --alg ec-p256
ctl csr k-ec --subject "/CN=client-ec" --out "$T/ec.csr"
sign_csr gtls-ca "$T/ec.csr" "$T/ec.pem" "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE"
ctl cert add k-ec "$T/ec.pem" >/dev/null
write_policy 50-gnutls "[signing]
grant key k-* to uid=0"
write_keyd_conf
start_keyd

note "uid 65534 has no [signing] grant: a clear permission error"
# It still reads the trust ring: possessor rights come from the session keyring
# it shares with the scenario.
# uid 65534 may not be able to read the build tree (a clone in a 0700 directory):
# it runs a copy of the client and the library from a world-readable directory.
PUBDIR=$(mktemp -d /tmp/keyd-gnutls-pub.XXXXXX)
trap 'rm -rf "$PUBDIR"; _cleanup' EXIT
chmod 0755 "$PUBDIR"
cp "$GNUTLS_CLIENT" "$KEYD_BUILD/libkeyd-gnutls.so.0" "$PUBDIR/"
chmod 0755 "$PUBDIR/$(basename "$GNUTLS_CLIENT")"
chmod 0644 "$PUBDIR/libkeyd-gnutls.so.0"
expect_status 3 env LD_LIBRARY_PATH="$PUBDIR" setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	"$PUBDIR/$(basename "$GNUTLS_CLIENT")" --unix "$T/none" --key k-ec --trust-keyring "$TRUST"
echo "$OUT"
assert_contains "$OUT" "key 'k-ec': keyd refused to give out the public key: permission denied: uid 65534 may not read key 'k-ec'"
assert_contains "$OUT" "Insufficient credentials"
assert_contains "$(cat "$T/keyd.log")" "uid=65534.*refused: no \[signing\] grant"

note "an unknown key"
expect_status 3 "$GNUTLS_CLIENT" --unix "$T/none" --key k-missing --trust-keyring "$TRUST"
assert_contains "$OUT" "no key 'k-missing' in the store"
assert_contains "$OUT" "requested data were not available"

note "keyd stops while a client waits to sign: its handshake fails cleanly and quickly"
start_s_server ossl server gtls-ca
"$GNUTLS_CLIENT" --unix "$SERVER_SOCK" --server-name localhost --key k-ec \
	--trust-keyring "$TRUST" --delay 1500 >"$T/late.out" 2>&1 &
CLIENT_PID=$!
track_pid "$CLIENT_PID"
sleep 0.5
stop_keyd
start=$(date +%s%N)
rc=0
wait "$CLIENT_PID" || rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
cat "$T/late.out"
[ "$rc" = 1 ] || fail "the client exited with $rc, not 1 (a failed handshake)"
[ "$ms" -lt 5000 ] || fail "the client took $ms ms to fail"
assert_contains "$(cat "$T/late.out")" "handshake failed"
assert_contains "$(cat "$T/late.out")" "keyd: key 'k-ec': keyd is not running"
stop_server

note "keyd stopped: setting up the key fails at once"
start=$(date +%s%N)
expect_status 3 "$GNUTLS_CLIENT" --unix "$T/none" --key k-ec --trust-keyring "$TRUST"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "$OUT ($ms ms)"
assert_contains "$OUT" "key 'k-ec': keyd is not running \(nothing listens on '$KEYD_SOCK'\); start keyd"
[ "$ms" -lt 3000 ] || fail "failing without keyd took $ms ms"
echo "ok"
