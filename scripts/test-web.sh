#!/usr/bin/env bash
# The web app in a real browser: builds it, starts the demo server (embedded default, fresh
# data, random port) and drives Debian's Chromium, headless, with playwright-core through the
# manager's and the rep's main flows on a desktop and a phone viewport, with an axe-core
# accessibility check on each page; prints the budgets it measures and keeps screenshots in
# web/test-results/. Installs Chromium and CJK fonts through apt when missing. Called by scripts/test.sh.
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

# shellcheck source=scripts/lib/demo-server.sh
. scripts/lib/demo-server.sh
start_demo_server --leads 60

FIELDLINE_BASE="http://127.0.0.1:$port" \
  FIELDLINE_REP_LINK="$(demo_link rep)" \
  FIELDLINE_MANAGER_LINK="$(demo_link manager)" \
  node web/tests/e2e.mjs
kill -0 "$pid" 2>/dev/null || { echo "the server died during the run" >&2; cat "$server_log" >&2; exit 1; }
