#!/bin/bash
# Runs keyd's tests and prints one summary line: "N passed, N failed, N skipped".
#   tests/run-tests.sh [PATTERN...]   only tests whose name contains a pattern
# Kinds, in order: unit (cmocka binaries), fuzz smoke runs, integration scenarios
# (tests/integration/*.sh, each in a fresh session keyring), VM scenarios (tests/vm/*.sh).
# Exit status of a test: 0 pass, 77 skip (the test printed why), anything else fail.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${KEYD_BUILD:-$top/build/asan}
fuzzbuild=${KEYD_FUZZ_BUILD:-$top/build/fuzz}
export KEYD_BUILD=$build KEYD_TOP=$top
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir=$top/build/test-logs
mkdir -p "$logdir"

passed=0 failed=0 skipped=0
failures=()

selected() {
	[ ${#PATTERNS[@]} -eq 0 ] && return 0
	local p
	for p in "${PATTERNS[@]}"; do case "$1" in *"$p"*) return 0 ;; esac; done
	return 1
}
PATTERNS=("$@")

run_one() { # name, command...
	local name=$1; shift
	selected "$name" || return 0
	local log="$logdir/${name//\//_}.log" start rc
	start=$(date +%s)
	"$@" >"$log" 2>&1 </dev/null
	rc=$?
	local secs=$(( $(date +%s) - start ))
	case $rc in
	0) passed=$((passed + 1)); printf 'PASS  %-44s %3ss\n' "$name" "$secs" ;;
	77) skipped=$((skipped + 1))
	    printf 'SKIP  %-44s %s\n' "$name" "$(grep -m1 -i 'skip' "$log" | cut -c1-100)" ;;
	*) failed=$((failed + 1)); failures+=("$name")
	   printf 'FAIL  %-44s %3ss (exit %d, log: %s)\n' "$name" "$secs" "$rc" "$log"
	   tail -n 15 "$log" | sed 's/^/      | /' ;;
	esac
}

for t in "$build"/unit/test-*; do
	[ -x "$t" ] || continue
	case "$t" in *.d) continue ;; esac
	run_one "unit/$(basename "$t")" "$t"
done

for f in "$fuzzbuild"/fuzz-*; do
	[ -x "$f" ] || continue
	case "$f" in *.d) continue ;; esac
	name=$(basename "$f")
	corpus="$top/tests/fuzz/corpus/${name#fuzz-}"
	# libFuzzer writes new inputs into its first corpus folder: give it a scratch one
	# so the committed seeds stay as they are.
	scratch=$(mktemp -d /tmp/keyd-fuzz.XXXXXX)
	args=(-max_total_time="${KEYD_FUZZ_SECONDS:-5}" -timeout=10 -rss_limit_mb=2048 "$scratch")
	[ -d "$corpus" ] && args+=("$corpus")
	run_one "fuzz/$name" env ASAN_OPTIONS=detect_leaks=1 "$f" "${args[@]}"
	rm -rf "$scratch"
done

for s in "$top"/tests/integration/*.sh; do
	[ -e "$s" ] || continue
	name=$(basename "$s" .sh)
	# A fresh, uniquely named session keyring per scenario.
	run_one "integration/$name" keyctl session "keyd-test-$name-$$" bash "$s"
done

for s in "$top"/tests/vm/*.sh; do
	[ -e "$s" ] || continue
	run_one "vm/$(basename "$s" .sh)" bash "$s"
done

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
