#!/bin/bash
# Regenerate kernel-patches/0002-*.patch (and the base of 0003) from the portable TLS 1.3 PSK
# client in kernel-patches/tls13-psk/, so the patch never drifts from the sources the unit,
# fuzz and VM tests exercise.
#   mk/gen-tls13-patches.sh SRC REPO
#     SRC   an unpacked linux-source-6.12 holding MAINTAINERS, drivers/nvme/common and
#           drivers/nvme/host (mk/kernel.sh's cache has the first two; see the README)
#     REPO  a scratch directory for a throw-away git repository (deleted first)
# It commits 0002 in REPO and writes it with 'git format-patch'; 0003 is edited in REPO by hand
# on top and written with 'git -C REPO format-patch -2 --numbered ...' afterwards.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
src=$1 repo=$2
rm -rf "$repo"
mkdir -p "$repo/drivers/nvme/common" "$repo/drivers/nvme/host" "$repo/include/linux"
cd "$repo"
git init -q .
git config user.name 'keyd developers'
git config user.email keyd@example.invalid
cp "$src/MAINTAINERS" .
cp "$src"/drivers/nvme/common/{Makefile,Kconfig} drivers/nvme/common/
cp "$src/drivers/nvme/host/tcp.c" drivers/nvme/host/
git add -A
git commit -qm base

# The interface header moves to include/linux so nvme-tcp can include it.
sed -e 's/TLS13_HANDSHAKE_H/_NVME_TLS13_H/' \
	"$top/kernel-patches/tls13-psk/tls13_handshake.h" >include/linux/nvme-tls13.h
for f in "$top"/kernel-patches/tls13-psk/*.[ch]; do
	b=$(basename "$f")
	[ "$b" = tls13_handshake.h ] && continue
	# Out-of-kernel remarks (test status, docs of keyd's tree) stay out of the kernel copy.
	sed -e 's|#include "tls13_handshake.h"|#include <linux/nvme-tls13.h>|' \
		-e '/NOT YET \(TESTED\|BUILT\)/d' "$f" >"drivers/nvme/common/$b"
done
# The kernel copy of tls13_compat.h keeps only its __KERNEL__ branches (no nested #if there).
python3 - drivers/nvme/common/tls13_compat.h <<'PY'
import sys
p = sys.argv[1]
out, state = [], None
for line in open(p):
    if line.startswith('#ifdef __KERNEL__'):
        state = 'keep'
        continue
    if state and line.startswith('#else'):
        state = 'drop'
        continue
    if state and line.startswith('#endif'):
        state = None
        continue
    if state != 'drop':
        out.append(line)
text = ''.join(out)
while '\n\n\n' in text:
    text = text.replace('\n\n\n', '\n\n')
open(p, 'w').write(text)
PY
# Remove the comment lines' dangling " *" left by the deletion above (a " *" followed by " */").
for f in drivers/nvme/common/tls13_*.c; do
	awk 'prev == " *" && $0 == " */" { prev = $0; held = 0; print; next }
	     { if (held) print prev; prev = $0; held = 1 }
	     END { if (held) print prev }' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
done

# Build the client into nvme-keyring for the host side, and name its maintainers.
python3 - <<'PY'
p = 'drivers/nvme/common/Makefile'
s = open(p).read()
s = s.replace("nvme-keyring-y\t\t\t+= keyring.o\n", "nvme-keyring-y\t\t\t+= keyring.o\n"
	"# The in-kernel TLS 1.3 PSK client handshake, for the nvme-tcp host\n"
	"nvme-keyring-$(CONFIG_NVME_TCP_TLS) += tls13_handshake.o tls13_client.o tls13_ks.o \\\n"
	"\t\t\t\t       tls13_msg.o tls13_record.o tls13_crypto_kernel.o\n")
open(p, 'w').write(s)
p = 'drivers/nvme/common/Kconfig'
s = open(p).read()
sel = ''.join('       select %s if NVME_TCP_TLS\n' % c for c in
	('CRYPTO', 'CRYPTO_AES', 'CRYPTO_GCM', 'CRYPTO_HMAC', 'CRYPTO_SHA256', 'CRYPTO_SHA512',
	 'CRYPTO_ECDH', 'CRYPTO_LIB_CURVE25519'))
s = s.replace("config NVME_KEYRING\n       tristate\n       select KEYS\n",
	"config NVME_KEYRING\n       tristate\n       select KEYS\n"
	"       # the in-kernel TLS 1.3 PSK client handshake (tls13_*.c)\n" + sel)
open(p, 'w').write(s)
p = 'MAINTAINERS'
s = open(p).read()
s = s.replace("NVM EXPRESS TARGET DRIVER\n",
	"NVM EXPRESS IN-KERNEL TLS 1.3 PSK HANDSHAKE\n"
	"M:\tkeyd developers <keyd@example.invalid>\n"
	"L:\tlinux-nvme@lists.infradead.org\n"
	"S:\tMaintained\n"
	"F:\tdrivers/nvme/common/tls13_*\n"
	"F:\tinclude/linux/nvme-tls13.h\n\n"
	"NVM EXPRESS TARGET DRIVER\n", 1)
open(p, 'w').write(s)
PY
git add -A
