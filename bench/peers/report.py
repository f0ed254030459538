#!/usr/bin/env python3
"""Turn the driver's results (one JSON per data directory) into the peer table of
BENCHMARKS.md, between the markers below (the section is replaced, or appended once)."""

from __future__ import annotations

import argparse
import json
import re
import sys

BEGIN = "<!-- peers:begin (bench/peers/run.sh writes this section) -->"
END = "<!-- peers:end -->"

SYSTEMS = {
    "ping": ["servicemap", "redis", "postgis"],
    "isochrone": ["servicemap", "pgrouting", "networkx"],
    "straight": ["servicemap", "redis", "postgis"],
    "walk_nearest": ["servicemap", "pgrouting", "networkx", "pandana"],
}
LABEL = {
    "ping": "client ceiling: `/healthz`, `PING`, `SELECT 1` (context, not a contest)",
    "isochrone": "15-minute isochrone (reached buildings; `pgr_drivingDistance`)",
    "straight": "5 nearest of a category, straight line (`GEOSEARCH`; PostGIS `<->`)",
    "walk_nearest": "5 nearest of a category, walking ≤ 60 min (`pgr_dijkstraCost`; `nearest_pois`)",
}
PEER_NAME = {
    "pgrouting": "pgRouting",
    "postgis": "PostgreSQL + PostGIS",
    "redis": "Redis",
    "networkx": "networkx",
    "pandana": "pandana",
    "servicemap_batch": "servicemap batch",
    "servicemap_figures": "servicemap figures only",
}

# servicemap's own variants, not peers: never "the best peer".
OWN = ("servicemap", "servicemap_batch", "servicemap_figures")


def ms(v):
    if v is None:
        return "—"
    return f"{v:.3f} ms" if v < 1 else f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms"


def rate(v):
    return "—" if v is None else f"{v:,.0f}/s"


def cell(task, s, m):
    if s == "servicemap_batch":
        return f"`POST /nearest/batch` {m['amortised_ms'] * 1e3:.2f} µs/query amortised ({rate(m['qps'])})"
    if s == "pandana":
        return f"batch {m['amortised_ms'] * 1e3:.2f} µs/query amortised ({rate(m['qps'])})"
    text = f"p50 {ms(m.get('p50_ms'))}, {rate(m.get('qps'))}"
    if m.get("client_parse_p50_ms") is not None:
        text += f" (of which the client's `json.loads` of the answer: p50 {ms(m['client_parse_p50_ms'])})"
    return text


def table(r):
    summ = r["summary"]
    agree = r["agreement"]
    peers_all = ["pgrouting", "postgis", "redis", "networkx", "pandana"]
    lines = [
        "| work | servicemap (HTTP) | " + " | ".join(PEER_NAME[p] for p in peers_all) + " | servicemap ÷ best peer |",
        "| --- | --- | " + " | ".join("---" for _ in peers_all) + " | --- |",
    ]
    for task in ("ping", "isochrone", "straight", "walk_nearest"):
        d = summ.get(task, {})
        sm = d.get("servicemap", {})
        cells = [cell(task, p, d[p]) if p in d else "" for p in peers_all]
        best = max((p for p in d if p not in OWN), key=lambda p: d[p]["qps"] or 0, default=None)
        ratio = ""
        if task != "ping" and best and sm.get("qps") and d[best]["qps"]:
            ratio = f"{sm['qps'] / d[best]['qps']:.2f}× {PEER_NAME[best]} throughput"
            lat_peers = [p for p in d if p not in OWN + ("pandana",) and d[p].get("p50_ms")]
            if lat_peers and sm.get("p50_ms"):
                bl = min(lat_peers, key=lambda p: d[p]["p50_ms"])
                ratio += f"; latency {d[bl]['p50_ms'] / sm['p50_ms']:.2f}× {PEER_NAME[bl]}"
        lines.append(f"| {LABEL[task]} | {cell(task, 'servicemap', sm)} | " + " | ".join(cells) + f" | {ratio} |")
        # The same isochrone without its outline in the answer (`skipGeometry=true`), against
        # the same peers: what the work costs apart from sending and parsing the polygon.
        fig = d.get("servicemap_figures", {})
        if task == "isochrone" and fig.get("qps") and best and d[best]["qps"]:
            pg = d.get("pgrouting", {})
            fratio = f"{fig['qps'] / d[best]['qps']:.2f}× {PEER_NAME[best]} throughput"
            if pg.get("qps"):
                fratio += f"; {fig['qps'] / pg['qps']:.2f}× pgRouting"
            lines.append(
                "| the same isochrone, figures only (`skipGeometry=true`: the polygon computed, not sent) | "
                + cell(task, "servicemap_figures", fig) + " | " + " | ".join("" for _ in peers_all)
                + f" | {fratio}; p50 target ≤ 0.4 ms |"
            )
    # The two targets of issue 15 that compare across rows: the batch endpoint against
    # pandana's amortised batch, and walking nearest over HTTP against Redis GEOSEARCH
    # (straight line: the cheapest nearest a planner could put behind a map).
    wn = summ.get("walk_nearest", {})
    smb, pdb = wn.get("servicemap_batch", {}), wn.get("pandana", {})
    if smb.get("qps") and pdb.get("qps"):
        cells = ["" for _ in peers_all]
        cells[peers_all.index("pandana")] = cell("walk_nearest", "pandana", pdb)
        lines.append(
            "| 5 nearest of a category, walking ≤ 60 min, batch of every node | "
            + cell("walk_nearest", "servicemap_batch", smb) + " | " + " | ".join(cells)
            + f" | {smb['qps'] / pdb['qps']:.2f}× pandana (target ≥ 3×) |"
        )
    red = summ.get("straight", {}).get("redis", {})
    if wn.get("servicemap", {}).get("qps") and red.get("qps"):
        cells = ["" for _ in peers_all]
        cells[peers_all.index("redis")] = f"`GEOSEARCH` {rate(red['qps'])} (straight line)"
        lines.append(
            "| walking nearest over HTTP vs Redis straight-line `GEOSEARCH` | "
            + cell("walk_nearest", "servicemap", wn["servicemap"]) + " | " + " | ".join(cells)
            + f" | {wn['servicemap']['qps'] / red['qps']:.2f}× Redis (target ≥ 1×) |"
        )
    cov = summ.get("coverage", {})
    n = len(r["sizes"]["categories"])
    if cov:
        smc, pdc = cov["servicemap"]["ms"], cov["pandana"]["ms"]
        cells = ["" for _ in peers_all]
        cells[peers_all.index("pandana")] = f"{ms(pdc)} (+ set_pois {ms(cov['pandana']['set_pois_ms'])})"
        lines.append(
            f"| coverage of {n} categories, every building, 15 min | {ms(smc)} (uncached, {n} sequential requests) | "
            + " | ".join(cells)
            + f" | {pdc / smc:.2f}× pandana |"
        )
    out = ["\n".join(lines), ""]
    notes = []
    for task, res in agree.items():
        parts = []
        for s, a in res.items():
            t = f"{s} {a['disagree']}/{a['queries']} disagree"
            if a.get("max_diff") is not None and task != "isochrone":
                unit = "m" if task == "straight" else "s"
                t += f" (max diff {a['max_diff']:.3g} {unit})"
            parts.append(t)
        notes.append(f"{task}: " + "; ".join(parts))
    out.append(
        "Ratios above 1 mean servicemap is faster: its throughput over the best peer's, and the "
        "lowest peer p50 over servicemap's p50."
    )
    out.append("")
    out.append("Agreement with servicemap's answers — " + " · ".join(notes) + ".")
    rss = r.get("servicemap_rss_mb", {})
    if rss.get("start"):
        out.append("")
        out.append(
            f"servicemap resident memory: {rss['start']:.0f} MB after start-up, "
            f"{(rss.get('end') or 0):.0f} MB at the end of the run."
        )
    return "\n".join(out)


