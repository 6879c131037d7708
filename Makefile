# The README's two commands: `make demo` and `make test`. Each creates .venv on a fresh machine.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_BASE := $(VENV)/.installed-base
STAMP_DEV  := $(VENV)/.installed-dev
OUT ?= results

.PHONY: demo test bench bounds clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_BASE): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[notebooks]"
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,notebooks]"
	touch $@ $(STAMP_BASE)

demo: $(STAMP_BASE)
	$(BIN)/mowsim reproduce --out $(OUT)

test: $(STAMP_DEV)
	$(BIN)/python -m pytest -q

bench: $(STAMP_DEV)
	$(BIN)/mowsim bench schemes

bounds: $(STAMP_BASE)
	$(BIN)/mowsim bounds --out $(OUT)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
