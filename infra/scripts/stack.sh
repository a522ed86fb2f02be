#!/usr/bin/env bash
# The local AWS stack: DynamoDB Local (Amazon's jar, in memory, bound to 127.0.0.1) and moto
# server (Secrets Manager), both on loopback.
#
#   stack.sh start    install tools if missing, start whatever is not already answering, wait
#                     until both answer; services it starts keep running until `stack.sh stop`
#   stack.sh stop     stop the services stack.sh started (never a server someone else runs)
#   stack.sh status   show each service; exit 0 only if both answer
#   stack.sh env      print the export lines a client needs: eval "$(stack.sh env)"
#
# Internal, used by with-stack.sh: `acquire <id>` starts what is missing and records a lease;
# `release <id>` drops it, and the last lease out stops what leased runs started. A manual
# `start` adopts running services, so a later with-stack.sh run leaves them up.
#
# Environment: GAME_DDB_PORT (8000), GAME_MOTO_PORT (5000), GAME_STATE_DIR (<repo>/.local: pids,
# logs, leases), GAME_STACK_TIMEOUT (seconds to wait for a server to answer, 60), GAME_TOOLS_DIR
# (see tools.sh).
set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
STATE=${GAME_STATE_DIR:-$REPO_DIR/.local}
[[ $STATE == /* ]] || STATE=$PWD/$STATE
DDB_PORT=${GAME_DDB_PORT:-8000}
MOTO_PORT=${GAME_MOTO_PORT:-5000}
TIMEOUT=${GAME_STACK_TIMEOUT:-60}
HOST=127.0.0.1
SERVICES=(dynamodb moto)

log() { printf 'stack.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for p in "$DDB_PORT" "$MOTO_PORT"; do
  if ! [[ $p =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then die "invalid port '$p'"; fi
done
[[ $DDB_PORT != "$MOTO_PORT" ]] || die "GAME_DDB_PORT and GAME_MOTO_PORT are both $DDB_PORT"

port_of() { if [[ $1 == dynamodb ]]; then echo "$DDB_PORT"; else echo "$MOTO_PORT"; fi; }
label_of() { if [[ $1 == dynamodb ]]; then echo "DynamoDB Local"; else echo "moto server"; fi; }

# --- probes -----------------------------------------------------------------------------------
# Proxies in the environment must not see loopback traffic.
http() { curl --silent --show-error --noproxy '*' --max-time 2 "$@"; }

# DynamoDB (Local or real) answers an unsigned request with 400 MissingAuthenticationToken:
# that identifies the service without credentials. moto would answer 200, anything else differs.
# (Bodies are captured, not piped to grep -q: grep exiting early makes curl fail on a broken
# pipe, and pipefail would turn that into a false "not up".)
probe_dynamodb() {
  local body
  body=$(http -X POST -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' -d '{}' "http://$HOST:$DDB_PORT/" 2>/dev/null) || return 1
  [[ $body == *MissingAuthenticationToken* ]]
}

# moto's dashboard page is titled "Moto".
probe_moto() {
  local body
  body=$(http "http://$HOST:$MOTO_PORT/moto-api/" 2>/dev/null) || return 1
  [[ $body == *'<title>Moto</title>'* ]]
}

port_open() { (: <"/dev/tcp/$HOST/$1") 2>/dev/null; }

# --- our processes ----------------------------------------------------------------------------
pidfile() { echo "$STATE/$1.pid"; }
logfile() { echo "$STATE/$1.log"; }
automark() { echo "$STATE/$1.auto"; }

alive() { # <pid>: running and not a zombie
  kill -0 "$1" 2>/dev/null || return 1
  [[ ! -r /proc/$1/stat ]] || [[ $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) != Z ]]
}

cmdline_of() {
  if [[ -r /proc/$1/cmdline ]]; then tr '\0' ' ' <"/proc/$1/cmdline"; else ps -o args= -p "$1" 2>/dev/null; fi
}

# The pid recorded for <service>, if that process is alive and still the server we started on
# this port (guards against a stale pid file whose pid was reused).
our_pid() {
  local svc=$1 f pid cmd pattern
  f=$(pidfile "$svc")
  [[ -f $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  cmd=$(cmdline_of "$pid")
  if [[ $svc == dynamodb ]]; then pattern="LoopbackDynamoDBLocal .*-port $DDB_PORT( |$)"; else pattern="moto_server .*-p $MOTO_PORT( |$)"; fi
  [[ $cmd =~ $pattern ]] || return 1
  echo "$pid"
}

log_tail() {
  local f
  f=$(logfile "$1")
  [[ -s $f ]] || { log "(log $f is empty)"; return; }
  log "last lines of $f:"
  tail -n 20 "$f" | sed 's/^/    /' >&2
}

who_listens() { # best effort: name the process holding a port
  command -v ss >/dev/null 2>&1 || return 0
  ss -ltnpH "sport = :$1" 2>/dev/null | sed 's/^/    /' >&2 || true
}

# <service>: start it in its own session, detached from this shell's terminal, with fd 8 (the
# state lock) closed so a long-running server never holds the lock.
launch() {
  local svc=$1 ddb_dir launcher_dir
  : >"$(logfile "$svc")"
  if [[ $svc == dynamodb ]]; then
    ddb_dir=$TOOLS_DDB_DIR
    launcher_dir=$TOOLS_LAUNCHER_DIR
    # DynamoDB Local has no bind-address flag and would listen on every interface; the launcher
    # runs its own main path but binds Jetty to 127.0.0.1. preferIPv4Stack makes that a plain
    # IPv4 socket. -Xmx/SerialGC: ~200 MB RSS instead of 700+ MB. -sharedDb: one database for
    # every access key and region (otherwise tables split by credentials).
    (cd "$STATE" && exec setsid java -Djava.net.preferIPv4Stack=true -Xmx256m -XX:+UseSerialGC \
      "-Djava.library.path=$ddb_dir/DynamoDBLocal_lib" -cp "$launcher_dir:$ddb_dir/DynamoDBLocal.jar" \
      LoopbackDynamoDBLocal -inMemory -sharedDb -port "$DDB_PORT" \
      </dev/null >>"$(logfile "$svc")" 2>&1 8>&-) &
  else
    (cd "$STATE" && exec setsid "$TOOLS_VENV_BIN/moto_server" -H "$HOST" -p "$MOTO_PORT" \
      </dev/null >>"$(logfile "$svc")" 2>&1 8>&-) &
  fi
  echo $!
}

stop_pid() { # <pid>: TERM, then KILL if it lingers
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# Phase 1 of making <service> answer: prints "running" if it already answers (ours or not),
# "launched" if this call started it, "pending" if ours but not answering yet. Both servers are
# launched before either is waited for, so their JVM/Python start-ups overlap.
launch_service() {
  local svc=$1 port label pid
  port=$(port_of "$svc")
  label=$(label_of "$svc")
  if pid=$(our_pid "$svc"); then
    # Ours but not answering (still starting under another caller, or hung): wait for it
    # rather than start a second copy.
    if "probe_$svc"; then echo running; else echo pending; fi
    return
  fi
  rm -f "$(pidfile "$svc")" "$(automark "$svc")"
  if "probe_$svc"; then
    log "$label already answers on $HOST:$port (not started by stack.sh; leaving it alone)"
    echo running
    return
  fi
  if port_open "$port"; then
    log "port $port on $HOST is in use by something that is not $label:"
    who_listens "$port"
    local var=GAME_MOTO_PORT
    [[ $svc != dynamodb ]] || var=GAME_DDB_PORT
    die "free port $port or choose another one with $var"
  fi
  pid=$(launch "$svc")
  echo "$pid" >"$(pidfile "$svc")"
  echo launched
}

# Phase 2: poll until <service> answers; on exit or timeout, show its log and fail.
wait_service() {
  local svc=$1 port label pid deadline
  port=$(port_of "$svc")
  label=$(label_of "$svc")
  pid=$(<"$(pidfile "$svc")")
  deadline=$((SECONDS + TIMEOUT))
  until "probe_$svc"; do
    if ! alive "$pid"; then
      rm -f "$(pidfile "$svc")"
      log "$label (pid $pid) exited before answering on $HOST:$port"
      log_tail "$svc"
      if [[ $svc == dynamodb && $(uname -s) == Linux && $(uname -m) != x86_64 ]]; then
        log "note: the DynamoDB Local package only ships an x86_64 Linux sqlite4java native"
      fi
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "$label (pid $pid) did not answer on $HOST:$port within ${TIMEOUT}s"
      log_tail "$svc"
      stop_pid "$pid"
      rm -f "$(pidfile "$svc")"
      return 1
    fi
    sleep 0.1
  done
}

load_tools() {
  local env_lines
  env_lines=$("$SCRIPT_DIR/tools.sh" env)
  eval "$env_lines"
  TOOLS_DDB_DIR=$GAME_DDB_DIR
  TOOLS_LAUNCHER_DIR=$GAME_DDB_LAUNCHER_DIR
  TOOLS_VENV_BIN=$GAME_TOOLS_DIR/venv/bin
  command -v curl >/dev/null 2>&1 || die "curl is required for the readiness checks"
  command -v setsid >/dev/null 2>&1 || die "setsid (util-linux) is required to detach the servers"
}

# start/stop/acquire/release change shared state: one at a time per state dir.
lock_state() {
  mkdir -p "$STATE"
  command -v flock >/dev/null 2>&1 || die "flock (util-linux) is required"
  exec 8>"$STATE/stack.lock"
  if ! flock -n 8; then
    log "waiting for another stack.sh start/stop on $STATE"
    flock 8
  fi
}

# Start what is missing. mode=manual: services stay up (and running leased ones are adopted);
# mode=auto: services this call starts are marked for the last lease to stop.
start_all() {
  local mode=$1 svc t0 failed=0
  local -A how=()
  load_tools
  t0=${EPOCHREALTIME/[.,]/}
  # A start that fails part-way stops what it launched, so no half stack is left behind.
  LAUNCHED=()
  trap 'abort_launched' EXIT
  for svc in "${SERVICES[@]}"; do
    how[$svc]=$(launch_service "$svc")
    if [[ ${how[$svc]} == launched ]]; then
      LAUNCHED+=("$svc")
      [[ $mode != auto ]] || : >"$(automark "$svc")"
    fi
  done
  for svc in "${SERVICES[@]}"; do
    [[ ${how[$svc]} != running ]] || continue
    # Keep waiting for the others after a failure so every failure is reported.
    wait_service "$svc" || failed=1
  done
  ((!failed)) || die "the local stack did not start"
  LAUNCHED=()
  for svc in "${SERVICES[@]}"; do
    # A manual start adopts what leased runs started, so it stays up after they finish.
    [[ $mode != manual ]] || rm -f "$(automark "$svc")"
    log "$(label_of "$svc") ${how[$svc]/launched/started} on http://$HOST:$(port_of "$svc")"
  done
  local ms=$(((${EPOCHREALTIME/[.,]/} - t0) / 1000))
  log "stack ready in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
}

# shellcheck disable=SC2329 # invoked by the EXIT trap of start_all
abort_launched() {
  local svc pid
  for svc in "${LAUNCHED[@]}"; do
    if pid=$(our_pid "$svc"); then
      stop_pid "$pid"
      log "stopped $(label_of "$svc") (pid $pid) again, as the start failed"
    fi
    rm -f "$(pidfile "$svc")" "$(automark "$svc")"
  done
}

stop_services() { # <all|auto>
  local which=$1 svc pid
  for svc in "${SERVICES[@]}"; do
    [[ $which == all || -f $(automark "$svc") ]] || continue
    if pid=$(our_pid "$svc"); then
      stop_pid "$pid"
      log "stopped $(label_of "$svc") (pid $pid)"
    fi
    rm -f "$(pidfile "$svc")" "$(automark "$svc")"
  done
}

live_leases() { # prune leases whose holder is gone; print the live ones
  local f id
  for f in "$STATE"/leases/*; do
    [[ -e $f ]] || continue
    id=${f##*/}
    if alive "$id"; then echo "$id"; else rm -f "$f"; fi
  done
}

