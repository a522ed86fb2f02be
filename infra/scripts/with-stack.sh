#!/usr/bin/env bash
# Runs one command against the local AWS stack:
#
#   with-stack.sh <command> [args...]
#
# Starts DynamoDB Local and moto server unless they already answer, exports the client
# environment (endpoints, dummy credentials, region; the tools venv on PATH), runs the command,
# and on exit (also on Ctrl-C or TERM) stops the servers this run started. Exits with the
# command's status. Concurrent runs share one stack: each holds a lease and the last one out
# stops it; servers started by `stack.sh start` or by anything else are never stopped here.
# Ports and directories: see stack.sh and tools.sh (without GAME_DDB_PORT/GAME_MOTO_PORT, a
# stack the state dir records, such as a running `make dev`'s, is used on its ports).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STACK=$SCRIPT_DIR/stack.sh

(($#)) || { echo "usage: with-stack.sh <command> [args...]" >&2; exit 2; }

# The lease is this shell's pid; stack.sh treats a lease whose pid is gone as released, so even
# a SIGKILLed run does not keep the stack up forever (the next run cleans it up).
# shellcheck disable=SC2329 # invoked by the EXIT trap
release() { "$STACK" release "$$" || echo "with-stack.sh: warning: could not stop the stack" >&2; }
# Set before acquiring, so servers started by a half-failed start are stopped too.
trap release EXIT

# The command runs in the background and this shell waits for it: bash defers traps until a
# foreground command ends, so a TERM sent to this shell alone (a CI timeout) would otherwise
# wait for the whole test run. Signals are passed on to the command, then we exit through the
# EXIT trap with the conventional status.
child=
# shellcheck disable=SC2329 # invoked by the signal traps
on_signal() { # <signal> <exit status>
  if [[ -n $child ]]; then
    kill "-$1" "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit "$2"
}
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

"$STACK" acquire "$$"
# Captured first: a failure inside $(...) would otherwise be masked by eval.
tools_env=$("$SCRIPT_DIR/tools.sh" env)
stack_env=$("$STACK" env)
eval "$tools_env"
eval "$stack_env"

# A background command would get /dev/null as stdin and ignore Ctrl-C: give it our stdin (if
# we have one) and default INT/QUIT handling, so it behaves as if run in the foreground.
{ exec 3<&0; } 2>/dev/null || exec 3</dev/null
(
  trap - INT QUIT
  exec "$@"
) <&3 3<&- &
child=$!
exec 3<&-
status=0
wait "$child" || status=$?
exit "$status"
