#!/usr/bin/env bash
# Runs the capture tool over a dev set and prints the scorer's figures.
#   bash capture/devset/eval.sh cards|shelves|voice|voice-zh-neural [extra fieldline-capture args]
# Extra args go before the subcommand (--threads, --engine); VOICE_ARGS after it
# (e.g. VOICE_ARGS="--window full").
set -euo pipefail
kind="${1:-cards}"
shift || true
case "$kind" in
  cards) command=card ;;
  shelves) command=shelf ;;
  voice|voice-zh-neural) command=voice ;;
  *) echo "usage: $0 cards|shelves|voice|voice-zh-neural [fieldline-capture args]" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/../.." && pwd)"
scorer="${FIELDLINE_EVAL_DIR:-$root/../shared/eval}/score_${kind%%-*}.py"
[ -f "$scorer" ] || { echo "scorer not found at $scorer (set FIELDLINE_EVAL_DIR)" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cd "$root"
inputs=()
for f in "capture/devset/$kind"/*; do
  [ "$(basename "$f")" = labels.json ] || inputs+=("$f")
done
# shellcheck disable=SC2086
cargo run -q --release -p fieldline-capture -- "$@" "$command" ${VOICE_ARGS:-} --jsonl "${inputs[@]}" > "$out/preds.jsonl"
python3 "$scorer" "capture/devset/$kind/labels.json" "$out/preds.jsonl" ${VERBOSE:+--verbose}
