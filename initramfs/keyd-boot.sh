# keyd in early boot: the steps both initramfs builders run (POSIX sh, sourced).
# Installed as /usr/lib/keyd/keyd-boot.sh into images made by the dracut module
# (initramfs/dracut/95keyd) and by the initramfs-tools hook (initramfs/initramfs-tools).
#
#   keyd_boot_run    wait for the TPM (bounded), provision once, start the handshake
#                    agent (unless nvme-tcp runs the handshake in the kernel: an image
#                    built with keyd_handshake=kernel / KEYD_HANDSHAKE=kernel sets
#                    nvme_tcp tls_handshake=kernel), then (when asked on the command
#                    line) configure the link
#                    and connect the NVMe/TCP controller with TLS. 0 ok, 1 failed;
#                    on failure the reason and the recovery steps have been printed
#                    and /run/keyd/initrd.failed holds the reason.
#
# Kernel command line (the same for dracut and initramfs-tools):
#   rd.keyd=0                       do nothing
#   rd.keyd.tpm-wait=SECONDS        how long to wait for the TPM device (default: keyd.conf's
#                                   tpm-wait, else 30)
#   rd.keyd.ip=ADDR/PREFIX[,IFACE]  a static address for the NVMe/TCP link (default IFACE: the
#                                   first one but lo; optional: dracut's network module or
#                                   ip= may configure the link instead)
#   rd.keyd.nvmf=TRADDR,TRSVCID,SUBNQN
#                                   connect this NVMe/TCP subsystem with TLS (",tls" on
#                                   /dev/nvme-fabrics), after keyd has filled .nvme and the
#                                   agent runs. Host NQN and ID: rd.nvmf.hostnqn= and
#                                   rd.nvmf.hostid= (dracut's names), else /etc/nvme/hostnqn
#                                   and /etc/nvme/hostid.
#   rd.keyd.connect-timeout=SECONDS how long to retry the connect (default 60)
#
# Why keyd connects itself: Debian 12's nvme-cli (2.3) has no --tls and dracut's nvmf
# module calls "nvme connect-all", so it cannot ask for TLS; writing the connect string to
# /dev/nvme-fabrics is what nvme-cli does underneath.
#
# Keyrings: PID 1 of an initramfs has no usable session keyring. keyd provisions into
# explicitly named keyrings (.nvme, and keyrings linked to @u per policy) and the agent
# makes its own session keyring and links .nvme into it: nothing here relies on @s.

KEYD_BOOT_RUN=/run/keyd
KEYD_BOOT_CONF=/etc/keyd/keyd.conf

keyd_boot_say() {
	# The console and the kernel log (the journal picks up /dev/kmsg after switch-root).
	echo "keyd: $*" >&2
	[ -w /dev/kmsg ] && echo "<5>keyd: $*" >/dev/kmsg 2>/dev/null
	return 0
}

# keyd_boot_arg NAME: the value of NAME=... on the kernel command line (last one wins).
keyd_boot_arg() {
	local a v=""
	for a in $(cat /proc/cmdline); do
		case $a in
		"$1"=*) v=${a#"$1"=} ;;
		esac
	done
	printf '%s' "$v"
}

# keyd_boot_conf KEY: a value from keyd.conf ("key = value"), or nothing.
keyd_boot_conf() {
	[ -r "$KEYD_BOOT_CONF" ] || return 0
	sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\\([^[:space:]]*\\).*/\\1/p" \
		"$KEYD_BOOT_CONF" | tail -n 1
}

keyd_boot_fail() {
	mkdir -p "$KEYD_BOOT_RUN"
	printf '%s\n' "$*" >"$KEYD_BOOT_RUN/initrd.failed"
	keyd_boot_say "$*"
	return 1
}

# Seconds since boot, as an integer and with tenths.
keyd_boot_now() { cut -d' ' -f1 /proc/uptime; }

