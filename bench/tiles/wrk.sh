#!/usr/bin/env bash
# Cached vector tiles over HTTP: wrk over a tile list (every tile of the data at TILES_ZOOMS),
# after one warm-up pass has made every tile once. Target (issue 11): >= 30,000 req/s on
# 2 cores. Not part of .ci/run: numbers mean something only on a quiet machine.
#
#   bench/tiles/wrk.sh            # builds the release binary, serves geodata on loopback
#   bench/tiles/wrk.sh URL        # an already running servicemap (nothing is started)
#
# Environment (defaults in brackets):
#   TILES_ZOOMS [12-16]     zoom levels of the list (tilelist.py)
#   TILES_SOURCE [composite]  composite (/tiles) or a collection id (/collections/ID/tiles)
#   TILES_GZIP [0]          1: ask for gzip (Accept-Encoding: gzip), as browsers do
#   WRK_THREADS [2], WRK_CONNECTIONS [64], WRK_DURATION [10s]
#   TILES_PORT [18093]      port of the server this script starts
#   SERVICEMAP_WORKERS [2]  its HTTP workers
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work="$repo/target/bench-tiles"
mkdir -p "$work"
zooms="${TILES_ZOOMS:-12-16}"
source_="${TILES_SOURCE:-composite}"
port="${TILES_PORT:-18093}"
log() { printf '[tiles %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if ! command -v wrk >/dev/null; then
    log "apt-get install wrk"
    sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_="sudo"
    $sudo_ apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends wrk >/dev/null
fi

server_pid=""
cleanup() { if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi; }
trap cleanup EXIT INT TERM
if [ $# -ge 1 ]; then
    base=${1%/}
else
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        log "port $port is in use; set TILES_PORT"; exit 1
    fi
    log "cargo build --release --bin servicemap"
    (cd "$repo" && cargo build --release --quiet --bin servicemap)
    "$repo/target/release/servicemap" serve --data "$repo/geodata" --bind "127.0.0.1:$port" \
        --workers "${SERVICEMAP_WORKERS:-2}" >"$work/server.log" 2>&1 &
    server_pid=$!
    base="http://127.0.0.1:$port"
    for _ in $(seq 600); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
    curl -sf "$base/healthz" >/dev/null || { log "servicemap did not start: $work/server.log"; exit 1; }
fi

case "$source_" in
    composite) path="/tiles/WebMercatorQuad/{z}/{y}/{x}" ;;
    *) path="/collections/$source_/tiles/WebMercatorQuad/{z}/{y}/{x}" ;;
esac
list="$work/tiles-$zooms.txt"
python3 "$here/tilelist.py" "$base" "$zooms" >"$list"
n=$(wc -l <"$list")

# Warm-up: every tile once (made and cached), and every answer must be a tile.
log "warming $n tiles of $source_"
accept="identity"; [ "${TILES_GZIP:-0}" = 1 ] && accept="gzip"
bad=0
while read -r z x y; do
    p=${path//\{z\}/$z}; p=${p//\{x\}/$x}; p=${p//\{y\}/$y}
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Accept-Encoding: $accept" "$base$p")
    [ "$code" = 200 ] || { bad=$((bad + 1)); log "$p: HTTP $code"; }
done <"$list"
[ "$bad" -eq 0 ] || { log "$bad tiles did not answer 200"; exit 1; }

log "wrk -t${WRK_THREADS:-2} -c${WRK_CONNECTIONS:-64} -d${WRK_DURATION:-10s} over $n tiles ($source_, gzip=${TILES_GZIP:-0})"
TILES_LIST="$list" TILES_PATH="$path" TILES_GZIP="${TILES_GZIP:-0}" \
    wrk -t"${WRK_THREADS:-2}" -c"${WRK_CONNECTIONS:-64}" -d"${WRK_DURATION:-10s}" --latency \
    -s "$here/tiles.lua" "$base" | tee "$work/wrk-$source_-$zooms.txt"
