#!/usr/bin/env bash
# /nearest (straight line and walking) and /isochrone over HTTP with wrk, cycling through the
# peer benchmark's kind of origins (origins.py: seeded walkway vertices, category i mod 11 of
# the 11 largest), plus Redis GEOSEARCH on the same origins with redis-benchmark when Redis
# is installed: a cross-check of bench/peers/driver.py without a Python client in the way.
# Not part of .ci/run: numbers mean something only on a quiet machine.
#
#   bench/nearest/wrk.sh            # builds the release binary, serves geodata on loopback
#   bench/nearest/wrk.sh URL        # an already running servicemap (nothing is started)
#
# Environment (defaults in brackets):
#   NEAREST_DATA [geodata]   data directory (served, and read for origins and facilities)
#   NEAREST_ORIGINS [200]    origins; NEAREST_SEED [15]
#   NEAREST_REDIS [1]        0: skip the Redis cross-check
#   WRK_THREADS [2], WRK_CONNECTIONS [64], WRK_DURATION [10s]
#   NEAREST_PORT [18094]     port of the server this script starts; NEAREST_REDIS_PORT [56394]
#   SERVICEMAP_WORKERS [2]   its HTTP workers
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work="$repo/target/bench-nearest"
mkdir -p "$work"
data="${NEAREST_DATA:-$repo/geodata}"
port="${NEAREST_PORT:-18094}"
redis_port="${NEAREST_REDIS_PORT:-56394}"
threads="${WRK_THREADS:-2}" conns="${WRK_CONNECTIONS:-64}" dur="${WRK_DURATION:-10s}"
log() { printf '[nearest %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if ! command -v wrk >/dev/null; then
    log "apt-get install wrk"
    sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_="sudo"
    $sudo_ apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends wrk >/dev/null
fi

server_pid="" redis_pid=""
cleanup() {
    for p in $server_pid $redis_pid; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    return 0
}
trap cleanup EXIT INT TERM
if [ $# -ge 1 ]; then
    base=${1%/}
else
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        log "port $port is in use; set NEAREST_PORT"; exit 1
    fi
    log "cargo build --release --bin servicemap"
    (cd "$repo" && cargo build --release --quiet --bin servicemap)
    "$repo/target/release/servicemap" --log-level warn serve --data "$data" --bind "127.0.0.1:$port" \
        --workers "${SERVICEMAP_WORKERS:-2}" >"$work/server.log" 2>&1 &
    server_pid=$!
    base="http://127.0.0.1:$port"
    for _ in $(seq 600); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
    curl -sf "$base/healthz" >/dev/null || { log "servicemap did not start: $work/server.log"; exit 1; }
fi

origins="$work/origins.txt"
python3 "$here/origins.py" "$data" "${NEAREST_ORIGINS:-200}" "${NEAREST_SEED:-15}" >"$origins"
n=$(wc -l <"$origins")

# name | path template: what the peer driver asks (properties= and skipGeometry=true: ids and
# distances, as Redis answers), the full answer, walking nearest, and the 15-minute isochrone.
runs=(
    "straight|/nearest?lon={lon}&lat={lat}&category={category}&k=5&mode=straight&properties=&skipGeometry=true"
    "straight_full|/nearest?lon={lon}&lat={lat}&category={category}&k=5&mode=straight"
    "walk|/nearest?lon={lon}&lat={lat}&category={category}&k=5&max_min=60&properties=&skipGeometry=true"
    "isochrone|/isochrone?lon={lon}&lat={lat}&minutes=15"
)
summary="$work/summary.txt"
: >"$summary"
for r in "${runs[@]}"; do
    name=${r%%|*} path=${r#*|}
    # Every answer must be a 200 before it is timed.
    first=$(head -n1 "$origins")
    read -r lon lat cat <<<"$first"
    p=${path//\{lon\}/$lon}; p=${p//\{lat\}/$lat}; p=${p//\{category\}/$cat}
    code=$(curl -s -o /dev/null -w '%{http_code}' "$base$p")
    [ "$code" = 200 ] || { log "$p: HTTP $code"; exit 1; }
    log "wrk -t$threads -c$conns -d$dur $name over $n origins"
    ORIGINS="$origins" ORIGINS_PATH="$path" \
        wrk -t"$threads" -c"$conns" -d"$dur" --latency -s "$here/origins.lua" "$base" >"$work/wrk-$name.txt"
    grep -q "non-2xx answers: 0;" "$work/wrk-$name.txt" || { cat "$work/wrk-$name.txt"; log "$name: errors"; exit 1; }
    rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk-$name.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$work/wrk-$name.txt")
    printf '%-14s %10s req/s   p50 %s (wrk, %s connections)\n' "$name" "$rps" "$p50" "$conns" | tee -a "$summary"
done

# Redis GEOSEARCH on the same facilities and origins, with redis-benchmark (C, pipelining off):
# what Redis itself does without redis-py. One command per origin would need a script per
# origin; redis-benchmark repeats one command, so this cycles through the first 10 origins.
if [ "${NEAREST_REDIS:-1}" = 1 ] && command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
    if (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null; then
        log "port $redis_port is in use; set NEAREST_REDIS_PORT"; exit 1
    fi
    redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --daemonize no \
        --loglevel warning >"$work/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    python3 - "$data" >"$work/geoadd.txt" <<'PY'
import json, sys
for f in json.load(open(sys.argv[1] + "/facilities.geojson"))["features"]:
    lon, lat = f["geometry"]["coordinates"][:2]
    print(f"GEOADD fac:{f['properties']['category']} {lon!r} {lat!r} {f['id']}")
PY
    redis-cli -p "$redis_port" <"$work/geoadd.txt" >/dev/null
    # The radius the driver uses: large enough to hold every facility from every origin.
    radius=30000
    total=0 count=0
    while read -r lon lat cat; do
        count=$((count + 1)); [ $count -le 10 ] || break
        rps=$(redis-benchmark -p "$redis_port" -c "$conns" -n 50000 --threads "$threads" -q \
            GEOSEARCH "fac:$cat" FROMLONLAT "$lon" "$lat" BYRADIUS "$radius" m ASC COUNT 5 WITHDIST |
            tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -n1 | cut -d' ' -f1)
        total=$(python3 -c "print($total + ${rps:-0})")
    done <"$origins"
    avg=$(python3 -c "print(f'{$total / 10:.0f}')")
    printf '%-14s %10s req/s   (redis-benchmark, %s connections, mean over 10 origins)\n' "redis_geosearch" "$avg" "$conns" | tee -a "$summary"
fi
log "summary in $summary"
