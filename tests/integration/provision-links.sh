#!/bin/bash
# Link targets other than the session: "keyring:NAME" (a ring inside another
# policy ring, linked before that one is sealed closed), "user:UID" and
# "persistent:UID" for another uid (65534, never root's own keyrings). The links
# to uid 65534's keyrings are removed at exit. A second pass replaces the
# generations in all three places.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/provision.sh"
require_root
require_cmd setpriv
start_swtpm
new_store
prov_setup

as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups keyctl session - "$@"; }
# Every serial linked in uid 65534's user and persistent keyrings, as it sees them.
nobody_user() { as_nobody keyctl rlist @u 2>/dev/null | tail -n1; }
nobody_persistent() { as_nobody sh -c 'keyctl rlist "$(keyctl get_persistent @s)"' 2>/dev/null | tail -n1; }
# Remove this run's rings from uid 65534's keyrings. Root (the owner) can describe
# them; uid 65534 holds the keyrings they are linked in.
cleanup_nobody() {
	local k d
	for k in $(nobody_user); do
		d=$(keyctl rdescribe "$k" 2>/dev/null) || continue
		[ "${d##*;}" = "keyd:inner-$RUN_ID" ] && as_nobody keyctl unlink "$k" @u >/dev/null 2>&1
	done
	for k in $(nobody_persistent); do
		d=$(keyctl rdescribe "$k" 2>/dev/null) || continue
		[ "${d##*;}" = "keyd:outer-$RUN_ID" ] &&
			as_nobody sh -c 'keyctl unlink "$1" "$(keyctl get_persistent @s)"' sh "$k" \
				>/dev/null 2>&1
	done
	return 0
}
trap 'cleanup_nobody; _cleanup' EXIT

prov_ca linkca
ctl ca add "$T/linkca.pem" --set trust >/dev/null
IN=inner-$RUN_ID OUTR=outer-$RUN_ID
prov_policy 50-test <<EOF
[keyring $IN]
ca-set = trust as user
link = keyring:$OUTR
link = user:65534
perm = possessor:view,read,search,link,setattr user:view,read,search,link
seal = closed

[keyring $OUTR]
link = session
link = persistent:65534
seal = closed
EOF

expect_status 0 keyd --config "$CONF" --test-config
assert_contains "$OUT" "$IN .*links keyring:$OUTR, user:65534"
provision
[ "$RC" = 0 ] || fail "provision exited $RC: $OUT"
OS=$(ring_serial "keyd:$OUTR")
[ -n "$OS" ] || fail "keyd:$OUTR is not linked in the session"
IS=$(keyctl rlist "$OS")
[ "$(keyctl rdescribe "$IS" | cut -d';' -f1,5)" = "keyring;keyd:$IN" ] ||
	fail "keyd:$OUTR does not hold keyd:$IN: $(keyctl rdescribe "$IS")"
grep -qw "$IS" <<<"$(nobody_user)" || fail "keyd:$IN ($IS) is not in uid 65534's user keyring"
grep -qw "$OS" <<<"$(nobody_persistent)" || fail "keyd:$OUTR is not in uid 65534's persistent keyring"
# The outer ring is closed after the inner one went in.
expect_status 1 keyctl link "$IS" "$OS"
note "keyring:NAME, user:65534 and persistent:65534 links made ($IS in $OS)"
assert_no_transients

provision
[ "$RC" = 0 ] || fail "second pass exited $RC: $OUT"
OS2=$(ring_serial "keyd:$OUTR")
IS2=$(keyctl rlist "$OS2")
[ "$OS2" != "$OS" ] && [ "$IS2" != "$IS" ] || fail "no new generations"
U=$(nobody_user) P=$(nobody_persistent)
grep -qw "$IS2" <<<"$U" && ! grep -qw "$IS" <<<"$U" || fail "user:65534 holds '$U', want $IS2 only"
grep -qw "$OS2" <<<"$P" && ! grep -qw "$OS" <<<"$P" || fail "persistent:65534 holds '$P', want $OS2 only"
note "second pass replaced the generations in all link targets"
cleanup_nobody
! grep -qw "$IS2" <<<"$(nobody_user)" || fail "cleanup left $IS2 in uid 65534's user keyring"
! grep -qw "$OS2" <<<"$(nobody_persistent)" || fail "cleanup left $OS2 in uid 65534's persistent keyring"
