#!/usr/bin/env bash
# Builds the web app (web/) into web/dist, which the server binary embeds (functions/web).
# Needs Node.js 20.19 or newer with npm; the packages come from the npm registry at the
# versions web/package-lock.json pins. Also type-checks against the API's own types
# (generated from web/openapi.json) and lints. Idempotent: reinstalls only when the lock
# file changed.
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v node >/dev/null || ! node -e '
  const [a, b] = process.versions.node.split(".").map(Number);
  process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1);'; then
  echo "the web app needs Node.js 20.19 or newer with npm (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
npm run --silent lint
