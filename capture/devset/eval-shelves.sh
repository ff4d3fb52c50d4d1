#!/usr/bin/env bash
# Runs the capture tool over the shelf dev set and prints the scorer's figures.
#   bash capture/devset/eval-shelves.sh [extra fieldline-capture args]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
scorer="${FIELDLINE_EVAL_DIR:-$root/../shared/eval}/score_shelves.py"
[ -f "$scorer" ] || { echo "scorer not found at $scorer (set FIELDLINE_EVAL_DIR)" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cd "$root"
cargo run -q --release -p fieldline-capture -- "$@" shelf --jsonl capture/devset/shelves/*.jpg > "$out/preds.jsonl"
python3 "$scorer" capture/devset/shelves/labels.json "$out/preds.jsonl" ${VERBOSE:+--verbose}
