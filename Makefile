# Exodus: two commands on a fresh machine with Python 3.11:  make report  and  make test
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin
STUDY ?= demo
PYTEST_ARGS ?=

.PHONY: report test test-quick lab env uv lint bench clean-env

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

# --compile-bytecode: where PYTHONDONTWRITEBYTECODE is set (as on CI machines), nothing is ever
# cached, and every report kernel would recompile each imported module from source (seconds each).
$(BIN)/exodus: pyproject.toml uv.lock | uv
	$(UV) sync --frozen --extra dev --python 3.11 --compile-bytecode
	$(BIN)/python -c "from analysis.report.run.kernel import ensure_kernel; ensure_kernel()"  # the notebooks' kernel, for papermill/Jupyter
	@touch $@

env: $(BIN)/exodus

report: env  ## create the environment and run the main job on the embedded default (synthetic demo)
	@$(BIN)/python -m compileall -q analysis >/dev/null 2>&1 || true
	$(BIN)/exodus run --study $(STUDY)
	@echo "The command line is $(BIN)/exodus (or: source $(BIN)/activate, then exodus ...)"

test: env  ## every test: unit, end-to-end notebook runs, headless browser and simulation studies (what CI runs)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-quick: env  ## development loop: everything except the tests marked slow (end-to-end, browser, simulations)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lab: env  ## JupyterLab on the notebooks with the project's kernel (adds the lab extra)
	$(UV) sync --frozen --extra dev --extra lab --python 3.11 --compile-bytecode
	$(BIN)/python -c "from analysis.report.run.kernel import ensure_kernel; ensure_kernel()"
	$(BIN)/jupyter lab notebooks/

lint: env
	$(BIN)/ruff check .

clean-env:
	rm -rf $(VENV)

bench: env  ## batched engine vs loops of statsmodels fits, and a report run vs the papermill floor (RATIO lines)
	$(BIN)/python bench/bench_its.py
	@$(BIN)/python -m compileall -q analysis >/dev/null 2>&1 || true
	$(BIN)/python bench/bench_report.py
