#!/usr/bin/env bash
# Refusal benchmark (issue #10): req/s of the 401 path before and after the
# guard drains a small unread request body, both servers in one run, routes
# and revisions measured in alternation so the ratios are comparable.
#
# Builds examples/bench_server.rs in release twice: the baseline revision
# (BASE, default 7e2c84e: every 401 to a POST with a body closed the
# connection) in a git worktree with its own target dir, and the current
# working tree. Both are kept under target/refusals-baseline/ for re-runs.
#
#   benches/refusals.sh                    # 3 rounds x 10 s per route and revision
#   BASE=<rev> ROUNDS=5 DURATION=15 benches/refusals.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BASE=${BASE:-7e2c84e} ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10} CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18190}
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"; (apt-get install -y wrk || (apt-get update && apt-get install -y wrk)) >/dev/null
fi

# Baseline: a detached worktree at BASE, built with its own target dir so the
# main one is untouched. Reused (and moved to BASE if needed) on re-runs.
BASE_DIR=$ROOT/target/refusals-baseline
BASE_SRC=$BASE_DIR/src
BASE_REV=$(git rev-parse --verify "$BASE^{commit}")
if [ ! -e "$BASE_SRC/.git" ]; then
  git worktree prune
  mkdir -p "$BASE_DIR"
  git worktree add --detach "$BASE_SRC" "$BASE_REV" >/dev/null
elif [ "$(git -C "$BASE_SRC" rev-parse HEAD)" != "$BASE_REV" ]; then
  git -C "$BASE_SRC" checkout -q --detach "$BASE_REV"
fi
echo "building baseline $BASE ($(git rev-parse --short "$BASE_REV")) in $BASE_SRC"
(cd "$BASE_SRC" && CARGO_TARGET_DIR=$BASE_DIR/target cargo build --release --example bench_server 2>&1 | tail -1)
echo "building current working tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- mcp-auth-actix examples Cargo.toml Cargo.lock || echo ', with uncommitted changes'))"
cargo build --release --example bench_server 2>&1 | tail -1

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# start NAME BINARY PORT: one Actix worker, a small token pool (no token is used).
start() {
  mkdir -p "$WORK/$1"
  POOL=1 BIND=127.0.0.1:$3 OUT=$WORK/$1 "$2" >"$WORK/$1/server.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 1 100); do [ -f "$WORK/$1/ready" ] && break; sleep 0.1; done
  [ -f "$WORK/$1/ready" ] || { echo "$1 server did not start"; cat "$WORK/$1/server.log"; exit 1; }
}
start before "$BASE_DIR/target/release/examples/bench_server" "$PORT"
start after "$ROOT/target/release/examples/bench_server" "$((PORT + 1))"
url() { if [ "$1" = before ]; then echo "http://127.0.0.1:$PORT"; else echo "http://127.0.0.1:$((PORT + 1))"; fi; }

BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"}}'
cat >"$WORK/post_no_token.lua" <<LUA
wrk.method = "POST"
wrk.path = "/protected"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
LUA
cat >"$WORK/post_bad_token.lua" <<LUA
wrk.method = "POST"
wrk.path = "/protected"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer not.a.valid-token"
LUA
cat >"$WORK/get_no_token.lua" <<LUA
wrk.method = "GET"
wrk.path = "/protected"
LUA
ROUTES=(post_no_token post_bad_token get_no_token)

