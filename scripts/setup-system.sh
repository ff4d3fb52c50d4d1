#!/usr/bin/env bash
# Debian packages the capture crate builds and tests against: libtesseract + leptonica (the
# Tesseract engine, through bindgen, hence libclang), Tesseract's language packs, cmake (whisper-rs
# builds whisper.cpp with it), libopus (Opus voice notes from chat apps) and python3-venv (the
# model set-up and moto run in their own virtual environments; Debian's Python refuses
# system-wide pip installs).
# Idempotent: installs only what is missing. Needs root (or sudo) on a Debian machine.
set -euo pipefail
packages=(libtesseract-dev libleptonica-dev libclang-dev cmake libopus-dev pkg-config python3-venv
          tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-spa)
# Node.js and npm build the web app (web/); only when the machine has no Node.js at all (a
# distribution's older Node.js is reported by scripts/build-web.sh, not replaced).
command -v node >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages ok"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "installed: ${missing[*]}"
