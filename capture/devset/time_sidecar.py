#!/usr/bin/env python3
"""Time of each photo through the capture sidecar: models loaded once, as in use, so the
figure is the read alone (plus a loopback HTTP round trip), comparable with the Python peers'
per-image "ms".

usage: time_sidecar.py CAPTURE_BINARY cards|shelves THREADS IMAGE... > times.jsonl

Starts `CAPTURE_BINARY --threads THREADS serve` on a free 127.0.0.1 port with a token made
for the run, sends each image once, prints {"file", "ms"} per image and the median and
maximum to stderr.
"""
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv):
    if len(argv) < 5 or argv[2] not in ("cards", "shelves"):
        sys.exit(__doc__)
    binary, kind, threads, files = argv[1], argv[2], argv[3], argv[4:]
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, FIELDLINE_CAPTURE_TOKEN=token,
               FIELDLINE_CAPTURE_LISTEN=f"127.0.0.1:{port}")
    server = subprocess.Popen([binary, "--threads", threads, "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("sidecar did not start")
        times = []
        for path in files:
            with open(path, "rb") as f:
                body = f.read()
            request = urllib.request.Request(
                f"{base}/v1/{kind}", data=body, method="POST",
                headers={"Authorization": f"Bearer {token}",
                         "X-File-Name": os.path.basename(path)})
            start = time.perf_counter()
            with urllib.request.urlopen(request, timeout=120) as response:
                response.read()
            ms = (time.perf_counter() - start) * 1000
            times.append(ms)
            print(json.dumps({"file": os.path.basename(path), "ms": round(ms, 1)}), flush=True)
        print(f"{kind}: {len(times)} images, median {statistics.median(times):.0f} ms, "
              f"max {max(times):.0f} ms", file=sys.stderr)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main(sys.argv)
