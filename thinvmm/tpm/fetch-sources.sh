#!/usr/bin/env bash
# Unpack the Debian source packages the VMM builds pieces of, freestanding, into build/src/:
#   build/src/tpm2-tss   tpm2-tss 4.1.3 from trixie (its MU library: src/tss2-mu, include/tss2)
#   build/src/mbedtls    mbedtls 2.28 from bookworm (library/sha256.c, library/platform_util.c)
# Both with `apt-get source`, which checks them against the signed Sources index.
# Why trixie for tpm2-tss: bookworm's tpm2-tss 3.2.1 .orig.tar.gz and .debian.tar.xz answer
# 404 from this archive (measured 2026-11-21 and 22; the .dsc comes through), trixie's 4.1.3
# does not. The MU library is self-contained and its wire format is the TPM's, so the version
# only has to match itself; the agent and verifier keep using bookworm's libtss2 packages.
# A deb-src entry for trixie (source only: no binary package changes) is added when missing.
# Idempotent: unpacked trees are kept.
# Usage: thinvmm/tpm/fetch-sources.sh [DEST]   (default build/src)
set -euo pipefail
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEST=${1:-$REPO_ROOT/build/src}
ME=fetch-sources
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

have() {
    case "$1" in
        tpm2-tss) [ -f "$DEST/tpm2-tss/src/tss2-mu/base-types.c" ] ;;
        mbedtls) [ -f "$DEST/mbedtls/library/sha256.c" ] ;;
    esac
}

# deb_src NAME SUITE...: a deb-src list for the given suites, apt-get update when it is new.
deb_src() {
    local list=/etc/apt/sources.list.d/thinvmm-$1-src.sources
    shift
    [ -f "$list" ] && return 0
    [ "$(id -u)" = 0 ] || { echo "$ME: need root to add $list" >&2; return 1; }
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: main\nSigned-By: %s\n' \
        "$*" "$KEYRING" >"$list.tmp"
    mv "$list.tmp" "$list"
    apt-get update -qq
}

# fetch NAME SUITE: apt-get source NAME/SUITE, unpacked tree moved to DEST/NAME.
fetch() {
    local name=$1 suite=$2 tmp dir
    have "$name" && return 0
    deb_src "$suite" "$suite" || return 1
    tmp=$(mktemp -d "$DEST/.$name.XXXXXX")
    if (cd "$tmp" && apt-get source -qq "$name/$suite" >"$tmp.log" 2>&1); then
        dir=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name "$name-*" | head -n1)
        [ -n "$dir" ] && rm -rf "${DEST:?}/$name" && mv "$dir" "$DEST/$name"
    else
        sed "s/^/$ME: apt-get source $name\/$suite: /" "$tmp.log" | tail -n 5 >&2
    fi
    rm -rf "$tmp" "$tmp.log"
    have "$name" || { echo "$ME: could not get the source of $name ($suite)" >&2; return 1; }
}

command -v dpkg-source >/dev/null 2>&1 || { echo "$ME: dpkg-source missing (apt-get install dpkg-dev)" >&2; exit 1; }
fetch mbedtls bookworm
fetch tpm2-tss trixie
