# The two commands: `make dev` (the whole API locally) and `make test` (everything CI runs).
# Both install what they need on first use (tools go to ~/.cache/game-rs-tools, see
# infra/scripts/tools.sh) and start the local AWS stack themselves.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
SCRIPTS := infra/scripts

.PHONY: dev test lint unit stack-start stack-stop tools coldstart

## Serve every route on http://127.0.0.1:3000 against DynamoDB Local (Ctrl-C to stop).
dev:
	$(SCRIPTS)/stack.sh start
	eval "$$($(SCRIPTS)/stack.sh env)" && cargo run -p game-local --bin game-dev

## fmt, clippy, then every test against a fresh local stack that is stopped afterwards, then
## the deployment checks (sam validate --lint, the arm64 release build and its sizes, the real
## binaries under cargo lambda watch and sam local; GAME_SKIP_SAM_LOCAL=1 skips sam local).
test: lint
	$(SCRIPTS)/with-stack.sh bash -c "cargo test --workspace --lib --test '*' && $(SCRIPTS)/lambda-checks.sh"

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

tools:
	$(SCRIPTS)/tools.sh all

stack-start:
	$(SCRIPTS)/stack.sh start

stack-stop:
	$(SCRIPTS)/stack.sh stop

## Benchmark: each function's init time and RSS (x86_64 release build, docs/benchmarks.md).
coldstart:
	$(SCRIPTS)/lambda-build.sh x86_64
	cargo build --quiet --workspace --bins
	$(SCRIPTS)/with-stack.sh bash -c 'target/debug/game-admin create-secret --secret game/coldstart >/dev/null && GAME_SECRET_ARN=game/coldstart target/debug/game-coldstart target-lambda/lambda-x86_64 5'
