#!/usr/bin/env python3
"""Write the benchmark tile list: every tile of the data's extent at the given zooms, as
`z x y` lines (XYZ: x = column, y = row), from the tileset's own tileMatrixSetLimits.

    bench/tiles/tilelist.py BASE_URL ZOOMS > tiles.txt      # ZOOMS: 14 or 12-16

The same list drives criterion (benches/tiles.rs computes it from the data the same way),
wrk against servicemap and wrk against Martin, so every server answers the same requests.
"""
import json
import sys
import urllib.request


def zooms(spec):
    lo, _, hi = spec.partition("-")
    return range(int(lo), int(hi or lo) + 1)


def main():
    base, spec = sys.argv[1].rstrip("/"), sys.argv[2]
    with urllib.request.urlopen(f"{base}/tiles/WebMercatorQuad") as r:
        tileset = json.load(r)
    limits = {int(l["tileMatrix"]): l for l in tileset["tileMatrixSetLimits"]}
    count = 0
    for z in zooms(spec):
        l = limits.get(z)
        if l is None:
            sys.exit(f"zoom {z} is outside the tileset (zooms {min(limits)}-{max(limits)})")
        for y in range(l["minTileRow"], l["maxTileRow"] + 1):
            for x in range(l["minTileCol"], l["maxTileCol"] + 1):
                print(z, x, y)
                count += 1
    print(f"{count} tiles at zooms {spec}", file=sys.stderr)


if __name__ == "__main__":
    main()
