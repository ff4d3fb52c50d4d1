#!/usr/bin/env bash
# The whole test suite, installing what it needs first. README.md names this command and
# .ci/run calls it: keep the three in step.
set -euo pipefail
cd "$(dirname "$0")/.."

# Toolchain parts the checks use (present on a machine of this kind; cheap no-ops then).
rustup component add rustfmt clippy >/dev/null 2>&1 || true
# The capture crate builds against libtesseract and its tests run the real OCR models:
# install both (idempotent; models checksummed).
bash scripts/setup-system.sh
bash scripts/setup-models.sh

echo "== format"
cargo fmt --all -- --check
echo "== lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
cargo test --workspace --locked
