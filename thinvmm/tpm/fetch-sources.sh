#!/usr/bin/env bash
# Unpack the source packages the VMM builds pieces of, freestanding, into build/src/:
#   build/src/tpm2-tss   Debian's tpm2-tss (its MU library: src/tss2-mu, include/tss2)
#   build/src/mbedtls    Debian's mbedtls (library/sha256.c, library/platform_util.c)
# With `apt-get source` after adding a deb-src twin of debian.sources (DESIGN "Recipes").
# If the archive has no source for tpm2-tss, TPM2_TSS_GIT may name a local clone of
# tpm2-software/tpm2-tss; the tag matching Debian's version (3.2.1) is exported from it.
# Idempotent: unpacked trees are kept.
# Usage: thinvmm/tpm/fetch-sources.sh [DEST]   (default build/src)
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEST=${1:-$REPO_ROOT/build/src}
ME=fetch-sources
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)

have() {
    case "$1" in
        tpm2-tss) [ -f "$DEST/tpm2-tss/src/tss2-mu/base-types.c" ] ;;
        mbedtls) [ -f "$DEST/mbedtls/library/sha256.c" ] ;;
    esac
}

deb_src() {
    local list=/etc/apt/sources.list.d/debian-src.sources
    [ -f "$list" ] && return 0
    [ -f /etc/apt/sources.list.d/debian.sources ] || return 1
    [ "$(id -u)" = 0 ] || { echo "$ME: need root to add $list" >&2; return 1; }
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$list"
    apt-get update -qq
}

fetch() {
    local name=$1 tmp
    have "$name" && return 0
    tmp=$(mktemp -d "$DEST/.$name.XXXXXX")
    if deb_src && (cd "$tmp" && apt-get source -qq "$name" >/dev/null 2>&1); then
        local dir
        dir=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name "$name-*" | head -n1)
        [ -n "$dir" ] && rm -rf "${DEST:?}/$name" && mv "$dir" "$DEST/$name"
    elif [ "$name" = tpm2-tss ] && [ -n "${TPM2_TSS_GIT:-}" ]; then
        echo "$ME: apt-get source tpm2-tss failed; exporting tag 3.2.1 from $TPM2_TSS_GIT" >&2
        mkdir -p "$DEST/tpm2-tss"
        git --git-dir="$TPM2_TSS_GIT" archive 3.2.1 src/tss2-mu src/util include/tss2 |
            tar -x -C "$DEST/tpm2-tss"
    fi
    rm -rf "$tmp"
    have "$name" || { echo "$ME: could not get the source of $name" >&2; return 1; }
}

fetch mbedtls
fetch tpm2-tss
