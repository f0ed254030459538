#!/usr/bin/env python3
"""A/B of GET /isochrone latency between two servicemap binaries on the same data (issue 15).
Alternates: each round starts binary A, then B, on a fresh loopback server, warms it with 10
requests, then times 3 passes over up to 100 origins (the middle vertex of every third
walkway) with one sequential keep-alive client; prints each round's p50 and the median of rounds.

    python3 bench/isochrone_ab.py DATA_DIR BIN_A BIN_B [ROUNDS=3]

Stops exactly the servers it started. Run with no build running: the figures are wall clock.
"""
import http.client
import json
import statistics
import subprocess
import sys
import time

data, bins = sys.argv[1], sys.argv[2:4]
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
PORT = 18801


def start(binary):
    proc = subprocess.Popen(
        [binary, "--log-level", "warn", "serve", "--data", data, "--bind", f"127.0.0.1:{PORT}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(500):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return proc, conn
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise SystemExit(f"{binary} did not answer /healthz")


def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise SystemExit(f"GET {path}: {r.status} {body[:200]!r}")
    return body


proc, conn = start(bins[0])
walkways = json.loads(get(conn, "/collections/walkways/items?limit=300"))
origins = [f["geometry"]["coordinates"][len(f["geometry"]["coordinates"]) // 2][:2] for f in walkways["features"]][::3][:100]
proc.terminate()
proc.wait()
p50 = {b: [] for b in bins}
for r in range(rounds):
    for b in bins:
        proc, conn = start(b)
        try:
            for lon, lat in origins[:10]:
                get(conn, f"/isochrone?lon={lon}&lat={lat}&minutes=15")
            times = []
            for _ in range(3):
                for lon, lat in origins:
                    t = time.perf_counter()
                    get(conn, f"/isochrone?lon={lon}&lat={lat}&minutes=15")
                    times.append(time.perf_counter() - t)
        finally:
            proc.terminate()
            proc.wait()
        p50[b].append(statistics.median(times) * 1e3)
        print(f"round {r + 1} {b}: p50 {p50[b][-1]:.3f} ms", flush=True)
for b in bins:
    print(f"{b}: median of {rounds} rounds {statistics.median(p50[b]):.3f} ms", flush=True)
