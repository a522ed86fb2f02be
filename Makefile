# The two commands: `make dev` (the whole API locally) and `make test` (everything CI runs).
# Both install what they need on first use (tools go to ~/.cache/game-rs-tools, see
# infra/scripts/tools.sh) and start the local AWS stack themselves.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
SCRIPTS := infra/scripts

.PHONY: help dev dev-key dev-check test lint unit openapi api-checks browser-checks stack-start stack-stop tools coldstart load package

## Serve every route on http://127.0.0.1:$GAME_DEV_PORT (3000) against DynamoDB Local on
## GAME_DDB_PORT (8000) and moto on GAME_MOTO_PORT (5000); Ctrl-C to stop.
dev:
	cargo build -p game-local --bin game-dev
	$(SCRIPTS)/stack.sh start
	eval "$$($(SCRIPTS)/stack.sh env)" && cargo run --quiet -p game-local --bin game-dev

## Mint an admin key for another tenant on the running dev stack and print only the key:
## OTHER_KEY=$(make -s dev-key TENANT=other)
dev-key:
	@[[ -n "$(TENANT)" ]] || { echo "usage: make dev-key TENANT=<tenant>" >&2; exit 2; }
	@status=$$($(SCRIPTS)/stack.sh status) || { echo "$$status" >&2; echo "make dev-key: the dev stack is not running; start it with make dev" >&2; exit 1; }
	@eval "$$($(SCRIPTS)/stack.sh env)" && cargo run --quiet -p game-local --bin game-admin -- mint-key \
	  --table "$${GAME_TABLE_NAME:-game-local}" --secret "$${GAME_SECRET_ARN:-game/local}" \
	  --tenant "$(TENANT)" --client dev --description "make dev-key"

## Run the README walk-through against the running make dev and compare the outputs it shows
## (needs a fresh table: make stack-stop, then make dev).
dev-check:
	python3 $(SCRIPTS)/walkthrough-check.py

## fmt, clippy, then every test against a fresh local stack that is stopped afterwards, then
## the API-contract checks (the OpenAPI document validated, a generated Python client, the
## schema fuzzer) and the deployment checks (sam validate --lint, the arm64 release build of a
## sample of functions and their sizes (make package: all of them), the real binaries under
## cargo lambda watch and sam local; GAME_SKIP_SAM_LOCAL=1 skips sam local), and the admin console in headless chromium (browser-checks.sh). The tests
## that start the dev API read its SDK time-outs from the environment: long ones, so that a
## loaded CI machine's slow DynamoDB Local is not a failure (time-outs have their own tests).
test: lint
	$(SCRIPTS)/with-stack.sh bash -c "GAME_DDB_ATTEMPT_TIMEOUT_MS=10000 GAME_DDB_TIMEOUT_MS=20000 cargo test --workspace --lib --test '*' && $(SCRIPTS)/api-checks.sh && $(SCRIPTS)/browser-checks.sh && $(SCRIPTS)/lambda-checks.sh"

## The pure tests only: the scoring crate's and the functions crate's unit tests (no DynamoDB).
unit:
	cargo test -p game-scoring
	cargo test -p game-functions --lib

## Rewrite docs/openapi.json and the problem-code table of docs/api.md from the code (the
## contract test fails while they are stale).
openapi:
	cargo run --quiet -p game-local --bin game-admin -- openapi --write

## Only the API-contract checks (validator, generated client, schemathesis) on a fresh stack.
api-checks:
	$(SCRIPTS)/with-stack.sh $(SCRIPTS)/api-checks.sh

## Only the admin console's browser test (headless chromium, Selenium) on a fresh stack;
## GAME_CONSOLE_SCREENSHOTS=docs/console refreshes the screenshots docs/console.md shows.
browser-checks:
	$(SCRIPTS)/with-stack.sh $(SCRIPTS)/browser-checks.sh

## cargo fmt --check and clippy with warnings as errors, as CI runs them.
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

## Install the local tools (DynamoDB Local; cargo-lambda, SAM CLI, moto) into ~/.cache/game-rs-tools.
tools:
	$(SCRIPTS)/tools.sh all

## Start the local AWS stack (DynamoDB Local and moto) in the background.
stack-start:
	$(SCRIPTS)/stack.sh start

## Stop the local AWS stack (the ports it started on are recorded in .local: no variables needed).
stack-stop:
	$(SCRIPTS)/stack.sh stop

## The arm64 release build of every function (what sam deploy uploads) and each package's size;
## fails above 5 MB zipped (make test builds and checks a sample: infra/scripts/lambda-checks.sh).
package:
	$(SCRIPTS)/lambda-build.sh arm64
	python3 $(SCRIPTS)/lambda-sizes.py target-lambda/lambda-arm64 5

## Benchmark: each function's init time and RSS (x86_64 release build, docs/benchmarks.md).
coldstart:
	$(SCRIPTS)/lambda-build.sh x86_64
	cargo build --quiet --workspace --bins
	$(SCRIPTS)/with-stack.sh bash -c 'target/debug/game-admin create-secret --secret game/coldstart >/dev/null && GAME_SECRET_ARN=game/coldstart target/debug/game-coldstart target-lambda/lambda-x86_64 5'

## Load test: GAME's k6 mix (70/25/5, warm-up 30 s, hold 2 min, ramp-down 30 s) against a
## fresh dev API; report, SLO verdict, target/load/load-summary.json and load.png. Options:
## make load LOAD_ARGS="--vus 100 --hold 60" (docs/benchmarks.md; any API: docs/load.md).
load:
	$(SCRIPTS)/load.sh $(LOAD_ARGS)

## List the targets with what each does (the `## ` lines directly above each target).
## Bare `make` still runs `dev`, the first target.
help:
	@awk '/^## / { text = text (text ? "\n                 " : "") substr($$0, 4); next } \
	     /^[a-zA-Z_-]+:/ && text { split($$0, t, ":"); printf "  %-14s %s\n", t[1], text } \
	     { text = "" }' $(MAKEFILE_LIST)
