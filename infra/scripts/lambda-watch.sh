#!/usr/bin/env bash
# Smoke test of the real Lambda binaries under `cargo lambda watch` (its Lambda Runtime API and
# function-URL front end) against DynamoDB Local: the health route, creating a game with an API
# key minted for a fresh table, and reading it back through the list route.
#
#   lambda-watch.sh        (run by `make test`, after the cargo tests; under with-stack.sh)
#
# It runs outside `cargo test` on purpose: cargo keeps the target directory locked while tests
# run, so a test that started `cargo lambda watch` (which runs `cargo run --bin <route>`) would
# wait for itself. The binaries are built once up front (the shared debug build, linking only),
# so the first request does not wait for a compile. Environment: GAME_WATCH_PORT (9310).
#
#   GAME_WATCH_CPU_REQUESTS=1000 [GAME_WATCH_RELEASE=1] lambda-watch.sh
#
# also measures, after the smoke test, the CPU time the games_list binary and the emulator
# spend on that many list requests (10 at a time): the figure in docs/benchmarks.md. With
# GAME_WATCH_RELEASE=1 the three functions are release builds (only those three are built).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO_DIR"

log() { printf 'lambda-watch.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ -z ${AWS_ENDPOINT_URL_DYNAMODB:-} ]]; then
  exec "$SCRIPT_DIR/with-stack.sh" "$0" "$@"
fi
eval "$("$SCRIPT_DIR/tools.sh" env)"

PORT=${GAME_WATCH_PORT:-9310}
STATE=$REPO_DIR/.local/lambda-watch
mkdir -p "$STATE"
started=$SECONDS

CPU_REQUESTS=${GAME_WATCH_CPU_REQUESTS:-0}
watch_flags=()
if [[ ${GAME_WATCH_RELEASE:-0} == 1 ]]; then
  cargo build --quiet --release --bin health --bin games_create --bin games_list
  watch_flags=(--release)
fi
# The three functions it calls (the shared debug build) and the admin tool: not the other 100+
# binaries, whose links alone took ~3 minutes of `make test`.
cargo build --quiet -p game-functions --bin health --bin games_create --bin games_list \
  -p game-local --bin game-admin
table=game-watch-$(date +%s)-$$
secret=game/lambda-watch
target/debug/game-admin create-table --table "$table"
target/debug/game-admin create-secret --secret "$secret" >/dev/null
key=$(target/debug/game-admin mint-key --table "$table" --secret "$secret" --tenant watch --client smoke 2>/dev/null)

cat >"$STATE/env" <<EOF
GAME_TABLE_NAME=$table
GAME_SECRET_ARN=$secret
AWS_ENDPOINT_URL_SECRETS_MANAGER=$AWS_ENDPOINT_URL_SECRETS_MANAGER
GAME_LOG_LEVEL=warn
AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB
AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-dummy}
AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-dummy}
AWS_REGION=${AWS_REGION:-us-east-1}
AWS_EC2_METADATA_DISABLED=true
EOF

# --ignore-changes: other edits in the tree must not restart functions mid-test.
setsid cargo lambda watch "${watch_flags[@]}" --ignore-changes -A 127.0.0.1 -P "$PORT" --env-file "$STATE/env" \
  >"$STATE/watch.log" 2>&1 &
watch_pid=$!
# shellcheck disable=SC2329 # invoked by the EXIT trap
stop() {
  # setsid gave cargo lambda watch its own group: TERM to the group stops its functions too.
  kill -TERM -- "-$watch_pid" 2>/dev/null || kill -TERM "$watch_pid" 2>/dev/null || true
  wait "$watch_pid" 2>/dev/null || true
}
trap stop EXIT

for _ in $(seq 1 300); do
  (: <"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  kill -0 "$watch_pid" 2>/dev/null || { cat "$STATE/watch.log" >&2; die "cargo lambda watch exited"; }
  sleep 0.1
done

request() { # <expected status> <method> <function> <path> [body]; prints the body
  local expected=$1 method=$2 function=$3 path=$4 body=${5:-} out status
  out=$(mktemp)
  status=$(curl -s --noproxy '*' --max-time 120 -o "$out" -w '%{http_code}' -X "$method" \
    "http://127.0.0.1:$PORT/lambda-url/$function$path" \
    -H "X-API-Key: $key" -H 'content-type: application/json' ${body:+-d "$body"}) || status=000
  if [[ $status != "$expected" ]]; then
    log "$method $function$path answered $status, expected $expected: $(cat "$out")"
    tail -30 "$STATE/watch.log" >&2
    rm -f "$out"
    exit 1
  fi
  cat "$out"
  rm -f "$out"
  log "$method /lambda-url/$function$path -> $status"
}

request 200 GET health /api/v1/health >/dev/null
game=$(request 201 POST games_create /api/v1/games '{"externalGameId":"watch-smoke","platform":"web"}')
game_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["gameId"])' "$game")
# Function URLs carry no route, so no path parameters: the read is the list route.
request 200 GET games_list /api/v1/games | grep -q "$game_id" ||
  die "the list route did not return the game just created ($game_id)"
log "smoke test passed in $((SECONDS - started)) s"

(( CPU_REQUESTS > 0 )) || exit 0

cpu_ticks() { # <pid>: user + system clock ticks so far
  awk '{print $14 + $15}' "/proc/$1/stat"
}
# The emulator runs one process per function, each serving one invocation at a time.
[[ $(pgrep -c -f '/games_list$') == 1 ]] || die "expected one games_list process"
function_pid=$(pgrep -f '/games_list$')
emulator_pid=$(pgrep -n -f 'cargo-lambda lambda watch') || die "no cargo-lambda process"
urls=$(mktemp)
for _ in $(seq 1 "$CPU_REQUESTS"); do
  printf 'url = "http://127.0.0.1:%s/lambda-url/games_list/api/v1/games"\noutput = "/dev/null"\n' "$PORT"
done >"$urls"
function_before=$(cpu_ticks "$function_pid")
emulator_before=$(cpu_ticks "$emulator_pid")
cpu_started=$(date +%s.%N)
codes=$(curl -s --noproxy '*' --max-time 120 --parallel --parallel-max 10 -H "X-API-Key: $key" \
  -w '%{http_code}\n' --config "$urls" | sort | uniq -c | tr -s ' ' | paste -sd,)
elapsed=$(awk -v a="$cpu_started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
function_after=$(cpu_ticks "$function_pid")
emulator_after=$(cpu_ticks "$emulator_pid")
rm -f "$urls"
[[ $codes == " $CPU_REQUESTS 200" ]] || die "not every list request answered 200: $codes"
hz=$(getconf CLK_TCK)
per_thousand() { awk -v t="$(($2 - $1))" -v hz="$hz" -v n="$CPU_REQUESTS" 'BEGIN {printf "%.2f", t * 1000 / hz / n}'; }
log "$CPU_REQUESTS list requests (10 at a time) in ${elapsed} s, all 200"
log "CPU s per 1,000 requests: games_list $(per_thousand "$function_before" "$function_after"), emulator $(per_thousand "$emulator_before" "$emulator_after")"
