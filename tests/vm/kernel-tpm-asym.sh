#!/bin/bash
# kernel-patches/0004 (KEYS: asymmetric: add a TPM 2.0 key subtype) in Debian's 6.12 kernel:
# mk/kernel.sh applies the series and builds asym_tpm2.ko out of tree. On the host, keyd-ctl
# creates an ec-p256 and an rsa2048 key in a swtpm (keys/NAME.tss2, TSS2 PEM) and exports their
# public keys; the guest boots with that swtpm and:
#  1. loads asym_tpm2.ko and adds both keys (DER, and the PEM file once) as 'asymmetric' keys;
#  2. keyctl pkey_query: key sizes in bits, maximum signature sizes, sign and verify;
#  3. keyctl pkey_sign: ECDSA P-256 (enc=x962, sha256 and sha384), RSA PKCS#1 v1.5 (enc=pkcs1,
#     sha256) and RSA-PSS (enc=pss, sha256); the kernel verifies each in software
#     (keyctl pkey_verify; PSS: EOPNOTSUPP, 6.12's software RSA has none), and the HOST
#     verifies them with openssl against the exported public keys (PSS with the salt length
#     TLS 1.3 requires), a tampered signature fails there;
#  4. keyctl read of the key fails (the asymmetric type has no read);
#  5. no transient object is left in the TPM after the signatures and after the keys are
#     unlinked: tpm2_getcap handles-transient through /dev/tpm0, the raw device (through
#     /dev/tpmrm0 the resource manager would show only that connection's own objects);
#  6. refusals: garbage and a truncated key file -> EBADMSG, a wrong encoding, an unknown hash
#     and a digest of the wrong length -> EINVAL, a key made by another TPM (second swtpm) ->
#     EKEYREJECTED with the TPM's response code in dmesg; and no WARN, BUG or oops in dmesg.
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/vm.sh"

t0=$(vm_now)
vm_require
require_cmd openssl tpm2_getcap
vm_fetch_kernel

note "building the patched modules (mk/kernel.sh --kver $VM_KVER)"
krc=0
"$KEYD_TOP/mk/kernel.sh" --kver "$VM_KVER" || krc=$?
[ "$krc" = 77 ] && skip "mk/kernel.sh could not fetch the kernel packages"
[ "$krc" = 0 ] || fail "mk/kernel.sh failed (exit $krc)"
ko=$KEYD_TOP/build/kernel/$VM_KVER/crypto/asymmetric_keys/asym_tpm2.ko
[ -r "$ko" ] || fail "mk/kernel.sh made no $ko"
t_kernel=$(vm_since "$t0")

ctl=$KEYD_TOP/build/release/keyd-ctl
make -s -C "$KEYD_TOP" NO_DEPS=1 build/release/keyd-ctl >"$T/make.log" 2>&1 ||
	fail "could not build $ctl: $(tail -n 5 "$T/make.log")"

# -- the keys, made by keyd in the swtpm the guest gets (same state directory).
tpm=$T/tpm
mkdir -p "$tpm"
swtpm socket --tpm2 --server type=unixio,path="$tpm/host.sock" \
	--ctrl type=unixio,path="$tpm/host.sock.ctrl" --tpmstate dir="$tpm" \
	--flags not-need-init,startup-clear --daemon --pid file="$tpm/host.pid" \
	--log file="$tpm/host.log",level=1 || fail "swtpm did not start on $tpm"
