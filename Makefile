# The README's two commands: `make demo` and `make test`. Each creates .venv on a fresh machine.
# `make test-verl` (run by .ci/run after `make test`) creates .venv-verl: real verl needs its own environment.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
VERL_VENV := .venv-verl
VERL_BIN  := $(VERL_VENV)/bin
OUT    ?= results
# One BLAS thread: the 2-core machines otherwise oversubscribe (scipy's L-BFGS-B slows ~4x under contention).
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: demo test verl-env test-verl bench bounds llm lab clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# One stamp per extra set, so `make demo` after `make test` still installs what the demo needs.
$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# JupyterLab is only for `make lab`: the demo does not wait for it.
$(VENV)/.installed-lab: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[notebooks]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,llm,dask]"
	touch $@

# verl 0.9.1 with its own transformers pin (<5.11), Ray and tensordict; the constraints keep torch's CPU build.
$(VERL_BIN)/python:
	$(PYTHON) -m venv $(VERL_VENV)

$(VERL_VENV)/.installed: pyproject.toml .ci/verl-constraints.txt | $(VERL_BIN)/python
	$(VERL_BIN)/python -m pip install --quiet -c .ci/verl-constraints.txt -e ".[verl]" "pytest>=8"
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/mowsim reproduce --out $(OUT)

# MOWSIM_REQUIRE_DASK=1: the Dask tests fail, not skip, if the dask extra is missing.
test: $(VENV)/.installed-dev
	MOWSIM_REQUIRE_DASK=1 $(BIN)/python -m pytest -q

verl-env: $(VERL_VENV)/.installed

# The verl plug-in's tests against real verl (and the stand-in); MOWSIM_REQUIRE_VERL=1 fails, not skips, without verl.
test-verl: $(VERL_VENV)/.installed
	MOWSIM_REQUIRE_VERL=1 $(VERL_BIN)/python -m pytest -q tests/test_llm_verl.py

bench: $(VENV)/.installed-dev
	$(BIN)/mowsim bench schemes --out $(OUT)/bench
	$(BIN)/mowsim bench train --out $(OUT)/bench

llm: $(VENV)/.installed-dev
	$(BIN)/mowsim llm --quick --out $(OUT)/llm

lab: $(VENV)/.installed-lab
	$(BIN)/jupyter lab notebooks/

bounds: $(VENV)/.installed-demo
	$(BIN)/mowsim bounds --out $(OUT)

clean:
	rm -rf $(VENV) $(VERL_VENV) build *.egg-info .pytest_cache .hypothesis
