#!/bin/bash
# Crash safety of the store (docs/store.md, "Transactions and recovery").
#
# A command that changes the store is killed with SIGKILL at the Nth invocation of
# one syscall (strace's fault injection, counted per syscall), for every N the
# command reaches on its way through the store. After each kill:
#   - the store reads without error, read-only (keyd-ctl list / store-tool dump),
#   - what it holds is exactly the state before the command or the state after it,
#   - a writable open (which rolls a committed transaction forward and removes the
#     temporaries of one that never committed) shows the same state and leaves no
#     temporary and no manifest behind.
#
# Part 1 drives the store directly with tests/lib/store-tool (a multi-file transaction
# that puts, replaces and removes in all four sections, and the creation of a store),
# killed at every point. Part 2 kills keyd-ctl in `psk add`, `psk import` and `ca add`
# (on a private swtpm) at the points each passes after it opens the store.
source "$KEYD_TOP/tests/lib/harness.sh"

require_cmd strace
[ -x "$KEYD_BUILD/tests/store-tool" ] ||
	skip "store-tool is not built (make NO_DEPS=1 SANITIZE=1 $KEYD_BUILD/tests/store-tool)"
# Private copies of the programs: every run below must exercise the same binary,
# even if the build tree is relinked meanwhile.
TOOL="$T/store-tool"
cp "$KEYD_BUILD/tests/store-tool" "$TOOL"
# strace's fault injection needs ptrace; some containers forbid it.
strace -f -qq -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"

# The syscalls a store change passes through. Each is counted on its own.
KINDS="openat write fsync fchmod renameat unlinkat mkdirat flock close"
# LeakSanitizer cannot run under ptrace; leaks are checked by the untraced runs.
TRACED_ASAN="detect_leaks=0"

points_total=0
declare -A points_by=()

# count_points KIND STOREDIR CMD...: print "SKIP TOTAL": how many KIND calls CMD
# makes before it first touches STOREDIR (uninteresting: loader, sanitizer, TPM
# setup) and in all. CMD runs on a throwaway store.
count_points() {
	local kind=$1 dir=$2 log="$T/count.log"
	shift 2
	ASAN_OPTIONS=$TRACED_ASAN strace -f -qq -o "$log" -e trace="openat,$kind" "$@" \
		>/dev/null 2>&1 || fail "uninterrupted run failed: $*"
	awk -v k="$kind" -v d="$dir" '
		{ is_kind = ($0 ~ ("(^|[ \t])" k "\\(")) }
		!seen && index($0, d) { seen = 1; skip = n }
		is_kind { n++ }
		END { if (!seen) skip = n; print skip + 0, n + 0 }' "$log"
}

# kill_at KIND N CMD...: run CMD, SIGKILLed at the Nth KIND syscall. Prints the exit status.
kill_at() {
	local kind=$1 n=$2 rc
	shift 2
	set +e
	ASAN_OPTIONS=$TRACED_ASAN strace -f -qq -o /dev/null -e trace="$kind" \
		-e inject="$kind":signal=KILL:when="$n" "$@" >/dev/null 2>"$T/killed.err"
	rc=$?
	set -e
	echo "$rc"
}

no_leftovers() { # STOREDIR
	local left
	left=$(find "$1" -name '.*.tmp-*' -o -name '.txn' 2>/dev/null)
	[ -z "$left" ] || fail "leftovers after a writable open of $1: $left"
}

# check_state WHAT STOREDIR VIEWCMD STATE...: VIEWCMD (reads the store read-only;
# STOREDIR is appended) must succeed and print one of the STATE files.
check_state() {
	local what=$1 dir=$2 view=$3 got
	shift 3
	got="$T/got"
	$view "$dir" >"$got" 2>"$T/view.err" || fail "$what: the store does not read: $(cat "$T/view.err")"
	for want in "$@"; do
		cmp -s "$got" "$want" && { basename "$want"; return 0; }
	done
	echo "--- got:"; cat "$got"
	for want in "$@"; do echo "--- $(basename "$want"):"; cat "$want"; done
	fail "$what: the store holds neither the old nor the new state"
}

