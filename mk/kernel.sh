#!/bin/bash
# Build keyd's kernel patch series (kernel-patches/*.patch) without a kernel build:
#   1. fetch linux-source-6.12 and linux-headers-<kver> (+ -common, linux-kbuild-6.12) with
#      apt-get download into the VM harness's cache (build/vm-cache/debs), never installed;
#   2. unpack the headers, and stream out of the source tarball only the directories the
#      series touches (plus scripts/checkpatch.pl);
#   3. run checkpatch on every patch, then 'git apply --check' and 'git apply' each patch, in
#      order, onto a fresh copy of those directories (build/kernel/src);
#   4. build the modules of every directory with a patched .c file out of tree against the
#      headers (Debian's vermagic and modversions, so the .ko loads into Debian's kernel) and
#      copy them to build/kernel/<kver>/<dir>/<module>.ko.
#
#   mk/kernel.sh [--kver KVER] [--check-only]
#     --kver KVER    e.g. 6.12.117+deb12-amd64 (default: $KEYD_KERNEL_KVER, else the newest
#                    linux-headers-6.12.*-amd64 the package lists know, else the newest cached)
#     --check-only   stop after checkpatch and 'git apply --check'
# Exit status: 0 done, 1 a step failed (the reason is printed), 77 the packages cannot be had
# (no network and nothing cached). KEYD_VM_CACHE moves the cache (as for tests/vm), KEYD_NO_DEPS=1
# skips installing the "kernel" package group (mk/deps.sh kernel).
#
# The facts this relies on (tried on these machines, /work/shared/reference/vm-testing.md):
# the amd64 headers' Makefile includes the -common one by an absolute /usr/src path, so both are
# given to make explicitly; pahole must be installed or kbuild deletes the .ko after a failed BTF
# step; streaming one folder out of the 153 MB source .deb takes ~10 s (xz reads it all).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${KEYD_VM_CACHE:-$top/build/vm-cache}
out=$top/build/kernel
patchdir=$top/kernel-patches
kver=${KEYD_KERNEL_KVER:-}
check_only=0

say() { echo "kernel: $*"; }
die() { echo "kernel: FAIL: $*" >&2; exit 1; }
skip() { echo "kernel: SKIP: $*"; exit 77; }

while [ $# -gt 0 ]; do
	case $1 in
	--kver) kver=$2; shift 2 ;;
	--check-only) check_only=1; shift ;;
	*) echo "usage: $0 [--kver KVER] [--check-only]" >&2; exit 2 ;;
	esac
done

