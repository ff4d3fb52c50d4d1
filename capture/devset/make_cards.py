#!/usr/bin/env python3
"""Renders the synthetic business-card dev set with real fonts and labels it in the format of
../shared/eval/score_cards.py. Deterministic for a seed.

usage: make_cards.py OUT_DIR [--count 40] [--seed 7]
needs: Pillow, numpy, Debian fonts-noto-cjk and fonts-dejavu-core.
Writes OUT_DIR/card-NNN.jpg and OUT_DIR/labels.json.
"""
import argparse
import json
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

NOTO = "/usr/share/fonts/opentype/noto/"
DEJAVU = "/usr/share/fonts/truetype/dejavu/"
CJK_FONTS = [(NOTO + "NotoSansCJK-Regular.ttc", NOTO + "NotoSansCJK-Bold.ttc"),
             (NOTO + "NotoSerifCJK-Regular.ttc", NOTO + "NotoSerifCJK-Bold.ttc")]
LATIN_FONTS = [(DEJAVU + "DejaVuSans.ttf", DEJAVU + "DejaVuSans-Bold.ttf"),
               (DEJAVU + "DejaVuSerif.ttf", DEJAVU + "DejaVuSerif-Bold.ttf"),
               (DEJAVU + "DejaVuSansCondensed.ttf", DEJAVU + "DejaVuSansCondensed-Bold.ttf")]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "强", "洋", "勇", "军", "杰", "涛", "明", "超", "建国", "晓明", "海燕", "志强", "丽华", "文博", "思远"]
CITIES = [("江苏省", "苏州市", "工业园区", "0512"), ("浙江省", "杭州市", "滨江区", "0571"), ("广东省", "深圳市", "南山区", "0755"),
          ("上海市", "", "浦东新区", "021"), ("北京市", "", "朝阳区", "010"), ("广东省", "广州市", "天河区", "020")]
TRADES = ["精密机械", "电子科技", "包装材料", "食品", "医疗器械", "新材料", "自动化设备", "国际物流"]
SUFFIX_ZH = ["有限公司", "科技有限公司", "股份有限公司", "集团有限公司"]
DEPTS_ZH = ["销售部", "采购部", "市场部", "技术部", "国际贸易部", "客户服务中心"]
TITLES_ZH = ["销售经理", "采购经理", "总经理", "技术总监", "区域经理", "高级工程师", "市场专员", "副总经理"]
ROADS = ["星湖街", "金鸡湖大道", "文三路", "科技园南路", "世纪大道", "建国路", "天河路", "江南大道"]
BUILDINGS = ["", "国际大厦", "创新中心", "科技园", "金融广场"]

