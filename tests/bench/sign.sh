#!/bin/bash
# Signing benchmark: keyd.so against tpm2-openssl, same swtpm, same key file
# (keyd's store key is a TSS2 PRIVATE KEY that tpm2-openssl loads as is).
#   - per-process latency: `openssl pkeyutl -sign`, one process per signature
#     (what a program that signs once pays: provider start, key load, signature);
#   - in-process rate: one process loads the key once and signs in a loop
#     (tests/lib/sign-loop.c);
#   - TPM commands per signature: keyd's own count (its debug log), and
#     libtss2-tcti-pcap's capture for tpm2-openssl (tests/bench/tpm-pcap-count.py).
# Aim: per-process latency at least 2x better than tpm2-openssl (keyd sends no
# CreatePrimary and no key Load per process), in-process rate no worse.
# On swtpm the aim's first half cannot be met by any provider: an openssl process
# with a key in a file (the "baseline" line) costs more than half of what it costs
# with tpm2-openssl; the "over the baseline" lines compare what the providers add.
# keyd's signature: ContextLoad, Sign, FlushContext (3 commands, the key is not left
# loaded: tpm2-openssl keeps its key loaded, 2 commands, a slot a TPM without a
# resource manager lacks for others) in a kept salted HMAC session whose crypto keyd
# computes itself (keyd/core/tpm-session.c; docs/openssl-provider.md, Performance).
# Prints the figures and the ratios; exits non-zero only when something fails to
# sign. KEYD_BENCH_N (default 30) processes and KEYD_BENCH_LOOP (default 300)
# in-process signatures per measurement.
source "$KEYD_TOP/tests/lib/harness.sh"
require_cmd openssl keyd-ctl python3
[ -e "$KEYD_BUILD/keyd.so" ] || skip "keyd.so is not built ($KEYD_BUILD/keyd.so)"
[ -x "$KEYD_BUILD/tests/sign-loop" ] || skip "tests/sign-loop is not built"
sysmod=$(openssl version -m | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p')
[ -e "$sysmod/tpm2.so" ] || skip "tpm2-openssl is not installed ($sysmod/tpm2.so)"
pcap_tcti=$(ls /usr/lib/*/libtss2-tcti-pcap.so* 2>/dev/null | head -n 1 || true)

N=${KEYD_BENCH_N:-30}
LOOP=${KEYD_BENCH_LOOP:-300}
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
write_policy bench "[signing]
grant key bench-* to uid=0"
write_keyd_conf
start_keyd
echo 'keyd bench' | openssl dgst -sha256 -binary >digest.bin

# ms_per_process CMD...: median and mean wall time of N runs, in ms.
ms_per_process() {
	local i s e
	: >times
	for i in $(seq "$N"); do
		s=$(date +%s%N)
		"$@" >/dev/null 2>err || fail "'$*' failed: $(cat err)"
		e=$(date +%s%N)
		echo $(((e - s) / 1000)) >>times
	done
	sort -n times | awk '{a[NR]=$1; t+=$1} END {printf "%.2f %.2f\n", a[int((NR+1)/2)]/1000, t/NR/1000}'
}

# keyd's TPM commands for the signatures since log line $1 (its debug log).
keyd_cmds_per_sign() {
	tail -n +"$1" "$T/keyd.log" | sed -n "s/.*sign with key .*: \([0-9]*\) TPM command(s).*/\1/p" |
		awk '{t+=$1; n++} END {if (n) printf "%.2f", t/n; else print "?"}'
}

# tpm2-openssl's TPM commands per run of CMD..., through the pcap TCTI.
tpm2_cmds() {
	[ -n "$pcap_tcti" ] || { echo "? (libtss2-tcti-pcap0 missing)"; return; }
	rm -f tpm2.pcap
	TPM2OPENSSL_TCTI="pcap:$KEYD_TCTI" TCTI_PCAP_FILE="$T/tpm2.pcap" "$@" >/dev/null 2>err ||
		fail "'$*' under the pcap TCTI failed: $(cat err)"
	python3 "$KEYD_TOP/tests/bench/tpm-pcap-count.py" tpm2.pcap
}

# The fixed cost of an openssl process signing with a key in a file: what no
# provider can save.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out soft.key 2>/dev/null
read -r base_med base_mean < <(ms_per_process openssl pkeyutl -sign -inkey soft.key \
	-in digest.bin -out /dev/null)
echo "baseline: openssl pkeyutl -sign with a P-256 key in a file: p50 $base_med ms, mean $base_mean ms"
printf '%-9s %-9s %14s %14s %10s %16s %18s\n' key provider "process p50" "process mean" \
	"in-proc/s" "TPM cmds/process" "TPM cmds/signature"
declare -A p50 rate cmds
for k in bench-ec bench-rsa; do
	opts=()
	[ "$k" = bench-rsa ] && opts=(-pkeyopt digest:sha256)
	for prov in keyd tpm2; do
		if [ "$prov" = keyd ]; then uri="keyd:$k"; else uri="$STORE/keys/$k.tss2"; fi
		sign=(openssl pkeyutl -sign -provider "$prov" -provider default -inkey "$uri"
			"${opts[@]}" -in digest.bin -out /dev/null)
		# Warm up (keyd holds the key after its first signature; the TPM and the
		# page cache are warm for both).
		"${sign[@]}" 2>/dev/null || fail "$prov cannot sign with $k"
		line=$(($(wc -l <"$T/keyd.log") + 1))
		read -r med mean < <(ms_per_process "${sign[@]}")
		r=$("$KEYD_BUILD/tests/sign-loop" "$uri" "$LOOP" "$prov" default) ||
			fail "sign-loop with $prov failed"
		persec=$(awk '{print $3}' <<<"$r")
		if [ "$prov" = keyd ]; then
			perproc=$(keyd_cmds_per_sign "$line")
			persig=$perproc
		else
			perproc=$(tpm2_cmds "${sign[@]}")
			# Steady state in one process: the difference of two loop lengths.
			a=$(tpm2_cmds "$KEYD_BUILD/tests/sign-loop" "$uri" 10 tpm2 default)
			b=$(tpm2_cmds "$KEYD_BUILD/tests/sign-loop" "$uri" 30 tpm2 default)
			persig=$(awk -v a="${a%% *}" -v b="${b%% *}" 'BEGIN {printf "%.2f", (b-a)/20}')
			perproc=${perproc%% *}
		fi
		p50[$k.$prov]=$med rate[$k.$prov]=$persec cmds[$k.$prov]=$persig
		printf '%-9s %-9s %11s ms %11s ms %10s %16s %18s\n' "$k" "$prov" "$med" "$mean" \
			"$persec" "$perproc" "$persig"
	done
done

echo
verdict=0
for k in bench-ec bench-rsa; do
	lat=$(awk -v a="${p50[$k.tpm2]}" -v b="${p50[$k.keyd]}" 'BEGIN {printf "%.2f", a/b}')
	thr=$(awk -v a="${rate[$k.keyd]}" -v b="${rate[$k.tpm2]}" 'BEGIN {printf "%.2f", a/b}')
	printf '%s: per-process latency tpm2-openssl/keyd = %sx (aim >= 2); in-process rate keyd/tpm2-openssl = %sx (aim >= 1)\n' \
		"$k" "$lat" "$thr"
	# What the providers add to a process that signs (the p50 above the baseline).
	awk -v k="$k" -v a="${p50[$k.keyd]}" -v b="${p50[$k.tpm2]}" -v base="$base_med" 'BEGIN {
		printf "%s: over the baseline: keyd +%.2f ms, tpm2-openssl +%.2f ms\n", k, a-base, b-base }'
	awk -v l="$lat" -v t="$thr" 'BEGIN {exit !(l >= 2 && t >= 1)}' || verdict=1
done
[ "$verdict" = 0 ] && echo "aims met" || echo "aims NOT met (see the figures above)"
stop_keyd
