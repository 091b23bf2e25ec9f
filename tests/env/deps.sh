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
    bochs bochsbios
    xorriso mtools grub-pc-bin nasm
)
ensure_pkgs "${PKGS[@]}"

# Headers matching the guest kernel (tests/env/kernel.sh fetches the kernel itself).
KVER=$(resolve_kver)
ensure_pkgs "linux-headers-$KVER"
[ -d "/usr/src/linux-headers-$KVER" ] || die "linux-headers-$KVER installed but /usr/src/linux-headers-$KVER is missing"

log "all dependencies present (guest kernel headers: $KVER)"
