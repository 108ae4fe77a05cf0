#!/usr/bin/env bash
# Load benchmark: one release server (1 Actix worker), routes measured in
# alternation in one run, so the ratios are comparable. Prints req/s,
# p50/p99 latency, peak RSS, and ratios to the unprotected route.
#
#   benches/load.sh                 # RS256, 3 rounds x 10 s per route
#   ALG=ES256 ROUNDS=5 DURATION=15 benches/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ALG=${ALG:-RS256} ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10} CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18090}
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"; (apt-get install -y wrk || (apt-get update && apt-get install -y wrk)) >/dev/null
fi
cargo build --release --example bench_server --example quickstart 2>&1 | tail -1

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

ALG=$ALG BIND=127.0.0.1:$PORT OUT=$WORK target/release/examples/bench_server >"$WORK/server.log" 2>&1 &
SERVER=$!; PIDS+=("$SERVER")
for _ in $(seq 1 100); do [ -f "$WORK/ready" ] && break; sleep 0.1; done
[ -f "$WORK/ready" ] || { echo "server did not start"; cat "$WORK/server.log"; exit 1; }

TOKEN=$(cat "$WORK/token.txt")
cat >"$WORK/pool.lua" <<LUA
local tokens, i = {}, 0
for line in io.lines("$WORK/tokens.txt") do tokens[#tokens + 1] = line end
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/verify-every-time", { ["Authorization"] = "Bearer " .. tokens[i] })
end
LUA

# run NAME ARGS... -> appends "name rps p50_ms p99_ms" to results
run() {
  local name=$1; shift
  local out; out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@")
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local non2xx; non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  [ -z "$non2xx" ] || { echo "$name: $non2xx non-2xx responses"; echo "$out"; exit 1; }
  echo "$name $rps $(ms "$p50") $(ms "$p99")" >>"$WORK/results"
}
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v); print v } else { sub(/s/, "", v); print v * 1000 } }'; }

URL=http://127.0.0.1:$PORT
curl -sf -H "Authorization: Bearer $TOKEN" "$URL/protected" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r/$ROUNDS"
  # Same request bytes as the protected route: only the auth work differs.
  run unprotected -H "Authorization: Bearer $TOKEN" "$URL/open"
  run protected_reused_token -H "Authorization: Bearer $TOKEN" "$URL/protected"
  run protected_verify_every_time -s "$WORK/pool.lua" "$URL"
done
RSS=$(awk '/VmHWM/ {print $2 / 1024}' /proc/$SERVER/status)

# The quickstart (test issuer + MCP endpoint in one process) under load.
QPORT=$((PORT + 1))
BIND=127.0.0.1:$QPORT target/release/examples/quickstart >"$WORK/qs.log" 2>&1 &
QS=$!; PIDS+=("$QS")
for _ in $(seq 1 100); do grep -q "^Tokens: POST" "$WORK/qs.log" 2>/dev/null && break; sleep 0.1; done
QTOKEN=$(grep -o "Bearer [A-Za-z0-9._-]*" "$WORK/qs.log" | head -1 | cut -d' ' -f2)
cat >"$WORK/qs.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $QTOKEN"
LUA
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$QPORT/mcp" && break; sleep 0.1; done
run quickstart_whoami -s "$WORK/qs.lua" "http://127.0.0.1:$QPORT/mcp"
QRSS=$(awk '/VmHWM/ {print $2 / 1024}' /proc/$QS/status)

echo
echo "alg=$ALG rounds=$ROUNDS duration=${DURATION}s connections=$CONNECTIONS workers=1 cores=$(nproc)"
printf '%-30s %12s %9s %9s %8s\n' route "req/s(med)" "p50 ms" "p99 ms" ratio
awk '
  { n[$1]++; r[$1, n[$1]] = $2; p50[$1, n[$1]] = $3; p99[$1, n[$1]] = $4; if (!($1 in seen)) { seen[$1]; order[++k] = $1 } }
  function med(a, name, c,   i, j, t, v) { for (i = 1; i <= c; i++) v[i] = a[name, i]; for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }; return v[int((c + 1) / 2)] }
  END {
    base = med(r, "unprotected", n["unprotected"])
    for (i = 1; i <= k; i++) { name = order[i]; c = n[name]; m = med(r, name, c)
      printf "%-30s %12.0f %9.3f %9.3f %8.3f\n", name, m, med(p50, name, c), med(p99, name, c), m / base }
  }' "$WORK/results"
echo "peak RSS bench_server: ${RSS} MiB; quickstart under load: ${QRSS} MiB"
