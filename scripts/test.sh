#!/usr/bin/env bash
# Runs every check of the project on a fresh machine: installs what the tests need, then
# formatting, lints, the unit tests and the integration tests (real baton processes on loopback).
# .ci/run calls exactly this. Longer runs (benchmarks, chaos) are separate: see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v curl >/dev/null || need_apt+=(curl)
command -v python3 >/dev/null || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "== installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

echo "== cargo fmt"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== build"
cargo build --locked --all-targets
echo "== tests"
cargo nextest run --locked --workspace --no-fail-fast --retries 1