LATIN = {
    "en": dict(first=["Emily", "James", "Olivia", "Daniel", "Grace", "Ryan", "Sophie", "Ethan"],
               last=["Chan", "Smith", "Wong", "Taylor", "Lee", "Morgan", "Walker", "Tan"],
               titles=["Sales Manager", "Regional Sales Director", "Procurement Manager", "Chief Technology Officer",
                       "Account Executive", "Senior Engineer", "Business Development Manager"],
               depts=["Sales Department", "Procurement", "Marketing Department", "Engineering Division"],
               company=lambda r: f"{r.choice(['Harbor', 'Summit', 'Pacific', 'Evergreen', 'Silverline', 'Orient'])} "
                                 f"{r.choice(['Packaging', 'Automation', 'Foods', 'Logistics', 'Electronics', 'Materials'])} "
                                 f"{r.choice(['Ltd', 'Limited', 'Inc.', 'Co., Ltd.', 'Pte Ltd'])}",
               places=[("+852", lambda r: f"{r.randint(2, 3)}{r.randint(100, 999)} {r.randint(1000, 9999)}",
                        lambda r: f"{r.choice('569')}{r.randint(100, 999)} {r.randint(1000, 9999)}",
                        lambda r: f"Unit {r.randint(1, 30)}0{r.randint(1, 9)}, {r.randint(5, 40)}/F, {r.randint(1, 200)} Queen's Road Central, Hong Kong"),
                       ("+65", lambda r: f"6{r.randint(100, 999)} {r.randint(1000, 9999)}",
                        lambda r: f"{r.choice('89')}{r.randint(100, 999)} {r.randint(1000, 9999)}",
                        lambda r: f"{r.randint(1, 80)} Raffles Place, #{r.randint(10, 40)}-0{r.randint(1, 9)}, Singapore 0486{r.randint(10, 99)}"),
                       ("+44", lambda r: f"20 7946 0{r.randint(100, 999)}",
                        lambda r: f"7700 900{r.randint(100, 999)}",
                        lambda r: f"{r.randint(1, 300)} Baker Street, London NW1 6XE")],
               labels=[("T", "M", "F"), ("Tel:", "Mobile:", "Fax:"), ("Office", "Mobile", "Fax")]),
    "de": dict(first=["Lukas", "Anna", "Jonas", "Lea", "Felix", "Marie"], last=["Müller", "Schmidt", "Schneider", "Fischer", "Weber"],
               titles=["Geschäftsführer", "Leiter Vertrieb", "Vertriebsleiterin", "Einkaufsleiter"], depts=["Abteilung Vertrieb", "Abteilung Einkauf"],
               company=lambda r: f"{r.choice(['Müller', 'Weber', 'Becker', 'Hoffmann'])} {r.choice(['Maschinenbau', 'Verpackung', 'Logistik'])} GmbH",
               places=[("+49", lambda r: f"30 {r.randint(1000000, 9999999)}", lambda r: f"151 {r.randint(10000000, 99999999)}",
                        lambda r: f"{r.choice(['Hauptstraße', 'Bahnhofstraße', 'Industriestraße'])} {r.randint(1, 120)}, 10115 Berlin")],
               labels=[("Tel.", "Mobil", "Fax"), ("T", "M", "F")]),
    "fr": dict(first=["Camille", "Louis", "Chloé", "Hugo", "Manon"], last=["Dubois", "Martin", "Bernard", "Leroy", "Moreau"],
               titles=["Directrice Commerciale", "Directeur Commercial", "Responsable Achats", "Ingénieur Commercial"], depts=["Département Export"],
               company=lambda r: f"{r.choice(['Dubois', 'Lefèvre', 'Garnier'])} {r.choice(['Emballages', 'Industries', 'Logistique'])} SAS",
               places=[("+33", lambda r: f"1 {r.randint(40, 49)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}",
                        lambda r: f"6 {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}",
                        lambda r: f"{r.randint(1, 90)} rue de la Paix, 75002 Paris")],
               labels=[("Tél.", "Mobile", "Fax"), ("T", "M", "F")]),
    "es": dict(first=["Javier", "Lucía", "Carlos", "Sofía", "Pablo"], last=["García", "Fernández", "López", "Martínez", "Sánchez"],
               titles=["Gerente de Ventas", "Director Comercial", "Jefe de Compras", "Ingeniero de Ventas"], depts=["Departamento Comercial"],
               company=lambda r: f"{r.choice(['Industrias', 'Envases', 'Logística'])} {r.choice(['García', 'Ibérica', 'del Norte'])} S.L.",
               places=[("+34", lambda r: f"91 {r.randint(100, 999)} {r.randint(10, 99)} {r.randint(10, 99)}",
                        lambda r: f"6{r.randint(10, 99)} {r.randint(100, 999)} {r.randint(100, 999)}",
                        lambda r: f"Calle de Alcalá {r.randint(1, 200)}, 28014 Madrid")],
               labels=[("Tel.", "Móvil", "Fax"), ("T", "M", "F")]),
}