for _ in $(seq 50); do [ -s "$tpm/host.pid" ] && [ -S "$tpm/host.sock" ] && break; sleep 0.05; done
host_swtpm=$(cat "$tpm/host.pid")
track_pid "$host_swtpm"
store=$T/store
kctl() { "$ctl" --root "$store" --tcti "swtpm:path=$tpm/host.sock" "$@"; }
kctl key create vm-ec --alg ec-p256 >/dev/null || fail "keyd-ctl key create vm-ec failed"
kctl key create vm-rsa --alg rsa2048 >/dev/null || fail "keyd-ctl key create vm-rsa failed"
kctl key export-pub vm-ec --out "$T/ec.pub" || fail "keyd-ctl key export-pub vm-ec failed"
kctl key export-pub vm-rsa --out "$T/rsa.pub" || fail "keyd-ctl key export-pub vm-rsa failed"
kill "$host_swtpm"
for _ in $(seq 50); do kill -0 "$host_swtpm" 2>/dev/null || break; sleep 0.05; done
# A key of another TPM (its own SRK at the same handle): the guest's TPM refuses to load it.
other=$T/tpm-other
mkdir -p "$other"
swtpm socket --tpm2 --server type=unixio,path="$other/host.sock" \
	--ctrl type=unixio,path="$other/host.sock.ctrl" --tpmstate dir="$other" \
	--flags not-need-init,startup-clear --daemon --pid file="$other/host.pid" \
	--log file="$other/host.log",level=1 || fail "swtpm did not start on $other"
for _ in $(seq 50); do [ -s "$other/host.pid" ] && [ -S "$other/host.sock" ] && break; sleep 0.05; done
other_swtpm=$(cat "$other/host.pid")
track_pid "$other_swtpm"
"$ctl" --root "$T/store-other" --tcti "swtpm:path=$other/host.sock" key create vm-other \
	--alg ec-p256 >/dev/null || fail "keyd-ctl key create vm-other (second swtpm) failed"
kill "$other_swtpm"

g=$T/root/etc/keyd-vm
mkdir -p "$T/root/lib/keyd-vm" "$g"
cp "$ko" "$T/root/lib/keyd-vm/asym_tpm2.ko"
# keyd stores the key as TSS2 PEM; the kernel key's payload is its DER (the PEM body).
for k in ec rsa other; do
	f=$store/keys/vm-$k.tss2
	[ $k = other ] && f=$T/store-other/keys/vm-other.tss2
	head -n 1 "$f" | grep -q "^-----BEGIN TSS2 $TSS2_LABEL_TAIL-----\$" ||
		fail "$f is not a TSS2 PEM file"
	sed '1d;$d' "$f" | base64 -d >"$g/$k.der" || fail "could not decode $f"
	[ "$(head -c 1 "$g/$k.der" | od -An -tx1 | tr -d ' ')" = 30 ] || fail "$f holds no DER SEQUENCE"
done
cp "$store/keys/vm-ec.tss2" "$g/ec.pem"
# What is signed: the digests of a message made now.
head -c 1000 /dev/urandom >"$T/msg"
openssl dgst -sha256 -binary "$T/msg" >"$g/d256"
openssl dgst -sha384 -binary "$T/msg" >"$g/d384"
head -c 200 /dev/urandom >"$g/garbage"
head -c 100 "$g/ec.der" >"$g/truncated.der"

cat >"$T/root/init" <<'INIT'
#!/bin/sh
. /lib/keyd-vm/guest.sh
vm_guest_init
G=/etc/keyd-vm
export TPM2TOOLS_TCTI=device:/dev/tpm0

# transients WHEN: fail unless the TPM holds no transient object. /dev/tpm0 is the raw TPM,
# shared with the kernel (each kernel command holds the chip lock, so this sees the state
# between two of them); /dev/tpmrm0 would show only the objects of its own connection.
transients() {
	out=$(tpm2 getcap handles-transient 2>&1) || { echo "$out"; vm_fail "tpm2 getcap failed ($1)"; }
	# (the same query shows what is there: keyd's SRK among the persistent handles)
	tpm2 getcap handles-persistent 2>&1 | grep -q 0x81000001 ||
		vm_fail "tpm2 getcap through /dev/tpm0 does not show the SRK 0x81000001 ($1)"
	[ -z "$out" ] || vm_fail "transient objects in the TPM $1: $out"
	echo "ok: no transient object in the TPM $1"
}
# refused ERRTEXT DESCRIPTION CMD...: CMD must fail with the errno text ERRTEXT.
refused() {
	want=$1 desc=$2
	shift 2
	if out=$("$@" 2>&1); then
		vm_fail "$desc was accepted: $*"
	fi
	echo "$out" | grep -q "$want" || vm_fail "$desc: expected '$want', got '$out'"
	echo "ok: $desc -> $want"
}

