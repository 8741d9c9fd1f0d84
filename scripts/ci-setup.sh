#!/usr/bin/env bash
# Installs the toolchain pieces CI uses: rustfmt and clippy on stable, a
# nightly toolchain and cargo-fuzz for the fuzz stage.
set -euo pipefail
rustup component add rustfmt clippy >/dev/null
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
cargo --version
cargo +nightly --version
cargo fuzz --version
