#!/bin/bash
# nvme-cli (Debian's nvme check-tls-key, an independent checker) accepts the
# interchange strings keyd emits for generated keys. nvme-cli 2.3 refuses hh 00
# ("Invalid HMAC identifier 0") even for libnvme's own public hh 00 vector, so for
# hh 00 the test checks that keyd's string gets exactly the treatment the public
# vector gets, and that keyd itself reads its hh 00 strings back.
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/vectors-psk.sh"
require_cmd nvme tpm2_getcap
start_swtpm
new_store

i=0
for spec in "sha256" "sha384" "none 32" "none 48"; do
	set -- $spec
	i=$((i + 1))
	args=(--generate --hmac "$1")
	[ -n "${2:-}" ] && args+=(--length "$2")
	ctl psk add --hostnqn "nqn.2014-08.org.example:host$i" --subnqn nqn.2014-08.org.example:sub \
		"${args[@]}" >/dev/null || fail "psk add ${args[*]} failed"
	assert_no_transients
	key=$(ctl psk export --hostnqn "nqn.2014-08.org.example:host$i" \
		--subnqn nqn.2014-08.org.example:sub --i-understand-this-prints-a-secret)
	assert_no_transients
	len=32; hh=01
	case "$spec" in sha384) len=48; hh=02 ;; "none 32") hh=00 ;; "none 48") len=48; hh=00 ;; esac
	[[ "$key" == "NVMeTLSkey-1:$hh:"*: ]] || fail "$spec: unexpected string form"
	[ ${#key} = $((len == 32 ? 65 : 89)) ] || fail "$spec: length ${#key}"
	if [ "$hh" != 00 ]; then
		expect_status 0 nvme check-tls-key --key="$key"
		assert_contains "$OUT" "Key is valid \(HMAC ${hh#0}, length $len,"
		note "$spec: nvme-cli: $OUT"
	else
		set +e
		mine=$(nvme check-tls-key --key="$key" 2>&1); mine_rc=$?
		ref=$(nvme check-tls-key --key="$VEC_K32_HH00" 2>&1); ref_rc=$?
		set -e
		[ "$mine_rc" = "$ref_rc" ] && [ "$mine" = "$ref" ] ||
			fail "$spec: nvme-cli treats keyd's hh 00 string ('$mine', $mine_rc) unlike the public vector ('$ref', $ref_rc)"
		note "$spec: nvme-cli 2.3 answers as for libnvme's hh 00 vector: '$mine' (exit $mine_rc)"
		# keyd reads its own string back.
		printf '%s\n' "$key" >"$T/k"
		expect_status 0 ctl psk add --hostnqn nqn.2014-08.org.example:again$i \
			--subnqn nqn.2014-08.org.example:sub --key-file "$T/k"
	fi
done
