#!/usr/bin/env bash
# Builds the capture fuzz targets with libFuzzer's coverage instrumentation (stable Rust; the
# flags cargo-fuzz would pass, without AddressSanitizer) and runs each for N executions
# (default 1,000,000), starting from the dev sets as seeds. A crash stops with its input in
# capture/fuzz/artifacts/.
#   bash capture/fuzz/run.sh [RUNS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
runs="${1:-1000000}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode_image decode_audio extract_text)
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/target}"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# An explicit target keeps the instrumentation out of build scripts and proc macros.
triple="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --release --bins --target "$triple"
devset=../devset
for t in "${targets[@]}"; do
  corpus="corpus/$t"
  mkdir -p "$corpus" artifacts
  case "$t" in
    decode_image) seeds=("$devset/cards" "$devset/shelves") ;;
    decode_audio) seeds=("$devset/voice") ;;
    extract_text) seeds=() ;;
  esac
  echo "== $t: $runs runs"
  "$CARGO_TARGET_DIR/$triple/release/$t" -runs="$runs" -max_len=65536 -rss_limit_mb=2048 -timeout=20 \
    -artifact_prefix=artifacts/ -print_final_stats=1 "$corpus" "${seeds[@]}" 2>&1 |
    grep -E "^(#[0-9]+\s+DONE|Done|stat::number_of_executed_units|==|SUMMARY|.*panicked)" || true
  [ -z "$(ls artifacts 2>/dev/null)" ] || { echo "crash inputs in capture/fuzz/artifacts" >&2; exit 1; }
done
