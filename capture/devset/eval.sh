#!/usr/bin/env bash
# Runs the capture tool over a dev set and prints the scorer's figures.
#   bash capture/devset/eval.sh cards|shelves [extra fieldline-capture args]
set -euo pipefail
kind="${1:-cards}"
shift || true
case "$kind" in
  cards) command=card ;;
  shelves) command=shelf ;;
  *) echo "usage: $0 cards|shelves [fieldline-capture args]" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/../.." && pwd)"
scorer="${FIELDLINE_EVAL_DIR:-$root/../shared/eval}/score_$kind.py"
[ -f "$scorer" ] || { echo "scorer not found at $scorer (set FIELDLINE_EVAL_DIR)" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cd "$root"
cargo run -q --release -p fieldline-capture -- "$@" "$command" --jsonl "capture/devset/$kind"/*.jpg > "$out/preds.jsonl"
python3 "$scorer" "capture/devset/$kind/labels.json" "$out/preds.jsonl" ${VERBOSE:+--verbose}
