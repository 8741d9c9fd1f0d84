#!/usr/bin/env bash
# Installs the toolchain pieces CI uses: rustfmt and clippy on stable, a
# nightly toolchain and cargo-fuzz for the fuzz stage, and python3 for the
# vector generator check.
set -euo pipefail
if ! command -v python3 >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null
fi
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
