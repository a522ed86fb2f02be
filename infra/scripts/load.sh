#!/usr/bin/env bash
# make load: GAME's k6 scenario (the game-load tool) against a fresh dev API on the local stack,
# with the CPU of the dev API and of DynamoDB Local measured separately.
#
#   infra/scripts/load.sh [game-load options]      e.g. --vus 100 --hold 60
#
# Builds the dev API and the tool (GAME_LOAD_PROFILE=release, the default, measures the
# optimised code Lambda runs; =debug skips the release build), starts the stack and the dev API
# on GAME_DEV_PORT (3000) with rate limits raised far above the load (as GAME's script notes a
# faithful run must), runs the tool, stops what it started. The report, load-summary.json and
# load.png go to target/load (--out to change). Against another API run the tool directly:
#   cargo run --release -p game-load -- --base-url https://… --api-key …
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO_DIR"
PROFILE=${GAME_LOAD_PROFILE:-release}
case $PROFILE in
  release) cargo build --quiet --release -p game-local -p game-load --bin game-dev --bin game-load ;;
  debug) cargo build --quiet -p game-local -p game-load --bin game-dev --bin game-load ;;
  *) echo "load.sh: GAME_LOAD_PROFILE must be release or debug" >&2; exit 2 ;;
esac
BIN=target/$PROFILE

if [[ ${1:-} != --inside-stack ]]; then
  exec "$SCRIPT_DIR/with-stack.sh" "$0" --inside-stack "$@"
fi
shift

STATE=${GAME_STATE_DIR:-$REPO_DIR/.local}
PORT=${GAME_DEV_PORT:-3000}
export GAME_TABLE_NAME=${GAME_TABLE_NAME:-game-load}
export GAME_RATE_LIMIT_PER_KEY=100000000 GAME_RATE_LIMIT_PER_IP=100000000
export GAME_RATE_LIMIT_PER_USER=100000000 GAME_DAILY_QUOTA_PER_KEY=100000000
export RUST_LOG=${RUST_LOG:-warn}
log=$STATE/load-dev-api.log
mkdir -p "$STATE"
"$BIN/game-dev" >"$log" 2>&1 &
dev=$!
trap 'kill "$dev" 2>/dev/null || true; wait "$dev" 2>/dev/null || true' EXIT
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$PORT/api/v1/kpi/health_check" >/dev/null 2>&1 && break
  kill -0 "$dev" 2>/dev/null || { echo "load.sh: the dev API exited:" >&2; tail -n 20 "$log" >&2; exit 1; }
  sleep 0.2
done
key=$(<"$STATE/dev-api-key")
ddb=$(cat "$STATE/dynamodb.pid" 2>/dev/null || true)
# The pid file may name a launcher; measure the JVM itself.
if [[ -n $ddb ]] && ! grep -qa java "/proc/$ddb/cmdline" 2>/dev/null; then
  ddb=$(pgrep -P "$ddb" java | head -n1 || true)
fi
"$BIN/game-load" --base-url "http://127.0.0.1:$PORT" --api-key "$key" --api-pid "$dev" \
  ${ddb:+--dynamodb-pid "$ddb"} "$@"
