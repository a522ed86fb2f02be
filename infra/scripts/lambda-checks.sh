#!/usr/bin/env bash
# The deployment checks `make test` runs after the cargo tests (under with-stack.sh):
#   1. `sam validate --lint`: template.yaml has no errors and no warnings;
#   2. the arm64 release build (what is deployed) and package sizes (fails above 5 MB zipped)
#      of a sample: the functions the smoke tests call and the largest packages (exports: S3;
#      webhook delivery: SQS; the console: its embedded assets). Every function: `make package`;
#      the sample keeps ~100 release builds of binaries out of `make test`;
#   3. the real binaries (the shared debug build) under `cargo lambda watch`, then under
#      `sam local start-api` (GAME_SKIP_SAM_LOCAL=1 skips the latter where no container engine
#      can run).
# Cold starts are a benchmark, not a check: `make coldstart` (docs/benchmarks.md).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO_DIR"
eval "$("$SCRIPT_DIR/tools.sh" env)"
step() { printf '\n== %s\n' "$*" >&2; }

step "sam validate --lint"
# cfn-lint prints warnings yet exits 0 for some: any output besides the verdict fails.
lint=$(sam validate --lint 2>&1) || { echo "$lint" >&2; exit 1; }
[[ $lint == *"is a valid SAM Template"* && $(grep -vc "is a valid SAM Template" <<<"$lint") == 0 ]] ||
  { echo "$lint" >&2; echo "sam validate --lint: warnings or errors" >&2; exit 1; }

sample="health games_create games_get games_list tasks_create points_award exports_users events_deliver webhooks_redeliver_dlq console"
step "release build (arm64, what template.yaml deploys) and package sizes: $sample"
rm -rf target-lambda/lambda-arm64
GAME_LAMBDA_BINS=$sample "$SCRIPT_DIR/lambda-build.sh" arm64
python3 "$SCRIPT_DIR/lambda-sizes.py" target-lambda/lambda-arm64 5

step "cargo lambda watch"
"$SCRIPT_DIR/lambda-watch.sh"

step "sam local start-api"
"$SCRIPT_DIR/sam-local.sh"
