# The README's two commands: `make demo` and `make test`. Each creates .venv on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= results
# One BLAS thread: the 2-core machines otherwise oversubscribe (scipy's L-BFGS-B slows ~4x under contention).
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: demo test bench bounds llm lab clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# One stamp per extra set, so `make demo` after `make test` still installs what the demo needs.
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[notebooks]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,llm,dask]"
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/mowsim reproduce --out $(OUT)

# MOWSIM_REQUIRE_DASK=1: the Dask tests fail, not skip, if the dask extra is missing.
test: $(VENV)/.installed-dev
	MOWSIM_REQUIRE_DASK=1 $(BIN)/python -m pytest -q

bench: $(VENV)/.installed-dev
	$(BIN)/mowsim bench schemes --out $(OUT)/bench
	$(BIN)/mowsim bench train --out $(OUT)/bench

llm: $(VENV)/.installed-dev
	$(BIN)/mowsim llm --quick --out $(OUT)/llm

lab: $(VENV)/.installed-demo
	$(BIN)/jupyter lab notebooks/

bounds: $(VENV)/.installed-demo
	$(BIN)/mowsim bounds --out $(OUT)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
