#!/usr/bin/env bash
# Runs every check of the project on a fresh machine: installs what the tests need, then
# formatting, lints, the unit tests and the integration tests (real baton processes on loopback).
# .ci/run calls exactly this. Longer runs (benchmarks, chaos) are separate: see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v curl >/dev/null || need_apt+=(curl)
command -v python3 >/dev/null || need_apt+=(python3)
# The pymesos venv below needs ensurepip, which Debian ships separately.
python3 -c 'import ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
# pymesos 0.3.15 for tests/pymesos.rs, in its own venv (the test looks there). Its http-parser
# dependency's C extension does not build on Python 3.11+, so http-parser's pure-Python parser is
# copied in from the sdist instead (mesos-api.md §10, recipe 3); pymesos falls back to it.
pymesos_venv=target/pymesos-venv
if ! "$pymesos_venv/bin/python" -c 'import pymesos' >/dev/null 2>&1; then
  echo "== installing pymesos 0.3.15 into $pymesos_venv"
  rm -rf "$pymesos_venv"
  python3 -m venv "$pymesos_venv"
  "$pymesos_venv/bin/pip" install -q six addict kazoo
  "$pymesos_venv/bin/pip" install -q --no-deps pymesos==0.3.15
  sdist_dir=$(mktemp -d)
  "$pymesos_venv/bin/pip" download -q --no-deps --no-binary :all: http-parser==0.9.0 -d "$sdist_dir"
  tar -xzf "$sdist_dir"/http-parser-0.9.0.tar.gz -C "$sdist_dir"
  site=$("$pymesos_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  cp -r "$sdist_dir/http-parser-0.9.0/http_parser" "$site/"
  rm -f "$site"/http_parser/*.so
  rm -rf "$sdist_dir"
  "$pymesos_venv/bin/python" -c 'import pymesos'
fi
# The Python `marathon` client 0.13.0 for tests/marathon_python.rs, in its own venv. It needs
# Python <= 3.9 (it imports collections.Iterable); this machine's pyenv has one.
marathon_venv=target/marathon-venv
if ! "$marathon_venv/bin/python" -c 'import marathon' >/dev/null 2>&1; then
  py39=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.9*/bin/python 2>/dev/null | tail -1)
  [ -n "$py39" ] || py39=$(command -v python3.9 || true)
  [ -n "$py39" ] || { echo "no Python 3.9 (pyenv) for the marathon client test"; exit 1; }
  echo "== installing marathon 0.13.0 into $marathon_venv ($py39)"
  rm -rf "$marathon_venv"
  "$py39" -m venv "$marathon_venv"
  "$marathon_venv/bin/pip" install -q marathon==0.13.0
  "$marathon_venv/bin/python" -c 'import marathon'
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
echo "== jepsen lints"
cargo clippy -p jepsen --all-targets --locked -- -D warnings
# The chaos smoke (jepsen/README.md): three nodes, partitions, kills and pauses, both workloads,
# one seeded minute, on the debug build the tests above used (no second full build in CI).
echo "== jepsen smoke"
cargo build --locked -p jepsen
target/debug/jepsen --baton target/debug/baton --nodes 3 --workload register,set \
  --nemesis partition,kill,pause --time-limit 60 --seed 7 --out target/jepsen
# The harness must catch a planted stale-read bug: build it (only baton recompiles), keep that
# binary aside, and put the normal one back before anything else runs.
echo "== jepsen catches a planted bug"
cargo build --locked -p baton --features jepsen-bug-stale-reads
cp target/debug/baton target/debug/baton-bugged
cargo build --locked -p baton
BATON=$PWD/target/debug/baton JEPSEN_BUGGED_BATON=$PWD/target/debug/baton-bugged \
  cargo test --locked -p jepsen --test planted_bug -- --ignored
