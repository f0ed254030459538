#!/usr/bin/env bash
# /nearest throughput idle, then during a burst of acknowledged writes (release binary, wrk).
#   bench/edits/nearest_during_writes.sh [DIR=geodata] [WRITE_CONNECTIONS=256]
set -euo pipefail
cd "$(dirname "$0")/../.."
src=${1:-geodata}; wconns=${2:-256}
bin=${SERVICEMAP_BIN:-target/release/servicemap}
work=$(mktemp -d); trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$src" "$work/data"
"$bin" token bench editor > "$work/tok"; sed -n 2p "$work/tok" > "$work/tokens"
export SERVICEMAP_BENCH_TOKEN=$(sed -n 1p "$work/tok")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SERVICEMAP_LOG=warn "$bin" serve --data "$work/data" --bind "127.0.0.1:$port" --tokens "$work/tokens" \
  --write-rate 1000000 --write-burst 1000000 --workers 2 2>"$work/log" &
server=$!
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done
url="http://127.0.0.1:$port/nearest?lon=106.5320&lat=29.4700&category=elder_canteen&k=3&mode=walk"
echo "== /nearest idle"
wrk -t1 -c16 -d8s "$url" | grep -E "Requests/sec|Latency"
echo "== /nearest during POST burst ($wconns writers)"
# The writes go ~2.5 km from the query point (by facility F0060; BENCH_AT="lon lat" moves
# them) so that what is measured is the writer's toll on readers, not a query made heavier
# by thousands of new canteens beside it (BENCH_AT="106.531965 29.4696041" shows that case).
read -r blon blat <<< "${BENCH_AT:-106.5067875 29.4721975}"
BENCH_LON=$blon BENCH_LAT=$blat wrk -t1 -c"$wconns" -d12s -s bench/edits/post.lua "http://127.0.0.1:$port" > "$work/writes" &
w=$!
sleep 2
wrk -t1 -c16 -d8s "$url" | grep -E "Requests/sec|Latency"
wait "$w"
grep -E "Requests/sec" "$work/writes" | sed 's/^/writes: /'
# Idle again on the data as the burst left it.
echo "== /nearest idle after the burst (same data as at its end)"
wrk -t1 -c16 -d8s "$url" | grep -E "Requests/sec|Latency"
