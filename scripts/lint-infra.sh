#!/usr/bin/env bash
# Validates infra/template.yaml offline with cfn-lint (PyPI, pinned, in its own virtualenv).
# cfn-lint expands the SAM transform itself, so the functions, events and policies SAM
# generates are checked too — no AWS account or network access to AWS needed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${FIELDLINE_CFN_LINT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldline/cfn-lint-venv}"
PIN="1.58.0"

if [ ! -x "$VENV/bin/cfn-lint" ] || [ "$("$VENV/bin/cfn-lint" --version 2>/dev/null)" != "cfn-lint $PIN" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "cfn-lint==$PIN" >&2
fi
"$VENV/bin/cfn-lint" infra/template.yaml
echo "infra/template.yaml: cfn-lint $PIN clean"
