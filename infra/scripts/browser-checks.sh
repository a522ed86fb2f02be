#!/usr/bin/env bash
# The admin console's browser test, which `make test` runs after the API-contract checks (under
# with-stack.sh, which starts DynamoDB Local and moto): headless Debian chromium, driven through
# Selenium (infra/scripts/console_browser.py), against a dev API on GAME_DEV_PORT (default
# 3000) with a fresh table. Screenshots (and one of the failing step) go to
# target/browser-checks/; GAME_CONSOLE_SCREENSHOTS=docs/console also copies the ones
# docs/console.md shows there.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
cd "$REPO_DIR"
die() { echo "browser-checks.sh: $*" >&2; exit 1; }

eval "$("$SCRIPT_DIR/tools.sh" browser)"
out=$REPO_DIR/target/browser-checks
rm -rf "$out"
mkdir -p "$out"

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
  cp "$work/dev.log" "$out/dev.log" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== dev API on $base (fresh table) for the console's browser test" >&2
cargo build --quiet -p game-local --bin game-dev
GAME_STATE_DIR=$work/state GAME_TABLE_NAME="game-browser-checks-$$" GAME_DEV_PORT=$port \
  target/debug/game-dev >"$work/dev.log" 2>&1 &
dev=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/api/v1/kpi/health_check" >/dev/null 2>&1 && break
  kill -0 "$dev" 2>/dev/null || { cat "$work/dev.log" >&2; die "the dev API did not start"; }
  sleep 0.2
done
curl -fsS "$base/api/v1/kpi/health_check" >/dev/null || { cat "$work/dev.log" >&2; die "the dev API does not answer"; }

# The key goes to the test through a file, not argv (other users can read a process's argv).
python "$SCRIPT_DIR/console_browser.py" "$base" "$work/state/dev-api-key" "$out"
if [[ -n ${GAME_CONSOLE_SCREENSHOTS:-} ]]; then
  mkdir -p "$GAME_CONSOLE_SCREENSHOTS"
  cp "$out"/console-*.png "$GAME_CONSOLE_SCREENSHOTS/"
fi
