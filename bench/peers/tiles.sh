#!/usr/bin/env bash
# Vector tiles side by side: servicemap against Martin (maplibre/martin from crates.io) serving
# the same layers from PostGIS, on the same tile list, with the same wrk concurrency, both
# warmed (every tile made once) so each serves from its own tile cache. Issue 11 asks for
# >= 2x Martin's throughput. Not part of .ci/run; the numbers mean something only on a quiet
# machine. Nothing here touches BENCHMARKS.md: the table is printed and kept in
# target/peers-tiles/results.md for the lead to copy.
#
#   bench/peers/tiles.sh
#   # a quick check of the harness:
#   TILES_ZOOMS=14 WRK_DURATION=2s bench/peers/tiles.sh
#
# Environment (defaults in brackets):
#   TILES_ZOOMS [12-16]    zooms of the tile list (bench/tiles/tilelist.py: the data's extent)
#   WRK_THREADS [2], WRK_CONNECTIONS [64], WRK_DURATION [10s]   the same for both servers
#   TILES_WORKERS [2]      HTTP workers of each server
#   MARTIN_VERSION [1.14.0]  installed with `cargo install --locked` into PEERS_CACHE/martin
#   PEERS_CACHE [~/.cache/servicemap-peers]
#   TILES_PG_PORT [55433], TILES_MARTIN_PORT [18556], TILES_HTTP_PORT [18557]
#   SERVICEMAP_BIN []      a servicemap binary to use instead of building the release one
#                          (harness checks only: a debug build's figures mean nothing)
#
# What is compared: the composite of every layer (servicemap /tiles/WebMercatorQuad, Martin's
# composite source /boundary,communities,...) and one big layer alone (walkways). The layers
# are loaded with ogr2ogr from geodata/*.geojson, reprojected to EPSG:3857 with a GiST index
# (Martin's fastest set-up: no per-tile transform). The tiles differ in content: servicemap
# drops layers below their zoom (buildings from 15, ...) and simplifies per zoom; Martin puts
# every feature of every layer in every tile. Both are checked to answer 200 with a tile for
# every request of the list before timing.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
work="$repo/target/peers-tiles"
cache="${PEERS_CACHE:-$HOME/.cache/servicemap-peers}"
pg_port="${TILES_PG_PORT:-55433}"
martin_port="${TILES_MARTIN_PORT:-18556}"
http_port="${TILES_HTTP_PORT:-18557}"
zooms="${TILES_ZOOMS:-12-16}"
workers="${TILES_WORKERS:-2}"
martin_version="${MARTIN_VERSION:-1.14.0}"
wrk_args=(-t"${WRK_THREADS:-2}" -c"${WRK_CONNECTIONS:-64}" -d"${WRK_DURATION:-10s}" --latency)
layers=(water boundary communities grids compounds walkways facilities microgrids buildings)
mkdir -p "$work" "$cache"
log() { printf '[tiles-peers %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# --- 1. Install (idempotent) ---------------------------------------------------------------
pg_ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n1 || true)
pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
need=()
[ -n "$pg_ver" ] || need+=(postgresql postgresql-contrib)
[ -n "$pg_ver" ] && ! pkg_ok "postgresql-$pg_ver-postgis-3" && need+=("postgresql-$pg_ver-postgis-3")
command -v wrk >/dev/null || need+=(wrk)
command -v ogr2ogr >/dev/null || need+=(gdal-bin)
sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_="sudo"
if [ ${#need[@]} -gt 0 ]; then
    log "apt-get install ${need[*]}"
    $sudo_ apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${need[@]}" >/dev/null
    pg_ver=$(ls /usr/lib/postgresql | sort -n | tail -n1)
    pkg_ok "postgresql-$pg_ver-postgis-3" || DEBIAN_FRONTEND=noninteractive $sudo_ apt-get \
        -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "postgresql-$pg_ver-postgis-3" >/dev/null
fi
pg_bin="/usr/lib/postgresql/$pg_ver/bin"
martin="$cache/martin-$martin_version/bin/martin"
if ! [ -x "$martin" ]; then
    # One job at the lowest priority: the machine is shared. PostgreSQL support only (no web
    # UI, which would run npm, no rendering).
    log "cargo install martin $martin_version into $cache/martin-$martin_version (slow, nice 19, 1 job)"
    # Its own target directory in the cache: an interrupted build resumes where it stopped.
    CARGO_TARGET_DIR="$cache/martin-target" nice -n 19 cargo install --locked --jobs 1 \
        --no-default-features --features postgres \
        --version "$martin_version" --root "$cache/martin-$martin_version" martin
fi
"$martin" --version >&2

# --- 2. Servers on loopback; stop exactly them on exit ---------------------------------------
for port in "$pg_port" "$martin_port" "$http_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        log "port $port is already in use; set TILES_PG_PORT, TILES_MARTIN_PORT or TILES_HTTP_PORT"
        exit 1
    fi
done
pg_data="$work/pg"
pg_pid=""; martin_pid=""; sm_pid=""
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
cleanup() {
    set +e
    for p in "$martin_pid" "$sm_pid"; do
        if [ -n "$p" ]; then kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; fi
    done
    if [ -n "$pg_pid" ]; then "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w stop >/dev/null 2>&1; fi
    log "stopped what this run started"
}
trap cleanup EXIT INT TERM

if ! [ -f "$pg_data/PG_VERSION" ]; then
    mkdir -p "$pg_data"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$pg_data"
    "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_data" -U bench --auth=trust -E UTF8 >/dev/null
fi
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$pg_data"
log "PostgreSQL $pg_ver on 127.0.0.1:$pg_port (data $pg_data)"
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -w -l "$pg_data/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories='$pg_data' -c shared_buffers=256MB -c max_connections=50 -c fsync=off -c synchronous_commit=off" \
    start >/dev/null
pg_pid=$(head -n1 "$pg_data/postmaster.pid")
pg_url="postgresql://bench@127.0.0.1:$pg_port/tiles"
psql -q -h 127.0.0.1 -p "$pg_port" -U bench -d postgres -c 'DROP DATABASE IF EXISTS tiles' -c 'CREATE DATABASE tiles'
psql -q -h 127.0.0.1 -p "$pg_port" -U bench -d tiles -c 'CREATE EXTENSION postgis'

log "loading ${layers[*]} into PostGIS (EPSG:3857, GiST)"
for l in "${layers[@]}"; do
    ogr2ogr -f PostgreSQL "PG:host=127.0.0.1 port=$pg_port dbname=tiles user=bench" \
        "geodata/$l.geojson" -nln "$l" -t_srs EPSG:3857 -lco GEOMETRY_NAME=geom \
        -lco SPATIAL_INDEX=GIST -lco FID=fid -nlt PROMOTE_TO_MULTI
done
psql -q -h 127.0.0.1 -p "$pg_port" -U bench -d tiles -c 'ANALYZE'

sm_bin="${SERVICEMAP_BIN:-}"
if [ -z "$sm_bin" ]; then
    log "cargo build --release --bin servicemap"
    cargo build --release --quiet --bin servicemap
    sm_bin="$repo/target/release/servicemap"
fi
"$sm_bin" serve --data "$repo/geodata" --bind "127.0.0.1:$http_port" \
    --workers "$workers" >"$work/servicemap.log" 2>&1 &
sm_pid=$!
# Martin's clipping (PostGIS ST_AsMVTGeom) fails on some of the curved walkways with
# "lwcollection_construct: mixed dimension geometries: 2/0", a known PostGIS bug (ticket 4690;
# maplibre/martin#1901). Its documented workaround is to turn clipping off: every table is
# published with clip_geom false, which also spares Martin the clipping work (so the
# comparison, if anything, favours it).
cat >"$work/martin.yaml" <<YAML
listen_addresses: '127.0.0.1:$martin_port'
worker_processes: $workers
postgres:
  connection_string: '$pg_url'
  auto_publish:
    tables:
      clip_geom: false
YAML
"$martin" --config "$work/martin.yaml" >"$work/martin.log" 2>&1 &
martin_pid=$!
sm="http://127.0.0.1:$http_port"
mt="http://127.0.0.1:$martin_port"
for _ in $(seq 600); do
    curl -sf "$sm/healthz" >/dev/null && curl -sf "$mt/health" >/dev/null && break
    sleep 0.1
done
curl -sf "$sm/healthz" >/dev/null || { log "servicemap did not start: $work/servicemap.log"; exit 1; }
curl -sf "$mt/health" >/dev/null || { log "Martin did not start: $work/martin.log"; exit 1; }
curl -s "$mt/catalog" >"$work/martin-catalog.json"
for l in "${layers[@]}"; do
    grep -q "\"$l\"" "$work/martin-catalog.json" || { log "Martin does not publish $l: $work/martin-catalog.json"; exit 1; }
done

# --- 3. Same list, same client -------------------------------------------------------------
list="$work/tiles-$zooms.txt"
python3 "$repo/bench/tiles/tilelist.py" "$sm" "$zooms" >"$list"
n=$(wc -l <"$list")
composite=$(IFS=,; echo "${layers[*]}")

warm() {  # base path: every tile once, each must be 200
    local base=$1 path=$2 bad=0 z x y p code
    while read -r z x y; do
        p=${path//\{z\}/$z}; p=${p//\{x\}/$x}; p=${p//\{y\}/$y}
        code=$(curl -s -o /dev/null -w '%{http_code}' "$base$p")
        case "$code" in 200|204) ;; *) bad=$((bad + 1)); log "$base$p: HTTP $code" ;; esac
    done <"$list"
    [ "$bad" -eq 0 ] || { log "$bad tiles failed on $base"; exit 1; }
}
run() {  # name base path -> requests/s
    local name=$1 base=$2 path=$3 out="$work/wrk-$1.txt"
    warm "$base" "$path"
    TILES_LIST="$list" TILES_PATH="$path" TILES_GZIP=0 \
        wrk "${wrk_args[@]}" -s "$repo/bench/tiles/tiles.lua" "$base" >"$out"
    grep -q "non-2xx answers: 0" "$out" || { log "$name: errors during the run ($out)"; cat "$out" >&2; exit 1; }
    awk '/Requests\/sec/ {print $2}' "$out"
}
log "wrk ${wrk_args[*]} over $n tiles (zooms $zooms)"
declare -A rps
rps[sm_composite]=$(run sm-composite "$sm" "/tiles/WebMercatorQuad/{z}/{y}/{x}")
rps[mt_composite]=$(run martin-composite "$mt" "/$composite/{z}/{x}/{y}")
rps[sm_walkways]=$(run sm-walkways "$sm" "/collections/walkways/tiles/WebMercatorQuad/{z}/{y}/{x}")
rps[mt_walkways]=$(run martin-walkways "$mt" "/walkways/{z}/{x}/{y}")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
{
    echo "Tiles: $n (every tile of the data at zooms $zooms), wrk ${wrk_args[*]}, $workers workers each,"
    echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ);"
    echo "servicemap $(git -C "$repo" rev-parse --short HEAD) ($sm_bin), $("$martin" --version), PostgreSQL $pg_ver."
    echo
    echo "| source | servicemap req/s | Martin req/s | ratio |"
    echo "| --- | ---: | ---: | ---: |"
    echo "| composite (9 layers) | ${rps[sm_composite]} | ${rps[mt_composite]} | $(ratio "${rps[sm_composite]}" "${rps[mt_composite]}") |"
    echo "| walkways | ${rps[sm_walkways]} | ${rps[mt_walkways]} | $(ratio "${rps[sm_walkways]}" "${rps[mt_walkways]}") |"
} | tee "$work/results.md"