# curl ROUTE REV: the status and whether the server announces a close.
probe() {
  local args=()
  case $1 in
    post_no_token) args=(-X POST -H "Content-Type: application/json" --data "$BODY") ;;
    post_bad_token) args=(-X POST -H "Content-Type: application/json" -H "Authorization: Bearer not.a.valid-token" --data "$BODY") ;;
    get_no_token) args=() ;;
  esac
  local head; head=$(curl -si "${args[@]}" "$(url "$2")/protected" | tr -d '\r' | sed '/^$/q')
  local status; status=$(awk 'NR==1 {print $2}' <<<"$head")
  local conn; conn=$(awk -F': *' 'tolower($1)=="connection" {print tolower($2)}' <<<"$head")
  local www; www=$(awk -F': *' 'tolower($1)=="www-authenticate" {print $2}' <<<"$head" | grep -o 'error="[a-z_]*"' || true)
  printf '%-16s %-7s %s  connection: %-11s %s\n' "$1" "$2" "$status" "${conn:-(absent)}" "$www"
  [ "$status" = 401 ] || { echo "expected 401 from $2 on $1"; exit 1; }
}
echo
echo "single requests (curl -si):"
for route in "${ROUTES[@]}"; do for rev in before after; do probe "$route" "$rev"; done; done

# Accepted TCP connections on this host (network namespace), to count reconnects:
# wrk opens CONNECTIONS sockets and reconnects after every `connection: close`.
passive_opens() { awk '/^Tcp:/ && $2 ~ /^[0-9]+$/ {print $7}' /proc/net/snmp; }

# run ROUTE REV -> appends "route rev rps p50_ms p99_ms new_connections requests socket_errors"
run() {
  local opens0 opens1 out
  opens0=$(passive_opens)
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/$1.lua" "$(url "$2")")
  opens1=$(passive_opens)
  local rps p50 p99 reqs errs
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  # "Socket errors: connect 0, read 12, write 0, timeout 0" -> total
  errs=$(awk '/Socket errors/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i } END { print s + 0 }' <<<"$out")
  # Non-2xx responses are the point here: every answer is a 401.
  echo "$1 $2 $rps $(ms "$p50") $(ms "$p99") $((opens1 - opens0)) $reqs ${errs:-0}" >>"$WORK/results"
  printf '  %-16s %-7s %10.0f req/s  %6d new connections  %s socket errors\n' "$1" "$2" "$rps" "$((opens1 - opens0))" "${errs:-0}"
}
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) { sub(/us/, "", v); print v / 1000 } else if (v ~ /ms$/) { sub(/ms/, "", v); print v } else { sub(/s/, "", v); print v * 1000 } }'; }

echo
echo "load average before measuring: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '$1 >= 1 { print "warning: 1-min load " $1 " (another build or test running, or a previous run still in the average?): check, or the figures will be noisy" }' /proc/loadavg
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r/$ROUNDS"
  for route in "${ROUTES[@]}"; do
    # Alternate which revision goes first, so neither always gets the warmer slot.
    if [ $((r % 2)) = 1 ]; then run "$route" before; run "$route" after; else run "$route" after; run "$route" before; fi
  done
done
echo "load average after measuring: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "before=$BASE after=working tree ($(git rev-parse --short HEAD)) rounds=$ROUNDS duration=${DURATION}s connections=$CONNECTIONS workers=1 cores=$(nproc)"
printf '%-16s %-7s %12s %9s %9s %14s %8s\n' route rev "req/s(med)" "p50 ms" "p99 ms" "conns/1k req" "after/before"
awk '
  { k = $1 SUBSEP $2; n[k]++; c = n[k]; r[k, c] = $3; p50[k, c] = $4; p99[k, c] = $5; conns[k] += $6; reqs[k] += $7
    if (!($1 in seen)) { seen[$1]; order[++m] = $1 } }
  function med(a, k, c,   i, j, t, v) { for (i = 1; i <= c; i++) v[i] = a[k, i]; for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }; return v[int((c + 1) / 2)] }
  END {
    for (i = 1; i <= m; i++) {
      b = med(r, order[i] SUBSEP "before", n[order[i] SUBSEP "before"])
      split("before after", revs, " ")
      for (j = 1; j <= 2; j++) { k = order[i] SUBSEP revs[j]; c = n[k]; v = med(r, k, c)
        printf "%-16s %-7s %12.0f %9.3f %9.3f %14.1f %8s\n", order[i], revs[j], v, med(p50, k, c), med(p99, k, c), 1000 * conns[k] / reqs[k], (j == 2 ? sprintf("%.2f", v / b) : "") }
    }
  }' "$WORK/results"
