#!/usr/bin/env bash
# Installs the capture service's models and runtimes from registry packages, idempotently,
# with checksums. Nothing comes from a model hub.
#
#   bash scripts/setup-models.sh            # into $FIELDLINE_MODELS_DIR or ~/.cache/fieldline/models
#
# Layout written:
#   onnxruntime/libonnxruntime.so      ONNX Runtime 1.22.1 (from the PyPI onnxruntime wheel)
#   ppocr/det.onnx rec.onnx cls.onnx   PP-OCRv4 detection, recognition (dictionary in its metadata)
#                                      and direction classification (from rapidocr-onnxruntime)
#   MANIFEST.sha256                    what was installed, checked on every run
set -euo pipefail

MODELS_DIR="${FIELDLINE_MODELS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fieldline/models}"
WHEELS="$MODELS_DIR/wheels"
mkdir -p "$WHEELS" "$MODELS_DIR/onnxruntime" "$MODELS_DIR/ppocr"

# name==version  sha256-of-wheel
WHEEL_PINS=(
  "onnxruntime==1.22.1 f6effa1299ac549a05c784d50292e3378dbbf010346ded67400193b09ddc2f04"
  "rapidocr-onnxruntime==1.4.4 971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf"
)

# installed file  sha256
FILE_PINS=(
  "onnxruntime/libonnxruntime.so ad9665887025474170d3e71cd28021e7e811c5bf201bc365f953e34a2c4989cc"
  "ppocr/det.onnx d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9"
  "ppocr/rec.onnx 48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"
  "ppocr/cls.onnx e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

fetch_wheel() { # name==version expected-sha -> path of the verified wheel
  local spec=$1 want=$2 name version file
  name=${spec%%==*}; version=${spec##*==}
  file=$(ls "$WHEELS"/"${name//-/_}"-"$version"-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$file" ] || [ "$(sha "$file")" != "$want" ]; then
    rm -f "$WHEELS"/"${name//-/_}"-"$version"-*.whl
    python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$WHEELS" "$spec" >&2
    file=$(ls "$WHEELS"/"${name//-/_}"-"$version"-*.whl | head -n1)
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

ort_wheel=$(fetch_wheel ${WHEEL_PINS[0]})
ocr_wheel=$(fetch_wheel ${WHEEL_PINS[1]})
extract "$ort_wheel" onnxruntime/capi/libonnxruntime.so.1.22.1 "$MODELS_DIR/onnxruntime/libonnxruntime.so"
extract "$ocr_wheel" rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx "$MODELS_DIR/ppocr/det.onnx"
extract "$ocr_wheel" rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx "$MODELS_DIR/ppocr/rec.onnx"
extract "$ocr_wheel" rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx "$MODELS_DIR/ppocr/cls.onnx"

if ! verified; then
  echo "installed files do not match their pinned checksums:" >&2
  for pin in "${FILE_PINS[@]}"; do set -- $pin; echo "  $1 $(sha "$MODELS_DIR/$1" 2>/dev/null || echo missing) (want $2)" >&2; done
  exit 1
fi
(cd "$MODELS_DIR" && sha256sum onnxruntime/libonnxruntime.so ppocr/*.onnx > MANIFEST.sha256)
echo "models installed in $MODELS_DIR"
