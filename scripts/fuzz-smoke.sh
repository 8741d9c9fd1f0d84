#!/usr/bin/env bash
# Builds the fuzz crate and runs every target for FUZZ_SECONDS (default 20)
# starting from its committed corpus. New inputs go to a scratch directory, so
# the committed corpus is never modified. Fails if a target is missing its
# corpus or finds a crash.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECS=${FUZZ_SECONDS:-20}
cargo +nightly fuzz build --release
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
targets=$(cargo +nightly fuzz list)
[ -n "$targets" ] || { echo "fuzz-smoke: no targets" >&2; exit 1; }
for t in $targets; do
    n=$(find "corpus/$t" -type f 2>/dev/null | wc -l)
    if [ "$n" -eq 0 ]; then
        echo "fuzz-smoke: FAIL: corpus/$t is missing or empty" >&2
        exit 1
    fi
    mkdir -p "$SCRATCH/$t"
    echo "fuzz-smoke: $t for ${SECS}s from $n seeds"
    log="$SCRATCH/$t.log"
    if ! cargo +nightly fuzz run --release "$t" "$SCRATCH/$t" "corpus/$t" -- \
        -max_total_time="$SECS" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz-smoke: FAIL: $t found a crash or did not run" >&2
        exit 1
    fi
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | sed "s/^/fuzz-smoke: $t /"
done
echo "fuzz-smoke: all targets ran ${SECS}s without a finding"