# crash_all NAME MAXPOINTS SETUPFN VIEW CHECKCMD CMD...:
#   SETUPFN DIR makes the "before" store; CMD (with @STORE@ replaced by the store)
#   is the change; VIEW DIR prints the state; CHECKCMD DIR must succeed after a kill
#   (the program's own read-only reader); at most MAXPOINTS kill points per syscall.
crash_all() {
	local name=$1 maxp=$2 setup=$3 view=$4 check=$5
	shift 5
	local w="$T/work" before="$T/$name.before" after="$T/$name.after"
	local kind skip total n step rc got cmd pts settled

	subst() { local a; cmd=(); for a in "$@"; do cmd+=("${a//@STORE@/$w}"); done; }

	rm -rf "$w"; $setup "$w"
	$view "$w" >"$before" 2>/dev/null || echo "NOSTORE" >"$before"
	: >"$T/$name.empty"
	local allowed=("$before" "$after")
	# Creating a store: an empty store (set up, nothing committed yet) is the old state too.
	[ "$(cat "$before")" = NOSTORE ] && allowed+=("$T/$name.empty")
	subst "$@"
	"${cmd[@]}" >/dev/null 2>"$T/clean.err" || fail "$name: the uninterrupted change failed: $(cat "$T/clean.err")"
	$view "$w" >"$after" || fail "$name: the changed store does not read"
	cmp -s "$before" "$after" && fail "$name: the change changes nothing; the test would prove nothing"

	for kind in $KINDS; do
		rm -rf "$w"; $setup "$w"
		pts=$(count_points "$kind" "$w" "${cmd[@]}") || exit 1
		read -r skip total <<<"$pts"
		[ "$total" -gt "$skip" ] || continue
		step=$(( (total - skip + maxp - 1) / maxp ))
		for (( n = skip + 1; n <= total; n += step )); do
			rm -rf "$w"; $setup "$w"
			rc=$(kill_at "$kind" "$n" "${cmd[@]}")
			case $rc in
			0) ;;   # the count differs run to run (e.g. TPM retries): it finished
			137) points_total=$((points_total + 1))
			     points_by[$name]=$(( ${points_by[$name]:-0} + 1 )) ;;
			*) fail "$name: killed at $kind #$n: exit $rc, not 137: $(cat "$T/killed.err")" ;;
			esac
			if [ -n "$check" ]; then
				$check "$w" >/dev/null 2>"$T/check.err" ||
					fail "$name: after a kill at $kind #$n, '$check' fails: $(cat "$T/check.err")"
			fi
			got=$(check_state "$name, kill at $kind #$n" "$w" "$view" "${allowed[@]}") || exit 1
			# A writable open settles it: same state (a store never set up is set up
			# now), nothing left over.
			settled="$T/$got"
			[ "$got" = "$name.before" ] && [ "$(cat "$before")" = NOSTORE ] && settled="$T/$name.empty"
			"$TOOL" open "$w" 2>"$T/open.err" ||
				fail "$name: after a kill at $kind #$n, a writable open fails: $(cat "$T/open.err")"
			no_leftovers "$w"
			check_state "$name, kill at $kind #$n, settled" "$w" "$view" "$settled" >/dev/null || exit 1
			echo "$name: $kind #$n (of $((skip + 1))..$total): exit $rc -> $got"
			flush_tpm
		done
	done
}

flush_tpm() {
	# A killed keyd-ctl leaves its transient objects in the swtpm (no resource
	# manager here); flush them so the TPM does not run out of slots.
	[ -n "${KEYD_TCTI:-}" ] || return 0
	tpm2_flushcontext -t >/dev/null 2>&1 || true
	tpm2_flushcontext -l >/dev/null 2>&1 || true
	tpm2_flushcontext -s >/dev/null 2>&1 || true
}

# ---- part 1: the store alone ---------------------------------------------------
tool_setup() {
	"$TOOL" txn "$1" put psk a.meta "a = old" put psk b.meta "b = 1" put ca x.pem "x" \
		put tpm srk.meta "handle = 0x81000001"
}
no_setup() { :; }
tool_view() { "$TOOL" dump "$1"; }