vm_wait_for /dev/tpm0 50 || vm_fail "no /dev/tpm0 (swtpm not attached?)"
vm_check "insmod asym_tpm2.ko" /sbin/insmod /lib/keyd-vm/asym_tpm2.ko
KR=$(keyctl newring asym-test @u) || vm_fail "keyctl newring failed"
transients "before any key was added"
vm_time setup

# -- 1. add the keys
EC=$(keyctl padd asymmetric vm-ec "$KR" <$G/ec.der) || { dmesg | tail -n 5; vm_fail "adding the ec-p256 key failed"; }
RSA=$(keyctl padd asymmetric vm-rsa "$KR" <$G/rsa.der) || { dmesg | tail -n 5; vm_fail "adding the rsa2048 key failed"; }
PEM=$(keyctl padd asymmetric vm-ec-pem "$KR" <$G/ec.pem) || { dmesg | tail -n 5; vm_fail "adding the PEM key file failed"; }
keyctl describe "$EC"
keyctl describe "$RSA"
# (/proc/keys: "<description>: <subtype describe> <last 4 bytes of the TPM name> []")
grep -q ' vm-ec: TPM2.ecdsa-nist-p256 [0-9a-f]\{8\} \[\]' /proc/keys || { cat /proc/keys; vm_fail "/proc/keys does not describe vm-ec as TPM2.ecdsa-nist-p256"; }
grep -q ' vm-rsa: TPM2.rsa [0-9a-f]\{8\} \[\]' /proc/keys || { cat /proc/keys; vm_fail "/proc/keys does not describe vm-rsa as TPM2.rsa"; }
# The key ID is the TPM name (nameAlg || SHA-256 of the public area): "id:" matches its tail.
tail8=$(grep ' vm-ec: ' /proc/keys | sed -n 's/.*TPM2.ecdsa-nist-p256 \([0-9a-f]\{8\}\) .*/\1/p')
[ "$(keyctl search "$KR" asymmetric "id:$tail8" 2>&1)" = "$EC" ] ||
	vm_fail "keyctl search asymmetric id:$tail8 does not find vm-ec ($EC)"
echo "ok: 1. keys added: ec $EC, rsa $RSA, ec from PEM $PEM; id:$tail8 finds vm-ec"

# -- 2. query
# query KEY INFO FIELD VALUE: keyctl pkey_query prints "FIELD=VALUE" lines.
query() {
	q=$(keyctl pkey_query "$1" 0 $2) || vm_fail "pkey_query $1 $2 failed"
	echo "$q" | grep -qx "$3=$4" || { echo "$q"; vm_fail "pkey_query $1 $2: expected $3=$4"; }
}
keyctl pkey_query "$EC" 0 enc=x962 hash=sha256
query "$EC" "enc=x962 hash=sha256" key_size 256
query "$EC" "enc=x962 hash=sha256" max_sig_size 72
query "$EC" "enc=x962 hash=sha256" max_data_size 32
query "$EC" "enc=x962 hash=sha256" sign y
query "$EC" "enc=x962 hash=sha256" verify y
query "$EC" "enc=x962 hash=sha256" encrypt n
query "$RSA" "enc=pkcs1 hash=sha256" key_size 2048
query "$RSA" "enc=pkcs1 hash=sha256" max_sig_size 256
query "$RSA" "enc=pkcs1 hash=sha256" sign y
query "$RSA" "enc=pkcs1 hash=sha256" decrypt n
query "$RSA" "enc=pss hash=sha256" sign y
query "$RSA" "enc=pss hash=sha256" verify n
echo "ok: 2. pkey_query: P-256 key_size 256 max_sig_size 72, RSA key_size 2048 max_sig_size 256, sign+verify (PSS: sign only)"
vm_time add-query

