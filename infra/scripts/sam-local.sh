#!/usr/bin/env bash
# Smoke test of the real Lambda binaries under `sam local start-api`, loopback only:
# health, create a game, read it back, and award points if the route table has the award route.
#
#   sam-local.sh            (run by `make test`: the debug binaries of the shared build, staged
#                            as <function>/bootstrap; GAME_SAM_RELEASE=1 uses the x86_64 release
#                            build in target-lambda/lambda-x86_64, building it if missing)
#
# Needs a container engine. It starts a private Docker engine (Debian's docker.io `dockerd`, as
# root) with no bridge and no iptables rules, so no container address exists: SAM's Lambda
# containers run on the host network bound to 127.0.0.1 (sam_loopback.py), and the functions
# reach DynamoDB Local at 127.0.0.1. The base image is a stand-in for provided.al2023 built from
# the host's shell and glibc (sam-base-image.sh), since images cannot be pulled offline.
# Everything it starts (engine, SAM) is stopped on exit; state lives in .local/sam-local.
#
# Environment: GAME_SKIP_SAM_LOCAL=1 skips the run (for machines without a container engine);
# GAME_SAM_PORT (3100) is the API's loopback port. Runs under with-stack.sh for DynamoDB Local.
# Users with Docker Desktop or a normal engine don't need any of this: see docs/local.md.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)

