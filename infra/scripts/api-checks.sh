#!/usr/bin/env bash
# The API-contract checks `make test` runs after the cargo tests (under with-stack.sh, which
# starts DynamoDB Local and moto):
#   1. docs/openapi.json validates with openapi-spec-validator (a validator independent of the
#      crate that generates it);
#   2. a Python client generated from it with openapi-python-client runs the README's
#      walk-through against the dev API (infra/scripts/api_walkthrough.py);
#   3. schemathesis fuzzes the dev API from it: every operation, positive and negative cases,
#      stateful sequences along the document's links, bounded by GAME_FUZZ_EXAMPLES per
#      operation (default 10; at 20 it took 535 s of make test and has found nothing since the fixes of 2026-12-02) and GAME_FUZZ_TIMEOUT seconds (default 900: a bound against a hang, not a target; 105 operations took ~6 min on a loaded 2-core machine). Checks: no 5xx,
#      status codes, content types (problem+json on every 4xx), response headers and schemas
#      as documented.
#
#   api-checks.sh [validate|client|fuzz]...   (default: all three)
#
# The dev API runs on GAME_DEV_PORT (default 3000) against a fresh table, with its own state
# directory (its admin key never touches .local/), rate limits off (the fuzzer would spend them
# in seconds; the limits have their own tests). The fuzzer's figures are written to
# target/api-checks/schemathesis.json and schemathesis-stateful.json, the dev API's request log
# to target/api-checks/dev.log.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO_DIR"
step() { printf '\n== %s\n' "$*" >&2; }
die() { echo "api-checks.sh: $*" >&2; exit 1; }

(($#)) || set -- validate client fuzz
eval "$("$SCRIPT_DIR/tools.sh" api)"
out=$REPO_DIR/target/api-checks
mkdir -p "$out"

for what in "$@"; do
  case $what in validate | client | fuzz) ;; *) die "unknown check '$what' (validate, client or fuzz)" ;; esac
done

if [[ " $* " == *" validate "* ]]; then
  step "openapi-spec-validator docs/openapi.json"
  openapi-spec-validator docs/openapi.json
fi

[[ " $* " == *" client "* || " $* " == *" fuzz "* ]] || exit 0

port=${GAME_DEV_PORT:-3000}
base=http://127.0.0.1:$port
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  die "something already listens on 127.0.0.1:$port; stop it or set GAME_DEV_PORT to a free port"
fi
work=$(mktemp -d)
dev=
# shellcheck disable=SC2329 # invoked by the EXIT trap
cleanup() {
  if [[ -n $dev ]]; then kill "$dev" 2>/dev/null || true; wait "$dev" 2>/dev/null || true; fi
  cp "$work/dev.log" "$out/dev.log" 2>/dev/null || true # one line per request, for failures
  rm -rf "$work"
}
trap cleanup EXIT

step "dev API on $base (fresh table)"
cargo build --quiet -p game-local --bin game-dev
GAME_STATE_DIR=$work/state GAME_TABLE_NAME="game-api-checks-$$" GAME_DEV_PORT=$port \
  GAME_RATE_LIMIT_ENABLED=false target/debug/game-dev >"$work/dev.log" 2>&1 &
dev=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/api/v1/kpi/health_check" >/dev/null 2>&1 && break
  kill -0 "$dev" 2>/dev/null || { cat "$work/dev.log" >&2; die "the dev API did not start"; }
  sleep 0.2
done
curl -fsS "$base/api/v1/kpi/health_check" >/dev/null || { cat "$work/dev.log" >&2; die "the dev API does not answer"; }
key=$(cat "$work/state/dev-api-key")

if [[ " $* " == *" client "* ]]; then
  step "Python client generated from docs/openapi.json runs the README walk-through"
  printf 'project_name_override: game-client\npackage_name_override: game_client\n' >"$work/client.yaml"
  openapi-python-client generate --path docs/openapi.json --output-path "$work/py/game_client" \
    --meta none --config "$work/client.yaml" >"$work/generate.log" 2>&1 ||
    { cat "$work/generate.log" >&2; die "openapi-python-client could not generate a client"; }
  # Any warning means part of the document did not make it into the client. Two are known and
  # listed here so that any other still fails: the generator omits non-JSON answers (the
  # strategy graph's SVG), and it names two inline `when` predicate schemas of the
  # achievement criteria alike (to fix in the spec: name that schema).
  known='Unsupported content_type image/svg\+xml|duplicate models with name "CriteriaType[0-9]+When"'
  if grep -q "Warning" "$work/generate.log" &&
    grep -E "^(WARNING|Cannot parse|Attempted)" "$work/generate.log" | grep -Evq "$known|^WARNING parsing"; then
    cat "$work/generate.log" >&2; die "openapi-python-client warned"
  fi
  PYTHONPATH=$work/py python "$SCRIPT_DIR/api_walkthrough.py" "$base" "$key"
fi

if [[ " $* " == *" fuzz "* ]]; then
  examples=${GAME_FUZZ_EXAMPLES:-10}
  deadline=$((SECONDS + ${GAME_FUZZ_TIMEOUT:-900}))
  failed=
  fuzz() { # <report name> <schemathesis run options>...
    local name=$1 status=0 left=$((deadline - SECONDS))
    shift
    ((left > 0)) || die "schemathesis ran out of its ${GAME_FUZZ_TIMEOUT:-900} s"
    # One worker: hypothesis describes strategies with ast.parse, which CPython 3.11 can crash on
    # when two threads parse at once ("AST constructor recursion depth mismatch").
    # Run from target/api-checks: schemathesis keeps its crash cache (.schemathesis/) and
    # Hypothesis its example database (.hypothesis/) in the working directory.
    (cd "$out" && timeout "$left" schemathesis --config-file "$SCRIPT_DIR/schemathesis.toml" \
      run "$REPO_DIR/docs/openapi.json" --url "$base" -H "X-API-Key: $key" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
      --max-examples "$examples" --seed "${GAME_FUZZ_SEED:-20261202}" --workers 1 \
      --request-timeout 30 --generation-with-security-parameters false \
      --report json --report-json-path "$out/$name.json" --output-truncate true "$@") || status=$?
    ((status != 124)) || die "schemathesis ran out of its ${GAME_FUZZ_TIMEOUT:-900} s"
    ((status == 0)) || failed+=" $name"
  }
  step "schemathesis: every operation, positive and negative, $examples examples each"
  fuzz schemathesis --mode all --phases examples,coverage,fuzzing
  # Stateful sequences start at the operations that create something. schemathesis prefers
  # those whose inputs name nothing (it reads externalGameId as a reference to another
  # resource), which leaves only POST /apikey/create; without it, the game, task, award and
  # custom-strategy chains are the sequences. The key routes are in the run above.
  step "schemathesis: stateful sequences along the document's links"
  fuzz schemathesis-stateful --phases stateful --exclude-operation-id apikey_create
  [[ -z $failed ]] || die "schemathesis found failures (above; figures in $out/schemathesis*.json)"
fi
