#!/usr/bin/env bash
# What each endpoint family of bench/soak.lua leaves resident (issue 15). For every family:
# a fresh release server, SECONDS_EACH seconds of wrk with only that family, the highest and
# the last VmRSS, then glibc's malloc_stats through gdb (arenas, bytes malloc holds from the
# system, bytes in use) — the difference between "in use" and VmRSS is what the allocator
# keeps free or the binary maps. Not part of CI; stops exactly the processes it started.
#
#   cargo build --release
#   bench/mem_by_endpoint.sh                       # every family, 30 s each
#   SECONDS_EACH=60 bench/mem_by_endpoint.sh tiles gaps all
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/servicemap}
DATA=${DATA:-geodata}
SECONDS_EACH=${SECONDS_EACH:-30}
PORT=${PORT:-18095}
FAMILIES=("$@")
[ ${#FAMILIES[@]} -gt 0 ] || FAMILIES=(none locate straight walking route isochrone items tiles coverage gaps batch all)
command -v wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }
log=$(mktemp)
srv=""
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -f "$log"' EXIT
printf '%-10s %8s %8s %8s %7s %9s %9s\n' family start_MB max_MB end_MB arenas system_MB inuse_MB
for fam in "${FAMILIES[@]}"; do
  "$BIN" --log-level warn serve --data "$DATA" --bind "127.0.0.1:$PORT" >/dev/null 2>"$log" &
  srv=$!
  until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do
    kill -0 "$srv" 2>/dev/null || { echo "servicemap exited before answering" >&2; exit 1; }
    sleep 0.05
  done
  rss() { awk '/^VmRSS:/ {print $2}' "/proc/$srv/status"; }
  start=$(rss); max=$start
  if [ "$fam" != none ]; then
    only=$fam; [ "$fam" = all ] && only=""
    SOAK_ONLY=$only wrk -t2 -c8 -d"${SECONDS_EACH}s" -s bench/soak.lua "http://127.0.0.1:$PORT" >/dev/null 2>&1 &
    w=$!
    while kill -0 "$w" 2>/dev/null; do
      sleep 1; r=$(rss); [ "$r" -gt "$max" ] && max=$r
    done
    wait "$w" || true
  fi
  sleep 1
  end=$(rss)
  : >"$log"
  gdb -p "$srv" -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1 || true
  sleep 0.2
  # malloc_stats: one block per arena, then "Total (incl. mmap):" with system and in-use bytes.
  read -r arenas sys inuse < <(awk '/^Arena/ {a++} /^Total/ {t=1} t && /system bytes/ {s=$NF} t && /in use bytes/ {u=$NF} END {print a+0, s+0, u+0}' "$log")
  printf '%-10s %8.1f %8.1f %8.1f %7d %9.1f %9.1f\n' "$fam" "$(echo "$start/1024" | bc -l)" "$(echo "$max/1024" | bc -l)" "$(echo "$end/1024" | bc -l)" "$arenas" "$(echo "$sys/1048576" | bc -l)" "$(echo "$inuse/1048576" | bc -l)"
  kill "$srv"; wait "$srv" 2>/dev/null || true; srv=""
done