# -- 3. sign (and verify in the kernel)
sign() {
	keyctl pkey_sign "$1" 0 "$2" $3 >"/out/$4" || { dmesg | tail -n 5; vm_fail "pkey_sign $1 $3 failed"; }
	case $3 in
	*pss*)
		# The software RSA of 6.12 has no PSS: the subtype says so.
		refused "Operation not supported" "pkey_verify of $4 in the kernel" \
			keyctl pkey_verify "$1" 0 "$2" "/out/$4" $3
		echo "ok: 3. signed $4 ($3, $(wc -c <"/out/$4") bytes)" ;;
	*)
		keyctl pkey_verify "$1" 0 "$2" "/out/$4" $3 ||
			vm_fail "the kernel does not verify its own $4 ($3)"
		echo "ok: 3. signed $4 ($3, $(wc -c <"/out/$4") bytes), verified in the kernel" ;;
	esac
}
sign "$EC" $G/d256 "enc=x962 hash=sha256" ec-sha256.sig
sign "$EC" $G/d384 "enc=x962 hash=sha384" ec-sha384.sig
sign "$PEM" $G/d256 "enc=x962 hash=sha256" ec-pem.sig
sign "$RSA" $G/d256 "enc=pkcs1 hash=sha256" rsa-pkcs1.sig
sign "$RSA" $G/d256 "enc=pss hash=sha256" rsa-pss.sig
[ "$(wc -c </out/rsa-pkcs1.sig)" = 256 ] || vm_fail "the RSA signature is not 256 bytes"
transients "after 5 signatures"
vm_time sign

# -- 4. the key cannot be read
refused "Operation not supported" "keyctl read of the TPM key" keyctl read "$EC"
refused "Operation not supported" "keyctl pipe of the TPM key" keyctl pipe "$RSA"

# -- 6. refusals
refused "Bad message" "a garbage payload" keyctl padd asymmetric bad "$KR" <$G/garbage
refused "Bad message" "a truncated key file" keyctl padd asymmetric bad "$KR" <$G/truncated.der
refused "Invalid argument" "enc=pkcs1 on an ECDSA key" keyctl pkey_sign "$EC" 0 $G/d256 enc=pkcs1 hash=sha256
refused "Invalid argument" "enc=x962 on an RSA key" keyctl pkey_sign "$RSA" 0 $G/d256 enc=x962 hash=sha256
refused "Invalid argument" "hash=md5" keyctl pkey_sign "$EC" 0 $G/d256 enc=x962 hash=md5
refused "Invalid argument" "no hash" keyctl pkey_sign "$RSA" 0 $G/d256 enc=pkcs1
refused "Invalid argument" "a SHA-384 digest with hash=sha256" keyctl pkey_sign "$RSA" 0 $G/d384 enc=pkcs1 hash=sha256
refused "Invalid argument" "a SHA-256 digest with hash=sha384" keyctl pkey_sign "$EC" 0 $G/d256 enc=x962 hash=sha384
# A key of another TPM: added (the parser cannot tell), refused by the TPM at TPM2_Load with
# TPM_RC_INTEGRITY, logged with the code; nothing stays loaded after the failure either.
OTHER=$(keyctl padd asymmetric vm-other "$KR" <$G/other.der) || vm_fail "adding the other TPM's key failed"
refused "Key was rejected by service" "signing with another TPM's key" \
	keyctl pkey_sign "$OTHER" 0 $G/d256 enc=x962 hash=sha256
