#!/usr/bin/env python3
"""Origins for bench/nearest/wrk.sh: `lon lat category` lines, stdlib only.

Like the peer driver (bench/peers/driver.py make_queries): a seeded sample of walk-network
vertices (here the walkways' own coordinates, which is what the driver's walk nodes are),
query i asking about category i mod 11 of the 11 categories with the most facilities.

    origins.py DATA_DIR [N] [SEED] > origins.txt
"""

import json
import random
import sys
from collections import Counter


def main():
    data = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    walk = json.load(open(f"{data}/walkways.geojson"))
    verts = []
    seen = set()
    for f in walk["features"]:
        g = f.get("geometry") or {}
        lines = g.get("coordinates") or []
        if g.get("type") == "LineString":
            lines = [lines]
        for line in lines:
            for c in line:
                key = (c[0], c[1])
                if key not in seen:
                    seen.add(key)
                    verts.append(key)
    fac = json.load(open(f"{data}/facilities.geojson"))
    counts = Counter(f["properties"].get("category") for f in fac["features"])
    counts.pop(None, None)
    cats = [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:11]
    rng = random.Random(seed)
    for i, (lon, lat) in enumerate(rng.sample(verts, min(n, len(verts)))):
        print(f"{lon!r} {lat!r} {cats[i % len(cats)]}")


if __name__ == "__main__":
    main()