def chinese_person(r):
    city = r.choice(CITIES)
    surname, given = r.choice(SURNAMES), r.choice(GIVEN)
    domain = r.choice(["szjm", "hzdz", "gdbz", "shxcl", "bjzd", "gztl"]) + r.choice([".com", ".com.cn", ".cn"])
    area = city[3]
    local = f"{r.randint(5, 8)}{r.randint(100, 999)} {r.randint(1000, 9999)}"
    mobile = f"1{r.choice('3589')}{r.randint(0, 9)} {r.randint(1000, 9999)} {r.randint(1000, 9999)}"
    addr = f"{city[0]}{city[1]}{city[2]}{r.choice(ROADS)}{r.randint(1, 999)}号{r.choice(BUILDINGS)}"
    if r.random() < 0.4:
        addr += f"{r.randint(2, 30)}楼"
    return dict(
        lang="zh", name=surname + given, company=city[1].rstrip("市") + r.choice(TRADES) + r.choice(SUFFIX_ZH) if city[1] else city[0].rstrip("市") + r.choice(TRADES) + r.choice(SUFFIX_ZH),
        department=r.choice(DEPTS_ZH) if r.random() < 0.6 else None, title=r.choice(TITLES_ZH),
        phones=[("mobile", r.choice(["手机:", "手机：", "M:", ""]), mobile),
                ("work", r.choice(["电话:", "电话：", "Tel:"]), f"{area}-{local}")]
        + ([("fax", r.choice(["传真:", "Fax:"]), f"{area}-{local[:-1]}{(int(local[-1]) + 1) % 10}")] if r.random() < 0.4 else []),
        emails=[f"{r.choice(['sales', 'info', 'wang', 'li', 'zhang', 'chen'])}{r.randint(1, 99)}@{domain}"],
        websites=[f"www.{domain}"] if r.random() < 0.5 else [],
        address=addr, email_label=r.choice(["邮箱:", "E-mail:", "Email:", ""]), web_label=r.choice(["网址:", "Web:", ""]),
        address_label=r.choice(["地址:", "地址：", ""]))


def latin_person(r, lang):
    spec = LATIN[lang]
    first, last = r.choice(spec["first"]), r.choice(spec["last"])
    cc, work, mobile, addr = r.choice(spec["places"])
    labels = r.choice(spec["labels"])
    company = spec["company"](r)
    domain = "".join(ch for ch in company.split()[0].lower() if ch.isascii() and ch.isalpha()) + r.choice([".com", ".co", ".net"])
    phones = [("work", labels[0], f"{cc} {work(r)}"), ("mobile", labels[1], f"{cc} {mobile(r)}")]
    if r.random() < 0.3:
        phones.append(("fax", labels[2], f"{cc} {work(r)}"))
    ascii_first = first.translate(str.maketrans("éüöäíóá", "euoaioa")).lower()
    ascii_last = last.translate(str.maketrans("éüöäíóá", "euoaioa")).lower()
    return dict(lang=lang, name=f"{first} {last}", company=company,
                department=r.choice(spec["depts"]) if r.random() < 0.35 else None, title=r.choice(spec["titles"]),
                phones=phones, emails=[f"{ascii_first}.{ascii_last}@{domain}"],
                websites=[f"www.{domain}"] if r.random() < 0.6 else [], address=addr(r),
                email_label=r.choice(["E", "Email:", ""]), web_label=r.choice(["W", "Web:", ""]), address_label="")


def font(path, size, cjk):
    return ImageFont.truetype(path, size, index=2) if cjk else ImageFont.truetype(path, size)


def render(p, r):
    W, H = 1050, 600
    bg = tuple(r.randint(235, 255) for _ in range(3)) if r.random() < 0.8 else (r.randint(20, 50), r.randint(30, 60), r.randint(60, 90))
    ink = (20, 20, 25) if sum(bg) > 400 else (240, 240, 240)
    accent = r.choice([(180, 30, 40), (20, 70, 140), (30, 110, 60), ink])
    img = Image.new("RGB", (W, H), bg)
    d = ImageDraw.Draw(img)
    cjk = p["lang"] == "zh"
    regular, bold = r.choice(CJK_FONTS if cjk else LATIN_FONTS)
    layout = r.choice(["left", "center", "columns"])
    name_size, small = r.randint(52, 70), r.randint(24, 30)
    contact_lines = [f"{label} {num}".strip() if label and not label.endswith((":", "：")) else f"{label}{num}"
                     for _, label, num in p["phones"]]
    contact_lines += [f"{p['email_label']} {e}".strip() for e in p["emails"]]
    contact_lines += [f"{p['web_label']} {w}".strip() for w in p["websites"]]
    address = f"{p['address_label']}{p['address']}"
    header = [(p["name"], font(bold, name_size, cjk), ink)]
    if p["department"] and p["lang"] == "zh" and r.random() < 0.5:
        header.append((f"{p['department']}  {p['title']}", font(regular, small + 4, cjk), ink))
    else:
        if p["department"]:
            header.append((p["department"], font(regular, small + 2, cjk), ink))
        header.append((p["title"], font(regular, small + 4, cjk), ink))
    company = (p["company"], font(bold, r.randint(32, 40), cjk), accent)
    f_small = font(regular, small, cjk)
    if layout == "left":
        y = 45
        d.text((60, y), company[0], font=company[1], fill=company[2]); y += 90
        for text, f, c in header:
            d.text((60, y), text, font=f, fill=c); y += f.size + 22
        y = max(y, 330)
        for line in contact_lines + [address]:
            d.text((60, y), line, font=f_small, fill=ink); y += small + 12
    elif layout == "center":
        y = 60
        for text, f, c in header + [company]:
            w = d.textlength(text, font=f)
            d.text(((W - w) / 2, y), text, font=f, fill=c); y += f.size + 24
        d.line([(120, y), (W - 120, y)], fill=accent, width=3); y += 20
        for line in contact_lines + [address]:
            w = d.textlength(line, font=f_small)
            d.text(((W - w) / 2, y), line, font=f_small, fill=ink); y += small + 10
    else:
        d.rectangle([W - 190, 40, W - 60, 170], fill=accent)  # a logo block
        y = 60
        for text, f, c in header:
            d.text((60, y), text, font=f, fill=c); y += f.size + 20
        d.text((60, y + 10), company[0], font=company[1], fill=company[2])
        y = 300
        for line in contact_lines:
            d.text((560 if not cjk else 520, y), line, font=f_small, fill=ink); y += small + 12
        d.text((60, max(y, 300 + 5 * (small + 12)) + 10), address, font=f_small, fill=ink)
    return img


