#!/bin/bash
# Signing benchmark: keyd.so against tpm2-openssl on the same swtpm, in one run.
#   - per-process latency: `openssl pkeyutl -sign`, one process per signature
#     (what a program that signs once pays: provider start, key load, signature);
#   - in-process rate: one process loads the key once and signs in a loop
#     (tests/lib/sign-loop.c; its first and last signatures are verified);
#   - TPM commands per process and per signature: keyd's own count (its debug
#     log), libtss2-tcti-pcap's capture for tpm2-openssl (tpm-pcap-count.py).
# tpm2-openssl runs with two keys: keyd's store key (a TSS2 PRIVATE KEY under the
# persistent SRK, which tpm2-openssl loads as is: Load per process) and a key it
# made itself as its users make them (`openssl genpkey -provider tpm2`: parent =
# the owner hierarchy, so CreatePrimary and Load per process).
# Aim: per-process latency at least 2x better than tpm2-openssl, in-process rate
# no worse. On swtpm no provider can reach the first half: an openssl process
# with a key in a file (the "baseline" line) already costs most of what it costs
# with tpm2-openssl, so the "added by the provider" lines compare what each
# provider adds to that.
# keyd's daemon keeps the key of a burst loaded (sign-hold-ms, keyd.conf(5)):
# one TPM2_Sign per signature. The tpm2-openssl rows start after keyd's hold has
# ended (swtpm has 3 object slots and no resource manager; tpm2-openssl needs
# them all in a signing loop), so each provider has the TPM to itself.
# Prints the figures and the ratios; exits non-zero only when something fails to
# sign. KEYD_BENCH_ROUNDS (default 5) rounds over all rows, each with
# KEYD_BENCH_N (default 30) processes and KEYD_BENCH_LOOP (default 500) in-process
# signatures per row.
: "${KEYD_TOP:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${KEYD_BUILD:=$KEYD_TOP/build/release}"
export KEYD_TOP KEYD_BUILD
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd openssl keyd-ctl python3
[ -e "$KEYD_BUILD/keyd.so" ] || skip "keyd.so is not built ($KEYD_BUILD/keyd.so)"
[ -x "$KEYD_BUILD/tests/sign-loop" ] || skip "tests/sign-loop is not built"
sysmod=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')
[ -e "$sysmod/tpm2.so" ] || skip "tpm2-openssl is not installed ($sysmod/tpm2.so)"
pcap_tcti=$(ls /usr/lib/*/libtss2-tcti-pcap.so* 2>/dev/null | head -n 1 || true)

N=${KEYD_BENCH_N:-30}
LOOP=${KEYD_BENCH_LOOP:-500}
ROUNDS=${KEYD_BENCH_ROUNDS:-5}
HOLD_MS=500
start_swtpm
new_store
source "$KEYD_TOP/tests/lib/daemon.sh"
cd "$T"
# Both providers from one modules directory.
mkdir -p modules
ln -s "$KEYD_BUILD/keyd.so" modules/keyd.so
ln -s "$sysmod/tpm2.so" modules/tpm2.so
export OPENSSL_MODULES="$T/modules"

ctl key create bench-ec --alg ec-p256 >/dev/null
ctl key create bench-rsa --alg rsa2048 >/dev/null
openssl genpkey -provider tpm2 -algorithm EC -pkeyopt group:P-256 -out own-ec.key ||
	fail "tpm2-openssl cannot make an EC key"
openssl genpkey -provider tpm2 -algorithm RSA -pkeyopt bits:2048 -out own-rsa.key 2>/dev/null ||
	fail "tpm2-openssl cannot make an RSA key"
write_policy bench "[signing]
grant key bench-* to uid=0"
KEYD_TEST_LOG_LEVEL=info write_keyd_conf "sign-hold-ms = $HOLD_MS"
start_keyd
echo 'keyd bench' | openssl dgst -sha256 -binary >digest.bin

# time_processes FILE CMD...: wall time of N runs of CMD, in microseconds, one
# line each, appended to FILE. The clock is bash's own (EPOCHREALTIME): a `date`
# process per reading would add its start (about 1 ms here) to every row and
# pull all ratios towards 1.
time_processes() {
	local file=$1 i s e
	shift
	for i in $(seq "$N"); do
		s=${EPOCHREALTIME/[.,]/}
		"$@" >/dev/null 2>err || fail "'$*' failed: $(cat err)"
		e=${EPOCHREALTIME/[.,]/}
		echo $((e - s)) >>"$file"
	done
}
# Median and mean of FILE's microsecond lines, in ms.
ms_stats() {
	sort -n "$1" | awk '{a[NR]=$1; t+=$1} END {printf "%.2f %.2f\n", a[int((NR+1)/2)]/1000, t/NR/1000}'
}
# Median, lowest and highest of FILE's lines.
rate_stats() {
	sort -n "$1" | awk '{a[NR]=$1} END {printf "%.1f %.1f %.1f\n", a[int((NR+1)/2)], a[1], a[NR]}'
}

# tpm2-openssl's TPM commands for one run of CMD..., through the pcap TCTI.
pcap_cmds() {
	[ -n "$pcap_tcti" ] || { echo "?"; return; }
	rm -f tpm2.pcap
	TPM2OPENSSL_TCTI="pcap:$KEYD_TCTI" TCTI_PCAP_FILE="$T/tpm2.pcap" "$@" >/dev/null 2>err ||
		fail "'$*' under the pcap TCTI failed: $(cat err)"
	python3 "$KEYD_TOP/tests/bench/tpm-pcap-count.py" tpm2.pcap | awk '{print $1}'
}

# keyd's TPM commands per request since log line $1 (SIGN; GET-PUBKEY sends none).
keyd_cmds_per_sign() {
	tail -n +"$1" "$T/keyd.log" | sed -n "s/.*sign with key .*: \([0-9]*\) TPM command(s).*/\1/p" |
		awk '{t+=$1; n++} END {if (n) printf "%.2f", t/n; else print "?"}'
}