# keyd_boot_wait_tpm: wait (bounded) for the device the TCTI names.
keyd_boot_wait_tpm() {
	local tcti dev wait i=0
	tcti=$(keyd_boot_conf tcti)
	tcti=${KEYD_TCTI:-${tcti:-device:/dev/tpmrm0}}
	case $tcti in
	device:*) dev=${tcti#device:} ;;
	device) dev=/dev/tpmrm0 ;;
	*) return 0 ;;
	esac
	[ -n "$dev" ] || dev=/dev/tpmrm0
	wait=$(keyd_boot_arg rd.keyd.tpm-wait)
	[ -n "$wait" ] || wait=$(keyd_boot_conf tpm-wait)
	case $wait in
	'' | *[!0-9]*) wait=30 ;;
	esac
	while [ ! -e "$dev" ]; do
		if [ "$i" -ge $((wait * 10)) ]; then
			keyd_boot_fail "no TPM: '$dev' did not appear within $wait s." \
				"Check that the TPM is enabled in the firmware and that its driver" \
				"(tpm_tis, tpm_crb) is in the initramfs; rd.keyd.tpm-wait=SECONDS waits longer."
			return 1
		fi
		[ "$i" = 0 ] && keyd_boot_say "waiting up to $wait s for the TPM ($dev)"
		i=$((i + 1))
		sleep 0.1
	done
	return 0
}

# keyd_boot_recovery LOG: the steps after a refused unseal, printed once.
keyd_boot_recovery() {
	cat >&2 <<'EOF'
keyd: RECOVERY. The TPM refused to unseal the NVMe/TCP TLS key because the boot state
keyd: (the PCR values named above) differs from the one it was sealed to: a firmware,
keyd: bootloader or Secure Boot change, or tampering. The root file system cannot be reached.
keyd:  1. If you did not expect a change, stop here and find out what changed.
keyd:  2. Otherwise boot a rescue system (or this one with a recovery PSK) and re-seal the
keyd:     key to the new state: keyd-ctl psk add --hostnqn H --subnqn S --key-file FILE
keyd:     --pcrs sha256:N --replace  (FILE holds the interchange key from your escrow),
keyd:     then rebuild the initramfs (dracut -f, or update-initramfs -u).
keyd:  3. See /usr/share/doc/keyd/nvme-tls-root.md, "When the TPM refuses".
keyd: The boot stops here; it does not retry.
EOF
}

# keyd_boot_provision: keyd provision --once, its summary on the console, a clear verdict.
keyd_boot_provision() {
	local out rc t0
	t0=$(keyd_boot_now)
	mkdir -p "$KEYD_BOOT_RUN"
	out=$KEYD_BOOT_RUN/initrd-provision.log
	rc=0
	# keyd sets the mask and timeout of each key it adds to .nvme, which needs the key to be
	# possessed: reachable from the process's keyrings. The initramfs gives keyd no session
	# keyring that holds .nvme, so run it in a new session keyring with .nvme linked in.
	# (keyctl session works for a child of PID 1; only PID 1's own @s is unusable.)
	if command -v keyctl >/dev/null 2>&1; then
		keyctl session keyd-initrd sh -c \
			'keyctl link %:.nvme @s >/dev/null 2>&1; exec keyd provision --once' \
			>"$out" 2>&1 || rc=$?
	else
		keyd provision --once >"$out" 2>&1 || rc=$?
	fi
	sed 's/^/keyd: /' "$out" >&2
	KEYD_BOOT_PROVISION_TIME=$(awk -v a="$t0" -v b="$(keyd_boot_now)" 'BEGIN { printf "%.2f", b - a }')
	keyd_boot_say "provisioning took $KEYD_BOOT_PROVISION_TIME s (exit $rc)"
	case $rc in
	0) return 0 ;;
	esac
	if grep -q 'does not match the sealing policy' "$out"; then
		keyd_boot_fail "PCR mismatch: $(grep -m1 -o 'PCR [^(]*([a-z0-9]*) changed' "$out")" \
			"since the NVMe/TCP TLS key was sealed; the TPM will not unseal it"
		keyd_boot_recovery
		return 1
	fi
	case $rc in
	4) keyd_boot_fail "the TPM is in dictionary-attack lockout or busy (keyd exit 4)" ;;
	5) keyd_boot_fail "no TPM could be opened (keyd exit 5); see the lines above" ;;
	6) keyd_boot_fail "this TPM is not the one the keys were enrolled on (SRK mismatch, exit 6)" ;;
	*) keyd_boot_fail "provisioning failed (keyd exit $rc); see the lines above" ;;
	esac
	return 1
}