log() { printf 'sam-local.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if [[ ${GAME_SKIP_SAM_LOCAL:-} == 1 ]]; then
  log "skipped (GAME_SKIP_SAM_LOCAL=1)"
  exit 0
fi
[[ $(id -u) == 0 ]] ||
  die "no container engine can be started: a private dockerd needs root. Run as root, or set GAME_SKIP_SAM_LOCAL=1 to skip the sam local smoke test on this machine."
if ! command -v dockerd >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  # A fresh machine has at most the docker client: install Debian's engine (once).
  log "installing Debian's docker.io (the container engine sam local needs)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >/dev/null 2>&1; } ||
    die "could not install docker.io with apt-get; install a container engine or set GAME_SKIP_SAM_LOCAL=1 to skip the sam local smoke test on this machine."
fi
command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 ||
  die "no container engine: 'dockerd'/'docker' not found. Install Debian's docker.io (apt-get install docker.io), or set GAME_SKIP_SAM_LOCAL=1 to skip the sam local smoke test on this machine."

# DynamoDB Local (and the tools venv) come from with-stack.sh; re-run under it if not there.
if [[ -z ${AWS_ENDPOINT_URL_DYNAMODB:-} ]]; then
  exec "$SCRIPT_DIR/with-stack.sh" "$0" "$@"
fi
eval "$("$SCRIPT_DIR/tools.sh" env)"

STATE=$REPO_DIR/.local/sam-local
LAMBDA_DIR=$STATE/functions
PORT=${GAME_SAM_PORT:-3100}
IMAGE=game-sam-base:local
SOCK=$STATE/docker.sock
export DOCKER_HOST=unix://$SOCK
API=http://127.0.0.1:$PORT/api/v1
started=$SECONDS

mkdir -p "$STATE"
# The functions the smoke test calls; the derived template serves only the functions whose
# bootstrap is staged (linking all 100+ debug binaries took ~3 minutes of `make test`).
SMOKE_ROUTES=(health games_create games_get tasks_create points_award)
cargo build --quiet -p game-local --bin game-admin
if [[ ${GAME_SAM_RELEASE:-} == 1 ]]; then
  LAMBDA_DIR=$REPO_DIR/target-lambda/lambda-x86_64
  [[ -x $LAMBDA_DIR/health/bootstrap ]] || "$SCRIPT_DIR/lambda-build.sh" x86_64
else
  cargo build --quiet -p game-functions "${SMOKE_ROUTES[@]/#/--bin=}"
  # Each route's debug binary as <route>/bootstrap: hard links, so nothing is copied.
  rm -rf "$LAMBDA_DIR"
  for route in "${SMOKE_ROUTES[@]}"; do
    mkdir -p "$LAMBDA_DIR/$route"
    ln -f "$REPO_DIR/target/debug/$route" "$LAMBDA_DIR/$route/bootstrap" 2>/dev/null ||
      cp "$REPO_DIR/target/debug/$route" "$LAMBDA_DIR/$route/bootstrap"
  done
fi
dockerd_pid= sam_pid=
cleanup() {
  if [[ -n $sam_pid ]]; then
    kill -TERM "$sam_pid" 2>/dev/null || true
    wait "$sam_pid" 2>/dev/null || true
  fi
  if [[ -n $dockerd_pid ]]; then
    # SAM's containers are removed with it; leftovers go with the engine's state.
    docker ps -aq 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
    # dockerd leaves its default network namespace mounted under the exec root.
    if mountpoint -q "$STATE/exec/netns/default" 2>/dev/null; then
      umount "$STATE/exec/netns/default" 2>/dev/null || true
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the engine -------------------------------------------------------------------------------
rm -f "$SOCK"
# A fresh engine state per run: SAM derives its own image from the base and would otherwise
# reuse one built from an older base image.
rm -rf "$STATE/data"
dockerd --data-root "$STATE/data" --exec-root "$STATE/exec" --pidfile "$STATE/dockerd.pid" \
  -H "$DOCKER_HOST" --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
  >"$STATE/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 100); do
  docker info >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null ||
    die "no container engine could be started (dockerd exited; see $STATE/dockerd.log). Set GAME_SKIP_SAM_LOCAL=1 to skip the sam local smoke test on this machine."
  sleep 0.1
done
docker info >/dev/null 2>&1 || die "dockerd did not answer within 10 s (see $STATE/dockerd.log)"

# --- the base image and the template ------------------------------------------------------------
"$SCRIPT_DIR/sam-base-image.sh" "$IMAGE" "$LAMBDA_DIR/health/bootstrap"
python "$SCRIPT_DIR/sam_loopback.py" derive "$REPO_DIR/template.yaml" "$STATE/template.yaml" \
  "$LAMBDA_DIR" "$AWS_ENDPOINT_URL_DYNAMODB" "$AWS_ENDPOINT_URL_SECRETS_MANAGER"
table=game-sam-$(date +%s)-$$
secret=game/sam-local
printf '{"Parameters": {"GAME_TABLE_NAME": "%s", "GAME_SECRET_ARN": "%s", "GAME_LOG_LEVEL": "warn"}}\n' \
  "$table" "$secret" >"$STATE/env.json"

# A fresh table from the template's schema and an admin key for it (game-admin on the local
# endpoint, exactly as an operator would on a deployed table).
"$REPO_DIR/target/debug/game-admin" create-table --table "$table"
"$REPO_DIR/target/debug/game-admin" create-secret --secret "$secret" >/dev/null
key=$("$REPO_DIR/target/debug/game-admin" mint-key --table "$table" --secret "$secret" --tenant sam-local --client smoke 2>/dev/null)

# --- SAM ----------------------------------------------------------------------------------------
# No credentials in SAM's own environment: with them it asks STS for the account on every
# command. The functions get SAM's dummy credentials and the loopback endpoint instead.
# SAM checks PyPI for new versions weekly: a recent float timestamp in its metadata stops that.
export SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
export SAM_CLI_APP_DIR=$STATE/samcli
mkdir -p "$SAM_CLI_APP_DIR"
python - "$SAM_CLI_APP_DIR/metadata.json" <<'PY'
import json, sys, time, os
path = sys.argv[1]
data = json.load(open(path)) if os.path.exists(path) else {}
data.update({"telemetryEnabled": False, "lastVersionCheck": time.time()})
json.dump(data, open(path, "w"))
PY
(cd "$STATE" && exec python "$SCRIPT_DIR/sam_loopback.py" sam local start-api \
  -t "$STATE/template.yaml" --host 127.0.0.1 --port "$PORT" \
  --invoke-image "$IMAGE" --skip-pull-image --env-vars "$STATE/env.json" \
  --container-host 127.0.0.1 --container-host-interface 127.0.0.1) >"$STATE/sam.log" 2>&1 &
sam_pid=$!
for _ in $(seq 1 300); do
  curl -s --noproxy '*' -o /dev/null "http://127.0.0.1:$PORT/" && break
  kill -0 "$sam_pid" 2>/dev/null || { cat "$STATE/sam.log" >&2; die "sam local start-api exited"; }
  sleep 0.1
done
log "engine, image and sam local start-api up in $((SECONDS - started)) s"

# --- the smoke test (SAM's exit code says little: check each answer) ----------------------------
request() { # <expected status> <method> <path> [body]; prints the body
  local expected=$1 method=$2 path=$3 body=${4:-} out status
  out=$(mktemp)
  status=$(curl -s --noproxy '*' -o "$out" -w '%{http_code}' -X "$method" "$API$path" \
    -H "X-API-Key: $key" -H 'content-type: application/json' -H "Idempotency-Key: sam-$table-$method-$path" \
    ${body:+-d "$body"}) || status=000
  if [[ $status != "$expected" ]]; then
    log "$method $path answered $status, expected $expected: $(cat "$out")"
    tail -30 "$STATE/sam.log" >&2
    rm -f "$out"
    exit 1
  fi
  cat "$out"
  rm -f "$out"
  log "$method $path -> $status"
}

request 200 GET /health >/dev/null
game=$(request 201 POST /games '{"externalGameId":"sam-smoke","platform":"web"}')
game_id=$(python -c 'import json,sys; print(json.loads(sys.argv[1])["gameId"])' "$game")
request 200 GET "/games/$game_id" | grep -q '"externalGameId":"sam-smoke"' ||
  die "GET /games/$game_id did not return the game"
# The award route is added by another part of the project; smoke it once it exists.
if python -c 'import re,sys; sys.exit(not re.search(r"\"/games/\{gameId\}/tasks/\{externalTaskId\}/points\",\s*points::award", open(sys.argv[1]).read()))' \
  "$REPO_DIR/functions/src/routes.rs"; then
  request 201 POST "/games/$game_id/tasks" '{"externalTaskId":"walk-1"}' >/dev/null
  award=$(request 200 POST "/games/$game_id/tasks/walk-1/points" '{"externalUserId":"ana"}')
  [[ $award == *points* ]] || die "the award answer has no points: $award"
fi
log "smoke test passed in $((SECONDS - started)) s (every connection on 127.0.0.1)"