def section(results, note):
    ok = [r for r in results if "error" not in r]
    if not ok:
        sys.exit("no data directory was benchmarked: " + "; ".join(f"{r['data']}: {r['error']}" for r in results))
    r0 = ok[0]
    m = r0["machine"]
    v = r0["versions"]
    p = r0["params"]
    lines = [
        BEGIN,
        "## Peer benchmark (issue 15): servicemap against pgRouting, PostGIS, Redis, networkx, pandana",
        "",
    ]
    if note:
        lines += [f"**{note}**", ""]
    lines += [
        "```sh",
        "bench/peers/run.sh " + " ".join(r["data"] for r in results)
        + f"   # PEERS_ORIGINS={p['origins']} PEERS_RUNS={p['runs']} PEERS_CLIENTS={p['clients']}"
        f" PEERS_ROUNDS={p['rounds']} PEERS_MIN_SECONDS={p.get('min_seconds')}",
        "```",
        "",
        f"{r0['date_utc']} UTC; {m['nproc']} cores ({m['cpu']}), Linux {m['kernel']}; load average at the end "
        + ", ".join(f"{r['loadavg'][0]} ({r['data']})" for r in ok)
        + ". Versions: servicemap "
        + v["servicemap"]
        + f", PostgreSQL {v['postgresql']}, PostGIS {v['postgis']}, pgRouting {v['pgrouting']}, Redis {v['redis']} (redis-py with hiredis {v.get('hiredis', '?')}), "
        f"pandana {v['pandana']}, networkx {v['networkx']}, Python {v['python']}.",
        "",
        f"{p['origins']} seeded origins (walk-network nodes, seed {p['seed']}); categories cycle over the "
        "data's 11 largest (all of them where it has fewer). Latency: one sequential client, p50 over the origins. Throughput: "
        f"{p['clients']} client processes share {p['rounds']} pass(es) over the origins, each repeating its share "
        f"for at least {p.get('min_seconds')} s. Each figure is the median "
        f"of {p['runs']} runs. Clients: a thin keep-alive HTTP/1.1 client (servicemap, `json.loads` of every "
        "answer), redis-py, psycopg 3 — each parses its whole reply. Method, what each client does per request, "
        "and caveats: `bench/peers/README.md`.",
        "",
    ]
    for r in results:
        if "error" in r:
            lines += [f"### `{r['data']}` — not benchmarked", "", f"servicemap does not serve it ({r['date_utc']} UTC): {r['error']}", ""]
            continue
        s = r["sizes"]
        lines += [
            f"### `{r['data']}` — {s['walk_nodes']:,} walk nodes, {s['walk_edges']:,} edges, "
            f"{s['facilities']:,} facilities, {s['buildings']:,} buildings",
            "",
            table(r),
            "",
        ]
    lines.append(END)
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", help="BENCHMARKS.md to update")
    ap.add_argument("--note", default="")
    ap.add_argument("results", nargs="+")
    a = ap.parse_args()
    results = [json.load(open(f)) for f in a.results]
    text = section(results, a.note)
    print(text)
    if a.write:
        doc = open(a.write).read()
        pat = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", re.S)
        if pat.search(doc):
            doc = pat.sub(lambda _: text, doc)
        else:
            doc = doc.rstrip("\n") + "\n\n" + text
        open(a.write, "w").write(doc)
        print(f"updated {a.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