note "store-tool: one transaction over all sections, killed at every syscall"
crash_all tool-txn 1000 tool_setup tool_view "" \
	"$TOOL" txn @STORE@ put psk a.meta "a = new" put psk c.meta "c = 1" rm ca x.pem \
	put keys k.tss2 "k" put keys k.meta "name = k" rm psk b.meta put ca y.pem "y"

note "store-tool: creating a store, killed at every syscall"
create_view() {
	# No store yet, or an empty one (created, nothing committed), or the result.
	"$TOOL" dump "$1" 2>"$T/cv.err" || { grep -q "no keyd store" "$T/cv.err" && echo NOSTORE; }
}
crash_all tool-create 1000 no_setup create_view "" \
	"$TOOL" txn @STORE@ put psk a.meta "a = 1" put ca x.pem "x"
tool_points=$points_total
[ "$tool_points" -ge 20 ] || fail "only $tool_points kill points reached with store-tool"
note "store-tool: $tool_points kill points, each left the old or the new state"

# ---- part 2: keyd-ctl psk add, psk import, ca add ---------------------------------
if [ ! -x "$KEYD_BUILD/keyd-ctl" ]; then
	skip "store-tool part passed ($tool_points points); keyd-ctl is not built, so psk/ca were not tested"
fi
CTL="$T/keyd-ctl"
cp "$KEYD_BUILD/keyd-ctl" "$CTL"
for v in "psk add --help" "psk import --help" "ca add --help" "list --help"; do
	# shellcheck disable=SC2086
	"$CTL" $v >/dev/null 2>&1 ||
		skip "store-tool part passed ($tool_points points); 'keyd-ctl $v' does not work yet"
done
require_cmd swtpm tpm2_flushcontext openssl nvme
start_swtpm

ctl_at() { local d=$1; shift; "$CTL" --root "$d" "$@"; }
ctl_list() { ctl_at "$1" list; }
names_view() { "$TOOL" names "$1"; }

HOST=nqn.2014-08.org.nvmexpress:uuid:5ee0f2a4-6c53-4a43-9b33-0d1b1e7c0a11
# A CA made now, never committed.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=keyd crash test CA" -keyout "$T/ca.key" -out "$T/ca.pem" 2>/dev/null ||
	fail "openssl cannot make a test CA"
# An nvme-cli tls-keys file with two retained PSKs, made by nvme-cli now.
for i in 1 2; do
	printf 'NVMe0R01 %s nqn.2024-01.io.keyd:crash%s %s\n' "$HOST" "$i" \
		"$(nvme gen-tls-key --hmac=1 | tail -n1)"
done >"$T/tls-keys"

# Before: a store with an SRK pinned, one PSK and one CA set.
template="$T/template"
ctl_at "$template" psk add --hostnqn "$HOST" --subnqn nqn.2024-01.io.keyd:base --generate \
	>/dev/null || fail "psk add on a fresh store failed"
ctl_at "$template" ca add "$T/ca.pem" --set base >/dev/null || fail "ca add on a fresh store failed"
ctl_setup() { cp -a "$template" "$1"; }

note "keyd-ctl psk add"
crash_all psk-add 6 ctl_setup names_view ctl_list \
	"$CTL" --root @STORE@ psk add --hostnqn "$HOST" --subnqn nqn.2024-01.io.keyd:new --generate
note "keyd-ctl psk import"
crash_all psk-import 6 ctl_setup names_view ctl_list \
	"$CTL" --root @STORE@ psk import "$T/tls-keys"
note "keyd-ctl ca add"
crash_all ca-add 6 ctl_setup names_view ctl_list \
	"$CTL" --root @STORE@ ca add "$T/ca.pem" --set crash

ctl_points=$((points_total - tool_points))
for v in psk-add psk-import ca-add; do
	[ "${points_by[$v]:-0}" -gt 0 ] || fail "$v: no kill point reached"
done
[ "$ctl_points" -ge 20 ] || fail "only $ctl_points kill points reached in keyd-ctl"
note "keyd-ctl: $ctl_points kill points (psk add ${points_by[psk-add]}, psk import" \
	"${points_by[psk-import]}, ca add ${points_by[ca-add]}), each left the old or the new state"
