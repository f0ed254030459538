#!/usr/bin/env python3
"""Peer benchmark driver: load one data directory into every system, run the same query mix
against each with the same client, check that the answers agree, write results JSON.

Started by run.sh (which installs and starts PostgreSQL and Redis); see README.md for the
method. Every system answers the same questions, built from the same seeded origins:

* isochrone     15 walking minutes from an origin: the buildings whose snapped position is
                reached (servicemap /isochrone; pgRouting pgr_drivingDistance; networkx
                single_source_dijkstra_path_length with a cutoff).
* straight      5 nearest facilities of a category by great-circle distance (servicemap
                /nearest?mode=straight; Redis GEOSEARCH; PostGIS KNN `<->` on geography).
* walk_nearest  5 nearest facilities of a category by walking time, at most 60 minutes
                (servicemap /nearest; pgRouting pgr_dijkstraCost one-to-many; networkx;
                pandana nearest_pois, which answers every node of the network at once).
* coverage      for 11 categories, the households whose nearest facility is within 15
                minutes (servicemap /coverage on a freshly started server, i.e. uncached;
                pandana nearest_pois from every building).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import math
import multiprocessing as mp
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections import Counter, defaultdict

import networkx as nx
import numpy as np
import pandana
import pandas as pd
import psycopg
import redis

ISO_S = 15 * 60.0
NEAREST_MAX_S = 60 * 60.0
K = 5
COVERAGE_CATEGORIES = 11
COVERAGE_S = 15 * 60.0
# Walking times agree when within the time of 1 m of flat walking at 4 km/h (0.9 s).
WALK_TOL_S = 1.0 / (4.0 / 3.6)
# Straight distances: servicemap and PostGIS use the mean Earth radius, Redis 6372797.56 m
# (0.03 % longer): agree within 0.05 % + 0.5 m.
# Redis GEOSEARCH and PostGIS `<->` on geography measure on a sphere; servicemap's distance_m
# is the WGS84 geodesic (Karney). The two differ by up to ~0.56 % with latitude and bearing,
# so agreement allows 0.6 % (the ids must still match but for ties).
STRAIGHT_REL_TOL = 6e-3
STRAIGHT_ABS_TOL_M = 0.5


def log(*a):
    print(f"[driver {time.strftime('%H:%M:%S')}]", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# The exported graph
# ---------------------------------------------------------------------------------------


class Graph:
    """servicemap's walking graph as exported by examples/export_graph.rs (standard profile)."""

    def __init__(self, gdir: str):
        self.meta = json.load(open(os.path.join(gdir, "meta.json")))
        nodes = pd.read_csv(os.path.join(gdir, "nodes.csv"))
        assert (nodes["node"].to_numpy() == np.arange(len(nodes))).all(), "node ids must be 0..n-1"
        self.nodes = nodes
        edges = pd.read_csv(os.path.join(gdir, "edges.csv"), na_values=[], keep_default_na=False)
        for c in edges.columns[4:]:
            edges[c] = edges[c].astype(float)  # "inf" parses as +inf
        self.edges = edges
        self.fac = pd.read_csv(os.path.join(gdir, "facilities.csv"), dtype={"id": str, "category": str})
        self.bld = pd.read_csv(os.path.join(gdir, "buildings.csv"), dtype={"id": str})
        self.fac_ok = self.fac[self.fac["point_node"].notna()].copy()
        self.fac_ok["point_node"] = self.fac_ok["point_node"].astype(np.int64)
        self.bld_ok = self.bld[self.bld["point_node"].notna()].copy()
        for c in ("point_node", "snap_node"):
            self.bld_ok[c] = self.bld_ok[c].astype(np.int64)
        # Directed edges of the standard profile, parallel edges reduced to the cheapest.
        s, t = edges["source"].to_numpy(), edges["target"].to_numpy()
        fw, bw = edges["standard_fwd_s"].to_numpy(), edges["standard_bwd_s"].to_numpy()
        d = pd.DataFrame(
            {"a": np.concatenate([s, t]), "b": np.concatenate([t, s]), "w": np.concatenate([fw, bw])}
        )
        d = d[np.isfinite(d["w"])]
        self.directed = d.groupby(["a", "b"], as_index=False)["w"].min()
        self.walk_nodes = nodes.index[nodes["kind"] == "walk"].to_numpy()
        counts = Counter(self.fac_ok["category"])
        # The categories with the most snapped facilities, ties by id.
        self.categories = [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][
            :COVERAGE_CATEGORIES
        ]
        self.fac_nodes_by_cat = {
            c: self.fac_ok.loc[self.fac_ok["category"] == c, "point_node"].tolist() for c in self.categories
        }
        self.fac_id_of_node = dict(zip(self.fac_ok["point_node"], self.fac_ok["id"]))
        self.fac_index_of_node = dict(zip(self.fac_ok["point_node"], self.fac_ok["facility"]))
        self.bld_of_snap = defaultdict(list)
        for b, sn in zip(self.bld_ok["building"], self.bld_ok["snap_node"]):
            self.bld_of_snap[int(sn)].append(int(b))
        self.households = dict(zip(self.bld["building"], self.bld["households"]))
        self.residents = dict(zip(self.bld["building"], self.bld["residents"]))
        lon, lat = self.nodes["lon"], self.nodes["lat"]
        fl, fa = self.fac_ok["lon"], self.fac_ok["lat"]
        # A search radius that holds every facility from every origin (Redis needs one).
        w = max(lon.max(), fl.max()) - min(lon.min(), fl.min())
        h = max(lat.max(), fa.max()) - min(lat.min(), fa.min())
        self.radius_m = 111_320.0 * math.hypot(w, h) + 1000.0


