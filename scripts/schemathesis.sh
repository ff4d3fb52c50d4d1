#!/usr/bin/env bash
# Holds the server to its own OpenAPI document: starts the demo server (embedded default, fresh
# data directory, random port on 127.0.0.1) and runs Schemathesis (PyPI, pinned with its
# dependencies) against /v1/openapi.json with every check, once as each role (admin, manager,
# rep). Exceptions, each with its reason, are in tests/schemathesis/schemathesis.toml. Called
# by scripts/test.sh.
#
#   bash scripts/schemathesis.sh
#   FIELDLINE_ST_EXAMPLES=200 FIELDLINE_ST_SEED=random bash scripts/schemathesis.sh   # explore
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${FIELDLINE_ST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldline/schemathesis-venv}"
EXAMPLES="${FIELDLINE_ST_EXAMPLES:-50}"
# A fixed seed keeps CI reproducible; `random` explores.
SEED="${FIELDLINE_ST_SEED:-20261127}"
# One worker thread per run: Hypothesis is not thread-safe where it describes a strategy (it
# iterates shared dictionaries such as sys.modules while another worker thread may import), and
# with two workers a CI run once failed inside Hypothesis with "dictionary changed size during
# iteration" on a passing operation. The three role runs still go side by side as processes.
WORKERS="${FIELDLINE_ST_WORKERS:-1}"

# CPython 3.11 can fail inside Hypothesis with "AST constructor recursion depth mismatch"
# (a CPython bug fixed in 3.12), which stops whole test phases: use a newer Python when the
# machine has one.
pick_python() {
  local candidates=(python3.13 python3.12)
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  if [ -d "$root/versions" ]; then
    while IFS= read -r p; do candidates+=("$p"); done \
      < <(ls -d "$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV)
  fi
  for py in "${candidates[@]}"; do
    if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
      echo "$py"
      return
    fi
  done
  echo "note: no Python >= 3.12 found; Schemathesis on $(python3 --version) may hit a CPython bug" >&2
  echo python3
}

# Schemathesis and everything it pulls in (Hypothesis above all) at the versions in the lock
# file, so a new release of a dependency cannot change a CI run; the venv is rebuilt when the
# lock file changes.
LOCK=tests/schemathesis/requirements.txt
STAMP="$(sha256sum "$LOCK" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/schemathesis" ] || [ "$(cat "$VENV/.fieldline-lock" 2>/dev/null)" != "$STAMP" ]; then
  rm -rf "$VENV"
  "$(pick_python)" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --no-deps -r "$LOCK" >&2
  "$VENV/bin/pip" check >&2
  echo "$STAMP" >"$VENV/.fieldline-lock"
fi

# shellcheck source=scripts/lib/demo-server.sh
. scripts/lib/demo-server.sh
# One demo server per role (each run starts from the demo's data), the three runs side by
# side: one after another they took twelve and a half minutes of CI, mostly one busy Python
# thread at a time; together about nine here, with other work on the machine.
declare -A ports logs tokens servers
for role in admin manager rep; do
  start_demo_server --leads 40
  ports[$role]="$port"
  logs[$role]="$server_log"
  servers[$role]="$pid"
  tokens[$role]="$(demo_token "$role")"
done
out="$work"
seed_args=()
[ "$SEED" = random ] || seed_args=(--seed "$SEED")
declare -A runs
for role in admin manager rep; do
  "$VENV/bin/schemathesis" --config-file tests/schemathesis/schemathesis.toml \
    run "http://127.0.0.1:${ports[$role]}/v1/openapi.json" \
    -H "Authorization: Bearer ${tokens[$role]}" \
    --max-examples "$EXAMPLES" --workers "$WORKERS" "${seed_args[@]}" \
    --no-color >"$out/schemathesis-$role.log" 2>&1 &
  runs[$role]=$!
done

status=0
for role in admin manager rep; do
  echo "== schemathesis as $role ($EXAMPLES examples, seed $SEED)"
  wait "${runs[$role]}" || status=1
  cat "$out/schemathesis-$role.log"
  kill -0 "${servers[$role]}" 2>/dev/null || {
    echo "the $role's server died during the run" >&2
    cat "${logs[$role]}" >&2
    status=1
  }
done
exit "$status"
