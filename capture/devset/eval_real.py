#!/usr/bin/env python3
"""Scores capture predictions on the real development set (../shared/realdev) twice: on the
files we tune on ("dev") and on a held-out split we never tune on ("holdout").

usage: eval_real.py cards|shelves|voice PREDICTIONS.jsonl [REALDEV_DIR]

The split is fixed here, by design rather than by file, so no held-out photo shares a card
design with a tuning photo (the set holds several shots of the same card): a change that only
fixes one design cannot improve the held-out figure. Voice and shelf clips are split by
source. Prints each scorer's output per split; the last lines are the two headline figures.
Voice is then scored by speaking style across both splits, from each clip's labelled `style`:
read and near-field speech (read, commands, near-field: the targets), conversational speech
(online video and podcasts), and meetings.
"""
import json
import os
import subprocess
import sys
import tempfile

# Held out, never looked at line by line while tuning the extractor.
HOLDOUT = {
    # Card designs: Shinjuku (18, 26), Ueno (03), Osaka (27), Saigon (30).
    "cards": {
        "en_thucdx_r_03.jpg",
        "en_thucdx_r_18.jpg",
        "en_thucdx_r_26.jpg",
        "en_thucdx_r_27.jpg",
        "en_thucdx_r_30.jpg",
    },
    # One store visit of the Norwegian set and the French ESL photo.
    "shelves": {
        "no_ig_spar_120218.jpg",
        "no_ig_spar_120232.jpg",
        "fr_off_esl_ithb89lJBe.jpg",
    },
    # One source per language that no other clip shares.
    "voice": {
        "en_ljspeech_LJ050-0131.wav",
        "en_pocketsphinx_cards_005.wav",
        "zh_aishell2_IT0011W0001.wav",
        "zh_wenetspeech_nst_ID002.wav",
    },
}
def style(clip):
    """The clip's speaking style from its label's `style` (meeting / conversational / read)."""
    words = clip.get("style", "")
    if "meeting" in words:
        return "meeting"
    if "conversational" in words:
        return "conversational"
    return "read"


def iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0, w) * max(0, h)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def price_values(images, preds_path):
    """The scorer compares a price's digits only ("2990" passes for 29.90); a rep sees the
    value. Counts labelled tags whose best-overlapping predicted tag (IoU >= 0.5) carries the
    same number, decimal point in place."""
    preds = {}
    with open(preds_path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                p = json.loads(line)
                preds[os.path.basename(p.get("file", ""))] = p.get("price_tags") or []
    ok = n = 0
    for img in images:
        tags = preds.get(img["file"], [])
        for t in (img.get("price_values_per_detected_tag") or {}).get("tags") or []:
            n += 1
            best = max(tags, key=lambda p: iou(p["box"], t["bbox_xyxy"]), default=None)
            try:
                same = best is not None and iou(best["box"], t["bbox_xyxy"]) >= 0.5 \
                    and float(best.get("price")) == float(t["price"])
            except (TypeError, ValueError):
                same = False
            ok += same
    return f"price value exact (decimal point in place): {ok}/{n} = {ok / max(n, 1):.3f}"


LABELS = {"cards": ("cards/labels.json", "cards"), "shelves": ("shelves/labels.json", "images"),
          "voice": ("voice/transcripts.json", "clips")}


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in LABELS:
        sys.exit(__doc__)
    kind, preds = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    realdev = sys.argv[3] if len(sys.argv) > 3 else os.path.join(here, "../../../shared/realdev")
    evaldir = os.environ.get("FIELDLINE_EVAL_DIR", os.path.join(realdev, "../eval"))
    path, key = LABELS[kind]
    with open(os.path.join(realdev, path), encoding="utf-8") as f:
        labels = json.load(f)
    scorer = os.path.join(evaldir, f"score_{kind}.py")
    heads = []
    with tempfile.TemporaryDirectory() as tmp:
        for split in ("dev", "holdout"):
            keep = [x for x in labels[key] if (x["file"] in HOLDOUT[kind]) == (split == "holdout")]
            part = dict(labels, **{key: keep})
            part_path = os.path.join(tmp, f"{split}.json")
            with open(part_path, "w", encoding="utf-8") as f:
                json.dump(part, f, ensure_ascii=False)
            out = subprocess.run([sys.executable, scorer, part_path, preds],
                                 capture_output=True, text=True, check=True).stdout
            print(f"== {kind} · {split} ({len(keep)} files)")
            print(out.rstrip())
            if kind == "shelves":
                print(price_values(keep, preds))
            heads.append(f"{split}: {out.strip().splitlines()[-1]}")
        if kind == "voice":
            for label in ("read", "conversational", "meeting"):
                keep = [x for x in labels[key] if style(x) == label]
                part_path = os.path.join(tmp, f"{label}.json")
                with open(part_path, "w", encoding="utf-8") as f:
                    json.dump(dict(labels, **{key: keep}), f, ensure_ascii=False)
                out = subprocess.run([sys.executable, scorer, part_path, preds],
                                     capture_output=True, text=True, check=True).stdout
                print(f"== voice · {label}, both splits ({len(keep)} clips)")
                print(out.rstrip())
    print("\n".join(heads))


if __name__ == "__main__":
    main()
