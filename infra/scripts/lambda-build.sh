#!/usr/bin/env bash
# Release builds of every Lambda binary with cargo lambda, as `sam build` would make them.
#
#   lambda-build.sh [arm64|x86_64]...   (default: both)
#   GAME_LAMBDA_BINS="health points_award" lambda-build.sh arm64   (only those functions)
#
# Output: target-lambda/lambda-<arch>/<binary>/bootstrap. A target directory of its own
# (git-ignored) keeps release and cross builds from invalidating the debug build in target/
# that the tests use. arm64 (what template.yaml deploys) links with zig from the tools venv;
# x86_64 (the host's, for sam local and the cold-start harness) uses plain cargo.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO_DIR"
eval "$("$SCRIPT_DIR/tools.sh" env)"
export CARGO_TARGET_DIR=$REPO_DIR/target-lambda

(($#)) || set -- arm64 x86_64
only=()
for bin in ${GAME_LAMBDA_BINS:-}; do only+=("--bin" "$bin"); done
for arch in "$@"; do
  start=$SECONDS
  case $arch in
    # Only game-functions holds Lambda binaries; -p is safe here, this target dir is ours.
    arm64) cargo lambda build --release --arm64 -p game-functions "${only[@]}" --lambda-dir "target-lambda/lambda-arm64" ;;
    x86_64) cargo lambda build --release --compiler cargo -p game-functions "${only[@]}" --lambda-dir "target-lambda/lambda-x86_64" ;;
    *) echo "lambda-build.sh: unknown architecture '$arch' (arm64 or x86_64)" >&2; exit 2 ;;
  esac
  echo "lambda-build.sh: $arch release build in $((SECONDS - start)) s" >&2
done
