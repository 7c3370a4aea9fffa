# The two commands a newcomer needs: `make demo` runs the function locally, `make test`
# runs the whole test suite (what CI runs through .ci/run).
.PHONY: demo test setup bench bench-load bench-size

demo: setup
	cargo build --workspace --bins --locked
	target/debug/demo

test:
	bash scripts/test.sh

setup:
	bash scripts/setup-venv.sh

# Benchmarks (docs/performance.md): the pure path with criterion, the release binary under
# load through the Lambda Runtime API, and the size of the arm64 Lambda artifact.
bench:
	bash scripts/bench-pure.sh

bench-load:
	bash scripts/bench-load.sh

bench-size:
	bash scripts/bench-size.sh
