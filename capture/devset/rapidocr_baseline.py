#!/usr/bin/env python3
"""Baseline for the capture benchmark: RapidOCR (Python, same PP-OCRv4 ONNX models) over the
same images. Prints one JSON object: load time and per-image OCR latencies in milliseconds.

usage: rapidocr_baseline.py THREADS IMAGE...   (pip install rapidocr_onnxruntime==1.4.4)
"""
import json
import sys
import time

from rapidocr_onnxruntime import RapidOCR

threads = int(sys.argv[1])
start = time.perf_counter()
engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
load_ms = (time.perf_counter() - start) * 1000
for path in sys.argv[2:4]:  # warm-up, as the Rust side does
    engine(path)
latencies = []
for path in sys.argv[2:]:
    start = time.perf_counter()
    engine(path)  # reads the file and decodes it too, like the Rust side
    latencies.append((time.perf_counter() - start) * 1000)
print(json.dumps({"load_ms": load_ms, "latencies_ms": latencies}))
