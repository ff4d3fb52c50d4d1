#!/usr/bin/env bash
# A real DynamoDB + S3 wire-protocol server on 127.0.0.1 for the AWS adapters' tests: moto in
# server mode (PyPI `moto[server]`, pinned), installed into its own virtualenv.
#
#   bash scripts/moto.sh start [PORT]   # prints the endpoint, e.g. http://127.0.0.1:5005
#   bash scripts/moto.sh stop
set -euo pipefail

VENV="${FIELDLINE_MOTO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldline/moto-venv}"
STATE="${FIELDLINE_MOTO_STATE:-${TMPDIR:-/tmp}/fieldline-moto}"
MOTO_PIN="moto[server]==5.2.5"

install() {
  if [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/pip" show moto 2>/dev/null | grep -q "^Version: 5.2.5$"; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "$MOTO_PIN" >&2
  fi
}

case "${1:-}" in
  start)
    port="${2:-5005}"
    install
    mkdir -p "$STATE"
    if [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
      echo "http://127.0.0.1:$(cat "$STATE/port")"
      exit 0
    fi
    # One request at a time: see moto_serial.py for why.
    "$VENV/bin/python" "$(dirname "$0")/moto_serial.py" "$port" >"$STATE/log" 2>&1 &
    echo $! >"$STATE/pid"
    echo "$port" >"$STATE/port"
    for _ in $(seq 1 100); do
      if curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then
        echo "http://127.0.0.1:$port"
        exit 0
      fi
      sleep 0.1
    done
    echo "moto did not start; see $STATE/log" >&2
    exit 1
    ;;
  stop)
    if [ -f "$STATE/pid" ]; then
      kill "$(cat "$STATE/pid")" 2>/dev/null || true
      rm -f "$STATE/pid"
    fi
    ;;
  *)
    echo "usage: $0 start [PORT] | stop" >&2
    exit 2
    ;;
esac