def make_queries(g: Graph, n: int, seed: int):
    rng = random.Random(seed)
    picks = rng.sample(list(g.walk_nodes), min(n, len(g.walk_nodes)))
    qs = []
    for i, node in enumerate(picks):
        row = g.nodes.iloc[int(node)]
        qs.append(
            {"node": int(node), "lon": float(row["lon"]), "lat": float(row["lat"]), "category": g.categories[i % len(g.categories)]}
        )
    return qs


# ---------------------------------------------------------------------------------------
# Loading the peers
# ---------------------------------------------------------------------------------------

EDGE_SQL = "SELECT id, source, target, cost, reverse_cost FROM sm_edges"


def load_postgres(g: Graph, dsn: str):
    with psycopg.connect(dsn, autocommit=True) as c:
        for ext in ("postgis", "pgrouting", "btree_gist"):
            c.execute(f"CREATE EXTENSION IF NOT EXISTS {ext} CASCADE")
        c.execute("DROP TABLE IF EXISTS sm_edges, sm_nodes, sm_facilities, sm_buildings")
        c.execute(
            """CREATE TABLE sm_nodes (node bigint PRIMARY KEY, kind text, x_m float8, y_m float8,
                   geom geometry(Point, 4326))"""
        )
        # pgRouting: a negative cost means "no edge in this direction" (impassable).
        c.execute(
            """CREATE TABLE sm_edges (id bigint PRIMARY KEY, source bigint, target bigint, length_m float8,
                   cost float8, reverse_cost float8, elder_cost float8, elder_reverse_cost float8,
                   wheelchair_cost float8, wheelchair_reverse_cost float8)"""
        )
        c.execute(
            """CREATE TABLE sm_facilities (facility int PRIMARY KEY, id text, category text,
                   point_node bigint, snap_node bigint, geog geography(Point, 4326))"""
        )
        c.execute(
            """CREATE TABLE sm_buildings (building int PRIMARY KEY, id text, households bigint,
                   residents bigint, point_node bigint, snap_node bigint, geom geometry(Point, 4326))"""
        )
        cur = c.cursor()
        with cur.copy("COPY sm_nodes (node, kind, x_m, y_m) FROM STDIN") as cp:
            for r in g.nodes[["node", "kind", "x_m", "y_m"]].itertuples(index=False):
                cp.write_row(r)
        c.execute("UPDATE sm_nodes n SET geom = NULL")
        lonlat = g.nodes[["node", "lon", "lat"]]
        c.execute("CREATE TEMP TABLE ll (node bigint, lon float8, lat float8)")
        with cur.copy("COPY ll FROM STDIN") as cp:
            for r in lonlat.itertuples(index=False):
                cp.write_row(r)
        c.execute("UPDATE sm_nodes n SET geom = ST_SetSRID(ST_MakePoint(ll.lon, ll.lat), 4326) FROM ll WHERE ll.node = n.node")

        def cost(v):
            return -1.0 if not math.isfinite(v) else v

        with cur.copy("COPY sm_edges FROM STDIN") as cp:
            for r in g.edges.itertuples(index=False):
                cp.write_row([r[0], r[1], r[2], r[3]] + [cost(v) for v in r[4:]])
        with cur.copy("COPY sm_facilities (facility, id, category, point_node, snap_node, geog) FROM STDIN") as cp:
            for r in g.fac.itertuples(index=False):
                pn = None if pd.isna(r.point_node) else int(r.point_node)
                sn = None if pd.isna(r.snap_node) else int(r.snap_node)
                cp.write_row([r.facility, r.id, r.category, pn, sn, f"SRID=4326;POINT({r.lon!r} {r.lat!r})"])
        with cur.copy("COPY sm_buildings FROM STDIN") as cp:
            for r in g.bld.itertuples(index=False):
                pn = None if pd.isna(r.point_node) else int(r.point_node)
                sn = None if pd.isna(r.snap_node) else int(r.snap_node)
                cp.write_row([r.building, r.id, r.households, r.residents, pn, sn, f"SRID=4326;POINT({r.lon!r} {r.lat!r})"])
        c.execute("CREATE INDEX ON sm_edges (source)")
        c.execute("CREATE INDEX ON sm_edges (target)")
        c.execute("CREATE INDEX ON sm_buildings (snap_node)")
        c.execute("CREATE INDEX ON sm_facilities (point_node)")
        # KNN by category: equality on the category and `<->` on the geography in one index.
        c.execute("CREATE INDEX sm_facilities_knn ON sm_facilities USING gist (category, geog)")
        c.execute("VACUUM ANALYZE sm_nodes, sm_edges, sm_facilities, sm_buildings")
        v = {}
        v["postgresql"] = c.execute("SHOW server_version").fetchone()[0]
        v["postgis"] = c.execute("SELECT postgis_lib_version()").fetchone()[0]
        v["pgrouting"] = c.execute("SELECT pgr_version()").fetchone()[0]
        return v


