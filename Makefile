# The two commands a newcomer needs: `make demo` runs the function locally, `make test`
# runs the whole test suite (what CI runs through .ci/run).
.PHONY: demo test setup

demo: setup
	cargo build --workspace --bins --locked
	target/debug/demo

test:
	bash scripts/test.sh

setup:
	bash scripts/setup-venv.sh
