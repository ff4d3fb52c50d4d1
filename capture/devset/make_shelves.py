#!/usr/bin/env python3
"""Composes the synthetic shelf-photo dev set and labels it in the format of
../shared/eval/score_shelves.py: price-tag boxes, the price on each tag, and whether empty
facings (gaps) are visible. Deterministic for a seed.

usage: make_shelves.py OUT_DIR [--count 24] [--seed 11]
needs: Pillow, numpy, Debian fonts-noto-cjk and fonts-dejavu-core.
"""
import argparse
import json
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

NOTO = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
NOTO_BOLD = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
DEJAVU_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
PRODUCTS_ZH = ["农夫山泉", "可口可乐", "康师傅", "伊利纯牛奶", "旺仔", "百事可乐", "统一绿茶", "蒙牛酸奶"]
PRODUCTS_EN = ["Cola 330ml", "Green Tea", "Orange Juice", "Milk 1L", "Soda Water", "Iced Coffee"]


def homography(src, dst):
    """3x3 matrix mapping src points to dst points."""
    a, b = [], []
    for (x, y), (u, v) in zip(src, dst):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y]); b.append(u)
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y]); b.append(v)
    h = np.linalg.solve(np.array(a, float), np.array(b, float))
    return np.append(h, 1).reshape(3, 3)


def apply(h, pts):
    out = []
    for x, y in pts:
        u, v, w = h @ np.array([x, y, 1.0])
        out.append((u / w, v / w))
    return out


def price_text(r):
    style = r.random()
    if style < 0.5:
        value = f"{r.randint(1, 99)}.{r.choice(['00', '50', '80', '90', '99', '5', '9'])}"
    elif style < 0.8:
        value = str(r.randint(2, 199))
    else:
        value = f"{r.randint(1, 30)}.{r.randint(10, 99)}"
    symbol = r.choice(["¥", "¥", "￥", "$", ""])
    return symbol, value


