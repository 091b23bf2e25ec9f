# shellcheck shell=bash
# Shared helpers for tests/env/*.sh. Source it; do not run it.
#   REPO_ROOT       absolute path of the repository (set by the sourcing script or derived here)
#   die MSG         print "SCRIPT: error: MSG" to stderr and exit 1
#   log MSG         print "SCRIPT: MSG" to stderr
#   pkg_installed P true iff Debian package P is installed (not just known to dpkg)
#   ensure_pkgs P.. install the packages that are missing (apt-get update only then)
#   resolve_kver    print the guest kernel version (build/kernel/VERSION, else linux-image-amd64's dependency)

: "${REPO_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
_TVMM_ME=$(basename "$0")

die() { printf '%s: error: %s\n' "$_TVMM_ME" "$*" >&2; exit 1; }
log() { printf '%s: %s\n' "$_TVMM_ME" "$*" >&2; }

export DEBIAN_FRONTEND=noninteractive

# Run a privileged command: directly as root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo DEBIAN_FRONTEND=noninteractive "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# dpkg -s succeeds for removed packages whose config files remain, so look at the status itself.
pkg_installed() {
    local st
    st=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
    [ "$st" = "install ok installed" ]
}

_TVMM_APT_UPDATED=0
apt_update_once() {
    if [ "$_TVMM_APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        as_root apt-get update -q || die "apt-get update failed"
        _TVMM_APT_UPDATED=1
    fi
}

ensure_pkgs() {
    local p missing=()
    for p in "$@"; do
        pkg_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    log "installing: ${missing[*]}"
    apt_update_once
    as_root apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || die "apt-get install failed for: ${missing[*]}"
    for p in "${missing[@]}"; do
        pkg_installed "$p" || die "package $p still not installed after apt-get install"
    done
}

# The guest kernel version, e.g. 6.1.0-56-amd64. build/kernel/VERSION wins so that the kernel
# and the headers the modules are built against stay matched across apt updates.
resolve_kver() {
    local vf="$REPO_ROOT/build/kernel/VERSION" kver=""
    if [ -s "$vf" ]; then
        kver=$(tr -d ' \n' <"$vf")
        [ -n "$kver" ] || die "$vf is empty"
        printf '%s\n' "$kver"
        return 0
    fi
    if ! apt-cache show linux-image-amd64 >/dev/null 2>&1; then
        apt_update_once
    fi
    kver=$(apt-cache depends linux-image-amd64 2>/dev/null \
        | sed -n 's/^ *Depends: linux-image-\(.*-amd64\)$/\1/p' | head -n1)
    [ -n "$kver" ] || die "cannot resolve the kernel version: 'apt-cache depends linux-image-amd64' names no linux-image-<ver>-amd64"
    printf '%s\n' "$kver"
}