def load_redis(g: Graph, port: int):
    r = redis.Redis(host="127.0.0.1", port=port)
    r.flushdb()
    p = r.pipeline(transaction=False)
    for row in g.fac_ok.itertuples(index=False):
        p.geoadd(f"fac:{row.category}", (row.lon, row.lat, row.id))
    p.execute()
    v = {"redis": r.info("server")["redis_version"]}
    try:
        import hiredis

        v["hiredis"] = hiredis.__version__
    except ImportError:
        v["hiredis"] = "not installed (redis-py's Python parser)"
    return v


def build_networkx(g: Graph):
    G = nx.DiGraph()
    G.add_nodes_from(range(len(g.nodes)))
    G.add_weighted_edges_from(g.directed.itertuples(index=False, name=None), weight="w")
    return G


def build_pandana(g: Graph):
    d = g.directed
    net = pandana.Network(
        g.nodes["x_m"], g.nodes["y_m"], d["a"], d["b"], pd.DataFrame({"w": d["w"].to_numpy()}), twoway=False
    )
    return net


def pandana_set_pois(net, category: str, node_ids, poi_index, maxdist: float, maxitems: int):
    """pandana's set_pois, but attaching each POI to its exact node (set_pois maps x/y to the
    nearest node with a k-d tree, which could pick a different node at the same position)."""
    if category not in net.poi_category_names:
        net.poi_category_names.append(category)
    net.max_pois = maxitems
    net.poi_category_indexes[category] = pd.Index(poi_index)
    net.net.initialize_category(
        maxdist, maxitems, category.encode("utf-8"), np.asarray(node_ids, dtype=pandana.network.INDEX_DTYPE)
    )


# ---------------------------------------------------------------------------------------
# Clients: one object per (system, task) and process; `run(q)` returns a comparable answer
# ---------------------------------------------------------------------------------------


class Http:
    """A thin keep-alive HTTP/1.1 client over one raw socket, the client for every HTTP system.

    Per request it does what redis-py does per command, no more: encode the request (the
    path is built by the caller; the rest of the request head is pre-encoded bytes), one
    `sendall`, read the status line and headers up to the blank line, then the body by
    `Content-Length` (or chunk by chunk if the server chunks). `get` then parses the body with
    `json.loads`, as redis-py parses every RESP reply into Python objects and psycopg every
    row into tuples. Python's `http.client` instead builds a header dict and an
    `HTTPResponse` object through `email.parser` on every request, which made the client,
    not the server, the limit (its `/healthz` ceiling was 40 % of redis-py's `PING`)."""

    def __init__(self, port, host="127.0.0.1"):
        self.addr = (host, port)
        self.tail = f" HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        self.sock = None
        self.buf = b""

    def _connect(self):
        self.close()
        s = socket.create_connection(self.addr)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = s
        self.buf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buf += chunk

    def _read_until(self, sep):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(sep) :]
                return out
            self._fill()

    def _read_exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def request(self, method, path, body=b"", headers=b""):
        """(status, body bytes). `headers`: extra pre-encoded header lines, each ending CRLF."""
        head = method.encode() + b" " + path.encode()
        if body or method != "GET":
            head_tail = self.tail[:-2] + headers + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        else:
            head_tail = self.tail
        msg = head + head_tail + body
        for attempt in (0, 1):
            fresh = self.sock is None
            if fresh:
                self._connect()
            try:
                self.sock.sendall(msg)
                return self._response()
            except (ConnectionError, BrokenPipeError):
                # A keep-alive connection the server closed while idle: once more on a new one.
                self.close()
                if attempt or fresh:
                    raise
        raise AssertionError("unreachable")

    def _response(self):
        head = self._read_until(b"\r\n\r\n")
        status = int(head[9:12])
        low = head.lower()
        i = low.find(b"\r\ncontent-length:")
        if i >= 0:
            j = low.find(b"\r\n", i + 17)
            n = int(low[i + 17 : j if j >= 0 else len(low)])
            body = self._read_exactly(n)
        elif b"\r\ntransfer-encoding: chunked" in low:
            parts = []
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    self._read_until(b"\r\n")  # no trailers are sent; the final CRLF
                    break
                parts.append(self._read_exactly(size))
                self._read_exactly(2)
            body = b"".join(parts)
        else:
            raise RuntimeError(f"response without Content-Length or chunking: {head[:200]!r}")
        if b"\r\nconnection: close" in low:
            self.close()
        return status, body

    def get_raw(self, path):
        status, body = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
        return body

    def get(self, path):
        return json.loads(self.get_raw(path))


BATCH_MAX = 100_000


def servicemap_batch_bodies(g):
    """The CSV bodies of the batch of every node of the graph (at most BATCH_MAX origins a
    request), as [(offset of the first origin, body bytes)]; made once, outside the timing."""
    # Python floats: numpy 2's repr of np.float64 is "np.float64(…)", not a number.
    lon, lat = g.nodes["lon"].tolist(), g.nodes["lat"].tolist()
    bodies = []
    for start in range(0, len(lon), BATCH_MAX):
        end = min(start + BATCH_MAX, len(lon))
        body = "lon,lat\n" + "".join(f"{lon[i]!r},{lat[i]!r}\n" for i in range(start, end))
        bodies.append((start, body.encode()))
    return bodies


