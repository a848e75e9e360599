#!/usr/bin/env bash
# Measures the API calls Lakeline makes to its workspace per minute while a pipeline run is
# active and while idle, on the embedded local workspace. Prints numbers; asserts nothing.
# Usage: bench/tracker_calls.sh   (after `make build`)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=$(mktemp -d)
port=${PORT:-3907}
mkdir -p "$data/project" && cp "$root"/pipeline/*.py "$root"/pipeline/requirements.txt "$data/project/"
LAKELINE_RUNTIMES_DIR="$root/target/tmp/runtimes" LEPTOS_SITE_ROOT="$root/target/site" \
  "$root/target/debug/lakeline" --data-dir "$data" --listen "127.0.0.1:$port" --project-dir "$data/project" \
  --owner-suffix bench >"$data/lakeline.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.2; done
fn() { curl -sf -X POST "$url/api/$1" -H 'content-type: application/x-www-form-urlencoded' --data "${2:-}"; }
calls() { curl -sf "$url/healthz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["workspace_api_calls"])'; }
# History comes from Lakeline's own database: reading it costs no workspace call.
status() { fn list_pipeline_runs 'filter[status]=&filter[from]=&filter[to]=&filter[who]=&filter[snapshot]=&page=0' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["runs"][0]["status"] if d["runs"] else "none")'; }

fn apply_pipeline_setup >/dev/null
sleep 16   # let the tracker find the jobs and settle into its idle pace
c0=$(calls); t0=$(date +%s.%N)
sleep 60
c1=$(calls); t1=$(date +%s.%N)
idle=$(python3 -c "print(round(($c1-$c0)*60/($t1-$t0),1))")

fn trigger_pipeline 'arguments=&environment=' >/dev/null
c2=$(calls); t2=$(date +%s.%N)
while [ "$(status)" = running ]; do sleep 1; done
c3=$(calls); t3=$(date +%s.%N)
active=$(python3 -c "print(round(($c3-$c2)*60/($t3-$t2),1))")
echo "idle:   $((c1-c0)) calls in $(python3 -c "print(round($t1-$t0))") s = $idle calls/min"
echo "active: $((c3-c2)) calls in $(python3 -c "print(round($t3-$t2,1))") s = $active calls/min"
echo "final status: $(status)"
