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
# The state dir records the ports its stack runs on (<service>.port beside <service>.pid), so
# `stop`, `status` and `env` find a stack started with GAME_DDB_PORT/GAME_MOTO_PORT without the
# variables repeated; a variable that is set wins. A pid file whose server runs on another port
# than the one asked for is kept, and that server left running.
#
# Internal, used by with-stack.sh: `acquire <id>` starts what is missing and records a lease;
# `release <id>` drops it, and the last lease out stops what leased runs started. A manual
# `start` adopts running services, so a later with-stack.sh run leaves them up.
#
# Environment: GAME_DDB_PORT (the recorded port, else 8000), GAME_MOTO_PORT (the recorded port,
# else 5000), GAME_STATE_DIR (<repo>/.local: pids, ports, logs, leases), GAME_STACK_TIMEOUT
# (seconds to wait for a server to answer, 60), GAME_TOOLS_DIR (see tools.sh).
set -euo pipefail
shopt -s inherit_errexit

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
STATE=${GAME_STATE_DIR:-$REPO_DIR/.local}
[[ $STATE == /* ]] || STATE=$PWD/$STATE
DEFAULT_DDB_PORT=8000
DEFAULT_MOTO_PORT=5000
# Set by resolve_ports (the variable, else the recorded port, else the default).
DDB_PORT=
MOTO_PORT=
TIMEOUT=${GAME_STACK_TIMEOUT:-60}
HOST=127.0.0.1
SERVICES=(dynamodb moto)

log() { printf 'stack.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

valid_port() { [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535)); }
for p in "${GAME_DDB_PORT:-$DEFAULT_DDB_PORT}" "${GAME_MOTO_PORT:-$DEFAULT_MOTO_PORT}"; do
  valid_port "$p" || die "invalid port '$p'"
done

port_of() { if [[ $1 == dynamodb ]]; then echo "$DDB_PORT"; else echo "$MOTO_PORT"; fi; }
label_of() { if [[ $1 == dynamodb ]]; then echo "DynamoDB Local"; else echo "moto server"; fi; }
var_of() { if [[ $1 == dynamodb ]]; then echo GAME_DDB_PORT; else echo GAME_MOTO_PORT; fi; }

# --- probes -----------------------------------------------------------------------------------
# Proxies in the environment must not see loopback traffic.
http() { curl --silent --show-error --noproxy '*' --max-time 2 "$@"; }

# DynamoDB (Local or real) answers an unsigned request with 400 MissingAuthenticationToken:
# that identifies the service without credentials. moto would answer 200, anything else differs.
# (Bodies are captured, not piped to grep -q: grep exiting early makes curl fail on a broken
# pipe, and pipefail would turn that into a false "not up".)
probe_dynamodb() { # [port]
  local body
  body=$(http -X POST -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: DynamoDB_20120810.ListTables' -d '{}' "http://$HOST:${1:-$DDB_PORT}/" 2>/dev/null) || return 1
  [[ $body == *MissingAuthenticationToken* ]]
}

# moto's dashboard page is titled "Moto".
probe_moto() { # [port]
  local body
  body=$(http "http://$HOST:${1:-$MOTO_PORT}/moto-api/" 2>/dev/null) || return 1
  [[ $body == *'<title>Moto</title>'* ]]
}

port_open() { (: <"/dev/tcp/$HOST/$1") 2>/dev/null; }

# --- our processes ----------------------------------------------------------------------------
pidfile() { echo "$STATE/$1.pid"; }
portfile() { echo "$STATE/$1.port"; }
logfile() { echo "$STATE/$1.log"; }
automark() { echo "$STATE/$1.auto"; }

alive() { # <pid>: running and not a zombie
  kill -0 "$1" 2>/dev/null || return 1
  [[ ! -r /proc/$1/stat ]] || [[ $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) != Z ]]
}

cmdline_of() {
  if [[ -r /proc/$1/cmdline ]]; then tr '\0' ' ' <"/proc/$1/cmdline"; else ps -o args= -p "$1" 2>/dev/null; fi
}

# <service> <pid>: the port the process serves if it is that service as stack.sh launches it
# (guards against a stale pid file whose pid was reused by something else).
served_port() {
  local cmd pattern
  cmd=$(cmdline_of "$2")
  if [[ $1 == dynamodb ]]; then pattern='LoopbackDynamoDBLocal .*-port ([0-9]+)( |$)'; else pattern='moto_server .*-p ([0-9]+)( |$)'; fi
  [[ $cmd =~ $pattern ]] || return 1
  echo "${BASH_REMATCH[1]}"
}

# <service>: what its pid file says, one line: "none", "stale <pid>" (not running, or the pid
# is now another program), or "ours <pid> <port>" (our server, alive, on <port>).
recorded() {
  local f pid port
  f=$(pidfile "$1")
  [[ -f $f ]] || { echo none; return; }
  pid=$(<"$f")
  if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && port=$(served_port "$1" "$pid"); then
    echo "ours $pid $port"
  else
    echo "stale ${pid:-?}"
  fi
}

# The pid recorded for <service>, if that process is alive and still the server we started on
# the resolved port.
our_pid() {
  local state
  read -ra state <<<"$(recorded "$1")"
  [[ ${state[0]} == ours && ${state[2]} == "$(port_of "$1")" ]] || return 1
  echo "${state[1]}"
}

# Each service's port: its variable if set; else the port recorded in the state dir, while the
# server recorded there (ours, or one a start adopted) still runs on it; else the default.
# PORT_FROM[<service>] says which, for messages.
declare -A PORT_FROM=()
resolve_ports() {
  local svc var default port rec
  local -a state
  for svc in "${SERVICES[@]}"; do
    var=$(var_of "$svc")
    default=$DEFAULT_DDB_PORT
    [[ $svc == dynamodb ]] || default=$DEFAULT_MOTO_PORT
    port=${!var:-}
    PORT_FROM[$svc]="$var=$port"
    if [[ -z $port ]]; then
      port=$default
      PORT_FROM[$svc]="the default"
      rec=
      [[ ! -f $(portfile "$svc") ]] || rec=$(<"$(portfile "$svc")")
      read -ra state <<<"$(recorded "$svc")"
      if [[ ${state[0]} == ours ]]; then
        # Our live server's own port (its command line agrees with <service>.port).
        port=${state[2]}
        PORT_FROM[$svc]="recorded in $STATE"
      elif [[ ${state[0]} == none ]] && valid_port "${rec:-x}" && "probe_$svc" "$rec"; then
        # A server a start adopted, still answering.
        port=$rec
        PORT_FROM[$svc]="recorded in $STATE"
      fi
    fi
    if [[ $svc == dynamodb ]]; then DDB_PORT=$port; else MOTO_PORT=$port; fi
  done
  [[ $DDB_PORT != "$MOTO_PORT" ]] || die "DynamoDB Local and moto would both use port $DDB_PORT (GAME_DDB_PORT, GAME_MOTO_PORT)"
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
    # every access key and region (otherwise tables split by credentials). GAME_DDB_JAVA_OPTS
    # replaces the heap and GC flags (a load test may want a larger heap).
    # shellcheck disable=SC2086 # the options are words
    (cd "$STATE" && exec setsid java -Djava.net.preferIPv4Stack=true ${GAME_DDB_JAVA_OPTS:--Xmx256m -XX:+UseSerialGC} \
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

# A port near <port> that nothing listens on (for suggestions; not reserved).
free_port_near() {
  local p
  for ((p = $1 + 1; p < $1 + 100 && p <= 65535; p++)); do
    port_open "$p" || { echo "$p"; return; }
  done
  echo "<port>"
}

# Phase 1 of making <service> answer: prints "running" if our server already answers,
# "adopted" if a server this state dir did not start answers, "launched" if this call started
# it, "pending" if ours but not answering yet. Both servers are launched before either is waited
# for, so their JVM/Python start-ups overlap.
launch_service() {
  local svc=$1 port label pid var
  local -a state
  port=$(port_of "$svc")
  label=$(label_of "$svc")
  var=$(var_of "$svc")
  read -ra state <<<"$(recorded "$svc")"
  case ${state[0]} in
    ours)
      if [[ ${state[2]} == "$port" ]]; then
        # Ours but not answering (still starting under another caller, or hung): wait for it
        # rather than start a second copy.
        if "probe_$svc"; then echo running; else echo pending; fi
        return
      fi
      # One server per service per state dir: never orphan the one it records.
      log "this state dir's $label runs on port ${state[2]} (pid ${state[1]}, $(pidfile "$svc")), not on $port ($var=$port)"
      die "stop it first (GAME_STATE_DIR=$STATE $var=${state[2]} stack.sh stop), or unset $var to use it, or set GAME_STATE_DIR to another directory"
      ;;
    stale) rm -f "$(pidfile "$svc")" "$(portfile "$svc")" "$(automark "$svc")" ;;
  esac
  if "probe_$svc"; then
    # A manual start prints a banner about it once both answer (warn_adopted).
    [[ $START_MODE != auto ]] || log "$label already answers on $HOST:$port, but this stack did not start it (using it)"
    echo "$port" >"$(portfile "$svc")"
    echo adopted
    return
  fi
  if port_open "$port"; then
    log "port $port on $HOST is in use by something that is not $label:"
    who_listens "$port"
    die "free port $port or choose another one, e.g. $var=$(free_port_near "$port")"
  fi
  pid=$(launch "$svc")
  echo "$pid" >"$(pidfile "$svc")"
  echo "$port" >"$(portfile "$svc")"
  echo launched
}

# The banner `start` prints when it uses servers it did not start: on a shared machine they are
# probably someone else's, and their tables (and API keys) would be shared with them.
warn_adopted() {
  local svc line suggestion=""
  {
    printf '\n%s\n' "stack.sh: ========================================================================"
    for svc in "$@"; do
      printf 'stack.sh: WARNING: %s already answers on http://%s:%s and this stack did not start it\n' \
        "$(label_of "$svc")" "$HOST" "$(port_of "$svc")"
      who_listens "$(port_of "$svc")"
    done
    printf '%s\n' "stack.sh: It may be another checkout's stack or, on a shared machine, someone else's: its" \
      "stack.sh: tables, data and API keys are shared with whoever runs it. To run your own stack" \
      "stack.sh: instead, pick free ports, e.g.:"
    for svc in "${SERVICES[@]}"; do
      suggestion+="$(var_of "$svc")=$(free_port_near "$(port_of "$svc")") "
    done
    line="stack.sh:     ${suggestion}make dev"
    printf '%s\n' "$line" "stack.sh: (this state dir then records them: make stack-stop needs no variables)"
    printf '%s\n\n' "stack.sh: ========================================================================"
  } >&2
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
      rm -f "$(pidfile "$svc")" "$(portfile "$svc")"
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
      rm -f "$(pidfile "$svc")" "$(portfile "$svc")"
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
START_MODE=
start_all() {
  local mode=$1 svc t0 failed=0
  START_MODE=$mode
  local -A how=()
  local -a adopted=()
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
    [[ ${how[$svc]} != adopted ]] || adopted+=("$svc")
  done
  for svc in "${SERVICES[@]}"; do
    [[ ${how[$svc]} == launched || ${how[$svc]} == pending ]] || continue
    # Keep waiting for the others after a failure so every failure is reported.
    wait_service "$svc" || failed=1
  done
  ((!failed)) || die "the local stack did not start"
  LAUNCHED=()
  local -A said=([launched]="started" [pending]="started" [running]="already running"
    [adopted]="in use (not started by this stack)")
  for svc in "${SERVICES[@]}"; do
    # A manual start adopts what leased runs started, so it stays up after they finish.
    [[ $mode != manual ]] || rm -f "$(automark "$svc")"
    log "$(label_of "$svc") ${said[${how[$svc]}]} on http://$HOST:$(port_of "$svc")"
  done
  local ms=$(((${EPOCHREALTIME/[.,]/} - t0) / 1000))
  log "stack ready in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s (state: $STATE)"
  # Test runs (with-stack.sh) may share a CI service on purpose; a person starting a stack is told.
  if [[ $mode == manual ]] && ((${#adopted[@]})); then warn_adopted "${adopted[@]}"; fi
}

# shellcheck disable=SC2329 # invoked by the EXIT trap of start_all
abort_launched() {
  local svc pid
  for svc in "${LAUNCHED[@]}"; do
    if pid=$(our_pid "$svc"); then
      stop_pid "$pid"
      log "stopped $(label_of "$svc") (pid $pid) again, as the start failed"
    fi
    rm -f "$(pidfile "$svc")" "$(portfile "$svc")" "$(automark "$svc")"
  done
}

# <all|auto>: stops the servers the state dir records on the resolved ports and says what it
# found for each. A pid file naming our server on another port is kept and that server left
# running (answers 1 then); a pid file naming a process that is gone or is no longer our server
# is removed.
stop_services() {
  local which=$1 svc label port var rc=0
  local -a state
  for svc in "${SERVICES[@]}"; do
    [[ $which == all || -f $(automark "$svc") ]] || continue
    label=$(label_of "$svc")
    port=$(port_of "$svc")
    var=$(var_of "$svc")
    read -ra state <<<"$(recorded "$svc")"
    case ${state[0]} in
      ours)
        if [[ ${state[2]} == "$port" ]]; then
          stop_pid "${state[1]}"
          log "stopped $label (pid ${state[1]}, port $port)"
          rm -f "$(pidfile "$svc")" "$(portfile "$svc")" "$(automark "$svc")"
        else
          log "left $label running: $(pidfile "$svc") names pid ${state[1]}, which serves port ${state[2]}, not $port (${PORT_FROM[$svc]}); pid file kept"
          log "  to stop it: unset $var (the state dir records its port) or set $var=${state[2]}"
          rc=1
        fi
        ;;
      stale)
        if [[ ${state[1]} =~ ^[0-9]+$ ]] && alive "${state[1]}"; then
          log "$(pidfile "$svc") names pid ${state[1]}, which is no longer $label (the pid was reused); nothing stopped, stale pid file removed"
        else
          log "$(pidfile "$svc") names pid ${state[1]}, which is not running; stale pid file removed"
        fi
        rm -f "$(pidfile "$svc")" "$(portfile "$svc")" "$(automark "$svc")"
        ;;
      none)
        if [[ $which == all ]]; then
          if "probe_$svc"; then
            log "$label on $HOST:$port was not started by stack.sh with state dir $STATE: left alone"
          else
            log "no $label to stop: none started by stack.sh with state dir $STATE (port $port, ${PORT_FROM[$svc]})"
          fi
        fi
        rm -f "$(portfile "$svc")" "$(automark "$svc")"
        ;;
    esac
  done
  return "$rc"
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
  local -a state
  for svc in "${SERVICES[@]}"; do
    port=$(port_of "$svc")
    label=$(label_of "$svc")
    read -ra state <<<"$(recorded "$svc")"
    if "probe_$svc"; then
      if pid=$(our_pid "$svc"); then
        printf '%-15s up on http://%s:%s (pid %s, started by stack.sh%s; port: %s)\n' "$label" "$HOST" "$port" "$pid" \
          "$([[ -f $(automark "$svc") ]] && echo ' for with-stack.sh')" "${PORT_FROM[$svc]}"
      else
        printf '%-15s up on http://%s:%s (not started by stack.sh with this state dir)\n' "$label" "$HOST" "$port"
      fi
    elif port_open "$port"; then
      printf '%-15s DOWN: port %s is held by something else\n' "$label" "$port"
      rc=3
    else
      printf '%-15s down (port %s, %s)\n' "$label" "$port" "${PORT_FROM[$svc]}"
      rc=3
    fi
    if [[ ${state[0]} == ours && ${state[2]} != "$port" ]]; then
      printf '%-15s note: this state dir'"'"'s server runs on port %s (pid %s)\n' "" "${state[2]}" "${state[1]}"
    fi
  done
  return "$rc"
}

# <service>... : say when a variable points away from the server this state dir records.
warn_elsewhere() {
  local svc
  local -a state
  for svc in "${SERVICES[@]}"; do
    read -ra state <<<"$(recorded "$svc")"
    if [[ ${state[0]} == ours && ${state[2]} != "$(port_of "$svc")" ]]; then
      log "note: $(var_of "$svc")=$(port_of "$svc"), but this state dir's $(label_of "$svc") runs on port ${state[2]} (pid ${state[1]}, $(pidfile "$svc"))"
    fi
  done
}

# The ${NO_PROXY...} expansions are printed literally, to be expanded where the lines are eval'd.
# shellcheck disable=SC2016
print_env() {
  printf 'export AWS_ENDPOINT_URL_DYNAMODB=http://%s:%s\n' "$HOST" "$DDB_PORT"
  printf 'export AWS_ENDPOINT_URL_SECRETS_MANAGER=http://%s:%s\n' "$HOST" "$MOTO_PORT"
  # moto serves S3 too: the export bucket (large exports, presigned URLs).
  printf 'export AWS_ENDPOINT_URL_S3=http://%s:%s\n' "$HOST" "$MOTO_PORT"
  # DynamoDB Local serves the table's stream on its own port; moto serves the webhook queues.
  printf 'export AWS_ENDPOINT_URL_DYNAMODB_STREAMS=http://%s:%s\n' "$HOST" "$DDB_PORT"
  printf 'export AWS_ENDPOINT_URL_SQS=http://%s:%s\n' "$HOST" "$MOTO_PORT"
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
    resolve_ports
    start_all manual
    ;;
  stop)
    lock_state
    resolve_ports
    # Stop all or nothing: when a variable names another port than a recorded server's, that
    # server is left running with its pid file, and so is the rest.
    elsewhere=$(warn_elsewhere 2>&1)
    if [[ -n $elsewhere ]]; then
      log "stopping nothing:"
      printf '%s\n' "$elsewhere" >&2
      log "pid files kept; unset the variable (the state dir records each port) or set it to the recorded port"
      exit 1
    fi
    if [[ -n $(live_leases) ]]; then
      log "warning: with-stack.sh runs are still using the stack (pids $(live_leases | tr '\n' ' '))"
    fi
    stop_services all
    ;;
  status)
    resolve_ports
    status
    ;;
  env)
    resolve_ports
    warn_elsewhere
    print_env
    ;;
  acquire)
    id=$(lease_id "${2:-}" acquire)
    lock_state
    resolve_ports
    start_all auto
    mkdir -p "$STATE/leases"
    : >"$STATE/leases/$id"
    ;;
  release)
    id=$(lease_id "${2:-}" release)
    lock_state
    resolve_ports
    rm -f "$STATE/leases/$id"
    if [[ -z $(live_leases) ]]; then stop_services auto; fi
    ;;
  -h | --help | help) sed -n '2,24s/^# \{0,1\}//p' "$0" ;;
  *) die "usage: stack.sh start|stop|status|env" ;;
esac