def servicemap_batch(port, bodies, category):
    """Walking nearest of every node of the graph for one category through POST /nearest/batch
    (CSV). Returns (seconds from each request sent to its last response byte received, summed;
    the raw answers). Making the bodies and parsing the answers are the checker's work, not
    the server's, so they are outside the time, as pandana's is only `nearest_pois` (turning
    its DataFrame into Python lists happens after its clock stops)."""
    conn = Http(port)
    # Only the columns the checker reads (pandana answers ids and distances only); the other
    # columns (name, category, coordinates, straight-line distance) would be made, sent and
    # received for nothing.
    path = "/nearest/batch?" + q_str(
        category=category, k=K, max_min=NEAREST_MAX_S / 60, columns="origin,id,walk_min,error"
    )
    raw, secs = [], 0.0
    for start, body in bodies:
        t = time.perf_counter()
        status, data = conn.request("POST", path, body=body, headers=b"Content-Type: text/csv\r\n")
        secs += time.perf_counter() - t
        if status != 200:
            raise RuntimeError(f"POST {path}: {status} {data[:300]!r}")
        raw.append((start, data))
    conn.close()
    return secs, raw


def parse_servicemap_batch(raw):
    """The answers of `servicemap_batch` as {node: [(facility id, walk seconds), ...]}; nodes
    are sent in order, so an answer's `origin` (its 0-based position) plus the request's
    offset is its node id."""
    out = defaultdict(list)
    for start, data in raw:
        for row in csv.DictReader(io.StringIO(data.decode())):
            if row["error"] or not row["id"]:
                continue
            out[start + int(row["origin"])].append((row["id"], float(row["walk_min"]) * 60.0))
    return out


def q_str(**kw):
    return urllib.parse.urlencode({k: (repr(v) if isinstance(v, float) else v) for k, v in kw.items()})


class ServicemapClient:
    """servicemap over HTTP. Per request: the path built with an f-string (redis-py encodes
    its command per call too), one round trip on the thin client, `json.loads` of the answer,
    and the comparable answer picked out of it (as the Redis and PostgreSQL clients do with
    their replies). Only the fields the comparison needs are asked for: `properties=` (none
    of the facility's own properties; `distance_m`/`walk_min` and `rank` always come) and
    `skipGeometry=true` (Redis answers names and distances only)."""

    def __init__(self, ctx, task, figures_only=False):
        self.http = Http(ctx["http_port"])
        self.task = task
        # The isochrone's figures only (`skipGeometry=true`): the server still computes the
        # polygon (its `area_m2` is in the answer) but does not send it, as pgRouting's query
        # answers the reached set and its sums, not an outline.
        self.iso_extra = "&skipGeometry=true" if figures_only else ""
        # Seconds of `json.loads` per isochrone answer: the client's share of the latency
        # (a 6 kB polygon to parse, where pgRouting's client reads three numbers), reported
        # beside the p50 so the account of the p50 target is measured, not estimated.
        self.parse_s = []

    def run(self, q):
        if self.task == "ping":
            return self.http.get("/healthz") and None
        if self.task == "isochrone":
            raw = self.http.get_raw(f"/isochrone?lon={q['lon']!r}&lat={q['lat']!r}&minutes=15{self.iso_extra}")
            t = time.perf_counter()
            j = json.loads(raw)
            self.parse_s.append(time.perf_counter() - t)
            p = j["features"][0]["properties"]
            return {"buildings": p["buildings"], "households": p["households"], "residents": p["residents"]}
        if self.task == "straight":
            j = self.http.get(
                f"/nearest?lon={q['lon']!r}&lat={q['lat']!r}&category={q['category']}&k={K}"
                "&mode=straight&properties=&skipGeometry=true"
            )
            return [(f["id"], f["properties"]["distance_m"]) for f in j["features"]]
        if self.task == "walk_nearest":
            j = self.http.get(
                f"/nearest?lon={q['lon']!r}&lat={q['lat']!r}&category={q['category']}&k={K}"
                f"&max_min={NEAREST_MAX_S / 60!r}&properties=&skipGeometry=true"
            )
            return [(f["id"], f["properties"]["walk_min"] * 60.0) for f in j["features"]]
        raise ValueError(self.task)


