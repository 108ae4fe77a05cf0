#!/usr/bin/env bash
# Soak test of the key store (examples/soak.rs). One process, all on 127.0.0.1:
# a test issuer, a protected route, CONNECTIONS load loops, and a chaos task
# that rotates keys and breaks the JWKS endpoint (stalled body, empty key set,
# 500, hang, garbage). Every answer is checked against an oracle; the run ends
# with "N passed, M failed" and exits non-zero on any failure.
#
#   benches/soak.sh                                 # 60 s, debug build (as CI runs it)
#   PROFILE=release DURATION=600 benches/soak.sh    # 10 minutes, release build
#   CONNECTIONS=64 DURATION=120 benches/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-60} PROFILE=${PROFILE:-debug} CONNECTIONS=${CONNECTIONS:-32}
TARGET=${CARGO_TARGET_DIR:-target}
case "$PROFILE" in
  debug) cargo build --example soak ;;
  release) cargo build --release --example soak ;;
  *) echo "PROFILE must be debug or release, not '$PROFILE'" >&2; exit 2 ;;
esac
awk '$1 >= 1 { print "note: 1-min load " $1 " before the soak (another build or test running?): latencies will be noisy" }' /proc/loadavg
# The soak ends itself after DURATION; the timeout only guards CI against a wedged run.
DURATION=$DURATION CONNECTIONS=$CONNECTIONS \
  exec timeout --kill-after=10 $((${DURATION%.*} + 120)) "$TARGET/$PROFILE/examples/soak"
