#!/usr/bin/env bash
# Install the Debian packages the build and the tests need, only those missing.
# apt-get update runs only if something has to be installed. Idempotent.
# Usage: tests/env/deps.sh
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=common.sh
. "$REPO_ROOT/tests/env/common.sh"

command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
    || die "this script needs a Debian system (dpkg-query and apt-get)"

PKGS=(
    gcc make clang llvm lld libclang-rt-14-dev binutils libc6-dev kmod
    cpio busybox-static
    qemu-system-x86 ovmf
    swtpm swtpm-tools tpm2-tools libtss2-dev
    libmbedtls-dev gnu-efi
    bochs bochsbios vgabios bochs-term
    xorriso mtools grub-pc-bin nasm
    python3 xxd openssl pkg-config dpkg-dev
)
# Bochs (tests/e2e/bochs.sh): bochsbios has the BIOS, vgabios the VGA BIOS (bochs depends on
# "vgabios | seabios", QEMU's seabios satisfies that, and /usr/share/bochs/VGABIOS-lgpl-latest
# then dangles), bochs-term the one display library that runs without a window (Debian builds
# no "nogui"; bochs itself pulls in only bochs-wx); grub-pc-bin and xorriso make the boot ISO
# (grub-mkrescue). `script` comes from bsdutils, which every Debian system has.
ensure_pkgs "${PKGS[@]}"

# Headers matching the guest kernel (tests/env/kernel.sh fetches the kernel itself).
KVER=$(resolve_kver)
ensure_pkgs "linux-headers-$KVER"
[ -d "/usr/src/linux-headers-$KVER" ] || die "linux-headers-$KVER installed but /usr/src/linux-headers-$KVER is missing"

# Source packages the VMM builds pieces of, freestanding (tpm2-tss MU, mbedtls SHA-256):
# unpacked into build/src/ with `apt-get source` (thinvmm/tpm/fetch-sources.sh).
"$REPO_ROOT/thinvmm/tpm/fetch-sources.sh" "$REPO_ROOT/build/src" \
    || die "could not unpack the tpm2-tss and mbedtls source packages into build/src"

log "all dependencies present (guest kernel headers: $KVER)"
