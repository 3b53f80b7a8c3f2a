# Top-level entry points (see README):
#   make run   - install what is missing, build all three kernels, boot one (ARCH=, default riscv64)
#   make test  - install what is missing, then run the whole test suite
ARCH ?= riscv64
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test test-slow bootstrap build clean bench
bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	$(VENV)/bin/axiomdbg build --arch all

run: bootstrap
	$(VENV)/bin/axiomdbg build --arch all
	$(VENV)/bin/axiomdbg boot --arch $(ARCH) --no-build

# The whole suite except tests marked `slow` (full-width proofs that take many
# minutes each: `make test-slow`, or `axiomdbg prove verifier` itself).
test: bootstrap
	$(PY) -m pytest -n 2 --dist loadgroup -q -m "not slow" $(PYTEST_ARGS)

test-slow: bootstrap
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

bench: bootstrap
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf build
