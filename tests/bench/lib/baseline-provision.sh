#!/bin/bash
# The baseline that tests/bench/provision.sh times keyd against: the same
# provisioning work done the way initramfs modules do it today with tpm2-tools
# and keyctl (clevis's tpm2 pin and dracut's shell modules): one
# tpm2_createprimary, then for each sealed secret tpm2_load + tpm2_unseal piped
# into keyctl padd, and one keyctl padd per certificate (and per copy).
# Not run by itself: tests/bench/*.sh are the benchmarks, this lives in lib/.
#
#   baseline-provision.sh enroll DIR N     untimed: an ECC primary and N sealed
#                                          32-byte secrets (tpm2_create -i, no
#                                          policy) in DIR; the plaintext files are
#                                          removed once sealed
#   baseline-provision.sh run DIR N SUFFIX the timed pass: rings
#                                          base-ca-SUFFIX, base-nvme-SUFFIX and
#                                          base-id-SUFFIX in the session keyring
#
# DIR also holds what the run adds as certificates: DIR/ca/*.der (the CA bundle,
# one DER file each, as a distribution ships them split) and DIR/host.der.
#
# The kernel's TPM resource manager (/dev/tpmrm0) flushes what a tool leaves
# loaded when it exits. The bench's swtpm has none, so rm_flush() does that job
# with tpm2_flushcontext -t. So that the bench can report that work apart, it
# appends its wall time (microseconds) to $RM_TIME_FILE and, when $RM_LOG names
# the swtpm's command log, the log's line range it caused to $RM_RANGES_FILE.
# clevis also runs tpm2_createprimary once per secret; here it runs once per pass,
# which favours the baseline.
set -euo pipefail

usage() { echo "usage: $0 enroll DIR N | run DIR N SUFFIX" >&2; exit 2; }

# Flush the transient objects a tool left, as the kernel's resource manager would.
rm_flush() {
	local t0 t1 l0=0 l1
	[ -z "${RM_LOG:-}" ] || l0=$(wc -l <"$RM_LOG")
	t0=$(date +%s%N)
	tpm2_flushcontext -t >/dev/null
	t1=$(date +%s%N)
	[ -z "${RM_TIME_FILE:-}" ] || echo $(((t1 - t0) / 1000)) >>"$RM_TIME_FILE"
	if [ -n "${RM_LOG:-}" ]; then
		l1=$(wc -l <"$RM_LOG")
		echo "$((l0 + 1)) $l1" >>"$RM_RANGES_FILE"
	fi
}

enroll() {
	local dir=$1 n=$2 i
	tpm2_createprimary -Q -C o -g sha256 -G ecc -c "$dir/primary.ctx"
	rm_flush
	for i in $(seq "$n"); do
		head -c 32 /dev/urandom >"$dir/secret$i"
		tpm2_create -Q -C "$dir/primary.ctx" -i "$dir/secret$i" \
			-u "$dir/psk$i.pub" -r "$dir/psk$i.priv"
		rm -f "$dir/secret$i"
		rm_flush
	done
	rm -f "$dir/primary.ctx"
}

run() {
	local dir=$1 n=$2 sfx=$3 ca nv id f i
	ca=$(keyctl newring "base-ca-$sfx" @s)
	nv=$(keyctl newring "base-nvme-$sfx" @s)
	id=$(keyctl newring "base-id-$sfx" @s)
	# The CA bundle: each certificate as an asymmetric key (the kernel parses it;
	# the ones this kernel cannot parse fail, as they do for keyd) and as a user
	# key holding the DER for programs that read it.
	i=0
	for f in "$dir"/ca/*.der; do
		i=$((i + 1))
		keyctl padd asymmetric "" "$ca" <"$f" >/dev/null 2>&1 || true
		keyctl padd user "bench:ca:$i" "$ca" <"$f" >/dev/null
	done
	# The sealed secrets: a primary (every boot: it is not persistent), then
	# load + unseal per secret, the secret piped straight into the keyring.
	tpm2_createprimary -Q -C o -g sha256 -G ecc -c "$dir/primary.ctx"
	rm_flush
	for i in $(seq "$n"); do
		tpm2_load -Q -C "$dir/primary.ctx" -u "$dir/psk$i.pub" -r "$dir/psk$i.priv" \
			-c "$dir/psk$i.ctx"
		tpm2_unseal -c "$dir/psk$i.ctx" | keyctl padd user "bench-psk-$i" "$nv" >/dev/null
		rm -f "$dir/psk$i.ctx"
		rm_flush
	done
	rm -f "$dir/primary.ctx"
	# The TPM key's certificate and its reference, as keyd adds them.
	keyctl padd user "bench:cert:host" "$id" <"$dir/host.der" >/dev/null
	printf 'keyd:host' | keyctl padd user "bench:key:host" "$id" >/dev/null
}

case "${1:-}" in
enroll) [ $# = 3 ] || usage; enroll "$2" "$3" ;;
run) [ $# = 4 ] || usage; run "$2" "$3" "$4" ;;
*) usage ;;
esac