lease_id() {
  [[ ${1:-} =~ ^[0-9]+$ ]] || die "$2 needs the pid of the process holding the lease"
  echo "$1"
}

status() {
  local svc port label pid rc=0
  for svc in "${SERVICES[@]}"; do
    port=$(port_of "$svc")
    label=$(label_of "$svc")
    if "probe_$svc"; then
      if pid=$(our_pid "$svc"); then
        printf '%-15s up on http://%s:%s (pid %s, started by stack.sh%s)\n' "$label" "$HOST" "$port" "$pid" \
          "$([[ -f $(automark "$svc") ]] && echo ' for with-stack.sh')"
      else
        printf '%-15s up on http://%s:%s (not started by stack.sh)\n' "$label" "$HOST" "$port"
      fi
    elif port_open "$port"; then
      printf '%-15s DOWN: port %s is held by something else\n' "$label" "$port"
      rc=3
    else
      printf '%-15s down\n' "$label"
      rc=3
    fi
  done
  return "$rc"
}

# The ${NO_PROXY...} expansions are printed literally, to be expanded where the lines are eval'd.
# shellcheck disable=SC2016
print_env() {
  printf 'export AWS_ENDPOINT_URL_DYNAMODB=http://%s:%s\n' "$HOST" "$DDB_PORT"
  printf 'export AWS_ENDPOINT_URL_SECRETS_MANAGER=http://%s:%s\n' "$HOST" "$MOTO_PORT"
  # Dummy credentials: both servers accept any; real ones must never reach them (or leave).
  printf 'export AWS_ACCESS_KEY_ID=dummy\n'
  printf 'export AWS_SECRET_ACCESS_KEY=dummy\n'
  printf 'export AWS_REGION=us-east-1\n'
  printf 'export AWS_DEFAULT_REGION=us-east-1\n'
  # No instance-metadata lookups (slow timeouts off EC2).
  printf 'export AWS_EC2_METADATA_DISABLED=true\n'
  # Keep clients that honour proxy variables (boto3, curl) off any proxy for loopback.
  printf 'export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"\n'
  printf 'export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"\n'
}

case "${1:-}" in
  start)
    lock_state
    start_all manual
    ;;
  stop)
    lock_state
    if [[ -n $(live_leases) ]]; then
      log "warning: with-stack.sh runs are still using the stack (pids $(live_leases | tr '\n' ' '))"
    fi
    stop_services all
    ;;
  status) status ;;
  env) print_env ;;
  acquire)
    id=$(lease_id "${2:-}" acquire)
    lock_state
    start_all auto
    mkdir -p "$STATE/leases"
    : >"$STATE/leases/$id"
    ;;
  release)
    id=$(lease_id "${2:-}" release)
    lock_state
    rm -f "$STATE/leases/$id"
    if [[ -z $(live_leases) ]]; then stop_services auto; fi
    ;;
  -h | --help | help) sed -n '2,19s/^# \{0,1\}//p' "$0" ;;
  *) die "usage: stack.sh start|stop|status|env" ;;
esac
