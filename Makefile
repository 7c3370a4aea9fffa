# The two commands a newcomer needs: `make demo` runs the function locally, `make test`
# runs the whole test suite (what CI runs through .ci/run). `make deploy` deploys all three
# clouds (infra/README.md). Plain `make` lists the targets.
# Each target's line in `make help` is the `## ` comment after its name.
.DEFAULT_GOAL := help
.PHONY: help demo test deploy destroy setup tools check-infra fuzz bench bench-load bench-size bench-aws-call bench-shift bench-reconcile

# The one build `make demo`, `make test` (scripts/test.sh, step 7) and `make deploy` share:
# the same packages, targets and features, so whichever runs first builds for the others.
# `--test usage` (a small test of presencectl) makes cargo resolve the dev-dependencies' features
# as the test build does (criterion, a bench dependency of shared/, adds features to serde and
# others: without it the whole dependency graph is compiled twice). No incremental artifacts:
# they pay off only while editing, and cost about 1.6 GB in a full build.
BUILD = CARGO_INCREMENTAL=0 cargo build --workspace --bins --test usage --locked

help: ## list the targets (this)
	@echo "usage: make TARGET"
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  make %-17s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

demo: setup ## run the three functions locally: moto, fake Genesys/Graph, a Lambda Runtime API, one shift
	@echo "== building the functions, presencectl and the demo (the first build takes minutes; make test reuses it)"
	$(BUILD)
	target/debug/demo

test: ## the whole test suite, as CI runs it (scripts/test.sh, README "Tests")
	bash scripts/test.sh

deploy: ## deploy Entra ID, Genesys Cloud and AWS, or upgrade in place (presencectl deploy; infra/README.md)
	bash scripts/deploy-prepare.sh deploy $(DEPLOY_ARGS)
	$(BUILD)
	target/debug/presencectl deploy $(DEPLOY_ARGS)

destroy: ## remove what make deploy made, in order, and say what is left (presencectl destroy)
	bash scripts/deploy-prepare.sh destroy $(DEPLOY_ARGS)
	$(BUILD)
	target/debug/presencectl destroy $(DEPLOY_ARGS)

setup: ## create the Python environment .venv (moto, cfn-lint, cargo-lambda, zig; scripts/setup-venv.sh)
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
