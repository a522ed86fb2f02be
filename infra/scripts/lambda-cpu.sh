#!/usr/bin/env bash
# Benchmark (not part of make test): the CPU one route's requests cost, served two ways from the
# same release code on the same table: by the dev API, and by the route's real Lambda binary
# under `cargo lambda watch` (the Lambda Runtime API in front, as in Lambda). The request is the
# k6 mix's most frequent keyed read, GET /api/v1/games?page=1&page_size=10 (`games_list`),
# GAME_CPU_REQUESTS times (2000), GAME_CPU_PARALLEL at a time (10), sent by curl --parallel.
# CPU is read from /proc/<pid>/stat before and after (user + system ticks).
#
#   infra/scripts/lambda-cpu.sh
#
# Status: written 2026-12-03, not yet run (no figures in docs/benchmarks.md yet).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO_DIR"
if [[ -z ${AWS_ENDPOINT_URL_DYNAMODB:-} ]]; then
  cargo build --quiet --release -p game-local --bin game-dev
  cargo build --quiet --release -p game-functions --bin games_list
  exec "$SCRIPT_DIR/with-stack.sh" "$0" "$@"
fi
eval "$("$SCRIPT_DIR/tools.sh" env)"

log() { printf 'lambda-cpu.sh: %s\n' "$*" >&2; }
REQUESTS=${GAME_CPU_REQUESTS:-2000}
PARALLEL=${GAME_CPU_PARALLEL:-10}
DEV_PORT=${GAME_DEV_PORT:-3000}
WATCH_PORT=${GAME_WATCH_PORT:-9310}
STATE=${GAME_STATE_DIR:-$REPO_DIR/.local}/lambda-cpu
mkdir -p "$STATE"
export GAME_TABLE_NAME=game-cpu-$(date +%s)-$$
export GAME_STATE_DIR=$STATE GAME_SECRET_ARN=${GAME_SECRET_ARN:-game/local} RUST_LOG=warn

pids=()
# shellcheck disable=SC2329 # invoked by the EXIT trap
stop() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT

setsid target/release/game-dev >"$STATE/dev.log" 2>&1 &
pids+=($!)
dev=$!
for _ in $(seq 1 150); do
  curl -fsS "http://127.0.0.1:$DEV_PORT/api/v1/kpi/health_check" >/dev/null 2>&1 && break
  sleep 0.2
done
key=$(<"$STATE/dev-api-key")
for i in $(seq 1 10); do # a page of ten games to list
  curl -fsS -o /dev/null -X POST "http://127.0.0.1:$DEV_PORT/api/v1/games" -H "X-API-Key: $key" \
    -H 'content-type: application/json' -d "{\"externalGameId\":\"cpu-$i\",\"platform\":\"web\"}"
done

cat >"$STATE/env" <<EOF
GAME_TABLE_NAME=$GAME_TABLE_NAME
GAME_SECRET_ARN=$GAME_SECRET_ARN
AWS_ENDPOINT_URL_SECRETS_MANAGER=$AWS_ENDPOINT_URL_SECRETS_MANAGER
AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB
GAME_LOG_LEVEL=warn
AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-dummy}
AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-dummy}
AWS_REGION=${AWS_REGION:-us-east-1}
AWS_EC2_METADATA_DISABLED=true
EOF
setsid cargo lambda watch --release --ignore-changes -A 127.0.0.1 -P "$WATCH_PORT" \
  --env-file "$STATE/env" >"$STATE/watch.log" 2>&1 &
pids+=($!)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

run() { # <label> <url> <pid or pgrep pattern>: warm up, then time REQUESTS requests
  local label=$1 url=$2 pid=$3 before after config=$STATE/curl.cfg
  curl -fsS -o /dev/null "$url" -H "X-API-Key: $key" # warm: the first call starts the function
  [[ $pid =~ ^[0-9]+$ ]] || pid=$(pgrep -f "$pid" | head -n1)
  for _ in $(seq 1 200); do curl -fsS -o /dev/null "$url" -H "X-API-Key: $key"; done
  : >"$config"
  for _ in $(seq 1 "$REQUESTS"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url" >>"$config"; done
  before=$(ticks "$pid")
  local started=$EPOCHREALTIME
  curl -sS --parallel --parallel-max "$PARALLEL" -H "X-API-Key: $key" -K "$config" \
    -w '%{http_code}\n' | sort | uniq -c | sed "s/^/lambda-cpu.sh: $label statuses: /" >&2
  after=$(ticks "$pid")
  python3 -c 'import sys; l,t,n,h,s=sys.argv[1],int(sys.argv[2]),int(sys.argv[3]),int(sys.argv[4]),float(sys.argv[5])
print(f"{l}: {n} requests in {s:.1f} s, {t/h:.2f} CPU s, {1000*t/h/n:.3f} CPU s per 1,000 requests")' \
    "$label" "$((after - before))" "$REQUESTS" "$hz" "$(python3 -c "print($EPOCHREALTIME - $started)")"
}

run "dev API (pid $dev)" "http://127.0.0.1:$DEV_PORT/api/v1/games?page=1&page_size=10" "$dev"
for _ in $(seq 1 600); do
  (: <"/dev/tcp/127.0.0.1/$WATCH_PORT") 2>/dev/null && break
  sleep 0.2
done
run "games_list under cargo lambda watch" \
  "http://127.0.0.1:$WATCH_PORT/lambda-url/games_list/api/v1/games?page=1&page_size=10" \
  "target/release/games_list"
