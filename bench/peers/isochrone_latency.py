"""Sequential isochrone latency against a running servicemap, split into the round trip and
the client's `json.loads`, with the server's CPU per request (from /proc, all its threads)
and the same client's `/healthz` p50 beside it. The origins are the peer benchmark's (seed
15, 200 walk-network nodes of an exported graph), so figures compare with its isochrone row.

    target/release/servicemap serve --bind 127.0.0.1:18600 &
    PY=~/.cache/servicemap-peers/venv/bin/python
    $PY bench/peers/isochrone_latency.py 18600 $(pgrep -f 'bind 127.0.0.1:18600') \\
        target/peers/1-geodata/graph [N] ['&skipGeometry=true']

The graph directory is one a peer run wrote (`examples/export_graph`)."""
import os
import statistics
import sys
import time
import json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import driver  # noqa: E402
from cpu_per_request import cpu_s  # noqa: E402  (every thread's CPU, from /proc)


def main():
    port, pid, gdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    extra = sys.argv[5] if len(sys.argv) > 5 else ""
    queries = driver.make_queries(driver.Graph(gdir), 200, 15)
    http = driver.Http(port)
    path = lambda q: f"/isochrone?lon={q['lon']!r}&lat={q['lat']!r}&minutes=15{extra}"
    for q in queries[:50]:  # warm-up: the first isochrone builds the raster records
        http.get_raw(path(q))
    total, trip, parse = [], [], []
    cpu0, own0 = cpu_s(pid), time.process_time()
    for i in range(n):
        q = queries[i % len(queries)]
        t0 = time.perf_counter()
        raw = http.get_raw(path(q))
        t1 = time.perf_counter()
        json.loads(raw)
        t2 = time.perf_counter()
        total.append(t2 - t0)
        trip.append(t1 - t0)
        parse.append(t2 - t1)
    cpu1, own1 = cpu_s(pid), time.process_time()
    ping = []
    for _ in range(n):
        t0 = time.perf_counter()
        http.get_raw("/healthz")
        ping.append(time.perf_counter() - t0)
    ms = lambda v: statistics.median(v) * 1e3
    print(
        f"isochrone{extra}: p50 {ms(total):.3f} ms (round trip {ms(trip):.3f}, json.loads {ms(parse):.3f}); "
        f"server CPU {(cpu1 - cpu0) / n * 1e6:.0f} µs/request; client CPU {(own1 - own0) / n * 1e6:.0f} µs/request; "
        f"/healthz p50 {ms(ping):.3f} ms"
    )


if __name__ == "__main__":
    main()