# keyd_boot_handshake: who runs the TLS handshake: "kernel" when nvme-tcp does it itself
# (kernel-patches/0003, tls_handshake=kernel from the image's modprobe.d), else "agent".
keyd_boot_handshake() {
	local p=/sys/module/nvme_tcp/parameters/tls_handshake
	if [ -r "$p" ] && [ "$(cat "$p")" = kernel ]; then
		echo kernel
	else
		echo agent
	fi
}

# keyd_boot_agent: start keyd-handshaked once; its pid in /run/keyd/handshaked-initrd.pid so
# that keyd-handshaked.service in the real root can take over (keyd-initrd-handover).
keyd_boot_agent() {
	local pidf=$KEYD_BOOT_RUN/handshaked-initrd.pid pid
	if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
		return 0
	fi
	if [ "$(keyd_boot_handshake)" = kernel ]; then
		keyd_boot_say "TLS handshake: in the kernel (nvme_tcp tls_handshake=kernel), no agent"
		return 0
	fi
	if ! command -v keyd-handshaked >/dev/null 2>&1; then
		keyd_boot_fail "no handshake agent: keyd-handshaked is not in the initramfs and" \
			"nvme_tcp's tls_handshake is '$(cat /sys/module/nvme_tcp/parameters/tls_handshake \
			2>/dev/null || echo absent)', not 'kernel'. An image built for the in-kernel" \
			"handshake needs nvme-tcp from a kernel with keyd's kernel-patches/0001-0003;" \
			"rebuild it with the patched modules, or without keyd_handshake=kernel" \
			"(KEYD_HANDSHAKE=kernel for initramfs-tools)."
		return 1
	fi
	# argv[0] "@keyd-handshaked": when a systemd initramfs switches root, systemd sends SIGTERM
	# to every process left from the initramfs except those whose argv[0] starts with '@' (its
	# convention for root storage daemons, https://systemd.io/ROOT_STORAGE_DAEMONS/); the agent
	# must outlive switch-root until keyd-initrd-handover retires it (/proc/PID/comm stays
	# keyd-handshaked). The probe fails where the shell has no "exec -a" (dash), or where sh is
	# a busybox applet (busybox picks its applet by argv[0]): a plain start, which only a
	# systemd initramfs would mind, and there keyd-initrd.service runs this under bash.
	if (exec -a @keyd-handshaked sh -c :) 2>/dev/null; then
		(exec -a @keyd-handshaked keyd-handshaked) >>"$KEYD_BOOT_RUN/handshaked-initrd.log" 2>&1 &
	else
		keyd-handshaked >>"$KEYD_BOOT_RUN/handshaked-initrd.log" 2>&1 &
	fi
	pid=$!
	echo "$pid" >"$pidf"
	# It joins the netlink group at once; a dead agent is a failed start, not a slow one.
	sleep 0.3
	if ! kill -0 "$pid" 2>/dev/null; then
		cat "$KEYD_BOOT_RUN/handshaked-initrd.log" >&2
		keyd_boot_fail "keyd-handshaked did not start; see the lines above"
		return 1
	fi
	keyd_boot_say "handshake agent keyd-handshaked running (pid $pid)"
}

# keyd_boot_net: rd.keyd.ip=ADDR/PREFIX[,IFACE]. Without IFACE, the first interface other
# than lo (names differ: eth0 without udev's renaming, enp0s3 with it).
keyd_boot_net() {
	local spec addr dev="" want="" i=0 n
	spec=$(keyd_boot_arg rd.keyd.ip)
	[ -n "$spec" ] || return 0
	addr=${spec%%,*}
	[ "$addr" != "$spec" ] && want=${spec#*,}
	while :; do
		if [ -n "$want" ]; then
			[ -e "/sys/class/net/$want" ] && dev=$want
		else
			for n in /sys/class/net/*; do
				n=${n##*/}
				case $n in lo | '*') continue ;; esac
				dev=$n
				break
			done
		fi
		[ -n "$dev" ] && break
		i=$((i + 1))
		if [ "$i" -gt 200 ]; then
			keyd_boot_fail "no network interface${want:+ '$want'} within 20 s (rd.keyd.ip=$spec)"
			return 1
		fi
		sleep 0.1
	done
	ip addr add "$addr" dev "$dev" 2>/dev/null
	ip link set "$dev" up || { keyd_boot_fail "cannot bring up '$dev'"; return 1; }
	keyd_boot_say "network: $addr on $dev"
}

