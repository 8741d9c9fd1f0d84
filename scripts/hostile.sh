#!/usr/bin/env bash
# Hostile-stream harness: builds hardening's `hostile` binary (release) and
# pushes adversarial streams (random bytes, maximal declared lengths, endless
# PARAMS / vars / headers, many request ids, 1-byte drip, records for ids
# never begun, huge bodies, endless STDERR) through every codec and
# connection state machine. Fails on a panic, on a stream that does not end
# the way its scenario states, or on a peak RSS (VmHWM) over 64 MiB.
# CI duration: about 1 minute on 2 cores (build included); the run itself
# pushes ~14 GiB in ~20 s. HOSTILE_BIG_MIB (default 1024) scales the large
# streams.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p hardening --bin hostile
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
"$target_dir/release/hostile"
