#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tests of the policy compiler (build/policy/thinvmm-policy):
#   bad/*.pol    each must fail `check` with exit 1 and exactly the errors named by its
#                leading "# expect: LINE:COL: REASON" lines (prefixes of FILE:LINE:COL: error: ...)
#   good/*.pol, policy/*.pol   compile, dump, recompile the dump: the same rules
#   blob bytes, corrupted blobs, file-level limits, atomic output, exit codes.
# One "ok NAME" / "FAIL NAME" line per case, then "N passed, M failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
TOOL=build/policy/thinvmm-policy
PASSED=0 FAILED=0
ok() { echo "ok $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; FAILED=$((FAILED + 1)); }
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
    exit
}

if ! make -s "$TOOL" >/dev/null; then
    fail build "make $TOOL"
    finish
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# run CMD...: sets RC, OUT (stdout) and ERR (stderr).
run() {
    "$@" >"$TMP/out" 2>"$TMP/err"
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}

# expect_errors NAME FILE: `check FILE` exits 1 and prints exactly the expected errors.
expect_errors() {
    local name=$1 f=$2 want=() e line n
    while IFS= read -r line; do
        [[ $line == "# expect: "* ]] || break
        want+=("$f:${line#\# expect: }")
    done <"$f"
    # "L:C: REASON" -> "FILE:L:C: error: REASON"
    for i in "${!want[@]}"; do
        e=${want[$i]}
        want[i]="${e%%: *}: error: ${e#*: }"
    done
    [ ${#want[@]} -gt 0 ] || { fail "$name" "no '# expect:' line in $f"; return; }
    run "$TOOL" check "$f"
    [ "$RC" -eq 1 ] || { fail "$name" "exit $RC, want 1"; return; }
    n=$(grep -c ': error: ' <<<"$ERR")
    [ "$n" -eq ${#want[@]} ] || { fail "$name" "$n errors, want ${#want[@]}: $ERR"; return; }
    for e in "${want[@]}"; do
        if ! grep -qF -- "$e" <<<"$ERR" || [[ $(grep -F -- "$e" <<<"$ERR") != "$e"* ]]; then
            fail "$name" "want '$e', got: $ERR"
            return
        fi
    done
    ok "$name"
}

# (a) every error class
for f in tests/policy/bad/*.pol; do
    expect_errors "bad/$(basename "$f" .pol)" "$f"
done

# Cases that are easier to generate than to keep as files.
# (printf expands the escapes: a bash string cannot hold a NUL)
printf '# expect: 3:5: NUL byte in the policy source\npolicy t\ncr0 \000wp pin WP deny\n' >"$TMP/nul-byte.pol"
printf '# expect: 2:9: control character 0x0c\npolicy t\f\ncr0 wp pin WP deny\n' >"$TMP/control-char.pol"
{
    echo '# expect: 3:4097: line longer than 4096 characters'
    echo 'policy t'
    printf 'cr0 wp pin WP deny #%04091d\n' 0
} >"$TMP/long-line.pol"
{
    echo '# expect: 1:1: file larger than 1 MiB'
    echo 'policy t'
    echo 'cr0 wp pin WP deny'
    head -c $((1 << 20)) /dev/zero | tr '\0' '#'
} >"$TMP/too-large.pol"
# 257 records: one too many; the error is at the statement that crosses the limit.
{
    echo '# expect: 259:1: more than 256 rule records'
    echo 'policy many'
    for i in $(seq 0 256); do printf 'memory m%d range 0x%x size 4K allow r deny\n' "$i" $((i * 4096)); done
} >"$TMP/too-many-records.pol"
for f in "$TMP"/*.pol; do
    expect_errors "bad/$(basename "$f" .pol)" "$f"
done

# 25 bad statements: 20 errors, then a note, exit 1.
{
    echo 'policy t'
    for i in $(seq 1 25); do echo "cr0 r$i pin XX deny"; done
} >"$TMP/errors.src"
run "$TOOL" check "$TMP/errors.src"
if [ "$RC" -eq 1 ] && [ "$(grep -c ': error: ' <<<"$ERR")" -eq 20 ] &&
    grep -q 'too many errors; only the first 20 are shown' <<<"$ERR"; then
    ok error-limit
else
    fail error-limit "exit $RC: $ERR"
fi

# Exactly 256 records is fine.
{
    echo 'policy many'
    for i in $(seq 0 255); do printf 'memory m%d range 0x%x size 4K allow r deny\n' "$i" $((i * 4096)); done
} >"$TMP/max-records.pol"
run "$TOOL" check "$TMP/max-records.pol"
if [ "$RC" -eq 0 ] && [ "$OUT" = "$TMP/max-records.pol: ok, 256 rules, 256 records" ]; then
    ok max-records
else
    fail max-records "exit $RC: $OUT $ERR"
fi

# (b) compile, dump, compile the dump: the same rules (only source lines may move).
for f in policy/*.pol tests/policy/good/*.pol; do
    name=roundtrip/$(basename "$f" .pol)
    b=$TMP/$(basename "$f" .pol)
    run "$TOOL" compile "$f" -o "$b.bin"
    [ "$RC" -eq 0 ] && [ -z "$OUT$ERR" ] || { fail "$name" "compile: exit $RC $ERR"; continue; }
    run "$TOOL" dump "$b.bin"
    [ "$RC" -eq 0 ] || { fail "$name" "dump: exit $RC $ERR"; continue; }
    printf '%s\n' "$OUT" >"$b.dump.pol"
    run "$TOOL" compile "$b.dump.pol" -o "$b.again.bin"
    [ "$RC" -eq 0 ] || { fail "$name" "the dump does not compile: $ERR"; continue; }
    if err=$(python3 tests/policy/blob.py same "$b.bin" "$b.again.bin" 2>&1); then
        ok "$name"
    else
        fail "$name" "$err"
    fi
done

# The shipped policies: the numbers the attack tests rely on.
run "$TOOL" check policy/linux-default.pol
[ "$OUT" = "policy/linux-default.pol: ok, 8 rules, 15 records" ] && ok default-policy-counts ||
    fail default-policy-counts "$OUT $ERR"

# CRLF line endings compile to the same blob.
sed 's/$/\r/' tests/policy/good/fields.pol >"$TMP/crlf.pol"
run "$TOOL" compile "$TMP/crlf.pol" -o "$TMP/crlf.bin"
if [ "$RC" -eq 0 ] && cmp -s "$TMP/crlf.bin" "$TMP/fields.bin"; then ok crlf; else fail crlf "exit $RC $ERR"; fi

# (c) the bytes of a small policy, field by field (an independent reader in Python)
if err=$(python3 tests/policy/blob.py fields "$TMP/fields.bin" 2>&1); then
    ok blob-fields
else
    fail blob-fields "$err"
fi

if err=$(python3 tests/policy/blob.py patch "$TMP/patch.bin" 2>&1); then
    ok blob-patch
else
    fail blob-patch "$err"
fi

# (d) bad blobs: dump exits 1 with a clear message
bad_blob() {
    local name=$1 file=$2 want=$3
    run "$TOOL" dump "$file"
    if [ "$RC" -eq 1 ] && [ -z "$OUT" ] && grep -qF -- "$file: error: not a valid compiled policy: $want" <<<"$ERR"; then
        ok "dump/$name"
    else
        fail "dump/$name" "exit $RC: $ERR"
    fi
}
head -c 1000 "$TMP/fields.bin" >"$TMP/truncated.bin"
bad_blob truncated "$TMP/truncated.bin" "size does not match the rule count"
head -c 20 "$TMP/fields.bin" >"$TMP/short.bin"
bad_blob short "$TMP/short.bin" "shorter than the policy header"
: >"$TMP/empty.bin"
bad_blob empty "$TMP/empty.bin" "shorter than the policy header"
bad_blob source-file tests/policy/good/fields.pol "not a compiled thinvmm policy (bad magic)"
for how in magic action nrules name reserved; do
    python3 tests/policy/blob.py corrupt "$TMP/fields.bin" "$TMP/c-$how.bin" "$how"
done
bad_blob bad-magic "$TMP/c-magic.bin" "not a compiled thinvmm policy (bad magic)"
bad_blob bad-action "$TMP/c-action.bin" "record 0: unknown action"
bad_blob bad-nrules "$TMP/c-nrules.bin" "size does not match the rule count"
bad_blob bad-name "$TMP/c-name.bin" "reserved field set or name not terminated"
bad_blob bad-reserved "$TMP/c-reserved.bin" "reserved field set or name not terminated"
head -c 60000 /dev/zero >"$TMP/huge.bin"
bad_blob too-large "$TMP/huge.bin" "larger than"

# digest: the PCR18 reference value is SHA-256 of the compiled file; bad blobs exit 1.
run "$TOOL" digest "$TMP/fields.bin"
want="$(sha256sum <"$TMP/fields.bin" | cut -c1-64)  $TMP/fields.bin"
if [ "$RC" -eq 0 ] && [ "$OUT" = "$want" ]; then ok digest; else fail digest "exit $RC '$OUT' $ERR"; fi
run "$TOOL" digest "$TMP/c-action.bin"
if [ "$RC" -eq 1 ] && [ -z "$OUT" ] && grep -qF "record 0: unknown action" <<<"$ERR"; then
    ok digest/bad-blob
else
    fail digest/bad-blob "exit $RC: $OUT $ERR"
fi

# (e) output: never a partial or stray file; exit 2 on I/O errors
run "$TOOL" compile tests/policy/good/fields.pol -o "$TMP/no/such/dir/x.bin"
if [ "$RC" -eq 2 ] && [ ! -e "$TMP/no" ] && [ -n "$ERR" ]; then ok out-missing-dir; else fail out-missing-dir "exit $RC"; fi
: >"$TMP/plainfile"
run "$TOOL" compile tests/policy/good/fields.pol -o "$TMP/plainfile/x.bin"
if [ "$RC" -eq 2 ] && [ ! -s "$TMP/plainfile" ]; then ok out-not-a-dir; else fail out-not-a-dir "exit $RC"; fi
mkdir -p "$TMP/outdir/target.bin"
run "$TOOL" compile tests/policy/good/fields.pol -o "$TMP/outdir/target.bin"
left=$(find "$TMP/outdir" -mindepth 1 ! -path "$TMP/outdir/target.bin")
if [ "$RC" -eq 2 ] && [ -d "$TMP/outdir/target.bin" ] && [ -z "$left" ]; then
    ok out-is-a-dir
else
    fail out-is-a-dir "exit $RC, left: $left"
fi
# A policy with errors leaves an existing output untouched.
cp "$TMP/fields.bin" "$TMP/keep.bin"
run "$TOOL" compile tests/policy/bad/unknown-action.pol -o "$TMP/keep.bin"
if [ "$RC" -eq 1 ] && cmp -s "$TMP/keep.bin" "$TMP/fields.bin" && [ "$(ls "$TMP" | grep -c '^keep')" -eq 1 ]; then
    ok out-kept-on-error
else
    fail out-kept-on-error "exit $RC"
fi
# Usage and input I/O errors: 2.
run "$TOOL"
[ "$RC" -eq 2 ] && grep -q usage <<<"$ERR" && ok usage-none || fail usage-none "exit $RC"
run "$TOOL" compile tests/policy/good/fields.pol
[ "$RC" -eq 2 ] && ok usage-no-output || fail usage-no-output "exit $RC"
run "$TOOL" frobnicate x
[ "$RC" -eq 2 ] && ok usage-unknown-command || fail usage-unknown-command "exit $RC"
run "$TOOL" check "$TMP/does-not-exist.pol"
[ "$RC" -eq 2 ] && grep -q 'cannot open' <<<"$ERR" && ok input-missing || fail input-missing "exit $RC $ERR"
run "$TOOL" check "$TMP"
[ "$RC" -eq 2 ] && ok input-directory || fail input-directory "exit $RC $ERR"

finish
