#!/usr/bin/env bash
# Acknowledged writes per second (each one fsynced, validated, in the next snapshot) and the
# writer's per-batch split (validate / build the next snapshot / journal fsync), on a scratch
# copy of a data directory. Needs the release binary and wrk. Usage:
#   bench/edits/run.sh [DIR=geodata] [CONNECTIONS=64] [SECONDS=10]
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-geodata}; conns=${2:-64}; secs=${3:-10}
bin=${SERVICEMAP_BIN:-target/release/servicemap}
work=$(mktemp -d); trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$src" "$work/data"
"$bin" token bench editor > "$work/tok"
sed -n 2p "$work/tok" > "$work/tokens"
export SERVICEMAP_BENCH_TOKEN=$(sed -n 1p "$work/tok")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SERVICEMAP_LOG=info "$bin" serve --data "$work/data" --bind "127.0.0.1:$port" --tokens "$work/tokens" \
  --write-rate 1000000 --write-burst 1000000 --workers 2 2>"$work/log" &
server=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done
echo "== POST /collections/facilities/items, $conns connections, ${secs}s"
wrk -t2 -c"$conns" -d"${secs}s" -s bench/edits/post.lua "http://127.0.0.1:$port" | grep -E "Requests/sec|Non-2xx|requests in|Latency"
echo "== writer batches (writes, validate_ms, build_ms, append_ms)"
grep "writes committed" "$work/log" | python3 -c '
import re,sys,statistics as st
rows=[dict(re.findall(r"(\w+)=([\d.]+)", re.sub(r"\x1b\[[0-9;]*m", "", l))) for l in sys.stdin]
if rows:
  for k in ["writes","validate_ms","build_ms","append_ms","ms"]:
    v=sorted(float(r[k]) for r in rows if k in r); print(f"{k}: batches {len(v)}, median {st.median(v):.1f}, max {max(v):.1f}")'
echo "== one walkway edit (properties only: the walking world is rebuilt all the same)"
w=$(curl -sf "http://127.0.0.1:$port/collections/walkways/items?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["features"][0]["id"])')
: > "$work/log.before"; cp "$work/log" "$work/log.before"
s=$(date +%s.%N)
curl -sf -o /dev/null -w "PATCH walkway $w: %{http_code} in %{time_total}s\n" -X PATCH \
  -H "Authorization: Bearer $SERVICEMAP_BENCH_TOKEN" -H 'content-type: application/merge-patch+json' \
  -d '{"properties":{"note":"bench"}}' "http://127.0.0.1:$port/collections/walkways/items/$w"
sleep 0.2
diff "$work/log.before" "$work/log" | grep "writes committed" | sed -E 's/\x1b\[[0-9;]*m//g' || true
