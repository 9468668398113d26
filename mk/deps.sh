#!/bin/sh
# Install the Debian packages keyd needs when they are missing.
#   mk/deps.sh build   what compiling needs
#   mk/deps.sh test    what make check, make demo and make bench need in addition
#                      (including the VM group: make check runs the VM scenarios)
#   mk/deps.sh vm      only what the VM scenarios (tests/vm, tests/vm/lib/vm.sh) need
#   mk/deps.sh kernel  only what building kernel-patches/ out of tree needs (mk/kernel.sh)
# Stops with a clear message when it cannot install (not root, no network).
set -eu

build_pkgs="gcc make pkg-config libtss2-dev libssl-dev libkeyutils-dev libcmocka-dev
libgnutls28-dev clang libclang-rt-14-dev libnl-genl-3-dev"
# Why each: see README.md "Dependencies".
test_pkgs="swtpm swtpm-tools tpm2-tools tpm2-openssl keyutils openssl nvme-cli gnutls-bin
strace util-linux procps jq xxd ca-certificates libtss2-tcti-pcap0 iproute2 python3"
# The VM scenarios boot Debian's 6.12 kernel (fetched with apt-get download, never
# installed) under qemu with a hand-made busybox initramfs: qemu runs the guest, busybox-static
# is the guest's userland, kmod resolves and decompresses modules (depmod, modprobe
# --show-depends), xz-utils unpacks .ko.xz, cpio packs the initramfs, swtpm is the guest's TPM.
vm_pkgs="qemu-system-x86 busybox-static kmod cpio xz-utils swtpm keyutils"
# mk/kernel.sh builds the patched modules against Debian's linux-headers-6.12 (fetched with
# apt-get download; linux-kbuild-6.12 brings kbuild's programs prebuilt): gcc-12 (the kernel's
# compiler), make, pahole for the modules' BTF (kbuild deletes a .ko whose BTF step fails),
# git for 'git apply', perl for scripts/checkpatch.pl, xz-utils for the source tarball.
kernel_pkgs="gcc make pahole git perl xz-utils kmod"

case "${1:-build}" in
build) want=$build_pkgs ;;
test) want="$build_pkgs $test_pkgs $vm_pkgs $kernel_pkgs" ;;
vm) want=$vm_pkgs ;;
kernel) want=$kernel_pkgs ;;
*) echo "usage: $0 build|test|vm|kernel" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "keyd: installing missing Debian packages:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "keyd: cannot install packages: not root. Run as root, or install:$missing" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "keyd: cannot install packages: apt-get not found (keyd is built on Debian 12). Install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be stale or absent on a fresh machine.
if ! apt-get update -q >/tmp/keyd-apt-update.log 2>&1; then
	echo "keyd: 'apt-get update' failed (no network or no Debian mirror?); see /tmp/keyd-apt-update.log. Install:$missing" >&2
	exit 1
fi
# shellcheck disable=SC2086
if ! apt-get install -y -q --no-install-recommends $missing >/tmp/keyd-apt-install.log 2>&1; then
	echo "keyd: 'apt-get install$missing' failed; see /tmp/keyd-apt-install.log" >&2
	tail -n 5 /tmp/keyd-apt-install.log >&2
	exit 1
fi
echo "keyd: packages installed."
