#!/bin/bash
# User-space instructions a request of one servicemap binary (issue 15: CPU a request is what
# the straight-line target is bound by, and instruction counts are steady where wall clock
# and CPU time swing by a third between minutes on this shared host).
#
#   bench/nearest/instructions.sh BIN [nearest|healthz] [N=2000] [PORT=18186]
#
# Runs BIN under callgrind with instrumentation off (one worker), warms it with 300 requests of
# the peer driver's thin client, counts only the next N requests (callgrind_control -i on/off),
# and prints the program total over N. nearest: straight-line /nearest over the origins of
# bench/nearest/origins.lua's mode=straight paths (or /tmp/lead/geo_st.lua if given as
# PATHS=...). Kernel time (the loopback TCP) is not counted.
set -eu
BIN=$1; WHAT=${2:-nearest}; N=${3:-2000}; PORT=${4:-18186}
here=$(cd "$(dirname "$0")/../.." && pwd)
PATHS=${PATHS:-}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out/cg.%p" \
    "$BIN" --log-level warn serve --data "$here/geodata" --bind 127.0.0.1:$PORT --workers 1 \
    >/dev/null 2>"$out/vg.log" &
vp=$!
for _ in $(seq 600); do curl -s -o /dev/null http://127.0.0.1:$PORT/healthz && break; sleep 0.2; done
py=${PY:-$HOME/.cache/servicemap-peers/venv/bin/python}
"$py" - "$here" "$WHAT" "$N" "$PORT" "$vp" "$PATHS" <<'PY'
import re, subprocess, sys
here, what, n, port, vp, paths_file = sys.argv[1:7]
sys.path.insert(0, f"{here}/bench/peers")
import driver
if what == "healthz":
    paths = ["/healthz"]
else:
    text = open(paths_file).read() if paths_file else ""
    paths = re.findall(r'"(/nearest[^"]*mode=straight[^"]*)"', text)
    if not paths:
        # The peer driver's query shape: 5 nearest, ids and distances only.
        cats = ["eatery", "convenience_store", "pharmacy", "barber", "supermarket", "elder_canteen"]
        paths = [f"/nearest?lon={106.51 + 0.0007 * i!r}&lat={29.46 + 0.0004 * i!r}&category={cats[i % 6]}"
                 "&k=5&mode=straight&properties=&skipGeometry=true" for i in range(60)]
h = driver.Http(int(port))
for i in range(300):
    h.get_raw(paths[i % len(paths)])
subprocess.run(["callgrind_control", "-i", "on", vp], capture_output=True, check=True)
for i in range(int(n)):
    h.get_raw(paths[i % len(paths)])
subprocess.run(["callgrind_control", "-i", "off", vp], capture_output=True, check=True)
h.close()
PY
kill $vp; wait $vp 2>/dev/null || true
f=$(ls "$out"/cg.* | head -1)
tot=$(callgrind_annotate "$f" 2>/dev/null | grep -m1 "PROGRAM TOTALS" | awk '{gsub(",","",$1); print $1}')
echo "$(basename "$BIN") $WHAT: $((tot / N)) user-space instructions a request (callgrind, $N requests)"
