#!/usr/bin/env python3
"""CPU time per request, server and client apart: servicemap's straight-line `/nearest` and
`/healthz` against Redis `GEOSEARCH` and `PING`, each through the peer benchmark's own client
(bench/peers/driver.py's `Http` and `RedisClient`), one sequential connection, N requests.

Why (issue 15): the peer benchmark runs 4 client processes and the server on the same 2 cores,
so throughput there is bound by everyone's CPU. This splits a request's CPU into the server's
(user + system of every thread, from /proc) and the client's (`time.process_time`), which shows
what a faster server could still gain.

    ~/.cache/servicemap-peers/venv/bin/python bench/peers/cpu_per_request.py \
        target/release/servicemap [DATA=geodata] [N=20000]

Starts its own servicemap and redis-server on free loopback ports and stops exactly those.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import driver  # noqa: E402  (the peer benchmark's clients)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of every thread of `pid`."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            f = open(f"/proc/{pid}/task/{t}/stat").read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(f[11]) + int(f[12])
    return total / tick


def measure(name: str, pid: int, call, n: int) -> dict:
    for _ in range(min(n, 2000)):
        call()
    s0, c0, w0 = cpu_s(pid), time.process_time(), time.perf_counter()
    for _ in range(n):
        call()
    s1, c1, w1 = cpu_s(pid), time.process_time(), time.perf_counter()
    row = {
        "what": name,
        "server_us": 1e6 * (s1 - s0) / n,
        "client_us": 1e6 * (c1 - c0) / n,
        "wall_us": 1e6 * (w1 - w0) / n,
    }
    print(
        f"{name:44s} server {row['server_us']:6.1f} µs  client {row['client_us']:6.1f} µs  "
        f"wall {row['wall_us']:6.1f} µs a request",
        flush=True,
    )
    return row


def main() -> None:
    binary = sys.argv[1]
    data = sys.argv[2] if len(sys.argv) > 2 else "geodata"
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    fc = json.load(open(os.path.join(data, "facilities.geojson")))
    cats = Counter(f["properties"].get("category") for f in fc["features"] if f.get("geometry"))
    # The default data's elder canteens from 马王坪; elsewhere (a real import has none) the
    # commonest category from the mean of its facilities.
    category = "elder_canteen" if cats.get("elder_canteen") else cats.most_common(1)[0][0]
    pts = [f["geometry"]["coordinates"][:2] for f in fc["features"]
           if f.get("geometry") and f["properties"].get("category") == category]
    if category == "elder_canteen":
        lon, lat = 106.5320, 29.4700
    else:
        lon, lat = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
    hport, rport = free_port(), free_port()
    sm = subprocess.Popen(
        [binary, "--log-level", "warn", "serve", "--data", data, "--bind", f"127.0.0.1:{hport}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rd = subprocess.Popen(
        ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        http = driver.Http(hport)
        for _ in range(200):
            try:
                http.get("/healthz")
                break
            except OSError:
                http.close()
                time.sleep(0.05)
        members = []
        for f in fc["features"]:
            if f["properties"].get("category") == category and f.get("geometry"):
                x, y = f["geometry"]["coordinates"][:2]
                members += [x, y, str(f["id"])]
        red = driver.RedisClient({"redis_port": rport, "radius_m": 50_000}, "straight")
        for _ in range(200):
            try:
                red.r.ping()
                break
            except Exception:
                time.sleep(0.05)
        red.r.execute_command("GEOADD", f"fac:{category}", *members)
        q = {"lon": lon, "lat": lat, "category": category}
        sm_client = driver.ServicemapClient({"http_port": hport}, "straight")
        ping = driver.RedisClient({"redis_port": rport, "radius_m": 50_000}, "ping")
        assert [i for i, _ in sm_client.run(q)] == [i for i, _ in red.run(q)], "answers differ"
        print(f"{n} sequential requests each, data {data}, {len(members) // 3} {category} facilities")
        measure("servicemap /healthz", sm.pid, lambda: http.get("/healthz"), n)
        measure("Redis PING", rd.pid, lambda: ping.run(q), n)
        measure("servicemap /nearest?mode=straight (k=5)", sm.pid, lambda: sm_client.run(q), n)
        measure("Redis GEOSEARCH (COUNT 5, WITHDIST)", rd.pid, lambda: red.run(q), n)
    finally:
        for p in (sm, rd):
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
