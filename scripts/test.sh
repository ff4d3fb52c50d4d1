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

# The web app first: the server binary embeds what it builds (web/dist).
echo "== web app (build, type check against the API's types, lint)"
bash scripts/build-web.sh
echo "== format"
cargo fmt --all -- --check
echo "== lint"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== infrastructure template"
bash scripts/lint-infra.sh
echo "== tests"
# The AWS adapters are tested against a real DynamoDB + S3 wire-protocol server on 127.0.0.1
# (moto; one port speaks both).
# AWS_ENDPOINT_URL_DYNAMODB is the AWS SDKs' own setting for a custom endpoint.
AWS_ENDPOINT_URL_DYNAMODB="$(bash scripts/moto.sh start "${FIELDLINE_MOTO_PORT:-5005}")"
export AWS_ENDPOINT_URL_DYNAMODB
export AWS_ENDPOINT_URL_S3="$AWS_ENDPOINT_URL_DYNAMODB"
trap 'bash scripts/moto.sh stop' EXIT
cargo test --workspace --locked
echo "== the OpenAPI document against the server (Schemathesis)"
bash scripts/schemathesis.sh
echo "== the web app in a real browser (Playwright, Chromium, axe-core)"
bash scripts/test-web.sh
