#!/usr/bin/env bash
# Runs every fuzz target for a bounded time on the stable toolchain.
#
#   fuzz/run-all.sh [SECONDS_PER_TARGET]     (default 20)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and a C/C++ compiler (libFuzzer and
# ring are built from source). Uses `--sanitizer none`, the only mode stable Rust supports.
#
# The committed seeds in corpus/<target>/ are read but never written: new inputs go to
# target/fuzz-corpus/<target>/ (ignored by git, and reused by later runs). Exits non-zero if
# any target crashes (panic, timeout or out-of-memory); the crashing input is left in
# artifacts/<target>/ and the log in target/fuzz-logs/<target>.log.
set -euo pipefail

seconds="${1:-20}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
fi

cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

echo "==> building all fuzz targets"
cargo fuzz build --sanitizer none

mkdir -p target/fuzz-logs
failed=()
for target in $(cargo fuzz list); do
    work="target/fuzz-corpus/$target"
    log="target/fuzz-logs/$target.log"
    mkdir -p "$work" "corpus/$target"
    echo "==> $target for ${seconds}s"
    if cargo fuzz run --sanitizer none "$target" "$work" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
        echo "    ok: ${runs:-?} executions"
    else
        echo "    FAILED (log: fuzz/$log)"
        { grep -m1 -A1 "panicked at" "$log" || true
          grep -E "^SUMMARY|Test unit written to" "$log" || true; } | sed 's/^/    /'
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -ne 0 ]; then
    echo "crashed: ${failed[*]}" >&2
    exit 1
fi
echo "all targets ran ${seconds}s without a crash"
