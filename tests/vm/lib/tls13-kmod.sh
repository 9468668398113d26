#!/bin/bash
# tls13_kmod_build: build the in-kernel TLS 1.3 PSK client (kernel-patches/tls13-psk) with the
# test driver module (tests/tls13/kmod) out of tree against Debian's linux-headers-$VM_KVER,
# into $T/kmod (tls13_vmtest_mod.ko). Fetches the headers with mk/kernel.sh --check-only when
# the VM cache has none (skips when they cannot be had); fails on a build error or a warning.
# For the VM scenarios that load the driver (kernel-tls13-psk.sh, kernel-tls13-hostile.sh).
tls13_kmod_build() {
	local hdr common krc=0
	hdr=${KEYD_VM_CACHE:-$KEYD_TOP/build/vm-cache}/headers-$VM_KVER/usr/src
	if [ ! -d "$hdr/linux-headers-$VM_KVER" ]; then
		note "fetching the 6.12 headers (mk/kernel.sh --kver $VM_KVER)"
		"$KEYD_TOP/mk/kernel.sh" --kver "$VM_KVER" --check-only >"$T/kernel.log" 2>&1 || krc=$?
		[ -d "$hdr/linux-headers-$VM_KVER" ] ||
			skip "no linux-headers-$VM_KVER (mk/kernel.sh exit $krc: $(tail -n 2 "$T/kernel.log"))"
	fi
	common=$(ls -d "$hdr"/linux-headers-*-common | head -n 1)

	note "building the in-kernel handshake and its test driver against linux-headers-$VM_KVER"
	mkdir -p "$T/kmod"
	cp "$KEYD_TOP"/kernel-patches/tls13-psk/*.[ch] "$KEYD_TOP"/tests/tls13/kmod/* "$T/kmod/"
	make -C "$hdr/linux-headers-$VM_KVER" -f "$common/Makefile" M="$T/kmod" modules \
		>"$T/kmod.log" 2>&1 || { tail -n 30 "$T/kmod.log"; fail "the module does not build"; }
	if grep -E 'warning:' "$T/kmod.log"; then fail "the module builds with warnings"; fi
}