# The fixed cost of an openssl process signing with a key in a file: what no
# provider can save.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out soft.key 2>/dev/null
: >base.us
time_processes base.us openssl pkeyutl -sign -inkey soft.key -in digest.bin -out /dev/null
read -r base_med base_mean < <(ms_stats base.us)
echo "baseline: openssl pkeyutl -sign with a P-256 key in a file: p50 $base_med ms, mean $base_mean ms"

# The rows: NAME PROVIDER KEY-URI for each key type.
rows() {
	local alg=$1
	echo "keyd keyd keyd:bench-$alg"
	echo "tpm2-openssl tpm2 $STORE/keys/bench-$alg.tss2"
	echo "tpm2-openssl-own tpm2 $T/own-$alg.key"
}
# sign_cmd ALG PROVIDER URI: the one-signature process, in the array sign.
sign_cmd() {
	local opts=()
	[ "$1" = rsa ] && opts=(-pkeyopt digest:sha256)
	sign=(openssl pkeyutl -sign -provider "$2" -provider default -inkey "$3"
		"${opts[@]}" -in digest.bin -out /dev/null)
}
# Before a tpm2-openssl row: until keyd's hold has ended.
wait_hold() { sleep "$(awk -v h="$HOLD_MS" 'BEGIN {print h / 1000 + 0.3}')"; }
# ROUNDS rounds, each timing every row in turn (so a drift in the machine's speed
# reaches all rows alike): N processes and one LOOP-signature process per row and
# round. p50 over all processes of a row; the rate is the median of its rounds.
declare -A p50 rate
for alg in ec rsa; do
	for round in $(seq "$ROUNDS"); do
		while read -r row prov uri; do
			sign_cmd "$alg" "$prov" "$uri"
			[ "$prov" = tpm2 ] && wait_hold
			[ "$round" = 1 ] && : >"$alg.$row.us" && : >"$alg.$row.rate"
			# Warm up (keyd's TPM connection and session, the page cache).
			"${sign[@]}" 2>/dev/null || fail "$row cannot sign with $uri"
			time_processes "$alg.$row.us" "${sign[@]}"
			r=$("$KEYD_BUILD/tests/sign-loop" "$uri" "$LOOP" "$prov" default) ||
				fail "sign-loop with $row failed"
			awk '{print $3}' <<<"$r" >>"$alg.$row.rate"
		done < <(rows "$alg")
	done
	while read -r row prov uri; do
		read -r med mean < <(ms_stats "$alg.$row.us")
		read -r rmed rmin rmax < <(rate_stats "$alg.$row.rate")
		p50[$alg.$row]=$med rate[$alg.$row]=$rmed
		printf '%-4s %-17s process p50 %6s ms, mean %6s ms; in-process %7s sig/s (%s-%s)\n' \
			"$alg" "$row" "$med" "$mean" "$rmed" "$rmin" "$rmax"
	done < <(rows "$alg")
