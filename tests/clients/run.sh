#!/usr/bin/env bash
# Clients that are not ours, against the release binary on the default data (or the binary
# SERVICEMAP_BIN names: CI passes the debug binary cargo test already built, which spares a
# second whole build of every dependency):
# schemathesis fuzzes the contract (openapi.yaml as the app serves it), then OWSLib and
# GDAL read collections, items, queryables and a CQL2 filter as an OGC API client would.
# Prints "N passed, M failed" for its checks; exits non-zero when any failed.
# Accepted schemathesis findings stand in tests/clients/schemathesis-baseline.md, each with
# its reason and, machine-readable, in schemathesis-baseline.json (passed as --baseline).
set -uo pipefail
cd "$(dirname "$0")/../.."

# Pinned PyPI clients in a venv cached across runs; reinstalled only when the pins change.
venv="${HOME}/.cache/servicemap-clients"
pins="schemathesis==4.32.5 OWSLib==0.35.0"
if [ "$(cat "$venv/.pins" 2>/dev/null)" != "$pins" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" || { echo "cannot create the venv (Debian: apt-get install python3-venv)"; exit 2; }
  # shellcheck disable=SC2086 # the pins are words on purpose
  "$venv/bin/pip" install --quiet --disable-pip-version-check $pins || exit 2
  echo "$pins" > "$venv/.pins"
fi

if [ -n "${SERVICEMAP_BIN:-}" ]; then
  bin=$SERVICEMAP_BIN
  [ -x "$bin" ] || { echo "SERVICEMAP_BIN=$bin is not an executable"; exit 2; }
else
  cargo build --release --quiet || exit 2
  bin=target/release/servicemap
fi

# A free port from the kernel, then exactly our server process, killed on any exit.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:${port}"
log=$(mktemp)
work=$(mktemp -d)
# A scratch copy with an editor token, so the second schemathesis run exercises the write
# routes too (geodata/ itself is never written).
cp -r geodata "$work/data"
"$bin" token schemathesis editor >"$work/token"
sed -n 2p "$work/token" >"$work/tokens"
token=$(sed -n 1p "$work/token")
SERVICEMAP_LOG=warn "$bin" serve --data "$work/data" --bind "127.0.0.1:${port}" \
  --tokens "$work/tokens" --write-rate 1000000 --write-burst 1000000 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$log" "$work"' EXIT
for _ in $(seq 1 120); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "server exited:"; cat "$log"; exit 2; }
  sleep 0.5
done
curl -fsS "$base/healthz" >/dev/null || { echo "server not healthy after 60 s"; cat "$log"; exit 2; }

passed=0
failed=0
check() { # name, command...
  local name=$1
  shift
  echo "== $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "ok: $name"
  else
    failed=$((failed + 1))
    echo "FAILED: $name"
  fi
}

# All checks, positive and negative data, 50 examples per operation and phase; the seed
# makes a failure reproducible (it is printed, and SCHEMATHESIS_SEED overrides it;
# SCHEMATHESIS_MAX_EXAMPLES a longer search).
seed="${SCHEMATHESIS_SEED:-20261201}"
examples="${SCHEMATHESIS_MAX_EXAMPLES:-50}"
# Python 3.11 sometimes raises "SystemError: AST constructor recursion depth mismatch"
# inside hypothesis when two worker threads parse source at once (CPython gh-106905: the AST
# constructor's depth counter is shared): an interpreter bug, not a finding. A run that fails
# with exactly that error is run again with the same seed, up to three runs in all (two in a
# row have been seen); any other failure stands.
schemathesis_run() {
  local out status attempt
  out=$(mktemp)
  for attempt in 1 2 3; do
    "$venv/bin/schemathesis" run "$@" 2>&1 | tee "$out"
    status=${PIPESTATUS[0]}
    if [ "$status" -eq 0 ] || ! grep -q "AST constructor recursion depth mismatch" "$out"; then
      break
    fi
    [ "$attempt" -lt 3 ] && echo "schemathesis hit CPython gh-106905 (not a finding); running it again"
  done
  rm -f "$out"
  return "$status"
}

fuzz() {
  # A copy: schemathesis stamps last_seen into the file it is given, and a run must not
  # change the committed baseline.
  cp tests/clients/schemathesis-baseline.json "$work/baseline.json"
  schemathesis_run "$base/openapi.yaml" \
    --url "$base" \
    --checks all \
    --max-examples "$examples" \
    --seed "$seed" \
    --workers 2 \
    --no-color \
    --suppress-health-check too_slow,filter_too_much \
    --generation-database none \
    --baseline "$work/baseline.json" \
    --report-dir "$work/schemathesis"
}
check "schemathesis (seed $seed)" fuzz

# The writes with an editor token. positive_data_acceptance is left out: a schema-valid
# feature is still refused when it breaks a data rule (422 rule-violation), targets a
# read-only collection (405) or an old ETag (412), which no schema can say. Every other
# check holds: no 5xx, statuses, bodies and headers as the contract says, use after delete.
# One worker: this run is short (~15 s), and one thread cannot race itself into gh-106905.
fuzz_writes() {
  cp tests/clients/schemathesis-baseline.json "$work/baseline-writes.json"
  schemathesis_run "$base/openapi.yaml" \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --include-method POST --include-method PUT --include-method PATCH --include-method DELETE \
    --exclude-path /scenarios \
    --checks all \
    --exclude-checks positive_data_acceptance \
    --max-examples "$examples" \
    --seed "$seed" \
    --workers 1 \
    --no-color \
    --suppress-health-check too_slow,filter_too_much \
    --generation-database none \
    --baseline "$work/baseline-writes.json" \
    --report-dir "$work/schemathesis-writes"
}
check "schemathesis writes with a token (seed $seed)" fuzz_writes

check "OWSLib: collections, items, queryables, CQL2 filter" \
  "$venv/bin/python" tests/clients/owslib_check.py "$base"

ogr_summary() {
  local out
  out=$(ogrinfo -ro -so "OAPIF:$base" facilities 2>&1) || { echo "$out"; return 1; }
  echo "$out" | grep -E '^(Layer name|Geometry|Feature Count):'
  echo "$out" | grep -q '^Layer name: facilities' && echo "$out" | grep -q 'category: String'
}
check "GDAL: ogrinfo -so OAPIF facilities" ogr_summary

ogr_where() {
  local out n bad
  out=$(ogrinfo -ro "OAPIF:$base" facilities -where "category = 'elder_canteen'" 2>&1) || { echo "$out"; return 1; }
  n=$(echo "$out" | grep -cE '^\s*category \(String\) = ')
  bad=$(echo "$out" | grep -E '^\s*category \(String\) = ' | grep -vc "= elder_canteen$")
  echo "features: $n, not elder_canteen: $bad"
  [ "$n" -gt 0 ] && [ "$bad" -eq 0 ]
}
check "GDAL: ogrinfo -where category = 'elder_canteen'" ogr_where

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
