#!/bin/bash
# Upcall latency of keyd-request-key against the floor, in the same run: a
# minimal callout (keyctl instantiate of a fixed 32-byte payload) measures what
# every upcall costs anyway (the kernel's usermode helper, /sbin/request-key,
# one exec). keyd-request-key answers a user-type PSK request (keyd:psk:...,
# unsealed and derived) with keyd running, and from the store and swtpm with
# keyd stopped. Prints ms per upcall and the ratio to the floor; the aim is
# 1.5x or less with keyd running. KEYD_BENCH_N upcalls each (default 200).
: "${KEYD_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${KEYD_BUILD:=$KEYD_TOP/build/release}"
export KEYD_TOP KEYD_BUILD
source "$KEYD_TOP/tests/lib/harness.sh"
source "$KEYD_TOP/tests/lib/daemon.sh"
source "$KEYD_TOP/tests/lib/request-key.sh"
N=${KEYD_BENCH_N:-200}

rk_setup "[request-key]
allow user \"keyd:psk:NVMe1R01 $RK_HOST* *\" uid=0"
rk_enroll v1 sha256 ""
floor_desc="keyd:floor-$RK_ID"
echo "create user keyd:floor-* * /bin/keyctl instantiate %k 0123456789abcdef0123456789abcdef 0" \
	>>"$RK_CONF"

bench() { "$KEYD_TOP/tests/lib/reqkey-bench.py" "$N" "$@" || fail "upcalls failed: $(tail -n 5 "$RK_LOG")"; }
# Warm caches (binaries, the TPM's SRK) before measuring.
bench "$floor_desc" "" >/dev/null
floor=$(bench "$floor_desc" "")

start_keyd
bench "keyd:psk:$RK_IDENTITY" "$RK_CALLOUT" >/dev/null
daemon=$(bench "keyd:psk:$RK_IDENTITY" "$RK_CALLOUT")
floor2=$(bench "$floor_desc" "")
grep -q 'instantiated from keyd' "$RK_LOG" || fail "the upcalls were not served by keyd"
stop_keyd
: >"$RK_LOG"
nodaemon=$(bench "keyd:psk:$RK_IDENTITY" "$RK_CALLOUT")
grep -q 'instantiated from store' "$RK_LOG" || fail "the upcalls were not served from the store"
floor=$(python3 -c "print(min($floor, $floor2))")

python3 - "$floor" "$daemon" "$nodaemon" "$N" <<'PY'
import sys
floor, daemon, nodaemon, n = map(float, sys.argv[1:])
print(f"request-key: {int(n)} upcalls each (user-type PSK, unseal + derive)")
print(f"  floor (keyctl instantiate, fixed payload)  {floor:8.2f} ms/upcall")
print(f"  keyd-request-key, keyd running             {daemon:8.2f} ms/upcall  {daemon / floor:5.2f}x floor (aim <= 1.5x)")
print(f"  keyd-request-key, keyd stopped (store+TPM) {nodaemon:8.2f} ms/upcall  {nodaemon / floor:5.2f}x floor")
PY
