#!/usr/bin/env bash
# Fetch the guest kernel (Debian's linux-image-<ver>-amd64, never installed on the host) into
# build/kernel/ and make sure the matching linux-headers-<ver> are installed for module builds.
#   build/kernel/vmlinuz     the bzImage QEMU boots with -kernel
#   build/kernel/VERSION     <ver>, e.g. 6.1.0-56-amd64; once written it pins the version
#   build/kernel/config     the kernel's .config, from the same package
# Prints <ver> on stdout. Idempotent: skips what is already done.
# To move to a newer kernel: rm -rf build/kernel && tests/env/kernel.sh
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=common.sh
. "$REPO_ROOT/tests/env/common.sh"

KDIR="$REPO_ROOT/build/kernel"
mkdir -p "$KDIR"

KVER=$(resolve_kver)
case "$KVER" in
    *[!A-Za-z0-9.+_-]*|"") die "implausible kernel version '$KVER'" ;;
esac
PKG="linux-image-$KVER"

have_kernel() {
    [ -s "$KDIR/vmlinuz" ] && [ -s "$KDIR/VERSION" ] && [ "$(tr -d ' \n' <"$KDIR/VERSION")" = "$KVER" ]
}

if have_kernel; then
    log "kernel $KVER already in build/kernel/"
else
    command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found"
    tmp=$(mktemp -d "$KDIR/.fetch.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    log "downloading $PKG"
    if ! apt-cache show "$PKG" >/dev/null 2>&1; then
        apt_update_once
    fi
    apt-cache show "$PKG" >/dev/null 2>&1 \
        || die "package $PKG is not in the apt lists (if build/kernel/VERSION pins an old version, rm -rf build/kernel to move to the current one)"
    # apt-get download writes into the current directory. As root it warns that the download is
    # unsandboxed because _apt cannot write there; that warning is harmless.
    (cd "$tmp" && apt-get download -q "$PKG" 2> >(grep -v 'unsandboxed as root' >&2)) \
        || die "apt-get download $PKG failed"
    debs=("$tmp"/"$PKG"_*.deb)
    [ -f "${debs[0]}" ] || die "apt-get download produced no ${PKG}_*.deb"
    log "extracting $(basename "${debs[0]}")"
    dpkg-deb -x "${debs[0]}" "$tmp/root" || die "dpkg-deb -x ${debs[0]} failed"
    [ -s "$tmp/root/boot/vmlinuz-$KVER" ] || die "$PKG has no boot/vmlinuz-$KVER"
    cp "$tmp/root/boot/vmlinuz-$KVER" "$KDIR/vmlinuz.new"
    if [ -f "$tmp/root/boot/config-$KVER" ]; then cp "$tmp/root/boot/config-$KVER" "$KDIR/config"; fi
    mv -f "$KDIR/vmlinuz.new" "$KDIR/vmlinuz"
    printf '%s\n' "$KVER" >"$KDIR/VERSION.new"
    mv -f "$KDIR/VERSION.new" "$KDIR/VERSION"
    rm -rf "$tmp"
    trap - EXIT
    log "kernel $KVER -> build/kernel/vmlinuz"
fi

ensure_pkgs "linux-headers-$KVER"
if [ -e "/lib/modules/$KVER/build/Makefile" ]; then
    KBUILD="/lib/modules/$KVER/build"
elif [ -e "/usr/src/linux-headers-$KVER/Makefile" ]; then
    KBUILD="/usr/src/linux-headers-$KVER"
else
    die "linux-headers-$KVER is installed but neither /lib/modules/$KVER/build nor /usr/src/linux-headers-$KVER has a Makefile"
fi
log "module build dir: $KBUILD"
printf '%s\n' "$KVER"
