#!/usr/bin/env python3
"""The Python route a user would otherwise take for business cards: RapidOCR (the same
PP-OCRv6 small models our setup script installs, from the same rapidocr 3.10.0 wheel) plus a
short extractor of the kind one writes in an afternoon — regular expressions for e-mails,
websites and phones, keyword lists for company, title, department and address, and the
tallest remaining line as the name. It is a peer to measure against, not a reference: it
was written here, without looking at any photo of the real set.

usage: rapidocr_cards_peer.py THREADS IMAGE... > predictions.jsonl
       (pip install rapidocr==3.10.0 onnxruntime)

Prints one JSON object per image in the card scorer's format, with "ms" (OCR and extraction
time) as an extra key.
"""
import json
import os
import re
import sys
import time

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
WEB = re.compile(r"(https?://\S+|www\.\S+)", re.I)
PHONE = re.compile(r"\+?\(?\d[\d\s\-().]{6,}\d")
MOBILE = re.compile(r"\b(m|mob|mobile|cell|手机)\b", re.I)
FAX = re.compile(r"\b(f|fax|传真)\b", re.I)
COMPANY = re.compile(
    r"(co\.|ltd|inc\b|corp|company|llc|gmbh|jsc|limited|有限公司|公司|集团|ltda|công ty)", re.I)
TITLE = re.compile(
    r"(manager|director|president|ceo|cto|engineer|officer|head|chief|lead|assistant|consultant|"
    r"经理|总监|总裁|工程师|主管|主任)", re.I)
DEPT = re.compile(r"(department|dept|division|section|部|中心)", re.I)
ADDRESS = re.compile(
    r"(street|st\.|road|rd\.|avenue|floor|building|bldg|city|district|ward|-ku|japan|vietnam|"
    r"\d{3}-\d{4}|省|市|区|路|号)", re.I)


def extract(lines):
    """lines: (text, height) in reading order."""
    out = {"name": None, "title": None, "department": None, "company": None, "phones": [],
           "emails": [], "websites": [], "address": None}
    rest = []
    for text, height in lines:
        t = text.strip()
        if not t:
            continue
        emails = [m.group(0) for m in EMAIL.finditer(t)]
        if emails:
            out["emails"] += emails
            continue
        web = WEB.search(t)
        if web:
            out["websites"].append(web.group(0).rstrip(".,"))
            continue
        phones = PHONE.findall(t)
        if phones and sum(c.isdigit() for c in t) >= 7 and not ADDRESS.search(t):
            kind = "mobile" if MOBILE.search(t) else "fax" if FAX.search(t) else "work"
            out["phones"] += [{"type": kind, "number": p.strip()} for p in phones]
            continue
        if ADDRESS.search(t) and any(c.isdigit() for c in t):
            out["address"] = t if out["address"] is None else out["address"] + " " + t
            continue
        rest.append((t, height))
    names = []
    for t, height in rest:
        if out["company"] is None and COMPANY.search(t):
            out["company"] = t
        elif out["title"] is None and TITLE.search(t):
            out["title"] = t
        elif out["department"] is None and DEPT.search(t):
            out["department"] = t
        elif 1 <= len(t.split()) <= 4 or re.fullmatch(r"[\u4e00-\u9fff]{2,4}", t):
            names.append((height, t))
    if names:
        out["name"] = max(names)[1]
    return out


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    from rapidocr import RapidOCR

    threads = int(argv[1])
    engine = RapidOCR(params={"EngineConfig.onnxruntime.intra_op_num_threads": threads,
                              "EngineConfig.onnxruntime.inter_op_num_threads": 1})
    for path in argv[2:]:
        start = time.perf_counter()
        result = engine(path)
        lines = []
        if result.txts is not None:
            for text, box in zip(result.txts, result.boxes):
                ys = [p[1] for p in box]
                lines.append((text, max(ys) - min(ys)))
        fields = extract(lines)
        fields["file"] = os.path.basename(path)
        fields["ms"] = round((time.perf_counter() - start) * 1000, 1)
        print(json.dumps(fields, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(sys.argv)
