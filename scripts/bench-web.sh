#!/usr/bin/env bash
# Benchmark: the pipeline board with 500+ cards, scrolled in Debian's Chromium with the CPU
# slowed 4x, against a plain page of as many rows (web/tests/board-scroll.mjs). Starts its
# own demo server with a large year of deals (BENCH_DEALS, default 2500, about 680 of them
# open; the admin's board shows up to 100 per column). Prints figures; not part of the tests.
#
#   bash scripts/bench-web.sh            BENCH_DEALS=4000 BENCH_CPU_SLOWDOWN=6 bash scripts/bench-web.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-web.sh >/dev/null
# shellcheck source=scripts/lib/demo-server.sh
. scripts/lib/demo-server.sh
start_demo_server --leads 10 --deals "${BENCH_DEALS:-2500}"
FIELDLINE_BASE="http://127.0.0.1:$port" FIELDLINE_ADMIN_LINK="$(demo_link admin)" \
  node web/tests/board-scroll.mjs