def draw_product(d, r, x1, y1, x2, y2, font):
    color = tuple(r.randint(30, 230) for _ in range(3))
    if r.random() < 0.5:  # a box
        d.rectangle([x1, y1, x2, y2], fill=color, outline=(20, 20, 20))
        d.rectangle([x1 + 6, y1 + (y2 - y1) // 3, x2 - 6, y1 + (y2 - y1) // 2], fill=(250, 250, 240))
        d.text((x1 + 10, y1 + (y2 - y1) // 3 + 4), r.choice(PRODUCTS_ZH), font=font, fill=color)
    else:  # bottles
        n = max(1, (x2 - x1) // 45)
        w = (x2 - x1) / n
        for k in range(n):
            bx1, bx2 = x1 + k * w + 4, x1 + (k + 1) * w - 4
            d.rounded_rectangle([bx1, y1 + 25, bx2, y2], radius=10, fill=color)
            d.rectangle([bx1 + (bx2 - bx1) * 0.3, y1, bx2 - (bx2 - bx1) * 0.3, y1 + 28], fill=(240, 240, 240))
            d.rectangle([bx1, y1 + 60, bx2, y1 + 90], fill=(245, 245, 245))


def compose(r, gaps):
    W, H = 1400, 1000
    wall = np.full((H, W, 3), [r.randint(200, 235)] * 3, dtype=float)
    wall += np.linspace(-15, 15, H)[:, None, None]
    wall += np.random.default_rng(r.randint(0, 1 << 30)).normal(0, 3, (H, W, 1))
    img = Image.fromarray(np.clip(wall, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    small = ImageFont.truetype(NOTO, 18, index=2)
    tags, gap_slots = [], 0
    rows = 3
    row_h = H // rows
    empty_slots = set()
    if gaps:
        for _ in range(r.randint(1, 2)):
            empty_slots.add((r.randrange(rows), r.randrange(5)))
    for row in range(rows):
        board_y = row * row_h + row_h - 70
        d.rectangle([0, board_y, W, board_y + 70], fill=(r.randint(60, 110),) * 3)
        x = 30
        slot = 0
        while x < W - 180:
            sw = r.randint(170, 260)
            if (row, slot) not in empty_slots:
                top = row * row_h + r.randint(20, 70)
                draw_product(d, r, x + 8, top, x + sw - 8, board_y - 2, small)
            else:
                gap_slots += 1
            # the price tag on the board's front, under its facing
            tw, th = r.randint(130, 165), 62
            tx = x + (sw - tw) // 2
            ty = board_y + 4
            tag_color = r.choice([(250, 250, 250), (255, 230, 70), (255, 255, 255)])
            d.rectangle([tx, ty, tx + tw, ty + th], fill=tag_color, outline=(150, 150, 150))
            name = r.choice(PRODUCTS_ZH + PRODUCTS_EN)
            name_font = ImageFont.truetype(NOTO, 13, index=2)
            d.text((tx + 6, ty + 3), name, font=name_font, fill=(60, 60, 60))
            symbol, value = price_text(r)
            pf = ImageFont.truetype(DEJAVU_BOLD if not symbol or symbol == "$" else NOTO_BOLD, r.randint(28, 34),
                                    index=2) if symbol in ("¥", "￥") else ImageFont.truetype(DEJAVU_BOLD, r.randint(28, 34))
            text = f"{symbol}{value}"
            tw_text = d.textlength(text, font=pf)
            d.text((tx + tw - tw_text - 8, ty + 20), text, font=pf, fill=(200, 20, 20) if tag_color[2] > 200 else (20, 20, 20))
            tags.append(([(tx, ty), (tx + tw, ty), (tx + tw, ty + th), (tx, ty + th)], value))
            x += sw + r.randint(4, 20)
            slot += 1
    return img, tags, gap_slots > 0


def photograph(img, tags, r):
    W, H = img.size
    src = [(0, 0), (W, 0), (W, H), (0, H)]
    j = lambda: r.uniform(-0.04, 0.04) * W
    dst = [(x + j(), y + j()) for x, y in src]
    fwd = homography(src, dst)
    inv = np.linalg.inv(fwd)
    coeffs = (inv / inv[2, 2]).flatten()[:8]
    out = img.transform((W, H), Image.PERSPECTIVE, coeffs, Image.BICUBIC, fillcolor=(90, 90, 90))
    out = ImageEnhance.Brightness(out).enhance(r.uniform(0.75, 1.1))
    out = ImageEnhance.Contrast(out).enhance(r.uniform(0.75, 1.05))
    if r.random() < 0.6:
        out = out.filter(ImageFilter.GaussianBlur(r.uniform(0.3, 1.0)))
    scale = r.uniform(0.8, 1.05)
    out = out.resize((int(W * scale), int(H * scale)), Image.LANCZOS)
    boxes = []
    for corners, value in tags:
        pts = [(u * scale, v * scale) for u, v in apply(fwd, corners)]
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        box = [round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys))]
        if box[0] >= 0 and box[1] >= 0 and box[2] <= out.width and box[3] <= out.height:
            boxes.append((box, value))
    return out, boxes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=24)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    r = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    images = []
    for i in range(args.count):
        img, tags, gaps = compose(r, gaps=r.random() < 0.5)
        photo, boxes = photograph(img, tags, r)
        file = f"shelf-{i:03d}.jpg"
        photo.save(os.path.join(args.out, file), quality=r.randint(60, 90))
        images.append({"file": file,
                       "price_tags": {"boxes_xyxy_px": [b for b, _ in boxes]},
                       "price_values_per_detected_tag": {"tags": [{"bbox_xyxy": b, "price": v} for b, v in boxes]},
                       "hand_labels": {"gaps_visible": gaps}})
    with open(os.path.join(args.out, "labels.json"), "w", encoding="utf-8") as f:
        json.dump({"images": images}, f, ensure_ascii=False, indent=1)
    print(f"wrote {len(images)} shelves to {args.out}")


if __name__ == "__main__":
    main()