start=$(date +%s.%N)
elapsed() { awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

if [ "${KEYD_NO_DEPS:-0}" != 1 ]; then
	"$top/mk/deps.sh" kernel || die "the kernel build tools are missing ('mk/deps.sh kernel' failed)"
fi

shopt -s nullglob
patches=("$patchdir"/[0-9][0-9][0-9][0-9]-*.patch)
shopt -u nullglob
[ ${#patches[@]} -gt 0 ] || die "no patches in $patchdir"

mkdir -p "$cache/debs" "$out"
exec {lockfd}>"$cache/.lock"
flock -w 900 "$lockfd" || die "could not lock $cache/.lock within 15 minutes"

# ---- which kernel ----------------------------------------------------------------------
# The newest installable linux-headers-6.12.<N>+deb<M>-amd64, as tests/vm/lib/vm.sh picks the
# image (same naming), so the modules match the kernel the VM boots.
candidate() {
	local names p policy
	names=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb[0-9]+-amd64$' \
		2>/dev/null | awk '{ print $1 }' | sort -V -r) || true
	for p in $names; do
		policy=$(apt-cache policy "$p" 2>/dev/null) || continue
		if grep -q 'Candidate: [0-9]' <<<"$policy"; then
			echo "${p#linux-headers-}"
			return 0
		fi
	done
}
if [ -z "$kver" ]; then
	kver=$(candidate)
	[ -n "$kver" ] || kver=$(find "$cache" -maxdepth 1 -name 'headers-6.12.*' -printf '%f\n' \
		2>/dev/null | sed 's/^headers-//' | sort -V -r | head -n 1)
	[ -n "$kver" ] || skip "no linux-headers-6.12.*-amd64 package known and none cached (is bookworm-security in the apt sources?)"
fi
case $kver in
6.12.*-amd64) ;;
*) die "unexpected kernel version '$kver' (expected 6.12.<N>+deb<M>-amd64)" ;;
esac
abi=${kver%-amd64}    # 6.12.117+deb12: the -common and linux-kbuild packages' suffix

# fetch PACKAGE[=VERSION] GLOB: the cached .deb matching GLOB, downloaded first when missing.
fetch() {
	local want=$1 glob=$2 deb tmp
	deb=$(find "$cache/debs" -maxdepth 1 -name "$glob" | sort -V | tail -n 1)
	if [ -z "$deb" ]; then
		tmp=$(mktemp -d "$cache/debs/.dl.XXXXXX")
		chmod 0755 "$tmp"    # apt's _apt user downloads into it
		if ! (cd "$tmp" && apt-get download -q "$want") >"$cache/apt-download-kernel.log" 2>&1; then
			rm -rf "$tmp"
			skip "'apt-get download $want' failed (offline?); see $cache/apt-download-kernel.log"
		fi
		mv "$tmp"/*.deb "$cache/debs/"
		rmdir "$tmp"
		deb=$(find "$cache/debs" -maxdepth 1 -name "$glob" | sort -V | tail -n 1)
		[ -n "$deb" ] || die "apt-get download $want gave no file matching $glob"
	fi
	echo "$deb"
}

# ---- headers ----------------------------------------------------------------------------
hdr=$cache/headers-$kver
if [ ! -e "$hdr/.ready" ]; then
	debs=("$(fetch "linux-headers-$kver" "linux-headers-${kver}_*_amd64.deb")"
		"$(fetch "linux-headers-$abi-common" "linux-headers-${abi}-common_*_all.deb")"
		"$(fetch "linux-kbuild-$abi" "linux-kbuild-${abi}_*_amd64.deb")")
	rm -rf "$hdr" "$hdr.tmp"
	for d in "${debs[@]}"; do
		dpkg-deb -x "$d" "$hdr.tmp" || die "dpkg-deb -x $d failed"
	done
	# The package version of the headers names the matching linux-source-6.12.
	dpkg-deb -f "${debs[0]}" Version >"$hdr.tmp/.version"
	mv "$hdr.tmp" "$hdr"
	touch "$hdr/.ready"
fi
pkgver=$(cat "$hdr/.version")
hdr_arch=$hdr/usr/src/linux-headers-$kver
hdr_common=$hdr/usr/src/linux-headers-$abi-common
[ -e "$hdr_common/Makefile" ] || die "no $hdr_common/Makefile in the unpacked headers"
say "headers $kver ($pkgver) in $hdr"

# ---- up to date? -----------------------------------------------------------------------
# The same patches, this script and the same kernel packages give the same modules: skip the
# checks, extraction and build (1-2 min under load; every kernel VM scenario runs this script)
# when build/kernel/<kver> was made from exactly these inputs.
inputs=$( (cat "${patches[@]}" "$0"; echo "$kver $pkgver") | sha256sum | cut -d' ' -f1)
if [ $check_only = 0 ] && [ -e "$out/$kver/modules.list" ] &&
	[ "$(cat "$out/$kver/.inputs" 2>/dev/null)" = "$inputs" ]; then
	say "up to date: $out/$kver/modules.list was built from the same patches, script and kernel"
	exit 0
fi

# ---- what the series touches ----------------------------------------------------------
# Every path a patch names ("+++ b/PATH"; "--- a/PATH" for deletions), and of those the files
# that exist before the series (a/ side), whose directories must come out of the tarball.
touched=$(sed -n 's|^+++ b/||p; s|^--- a/||p' "${patches[@]}" | sort -u)
existing=$(sed -n 's|^--- a/||p' "${patches[@]}" | sort -u)
# (a top-level file, e.g. MAINTAINERS, is extracted alone, not its directory: the whole tree)
src_dirs=$( (for f in $existing; do
	case $f in */*) dirname "$f" ;; *) echo "$f" ;; esac
