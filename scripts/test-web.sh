#!/usr/bin/env bash
# The web app in a real browser: builds it, starts the demo server (embedded default, fresh
# data, random port) and drives Debian's Chromium, headless, with playwright-core through the
# manager's and the rep's main flows on a desktop and a phone viewport, with an axe-core
# accessibility check on each page; prints the budgets it measures and keeps screenshots in
# web/test-results/. The server is wired to a real capture sidecar (the checksummed OCR and
# Whisper models), so cards and voice notes taken or pasted in the browser are really read.
# Installs Chromium and CJK fonts through apt when missing. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# Chromium, and CJK fonts so Chinese pages render (and screenshot) as people see them.
missing=()
for p in chromium fonts-noto-cjk; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

bash scripts/build-web.sh
bash scripts/setup-models.sh
# shellcheck source=scripts/lib/demo-server.sh
. scripts/lib/demo-server.sh

# The capture sidecar on a random port, with a token made for this run.
cargo build --locked --quiet -p fieldline-capture
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
capture_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
capture_token="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
capture_log="$(mktemp)"
FIELDLINE_CAPTURE_TOKEN="$capture_token" FIELDLINE_CAPTURE_LISTEN="127.0.0.1:$capture_port" \
  "$target_dir/debug/fieldline-capture" serve >"$capture_log" 2>&1 &
capture_pid=$!
on_demo_stop() { kill "$capture_pid" 2>/dev/null || true; rm -f "$capture_log"; }
trap on_demo_stop EXIT
for _ in $(seq 1 600); do
  curl -fs "http://127.0.0.1:$capture_port/health" >/dev/null 2>&1 && break
  kill -0 "$capture_pid" 2>/dev/null || break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$capture_port/health" >/dev/null || { cat "$capture_log" >&2; exit 1; }
export FIELDLINE_CAPTURE__URL="http://127.0.0.1:$capture_port" FIELDLINE_CAPTURE__TOKEN="$capture_token"

start_demo_server --leads 60
FIELDLINE_BASE="http://127.0.0.1:$port" \
  FIELDLINE_REP_LINK="$(demo_link rep)" \
  FIELDLINE_MANAGER_LINK="$(demo_link manager)" \
  FIELDLINE_WAREHOUSE_LINK="$(demo_link warehouse)" \
  FIELDLINE_PURCHASING_LINK="$(demo_link purchasing)" \
  node web/tests/e2e.mjs
kill -0 "$pid" 2>/dev/null || { echo "the server died during the run" >&2; cat "$server_log" >&2; exit 1; }

# Then a larger demo (2,500 deals of the last year) for the board's paging: its admin's board
# has columns past their first 100 cards. Started only now, so its work does not weigh on the
# timings above.
start_demo_server --leads 10 --deals 2500
FIELDLINE_BIG_BASE="http://127.0.0.1:$port" FIELDLINE_BIG_ADMIN_LINK="$(demo_link admin)" \
  node web/tests/board-paging.mjs
