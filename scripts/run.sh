#!/usr/bin/env bash
# The whole system on one machine, the embedded default: installs what capture needs when it
# is missing (apt packages, checksummed models), builds the web app and the server, starts the capture sidecar with its
# models on 127.0.0.1:8091, and runs the server with demo data on 127.0.0.1:8080, wired to
# the sidecar. Arguments go to fieldline-demo (e.g. --config fieldline.toml). Ctrl-C stops
# both; data stays in ./data.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
bash scripts/setup-models.sh
# The web app is embedded in the server; without Node.js the server still serves the API.
bash scripts/build-web.sh || echo "warning: the web app was not built (see above); the server serves the API only" >&2
cargo build --release -p fieldline-demo -p fieldline-capture

# One token per data directory, generated on first start and kept beside the database.
mkdir -p data
if [ ! -s data/capture-token ]; then
  (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > data/capture-token)
fi
TOKEN="$(cat data/capture-token)"
CAPTURE_LISTEN="${FIELDLINE_CAPTURE_LISTEN:-127.0.0.1:8091}"

FIELDLINE_CAPTURE_TOKEN="$TOKEN" cargo run -q --release -p fieldline-capture -- \
  serve --listen "$CAPTURE_LISTEN" &
CAPTURE_PID=$!
trap 'kill "$CAPTURE_PID" 2>/dev/null || true; wait "$CAPTURE_PID" 2>/dev/null || true' EXIT INT TERM

# Uploads that arrive while the sidecar is still loading its models wait and are retried.
FIELDLINE_CAPTURE__URL="http://$CAPTURE_LISTEN" FIELDLINE_CAPTURE__TOKEN="$TOKEN" \
  cargo run -q --release -p fieldline-demo -- "$@"