done

# TPM commands, counted after the timing (keyd's count needs its debug log).
echo
echo "TPM commands (per process: one openssl pkeyutl; per signature: in a loop):"
sed -i 's/^log-level = .*/log-level = debug/' "$KEYD_CONF"
line=$(wc -l <"$T/keyd.log")
kill -HUP "$KEYD_PID"
for _ in $(seq 100); do tail -n +"$line" "$T/keyd.log" | grep -q 'reloaded' && break; sleep 0.05; done
for alg in ec rsa; do
	while read -r row prov uri; do
		sign_cmd "$alg" "$prov" "$uri"
		if [ "$prov" = keyd ]; then
			"${sign[@]}" || fail "keyd cannot sign"
			line=$(($(wc -l <"$T/keyd.log") + 1))
			for _ in 1 2 3; do "${sign[@]}" || fail "keyd cannot sign"; done
			perproc=$(keyd_cmds_per_sign "$line")
			line=$(($(wc -l <"$T/keyd.log") + 1))
			"$KEYD_BUILD/tests/sign-loop" "$uri" 20 keyd default >/dev/null ||
				fail "sign-loop with keyd failed"
			persig=$(keyd_cmds_per_sign "$line")
		else
			wait_hold
			perproc=$(pcap_cmds "${sign[@]}")
			# Steady state in one process: the difference of two loop lengths.
			a=$(pcap_cmds "$KEYD_BUILD/tests/sign-loop" "$uri" 10 tpm2 default)
			b=$(pcap_cmds "$KEYD_BUILD/tests/sign-loop" "$uri" 30 tpm2 default)
			persig=$(awk -v a="$a" -v b="$b" 'BEGIN {if (a == "?") print "?"; else printf "%.2f", (b-a)/20}')
		fi
		printf '%-4s %-17s per process %5s, per signature %5s\n' "$alg" "$row" "$perproc" "$persig"
	done < <(rows "$alg")
done

echo
verdict=0
for alg in ec rsa; do
	for base in tpm2-openssl tpm2-openssl-own; do
		lat=$(awk -v a="${p50[$alg.$base]}" -v b="${p50[$alg.keyd]}" 'BEGIN {printf "%.2f", a/b}')
		add=$(awk -v a="${p50[$alg.$base]}" -v b="${p50[$alg.keyd]}" -v z="$base_med" \
			'BEGIN {if (b - z > 0.01) printf "%.2f", (a-z)/(b-z); else print "inf"}')
		thr=$(awk -v a="${rate[$alg.keyd]}" -v b="${rate[$alg.$base]}" 'BEGIN {printf "%.2f", a/b}')
		printf '%s vs %s: per-process latency %sx (aim >= 2), latency added by the provider %sx; in-process rate %sx (aim >= 1)\n' \
			"$alg" "$base" "$lat" "$add" "$thr"
		awk -v l="$lat" -v t="$thr" 'BEGIN {exit !(l >= 2 && t >= 1)}' || verdict=1
	done
done
[ "$verdict" = 0 ] && echo "aims met" || echo "aims NOT met (see the figures above)"
stop_keyd