done; echo scripts) | sort -u)
say "the series (${#patches[@]} patches) touches: $(echo "$touched" | tr '\n' ' ')"

# ---- the source, only the directories needed ------------------------------------------
srcdeb=$(fetch "linux-source-6.12=$pkgver" "linux-source-6.12_${pkgver}_all.deb")
key=$(echo "$pkgver $src_dirs" | sha256sum | cut -c1-12)
base=$cache/source-6.12-$key
if [ ! -e "$base/.ready" ]; then
	say "extracting $(echo "$src_dirs" | tr '\n' ' ')from $(basename "$srcdeb") (~10-20 s)"
	rm -rf "$base" "$base.tmp"
	mkdir -p "$base.tmp"
	members=()
	for d in $src_dirs; do
		if [ "$d" = scripts ]; then
			members+=(linux-source-6.12/scripts/checkpatch.pl linux-source-6.12/scripts/spelling.txt
				linux-source-6.12/scripts/const_structs.checkpatch)
		else
			members+=("linux-source-6.12/$d")
		fi
	done
	dpkg-deb --fsys-tarfile "$srcdeb" | tar -xOf - ./usr/src/linux-source-6.12.tar.xz |
		tar -xJf - -C "$base.tmp" "${members[@]}" ||
		die "could not extract ${members[*]} from $srcdeb"
	mv "$base.tmp" "$base"
	touch "$base/.ready"
fi

# ---- checkpatch, then apply ------------------------------------------------------------
work=$out/src
rm -rf "$work"
mkdir -p "$out"
cp -a "$base/linux-source-6.12" "$work"
for p in "${patches[@]}"; do
	name=$(basename "$p")
	res=$("$work/scripts/checkpatch.pl" --no-tree --strict --summary-file "$p" 2>&1 || true)
	errs=$(sed -n 's/^.*total: \([0-9]*\) errors, \([0-9]*\) warnings, \([0-9]*\) checks.*/\1 \2 \3/p' \
		<<<"$res")
	[ -n "$errs" ] || die "checkpatch produced no summary for $name: $res"
	read -r e w c <<<"$errs"
	if [ "$e" != 0 ] || [ "$w" != 0 ]; then
		"$work/scripts/checkpatch.pl" --no-tree --strict "$p" >&2 || true
		die "checkpatch: $name has $e errors and $w warnings"
	fi
	say "checkpatch $name: $e errors, $w warnings, $c checks"
	# No git repository above the work tree may capture the paths (build/ sits inside keyd's
	# checkout, where 'git apply' would silently skip them).
	GIT_CEILING_DIRECTORIES=$out git -C "$work" apply --check "$p" ||
		die "'git apply --check $name' failed against linux-source-6.12 $pkgver"
	GIT_CEILING_DIRECTORIES=$out git -C "$work" apply "$p" || die "'git apply $name' failed"
	say "git apply --check + apply $name: ok"
done
if [ $check_only = 1 ]; then
	say "check only: done in $(elapsed) s"
	exit 0
fi

# ---- build the touched modules -------------------------------------------------------
# Patched headers under include/ would be invisible to an out-of-tree build that reads the
# headers package's include/: overlay them on a private copy of the headers.
if grep -qE '^(include|arch/x86/include)/' <<<"$touched"; then
	rm -rf "$out/headers"
	cp -a "$hdr" "$out/headers"
	hdr_arch=$out/headers/usr/src/linux-headers-$kver
	hdr_common=$out/headers/usr/src/linux-headers-$abi-common
	for f in $touched; do
		case $f in
		include/* | arch/x86/include/*)
			if [ -e "$work/$f" ]; then
				mkdir -p "$(dirname "$hdr_common/$f")"
				cp "$work/$f" "$hdr_common/$f"
			else
				rm -f "$hdr_common/$f"
			fi ;;
		esac
	done
	say "patched headers overlaid on $out/headers"
fi
build_dirs=$(for f in $touched; do
	case $f in */Makefile | */Kbuild | *.c) dirname "$f" ;; esac
