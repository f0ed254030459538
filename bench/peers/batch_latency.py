"""The peer benchmark's batch row, category by category, with the server's CPU beside it: every
node of an exported graph sent to a running servicemap's `POST /nearest/batch` once per
category (the driver's own bodies, client and timing), for several rounds. It shows whether a
slow batch is the server's work (CPU close to twice the wall time on two cores) or waiting.

    target/release/servicemap serve --bind 127.0.0.1:18600 &
    PY=~/.cache/servicemap-peers/venv/bin/python
    $PY bench/peers/batch_latency.py 18600 $(pgrep -f 'bind 127.0.0.1:18600') \\
        target/peers/1-geodata/graph [ROUNDS=3] [PAUSE_S=0]

The graph directory is one a peer run wrote (`examples/export_graph`)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import driver  # noqa: E402
from cpu_per_request import cpu_s  # noqa: E402  (every thread's CPU, from /proc)


def main():
    port, pid, gdir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    pause_s = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    g = driver.Graph(gdir)
    bodies = driver.servicemap_batch_bodies(g)
    # The categories the peer benchmark asks: those of its 200 seeded queries.
    cats = sorted({q["category"] for q in driver.make_queries(g, 200, 15)})
    print(f"{len(g.nodes)} origins x {len(cats)} categories a round")
    for r in range(rounds):
        cpu0, wall = cpu_s(pid), []
        for c in cats:
            secs, _ = driver.servicemap_batch(port, bodies, c)
            wall.append(secs * 1e3)
        cpu1 = cpu_s(pid)
        print(
            f"round {r + 1}: ms a category " + " ".join(f"{t:.1f}" for t in wall)
            + f"; server CPU {(cpu1 - cpu0) * 1e3 / len(cats):.1f} ms a category",
            flush=True,
        )
        time.sleep(pause_s)


if __name__ == "__main__":
    main()