class PostgresClient:
    """PostGIS KNN and pgRouting through one psycopg connection (server-side prepared)."""

    SQL = {
        "isochrone": f"""
            WITH d AS (SELECT node FROM pgr_drivingDistance('{EDGE_SQL}', %s::bigint, {ISO_S}::float8, directed => true))
            SELECT coalesce(array_agg(b.building ORDER BY b.building), '{{}}'),
                   coalesce(sum(b.households), 0), coalesce(sum(b.residents), 0)
            FROM d JOIN sm_buildings b ON b.snap_node = d.node""",
        "straight": """
            SELECT f.id, ST_Distance(f.geog, q.g, false)
            FROM sm_facilities f, (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography AS g) q
            WHERE f.category = %s ORDER BY f.geog <-> q.g LIMIT 5""",
        "walk_nearest": f"""
            SELECT f.id, d.agg_cost
            FROM pgr_dijkstraCost('{EDGE_SQL}', %s::bigint,
                 (SELECT array_agg(point_node) FROM sm_facilities WHERE category = %s AND point_node IS NOT NULL),
                 directed => true) d
            JOIN sm_facilities f ON f.point_node = d.end_vid
            WHERE d.agg_cost <= {NEAREST_MAX_S}
            ORDER BY d.agg_cost, f.facility LIMIT 5""",
    }

    def __init__(self, ctx, task):
        self.conn = psycopg.connect(ctx["pg"], autocommit=True, prepare_threshold=0)
        self.task = task

    def run(self, q):
        if self.task == "ping":
            return self.conn.execute("SELECT 1", prepare=True).fetchone() and None
        if self.task == "isochrone":
            ids, hh, res = self.conn.execute(self.SQL["isochrone"], (q["node"],), prepare=True).fetchone()
            return {"buildings": len(ids), "households": int(hh), "residents": int(res), "ids": list(ids)}
        if self.task == "straight":
            rows = self.conn.execute(self.SQL["straight"], (q["lon"], q["lat"], q["category"]), prepare=True).fetchall()
            return [(r[0], r[1]) for r in rows]
        if self.task == "walk_nearest":
            rows = self.conn.execute(self.SQL["walk_nearest"], (q["node"], q["category"]), prepare=True).fetchall()
            return [(r[0], r[1]) for r in rows]
        raise ValueError(self.task)


class RedisClient:
    def __init__(self, ctx, task):
        assert task in ("straight", "ping")
        self.task = task
        self.r = redis.Redis(host="127.0.0.1", port=ctx["redis_port"], single_connection_client=True)
        self.radius_m = ctx["radius_m"]

    def run(self, q):
        if self.task == "ping":
            return self.r.ping() and None
        rows = self.r.execute_command(
            "GEOSEARCH", f"fac:{q['category']}", "FROMLONLAT", q["lon"], q["lat"],
            "BYRADIUS", self.radius_m, "m", "ASC", "COUNT", K, "WITHDIST",
        )
        return [(m.decode(), float(d)) for m, d in rows]


# In-process libraries: built once in the parent before the client processes fork.
SHARED: dict = {}


class NetworkxClient:
    def __init__(self, ctx, task):
        self.task = task
        self.G = SHARED["nx"]
        self.g = SHARED["graph"]

    def run(self, q):
        g = self.g
        if self.task == "isochrone":
            d = nx.single_source_dijkstra_path_length(self.G, q["node"], cutoff=ISO_S, weight="w")
            ids = sorted(b for n in d if n in g.bld_of_snap for b in g.bld_of_snap[n])
            return {
                "buildings": len(ids),
                "households": int(sum(g.households[b] for b in ids)),
                "residents": int(sum(g.residents[b] for b in ids)),
                "ids": ids,
                "nodes": len(d),
            }
        if self.task == "walk_nearest":
            d = nx.single_source_dijkstra_path_length(self.G, q["node"], cutoff=NEAREST_MAX_S, weight="w")
            found = sorted(
                (d[n], g.fac_index_of_node[n], g.fac_id_of_node[n]) for n in g.fac_nodes_by_cat[q["category"]] if n in d
            )
            return [(fid, s) for s, _, fid in found[:K]]
        raise ValueError(self.task)


CLIENTS = {
    # The client's own ceiling: the cheapest request each server answers.
    ("servicemap", "ping"): ServicemapClient,
    ("redis", "ping"): RedisClient,
    ("postgis", "ping"): PostgresClient,
    ("servicemap", "isochrone"): ServicemapClient,
    ("servicemap_figures", "isochrone"): lambda ctx, task: ServicemapClient(ctx, task, figures_only=True),
    ("servicemap", "straight"): ServicemapClient,
    ("servicemap", "walk_nearest"): ServicemapClient,
    ("pgrouting", "isochrone"): PostgresClient,
    ("networkx", "isochrone"): NetworkxClient,
    ("redis", "straight"): RedisClient,
    ("postgis", "straight"): PostgresClient,
    ("pgrouting", "walk_nearest"): PostgresClient,
    ("networkx", "walk_nearest"): NetworkxClient,
}


def latency_run(ctx, system, task, queries):
    """One sequential client: every query once; returns (per-query seconds, answers, the
    client's own parse seconds per query where it times them, else [])."""
    cl = CLIENTS[(system, task)](ctx, task)
    cl.run(queries[0])  # warm the connection / prepared statement
    parse_s = getattr(cl, "parse_s", None)
    if parse_s is not None:
        parse_s.clear()
    times, answers = [], []
    for q in queries:
        t = time.perf_counter()
        a = cl.run(q)
        times.append(time.perf_counter() - t)
        answers.append(a)
    return times, answers, list(parse_s or [])


def _throughput_worker(ctx, system, task, queries, min_s, barrier, out):
    cl = CLIENTS[(system, task)](ctx, task)
    cl.run(queries[0])
    barrier.wait()
    t0 = time.perf_counter()
    n = 0
    # At least one pass over this client's share, and at least `min_s` seconds of work.
    while True:
        for q in queries:
            cl.run(q)
        n += len(queries)
        if time.perf_counter() - t0 >= min_s:
            break
    out.put((t0, time.perf_counter(), n))