# keyd_boot_connect: rd.keyd.nvmf=TRADDR,TRSVCID,SUBNQN with TLS, bounded retries.
keyd_boot_connect() {
	local spec traddr trsvcid subnqn hostnqn hostid limit deadline opts reply err
	spec=$(keyd_boot_arg rd.keyd.nvmf)
	[ -n "$spec" ] || return 0
	traddr=${spec%%,*}
	spec=${spec#*,}
	trsvcid=${spec%%,*}
	subnqn=${spec#*,}
	if [ -z "$traddr" ] || [ -z "$trsvcid" ] || [ -z "$subnqn" ] || [ "$subnqn" = "$spec" ]; then
		keyd_boot_fail "rd.keyd.nvmf='$(keyd_boot_arg rd.keyd.nvmf)' is not TRADDR,TRSVCID,SUBNQN"
		return 1
	fi
	hostnqn=$(keyd_boot_arg rd.nvmf.hostnqn)
	[ -n "$hostnqn" ] || hostnqn=$(cat /etc/nvme/hostnqn 2>/dev/null)
	hostid=$(keyd_boot_arg rd.nvmf.hostid)
	[ -n "$hostid" ] || hostid=$(cat /etc/nvme/hostid 2>/dev/null)
	if [ -z "$hostnqn" ]; then
		keyd_boot_fail "no host NQN: give rd.nvmf.hostnqn= or install /etc/nvme/hostnqn"
		return 1
	fi
	limit=$(keyd_boot_arg rd.keyd.connect-timeout)
	case $limit in
	'' | *[!0-9]*) limit=60 ;;
	esac
	modprobe -a -q nvme-tcp tls gcm ghash-generic 2>/dev/null
	opts="nqn=$subnqn,transport=tcp,traddr=$traddr,trsvcid=$trsvcid,hostnqn=$hostnqn"
	[ -n "$hostid" ] && opts="$opts,hostid=$hostid"
	opts="$opts,tls"
	keyd_boot_say "connecting NVMe/TCP with TLS: $subnqn at $traddr:$trsvcid"
	deadline=$(($(keyd_boot_now | cut -d. -f1) + limit))
	while :; do
		if reply=$(sh -c 'exec 3<>/dev/nvme-fabrics && printf %s "$1" >&3 && head -n 1 <&3' \
			_ "$opts" 2>"$KEYD_BOOT_RUN/connect.err"); then
			keyd_boot_say "connected: $reply"
			return 0
		fi
		err=$(tail -n 1 "$KEYD_BOOT_RUN/connect.err")
		# No PSK or a refused PSK will not heal by waiting; an absent target may.
		case $err in
		*"Required key not available"* | *"Key was rejected"* | *"Permission denied"*)
			keyd_boot_fail "the TLS connect to $traddr:$trsvcid was refused: $err"
			return 1 ;;
		esac
		# Each try may itself take seconds (TCP connect timeout): bound by the clock.
		if [ "$(keyd_boot_now | cut -d. -f1)" -ge "$deadline" ]; then
			keyd_boot_fail "no NVMe/TCP connection to $traddr:$trsvcid within $limit s: $err"
			return 1
		fi
		sleep 1
	done
}

keyd_boot_run() {
	local t0
	[ "$(keyd_boot_arg rd.keyd)" = 0 ] && return 0
	[ -e "$KEYD_BOOT_RUN/initrd.done" ] && return 0
	[ -e "$KEYD_BOOT_RUN/initrd.failed" ] && return 1
	mkdir -p "$KEYD_BOOT_RUN"
	t0=$(keyd_boot_now)
	# nvme-keyring makes .nvme and the psk type; tls, gcm and ghash serve kTLS.
	modprobe -a -q nvme-keyring nvme-tcp tls gcm ghash-generic 2>/dev/null
	keyd_boot_wait_tpm || return 1
	keyd_boot_provision || return 1
	keyd_boot_agent || return 1
	keyd_boot_net || return 1
	keyd_boot_connect || return 1
	keyd_boot_say "early boot done in $(awk -v a="$t0" -v b="$(keyd_boot_now)" \
		'BEGIN { printf "%.2f", b - a }') s (provisioning $KEYD_BOOT_PROVISION_TIME s)"
	: >"$KEYD_BOOT_RUN/initrd.done"
	return 0
}
