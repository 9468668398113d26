# Helpers for the provisioning scenarios (tests/integration/provision-*.sh).
# Source after harness.sh. Everything lives in $T; every keyring keyd makes is
# linked into the scenario's own session keyring (link = session), never into
# root's user or persistent keyrings.

require_cmd keyctl openssl tpm2_getcap tpm2_flushcontext
command -v keyd >/dev/null || skip "keyd is not built (make NO_DEPS=1 SANITIZE=1 $KEYD_BUILD/keyd)"

# A suffix that keeps this run's ring names apart from any other run's.
RUN_ID="t$$"

# A config pointing at the test store, the test policy dir and the swtpm.
# Call after start_swtpm and new_store.
prov_setup() {
	# keyd applies $KEYD_ROOT over keyd.conf's store; the scenarios name the store
	# in the config (ctl passes --root itself).
	unset KEYD_ROOT
	POLICY="$T/policy"
	mkdir -m 0700 -p "$POLICY"
	CONF="$T/keyd.conf"
	cat >"$CONF" <<-EOF
	store = $STORE
	tcti = $KEYD_TCTI
	policy-dir = $POLICY
	EOF
	chmod 0600 "$CONF"
}

# prov_policy NAME <<EOF ... : install a policy file (0600, as keyd requires).
prov_policy() {
	cat >"$POLICY/$1.policy"
	chmod 0600 "$POLICY/$1.policy"
}

# Run one pass; status in $RC. $OUT is stdout and stderr (the logged problems),
# except with --json: then $OUT is the JSON document alone and $ERR the log.
provision() {
	set +e
	if [[ " $* " == *" --json "* ]]; then
		OUT=$(keyd --config "$CONF" provision --once "$@" 2>"$T/provision.err")
		RC=$?
		ERR=$(cat "$T/provision.err")
	else
		OUT=$(keyd --config "$CONF" provision --once "$@" 2>&1)
		RC=$?
	fi
	set -e
}

# The serial of the keyring described $1 linked directly in the session keyring,
# or nothing. Exactly one such link may exist.
ring_serial() {
	local n
	n=$(keyctl rlist @s 2>/dev/null | tr ' ' '\n' | while read -r k; do
		[ -n "$k" ] || continue
		d=$(keyctl rdescribe "$k" 2>/dev/null) || continue
		[ "$d" = "keyring;${d#keyring;}" ] || continue
		[ "${d##*;}" = "$1" ] && echo "$k"
	done)
	[ "$(wc -w <<<"$n")" -le 1 ] || fail "more than one keyring '$1' linked in the session: $n"
	echo "$n"
}

# The descriptions of the keys in ring $1, sorted, one per line ("type:desc").
ring_keys() {
	local k d
	for k in $(keyctl rlist "$1"); do
		d=$(keyctl rdescribe "$k") || continue
		echo "${d%%;*}:${d#*;*;*;*;}"
	done | sort
}

# The permission mask of key $1 as 8 hex digits.
key_perm() { keyctl rdescribe "$1" | cut -d';' -f4; }

# Make an RSA CA: prov_ca NAME -> $T/NAME.pem, $T/NAME.key (host kernel has no ECDSA).
prov_ca() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$1.key" -out "$T/$1.pem" \
		-subj "/CN=$1-$RUN_ID" -days 30 -addext basicConstraints=critical,CA:true \
		-addext keyUsage=critical,keyCertSign,cRLSign \
		-addext subjectKeyIdentifier=hash 2>/dev/null || fail "openssl cannot make CA $1"
}

# A leaf signed by a CA, as DER: prov_leaf CA NAME -> $T/NAME.der
prov_leaf() {
	openssl req -newkey rsa:2048 -nodes -keyout "$T/$2.key" -out "$T/$2.csr" \
		-subj "/CN=$2-$RUN_ID" 2>/dev/null || fail "openssl cannot make a request"
	printf 'basicConstraints=CA:FALSE\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' \
		>"$T/$2.ext"
	openssl x509 -req -in "$T/$2.csr" -CA "$T/$1.pem" -CAkey "$T/$1.key" -CAcreateserial \
		-days 30 -extfile "$T/$2.ext" -outform DER -out "$T/$2.der" 2>/dev/null ||
		fail "openssl cannot sign $2"
}

# After a keyd process was killed, drop what it left in the TPM, as the kernel's
# resource manager (/dev/tpmrm0) does for a process that dies. swtpm has none.
flush_dead_transients() {
	tpm2_flushcontext -t >/dev/null 2>&1 || true
	tpm2_flushcontext -l >/dev/null 2>&1 || true
	tpm2_flushcontext -s >/dev/null 2>&1 || true
}