def perspective_coeffs(src, dst):
    a = []
    for (x, y), (u, v) in zip(dst, src):
        a.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        a.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    b = np.array(src).reshape(8)
    return np.linalg.lstsq(np.array(a, dtype=float), b, rcond=None)[0]


def photograph(card, r):
    """Puts the card on a table and photographs it badly: perspective, rotation, light, blur, noise, JPEG."""
    W, H = card.size
    pad = r.randint(60, 160)
    table = tuple(r.randint(60, 200) for _ in range(3))
    canvas = Image.new("RGB", (W + 2 * pad, H + 2 * pad), table)
    noise = np.random.default_rng(r.randint(0, 1 << 30)).normal(0, 8, (canvas.size[1], canvas.size[0], 1))
    canvas = Image.fromarray(np.clip(np.asarray(canvas, dtype=float) + noise, 0, 255).astype(np.uint8))
    canvas.paste(card, (pad, pad))
    j = lambda: r.uniform(-0.05, 0.05) * W
    src = [(pad, pad), (pad + W, pad), (pad + W, pad + H), (pad, pad + H)]
    dst = [(x + j(), y + j()) for x, y in src]
    coeffs = perspective_coeffs(src, dst)
    out = canvas.transform(canvas.size, Image.PERSPECTIVE, coeffs, Image.BICUBIC, fillcolor=table)
    out = out.rotate(r.uniform(-6, 6), Image.BICUBIC, expand=True, fillcolor=table)
    out = ImageEnhance.Brightness(out).enhance(r.uniform(0.7, 1.15))
    out = ImageEnhance.Contrast(out).enhance(r.uniform(0.65, 1.1))
    if r.random() < 0.6:
        out = out.filter(ImageFilter.GaussianBlur(r.uniform(0.3, 1.4)))
    scale = r.uniform(0.55, 1.1)
    out = out.resize((int(out.width * scale), int(out.height * scale)), Image.LANCZOS)
    return out


def label_of(p, file):
    return {"file": file, "name": p["name"], "title": p["title"], "department": p["department"], "company": p["company"],
            "phones": [{"type": t, "number": n} for t, _, n in p["phones"]], "emails": p["emails"],
            "websites": p["websites"], "address": p["address"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    r = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    labels = []
    langs = ["zh"] * 5 + ["en"] * 3 + ["de", "fr", "es"]
    for i in range(args.count):
        lang = r.choice(langs)
        p = chinese_person(r) if lang == "zh" else latin_person(r, lang)
        file = f"card-{i:03d}.jpg"
        photograph(render(p, r), r).save(os.path.join(args.out, file), quality=r.randint(45, 90))
        labels.append(label_of(p, file))
    with open(os.path.join(args.out, "labels.json"), "w", encoding="utf-8") as f:
        json.dump({"cards": labels}, f, ensure_ascii=False, indent=1)
    print(f"wrote {len(labels)} cards to {args.out}")


if __name__ == "__main__":
    main()
