#!/usr/bin/env python3
"""The Python route a user would otherwise take for shelf photos: RapidOCR (the same PP-OCRv6
small models our setup script installs, from the same rapidocr 3.10.0 wheel) plus a short
script of the kind one writes in an afternoon — a price pattern over the recognised lines, the
tag taken as the price's text box grown by fixed margins (tags are larger than their digits,
and name and unit price sit left of the price), and out-of-stock as "a large share of the
photo is flat" (an empty facing shows bare shelf or wall). It is a peer to measure against,
not a reference: its margins and threshold are round numbers chosen before any run, never
tuned on the real set.

usage: rapidocr_shelves_peer.py THREADS IMAGE... > predictions.jsonl
       (pip install rapidocr==3.10.0 onnxruntime pillow numpy)

Prints one JSON object per image in the shelf scorer's format, with "ms" (OCR and rules
time) as an extra key.
"""
import json
import os
import re
import sys
import time

# A price alone on its line: optional currency sign, digits, optional decimals, optional mark.
PRICE = re.compile(r"^[¥￥$€£]?\s*(\d{1,4})(?:[.,](\d{1,2}))?\s*(元|€|kr|,-|:-|円)?$", re.I)
# Tag margins in units of the price's text height / width.
LEFT, RIGHT, UP, DOWN = 1.0, 0.2, 0.5, 0.5
# A cell is flat when its mean gradient is below this (0-255 grey levels per pixel), and the
# photo is flagged out of stock when at least this share of its cells are flat.
FLAT_GRADIENT, FLAT_SHARE = 4.0, 0.15


def price_tags(result, width, height):
    tags = []
    if result.txts is None:
        return tags
    for text, box in zip(result.txts, result.boxes):
        m = PRICE.match(text.strip().replace(" ", ""))
        if not m:
            continue
        xs = [p[0] for p in box]
        ys = [p[1] for p in box]
        x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
        w, h = x2 - x1, y2 - y1
        price = m.group(1) + ("." + m.group(2) if m.group(2) else "")
        tags.append({
            "box": [round(max(0, x1 - LEFT * w)), round(max(0, y1 - UP * h)),
                    round(min(width, x2 + RIGHT * w)), round(min(height, y2 + DOWN * h))],
            "price": price,
            "text": text,
        })
    return tags


def flat_share(grey):
    import numpy as np

    g = grey.astype(np.float32)
    grad = np.abs(np.diff(g, axis=1))[:-1, :] + np.abs(np.diff(g, axis=0))[:, :-1]
    rows, cols = 8, 8
    h, w = grad.shape
    flat = 0
    for r in range(rows):
        for c in range(cols):
            cell = grad[r * h // rows:(r + 1) * h // rows, c * w // cols:(c + 1) * w // cols]
            flat += int(cell.mean() < FLAT_GRADIENT)
    return flat / (rows * cols)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    import numpy as np
    from PIL import Image
    from rapidocr import RapidOCR

    threads = int(argv[1])
    engine = RapidOCR(params={"EngineConfig.onnxruntime.intra_op_num_threads": threads,
                              "EngineConfig.onnxruntime.inter_op_num_threads": 1})
    for path in argv[2:]:
        start = time.perf_counter()
        image = Image.open(path).convert("RGB")
        result = engine(np.asarray(image))
        tags = price_tags(result, image.width, image.height)
        share = flat_share(np.asarray(image.convert("L")))
        out = {"file": os.path.basename(path), "price_tags": tags,
               "out_of_stock": share >= FLAT_SHARE, "flat_share": round(share, 3),
               "ms": round((time.perf_counter() - start) * 1000, 1)}
        print(json.dumps(out, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(sys.argv)
