# The two commands a newcomer needs: `make demo` runs the function locally, `make test`
# runs the whole test suite (what CI runs through .ci/run). Plain `make` lists the targets.
# Each target's line in `make help` is the `## ` comment after its name.
.DEFAULT_GOAL := help
.PHONY: help demo test setup tools check-infra fuzz bench bench-load bench-size bench-aws-call bench-shift bench-reconcile

help: ## list the targets (this)
	@echo "usage: make TARGET"
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  make %-15s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

demo: setup ## run the function locally: moto, fake Genesys/Graph, a Lambda Runtime API, one shift
	cargo build --workspace --bins --locked
	target/debug/demo

test: ## the whole test suite, as CI runs it (scripts/test.sh; README, "Tests")
	bash scripts/test.sh

setup: ## create the Python environment .venv (moto, cfn-lint, cargo-lambda; scripts/setup-venv.sh)
	bash scripts/setup-venv.sh

tools: ## build cargo-deny and cargo-fuzz into .tools/bin (scripts/tools.sh; make test does it)
	bash scripts/tools.sh

check-infra: ## deployment checks: cfn-lint, SAM translation + checkov, Terraform, arm64 sam build
	bash scripts/check-infra.sh

fuzz: ## each fuzz target for FUZZ_SECONDS (default 20) seconds (scripts/fuzz.sh)
	bash scripts/fuzz.sh $(or $(FUZZ_SECONDS),20)

# Benchmarks (docs/performance.md).
bench: ## criterion benchmark of the pure path of one event (scripts/bench-pure.sh)
	bash scripts/bench-pure.sh

bench-load: ## release binary under a 1,000-agent shift; about 11 min on two cores from clean
	bash scripts/bench-load.sh

bench-size: ## size of the arm64 Lambda bootstrap, release build (scripts/bench-size.sh)
	bash scripts/bench-size.sh

bench-aws-call: ## client CPU of one DynamoDB call, SDK against a lean client
	bash scripts/bench-aws-call.sh

bench-shift: ## shift-start model: 20,000 agents through Lambda async + Graph's limit (issue 13)
	bash scripts/bench-shift.sh

bench-reconcile: ## reconcile passes over 100,000 users in virtual time: runs, calls, memory (issue 10)
	cargo run --locked --release -p presence-sync-tests --bin reconcilebench
