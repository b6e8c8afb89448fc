#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ briefly (issue 6, point 3): `bash fuzz/run.sh`, as `.ci/run`
# does. Installs cargo-fuzz when missing. Each target starts from its committed seeds
# (fuzz/seeds/<target>) plus what earlier runs found (fuzz/corpus/<target>, not committed), and
# fails on a panic, a timeout or runaway memory; the crashing input is left in fuzz/artifacts/.
#
# Only the pinned stable Rust is installed here, and cargo-fuzz passes nightly `-Z` flags:
# RUSTC_BOOTSTRAP=1 lets the stable compiler accept them. The targets are built unoptimized with
# debug assertions (overflow checks) and without a sanitizer: the crate forbids `unsafe`, so
# AddressSanitizer would only slow the build, while a panic is exactly the finding we look for.
#
# Settings (environment): FUZZ_SECONDS per target (default 20), FUZZ_TARGETS (default: all).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export RUSTC_BOOTSTRAP=1
SECONDS_PER_TARGET="${FUZZ_SECONDS:-20}"
FLAGS=(--dev --sanitizer none)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi
cargo fuzz build "${FLAGS[@]}"
TARGETS="${FUZZ_TARGETS:-$(cargo fuzz list | tr '\n' ' ')}"
for target in $TARGETS; do
  echo "==> fuzzing $target for ${SECONDS_PER_TARGET}s" >&2
  mkdir -p "corpus/$target"
  cargo fuzz run "${FLAGS[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    </dev/null
done