def throughput_run(ctx, system, task, queries, clients, rounds, min_s):
    """`clients` processes share `rounds` passes over the queries (interleaved), each repeating
    its share until it has worked `min_s` seconds; queries/s from the first start to the last
    finish."""
    work = queries * rounds
    fork = mp.get_context("fork")
    barrier = fork.Barrier(clients)
    out = fork.Queue()
    procs = [
        fork.Process(target=_throughput_worker, args=(ctx, system, task, work[i::clients], min_s, barrier, out))
        for i in range(clients)
    ]
    for p in procs:
        p.start()
    res = [out.get() for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"{system} {task}: a client failed")
    start = min(r[0] for r in res)
    end = max(r[1] for r in res)
    return sum(r[2] for r in res) / (end - start)


# ---------------------------------------------------------------------------------------
# servicemap process
# ---------------------------------------------------------------------------------------


class Servicemap:
    def __init__(self, binary, data, port, log_path):
        self.cmd = [binary, "--log-level", "warn", "serve", "--data", data, "--bind", f"127.0.0.1:{port}"]
        self.port = port
        self.proc = None
        self.log_path = log_path

    def start(self):
        with open(self.log_path, "ab") as log_f:
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=log_f)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                tail = open(self.log_path, errors="replace").read().strip().splitlines()[-1:]
                raise RuntimeError(
                    f"servicemap exited with {self.proc.returncode}: {tail[0] if tail else ''}"
                )
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("servicemap did not become healthy")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def rss_mb(self):
        try:
            for line in open(f"/proc/{self.proc.pid}/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None


# ---------------------------------------------------------------------------------------
# Agreement
# ---------------------------------------------------------------------------------------


def compare_lists(ref, other, rel_tol, abs_tol):
    """Two k-nearest lists agree when they have the same length, the same distance at every
    rank within tolerance, and the same ids except where the distances tie within tolerance.
    Returns (agree, max_abs_diff)."""
    if len(ref) != len(other):
        return False, math.inf
    worst = 0.0
    for (_, d1), (_, d2) in zip(ref, other):
        diff = abs(d1 - d2)
        worst = max(worst, diff)
        if diff > abs_tol + rel_tol * max(abs(d1), abs(d2)):
            return False, worst
    if [i for i, _ in ref] != [i for i, _ in other]:
        # Same multiset of ids apart from ties at equal distance.
        tol = lambda a, b: abs(a - b) <= abs_tol + rel_tol * max(abs(a), abs(b))  # noqa: E731
        for (i1, d1), (i2, d2) in zip(ref, other):
            if i1 != i2:
                alt = [d for i, d in other if i == i1] + [d for i, d in ref if i == i2]
                if not alt and not tol(ref[-1][1], other[-1][1]):
                    return False, worst
                if alt and not all(tol(d1, a) for a in alt):
                    return False, worst
    return True, worst


def agreement(task, answers, queries):
    """Compare every system's answers with servicemap's; returns a summary per system."""
    ref = answers["servicemap"]
    out = {}
    for sysname, ans in answers.items():
        if sysname == "servicemap":
            continue
        bad, worst, examples = 0, 0.0, []
        for q, a, b in zip(queries, ref, ans):
            if task == "isochrone":
                ok = all(a[k] == b[k] for k in ("buildings", "households", "residents"))
                w = abs(a["buildings"] - b["buildings"])
            elif task == "straight":
                ok, w = compare_lists(a, b, STRAIGHT_REL_TOL, STRAIGHT_ABS_TOL_M)
            else:
                ok, w = compare_lists(a, b, 0.0, WALK_TOL_S)
            if math.isfinite(w):
                worst = max(worst, w)
            if not ok:
                bad += 1
                if len(examples) < 3:
                    examples.append({"query": q, "servicemap": a, sysname: b})
        out[sysname] = {"queries": len(queries), "disagree": bad, "max_diff": worst, "examples": examples}
    # Peers with full sets also compare their reached building ids with each other.
    if task == "isochrone" and "pgrouting" in answers and "networkx" in answers:
        diff = sum(1 for a, b in zip(answers["pgrouting"], answers["networkx"]) if a["ids"] != b["ids"])
        out["pgrouting_vs_networkx_ids"] = {"queries": len(queries), "disagree": diff}
    return out


def strip_ids(answers):
    return [{k: v for k, v in a.items() if k != "ids"} if isinstance(a, dict) else a for a in answers]


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------


def machine():
    model = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(), "python": platform.python_version()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--label", help="how the data directory was named on the command line")
    ap.add_argument("--graph", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--servicemap", required=True)
    ap.add_argument("--http-port", type=int, default=18555)
    ap.add_argument("--pg", required=True)
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--origins", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--min-seconds", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=15)
    a = ap.parse_args()

    g = Graph(a.graph)
    log(f"{a.data}: {g.meta['walk_nodes']} walk nodes, {g.meta['nodes']} nodes with points, "
        f"{len(g.directed)} directed edges, {len(g.fac_ok)} facilities, {len(g.bld_ok)} buildings; "
        f"categories {g.categories}")
    queries = make_queries(g, a.origins, a.seed)
    # servicemap first: a directory it refuses to serve is reported, not benchmarked.
    sm = Servicemap(a.servicemap, a.data, a.http_port, os.path.join(os.path.dirname(a.out), "servicemap.log"))
    t = time.perf_counter()
    try:
        sm.start()
    except RuntimeError as e:
        e = str(e).replace(os.getcwd() + "/", "")
        log(f"{a.data}: {e}")
        with open(a.out, "w") as f:
            json.dump({"data": a.label or a.data, "data_dir": a.data, "error": e,
                       "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}, f, indent=1)
        sys.exit(3)
    sm_start_s = time.perf_counter() - t
    versions = {"pandana": pandana.__version__, "networkx": nx.__version__, "python": platform.python_version()}
    t = time.perf_counter()
    versions.update(load_postgres(g, a.pg))
    load_s = {"postgres": time.perf_counter() - t}
    t = time.perf_counter()
    versions.update(load_redis(g, a.redis_port))
    load_s["redis"] = time.perf_counter() - t
    t = time.perf_counter()
    SHARED["graph"] = g
    SHARED["nx"] = build_networkx(g)
    load_s["networkx"] = time.perf_counter() - t
    t = time.perf_counter()
    net = build_pandana(g)
    load_s["pandana"] = time.perf_counter() - t
    load_s["servicemap"] = sm_start_s
    rss_start = sm.rss_mb()
    versions["servicemap"] = subprocess.run(
        ["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
        cwd=os.path.dirname(os.path.abspath(__file__)),
    ).stdout.strip()
    log("loaded: " + ", ".join(f"{k} {v:.2f} s" for k, v in load_s.items()))

    ctx = {"http_port": a.http_port, "pg": a.pg, "redis_port": a.redis_port, "radius_m": g.radius_m}
    plan = [
        ("ping", ["servicemap", "redis", "postgis"]),
        ("isochrone", ["servicemap", "servicemap_figures", "pgrouting", "networkx"]),
        ("straight", ["servicemap", "redis", "postgis"]),
        ("walk_nearest", ["servicemap", "pgrouting", "networkx"]),
    ]
    raw = defaultdict(lambda: defaultdict(lambda: {"p50_ms": [], "qps": []}))
    answers = {}
    try:
        for run in range(a.runs):
            for task, systems in plan:
                for s in systems:
                    times, ans, parse_s = latency_run(ctx, s, task, queries)
                    qps = throughput_run(ctx, s, task, queries, a.clients, a.rounds, a.min_seconds)
                    raw[task][s]["p50_ms"].append(statistics.median(times) * 1e3)
                    if parse_s:
                        raw[task][s].setdefault("client_parse_p50_ms", []).append(
                            statistics.median(parse_s) * 1e3
                        )
                    raw[task][s]["qps"].append(qps)
                    if run == 0:
                        answers.setdefault(task, {})[s] = ans
                    log(f"run {run + 1}/{a.runs} {task:13s} {s:10s} p50 {statistics.median(times) * 1e3:8.3f} ms  {qps:9.0f}/s")
            # pandana: nearest_pois answers every node at once; one batch per category asked.
            cats = sorted({q["category"] for q in queries})
            t = time.perf_counter()
            for c in cats:
                nodes = g.fac_nodes_by_cat[c]
                pandana_set_pois(net, c, nodes, [g.fac_id_of_node[n] for n in nodes], NEAREST_MAX_S, K)
            set_s = time.perf_counter() - t
            t = time.perf_counter()
            tables = {
                c: net.nearest_pois(NEAREST_MAX_S, c, num_pois=K, max_distance=math.inf, include_poi_ids=True)
                for c in cats
            }
            batch_s = time.perf_counter() - t
            answered = len(cats) * len(g.nodes)
            raw["walk_nearest"]["pandana"]["batch_s"] = raw["walk_nearest"]["pandana"].get("batch_s", []) + [batch_s]
            raw["walk_nearest"]["pandana"]["set_pois_s"] = raw["walk_nearest"]["pandana"].get("set_pois_s", []) + [set_s]
            raw["walk_nearest"]["pandana"]["qps"].append(answered / batch_s)
            raw["walk_nearest"]["pandana"]["amortised_ms"] = raw["walk_nearest"]["pandana"].get("amortised_ms", []) + [batch_s / answered * 1e3]
            log(f"run {run + 1}/{a.runs} walk_nearest  pandana    {len(cats)} batches {batch_s * 1e3:.1f} ms, "
                f"{batch_s / answered * 1e6:.2f} µs a (node, category) amortised")
            # servicemap's batch endpoint on the same work: every node of the network for every
            # category asked (POST /nearest/batch, CSV in and out, at most 100,000 origins a
            # request), timed over HTTP from each request sent to its answer received, as
            # pandana from call to DataFrame (bodies made before, answers parsed after).
            bodies = servicemap_batch_bodies(g)
            sm_batch_s, sm_raw = 0.0, {}
            for c in cats:
                secs, sm_raw[c] = servicemap_batch(a.http_port, bodies, c)
                sm_batch_s += secs
            sm_tables = {c: parse_servicemap_batch(r) for c, r in sm_raw.items()}
            b = raw["walk_nearest"]["servicemap_batch"]
            b["batch_s"] = b.get("batch_s", []) + [sm_batch_s]
            b["qps"].append(answered / sm_batch_s)
            b["amortised_ms"] = b.get("amortised_ms", []) + [sm_batch_s / answered * 1e3]
            log(f"run {run + 1}/{a.runs} walk_nearest  servicemap /nearest/batch {len(cats)} batches "
                f"{sm_batch_s * 1e3:.1f} ms, {sm_batch_s / answered * 1e6:.2f} µs a (node, category) amortised")
            if run == 0:
                answers["walk_nearest"]["servicemap_batch"] = [sm_tables[q["category"]].get(q["node"], []) for q in queries]
            if run == 0:
                pans = []
                for q in queries:
                    row = tables[q["category"]].loc[q["node"]]
                    pans.append(
                        [(row[f"poi{i}"], float(row[i])) for i in range(1, K + 1) if float(row[i]) <= NEAREST_MAX_S and not pd.isna(row[f"poi{i}"])]
                    )
                answers["walk_nearest"]["pandana"] = pans

            # Coverage: servicemap on a fresh server (its per-category cache empty) vs pandana.
            sm.stop()
            sm.start()
            http_ = Http(a.http_port)
            t = time.perf_counter()
            sm_cov = {}
            for c in g.categories:
                # skipGeometry: the driver reads the households covered, as it reads pandana's
                # numbers; the subdistrict's outline (~18 kB) was most of each answer and its
                # json.loads ~40 % of the timed figure (BENCHMARKS.md, eighth session).
                j = http_.get("/coverage?" + q_str(category=c, minutes=COVERAGE_S / 60, level="subdistrict",
                                                   skipGeometry="true"))
                sm_cov[c] = j["summary"]["households_covered"]
            cov_sm_s = time.perf_counter() - t
            t = time.perf_counter()
            bnodes = g.bld_ok["point_node"].to_numpy()
            pd_cov = {}
            for c in g.categories:
                nodes = g.fac_nodes_by_cat[c]
                pandana_set_pois(net, "cov_" + c, nodes, nodes, COVERAGE_S, 1)
            cov_set_s = time.perf_counter() - t
            t = time.perf_counter()
            for c in g.categories:
                d = net.nearest_pois(COVERAGE_S, "cov_" + c, num_pois=1, max_distance=math.inf)[1].to_numpy()
                pd_cov[c] = (d[bnodes] <= COVERAGE_S, d[bnodes])
            cov_pd_s = time.perf_counter() - t
            hh = g.bld_ok["households"].to_numpy()
            pd_cov_hh = {}
            for c, (reached, _) in pd_cov.items():
                pd_cov_hh[c] = int(hh[reached].sum())
            raw["coverage"]["servicemap"]["ms"] = raw["coverage"]["servicemap"].get("ms", []) + [cov_sm_s * 1e3]
            raw["coverage"]["pandana"]["ms"] = raw["coverage"]["pandana"].get("ms", []) + [cov_pd_s * 1e3]
            raw["coverage"]["pandana"]["set_pois_ms"] = raw["coverage"]["pandana"].get("set_pois_ms", []) + [cov_set_s * 1e3]
            log(f"run {run + 1}/{a.runs} coverage x{len(g.categories)}  servicemap {cov_sm_s * 1e3:.1f} ms, pandana {cov_pd_s * 1e3:.1f} ms (+ set_pois {cov_set_s * 1e3:.1f} ms)")
            if run == 0:
                answers["coverage"] = {"servicemap": sm_cov, "pandana": pd_cov_hh}
        rss_end = sm.rss_mb()
    finally:
        sm.stop()

    agree = {}
    for task in ("isochrone", "straight", "walk_nearest"):
        agree[task] = agreement(task, answers[task], queries)
    cov_bad = {c: (answers["coverage"]["servicemap"][c], answers["coverage"]["pandana"][c])
               for c in g.categories if answers["coverage"]["servicemap"][c] != answers["coverage"]["pandana"][c]}
    agree["coverage"] = {"pandana": {"queries": len(g.categories), "disagree": len(cov_bad), "examples": cov_bad}}
    for task, res in agree.items():
        for s, r in res.items():
            log(f"agreement {task:13s} {s:26s} {r['disagree']}/{r['queries']} disagree"
                + (f", max diff {r['max_diff']:.3g}" if "max_diff" in r else ""))

    def med(v):
        return statistics.median(v) if v else None

    summary = {task: {s: {k: med(v) for k, v in m.items()} for s, m in d.items()} for task, d in raw.items()}
    result = {
        "data": a.label or a.data,
        "data_dir": a.data,
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "machine": machine(),
        "loadavg": open("/proc/loadavg").read().split()[:3],
        "versions": versions,
        "sizes": {
            "walk_nodes": g.meta["walk_nodes"], "walk_edges": g.meta["walk_edges"],
            "facilities": len(g.fac_ok), "buildings": len(g.bld_ok), "categories": g.categories,
        },
        "params": {"origins": len(queries), "runs": a.runs, "clients": a.clients, "rounds": a.rounds,
                   "min_seconds": a.min_seconds, "seed": a.seed},
        "load_s": load_s,
        "servicemap_rss_mb": {"start": rss_start, "end": rss_end},
        "summary": summary,
        "raw": raw,
        "agreement": agree,
        "sample_answers": {t: {s: strip_ids(v[:3]) for s, v in d.items()} for t, d in answers.items() if t != "coverage"},
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1, default=str)
    log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