dmesg | grep -q 'asym_tpm2: TPM2_Load failed: TPM RC 0x[0-9a-f]*: integrity check failed' ||
	{ dmesg; vm_fail "no 'TPM2_Load failed: TPM RC ...: integrity check failed' in dmesg"; }
dmesg | grep 'asym_tpm2: TPM2_Load'
keyctl unlink "$OTHER" "$KR" >/dev/null
transients "after the refusals"

# -- 5. unlink: nothing in the TPM
keyctl unlink "$EC" "$KR" >/dev/null && keyctl unlink "$RSA" "$KR" >/dev/null &&
	keyctl unlink "$PEM" "$KR" >/dev/null || vm_fail "keyctl unlink failed"
sleep 1
grep -q 'vm-ec\|vm-rsa' /proc/keys && { cat /proc/keys; vm_fail "the keys are still in /proc/keys after unlink"; }
transients "after the keys were unlinked"
dmesg | grep asym_tpm2 || true
if dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection'; then
	vm_fail "the kernel logged a warning or an oops"
fi
echo "ok: no WARN/BUG/oops in dmesg"
vm_time refusals-unlink
vm_result PASS "TPM 2.0 asymmetric keys: add (DER, PEM), query, sign ECDSA P-256 + RSA PKCS#1/PSS in the TPM, no read, refusals, nothing left loaded"
INIT
chmod 0755 "$T/root/init"

vm_initramfs "$T/root" --out "$T/initrd.cpio" --bin keyctl --bin "$(command -v tpm2_getcap)" --tcti \
	--module virtio_blk
vm_swtpm "$tpm"
vm_outbox "$T/outbox.img"
rc=0
vm_run kernel-tpm-asym --outbox "$T/outbox.img" --tpm "$tpm" || rc=$?
[ "$rc" = 0 ] || exit "$rc"
vm_outbox_extract "$T/outbox.img" "$T/out"

# -- 3. on the host: the guest's signatures verify with openssl against keyd's public keys.
verify() {
	local pub=$1 dgst=$2 sig=$3
	shift 3
	openssl pkeyutl -verify -pubin -inkey "$pub" -in "$dgst" -sigfile "$T/out/$sig" "$@" \
		>"$T/verify.out" 2>&1 || fail "openssl does not verify $sig: $(cat "$T/verify.out")"
	# the same signature with one byte flipped must fail
	cp "$T/out/$sig" "$T/bad.sig"
	printf '\x55' | dd of="$T/bad.sig" bs=1 seek=20 conv=notrunc 2>/dev/null
	if cmp -s "$T/bad.sig" "$T/out/$sig"; then
		printf '\xaa' | dd of="$T/bad.sig" bs=1 seek=20 conv=notrunc 2>/dev/null
	fi
	if openssl pkeyutl -verify -pubin -inkey "$pub" -in "$dgst" -sigfile "$T/bad.sig" "$@" \
		>/dev/null 2>&1; then
		fail "openssl accepts a tampered $sig"
	fi
	echo "ok: host: openssl verifies $sig ($*), and not a tampered copy"
}
verify "$T/ec.pub" "$g/d256" ec-sha256.sig -pkeyopt digest:sha256
verify "$T/ec.pub" "$g/d384" ec-sha384.sig -pkeyopt digest:sha384
verify "$T/ec.pub" "$g/d256" ec-pem.sig -pkeyopt digest:sha256
verify "$T/rsa.pub" "$g/d256" rsa-pkcs1.sig -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pkcs1
# TLS 1.3 (RFC 8446, 4.2.3) requires the salt to be as long as the digest.
verify "$T/rsa.pub" "$g/d256" rsa-pss.sig -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss \
	-pkeyopt rsa_pss_saltlen:digest
note "timings: mk/kernel.sh ${t_kernel} s, initramfs ${VM_TIME_INITRAMFS} s, qemu start to verdict ${VM_TIME_BOOT} s, whole test $(vm_since "$t0") s"
echo "PASS: kernel-tpm-asym"
