#!/usr/bin/env python3
"""The Python peer for voice accuracy: faster-whisper over the same Whisper base weights
(the CTranslate2 model the setup script converts), writing predictions in the voice scorer's
format so both are scored on the same clips in the same run.

usage: faster_whisper_peer.py MODELS_DIR THREADS BEAM FILE... > predictions.jsonl
       (pip install faster-whisper)

Language is detected among zh and en per clip (as our default does), no VAD filter, no
conditioning on previous text; Mandarin gets the same simplified-characters prompt ours uses.
Each line carries "ms" (transcription time) and "audio_s" as extra keys.
"""
import json
import os
import sys
import tempfile
import time

from faster_whisper_baseline import ct2_model

PROMPT_ZH = "以下是普通话的句子。"


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    models_dir, threads, beam, files = argv[1], int(argv[2]), int(argv[3]), argv[4:]
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    with tempfile.TemporaryDirectory() as tmp:
        ct2_model(models_dir, tmp)
        model = WhisperModel(tmp, device="cpu", compute_type="int8", cpu_threads=threads)
        for f in files:
            audio = decode_audio(f)
            start = time.perf_counter()
            lang, probs = model.detect_language(audio)[:2] if hasattr(model, "detect_language") else (None, None)
            if lang not in ("zh", "en") and probs:
                lang = max(("zh", "en"), key=lambda c: dict(probs).get(c, 0.0))
            segments, _ = model.transcribe(
                audio, beam_size=beam, language=lang, condition_on_previous_text=False,
                initial_prompt=PROMPT_ZH if lang == "zh" else None)
            sep = "" if lang == "zh" else " "
            text = sep.join(s.text.strip() for s in segments)
            ms = (time.perf_counter() - start) * 1000
            print(json.dumps({"file": os.path.basename(f), "transcript": text, "language": lang,
                              "ms": round(ms, 1), "audio_s": round(len(audio) / 16000, 3)},
                             ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main(sys.argv)
