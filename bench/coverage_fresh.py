#!/usr/bin/env python3
"""Time the peer benchmark's coverage step alone: 11 GET /coverage (level=subdistrict, 15 min; the
categories with most facilities, as bench/peers/driver.py picks them) on a fresh server, one keep-alive
client, RUNS restarts; prints each run and the median (issue 15).
usage: bench/coverage_fresh.py target/release/servicemap [RUNS=5] [PORT=18931] [DATA=geodata] [GEOMETRY=0]
GEOMETRY=1 asks for the units' outlines too (the driver asks skipGeometry=true since the eighth session)."""
import json, socket, statistics, subprocess, sys, time, http.client

binary = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
port = int(sys.argv[3]) if len(sys.argv) > 3 else 18931
data = sys.argv[4] if len(sys.argv) > 4 else "geodata"
skip = "" if (len(sys.argv) > 5 and sys.argv[5] == "1") else "&skipGeometry=true"

def get(sock, path):
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdr = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    if "content-length" in hdr:
        n = int(hdr["content-length"])
        while len(body) < n:
            body += sock.recv(65536)
    else:  # chunked
        out = b""
        while True:
            while b"\r\n" not in body:
                body += sock.recv(65536)
            sz, rest = body.split(b"\r\n", 1)
            sz = int(sz, 16)
            while len(rest) < sz + 2:
                rest += sock.recv(65536)
            if sz == 0:
                break
            out += rest[:sz]
            body = rest[sz + 2:]
        body = out
    assert status == 200, (status, body[:300])
    return json.loads(body)

cats = None
times = []
answers = None
for r in range(runs):
    p = subprocess.Popen([binary, "--log-level", "warn", "serve", "--data", data, "--bind", f"127.0.0.1:{port}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        if cats is None:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/categories")
            j = json.loads(c.getresponse().read())
            # the driver's categories: those with facilities
            from collections import Counter
            cnt = Counter(f["properties"]["category"] for f in json.load(open(data + "/facilities.geojson"))["features"])
            cats = [c for c, _ in sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0]))][:11]
            p.terminate(); p.wait()
            p = subprocess.Popen([binary, "--log-level", "warn", "serve", "--data", data, "--bind", f"127.0.0.1:{port}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while True:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                    c.request("GET", "/healthz")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.05)
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t = time.perf_counter()
        ans = {}
        for cat in cats:
            j = get(s, f"/coverage?category={cat}&minutes=15.0&level=subdistrict{skip}")
            ans[cat] = j["summary"]["households_covered"]
        dt = (time.perf_counter() - t) * 1e3
        times.append(dt)
        s.close()
        if answers is None:
            answers = ans
        assert answers == ans
    finally:
        p.terminate(); p.wait()
print(f"{len(cats)} categories; runs ms: {' '.join(f'{x:.1f}' for x in times)}; median {statistics.median(times):.1f} ms")
print(json.dumps(answers, sort_keys=True))