done | grep -vE '^(include|scripts|Documentation)(/|$)' | sort -u || true)
[ -n "$build_dirs" ] || die "the series changes no .c file or Makefile: nothing to build"
dest=$out/$kver
rm -rf "$dest"
: >"$out/modules.list.tmp"
# A later directory's modules may use what an earlier one exports (nvme-tcp uses the in-kernel
# handshake of nvme-keyring): modpost takes those symbols and CRCs from the earlier builds.
extra_syms=
# Config symbols set for one directory's build. Out of tree, kbuild builds a directory's =m
# objects only (never its built-in ones), with Debian's auto.conf: a new module needs its
# symbol set here, and a Debian module that cannot be rebuilt from the headers is switched off
# (Debian's own stays in use). crypto/asymmetric_keys (0004): the TPM 2.0 key subtype is not
# in Debian's config; the PKCS#8 parser (=m) needs scripts/asn1_compiler, which the headers lack.
declare -A dir_config=(
	[crypto/asymmetric_keys]="CONFIG_ASYMMETRIC_TPM2_KEY_SUBTYPE=m CONFIG_PKCS8_PRIVATE_KEY_PARSER="
)
for d in $build_dirs; do
	[ -e "$work/$d/Makefile" ] || [ -e "$work/$d/Kbuild" ] || die "no Makefile in $d"
	say "building $d against linux-headers-$kver${dir_config[$d]:+ (${dir_config[$d]})}"
	# shellcheck disable=SC2086 # (dir_config holds several VAR=VALUE words)
	if ! make -C "$hdr_arch" -f "$hdr_common/Makefile" M="$work/$d" ${dir_config[$d]:-} \
		KBUILD_EXTRA_SYMBOLS="$extra_syms" modules >"$out/build.log" 2>&1; then
		tail -n 30 "$out/build.log" >&2
		die "the out-of-tree build of $d failed (log: $out/build.log)"
	fi
	if grep -E 'warning:' "$out/build.log" >&2; then
		die "the build of $d has compiler warnings (log: $out/build.log)"
	fi
	# A directory builds every module configured in it; keep the ones the series changed:
	# kbuild lists each module's objects in <module>.mod.
	found=0
	for ko in "$work/$d"/*.ko; do
		[ -e "$ko" ] || continue
		mine=0
		for f in $touched; do
			case $f in "$d"/*.c) ;; *) continue ;; esac
			# (external modules list their objects by absolute path)
			tr ' ' '\n' <"${ko%.ko}.mod" | grep -qxF "$work/${f%.c}.o" && mine=1
		done
		grep -qE "^$d/(Makefile|Kbuild)\$" <<<"$touched" && mine=1
		[ $mine = 1 ] || continue
		found=1
		mkdir -p "$dest/$d"
		cp "$ko" "$dest/$d/"
		vm=$(modinfo -F vermagic "$ko")
		case $vm in
		"$kver "*) ;;
		*) die "$(basename "$ko") has vermagic '$vm', not $kver" ;;
		esac
		echo "$d/$(basename "$ko")" >>"$out/modules.list.tmp"
		say "built $kver/$d/$(basename "$ko") (vermagic $vm)"
	done
	[ $found = 1 ] || die "building $d produced no module (is it configured =m in Debian's kernel?)"
	# Debian's modules that use these exports were linked against the CRCs in the headers'
	# Module.symvers: a changed CRC (e.g. from a new #include that defines more of a type the
	# exported functions use) stops them loading next to the patched module ("disagrees about
	# version of symbol", EINVAL).
	while read -r crc sym _; do
		old=$(awk -v s="$sym" '$2 == s { print $1 }' "$hdr_arch/Module.symvers")
		[ -z "$old" ] || [ "$old" = "$crc" ] ||
			die "the patched $d changes the modversions CRC of $sym ($old -> $crc): Debian's modules using it would not load"
	done <"$work/$d/Module.symvers"
	extra_syms="${extra_syms:+$extra_syms }$work/$d/Module.symvers"
done
mv "$out/modules.list.tmp" "$dest/modules.list"
echo "$inputs" >"$dest/.inputs"
say "done in $(elapsed) s: $dest/modules.list"
