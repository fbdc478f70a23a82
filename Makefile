# `make run`, `make test` and `make test-fast` set everything up on a fresh machine, then do their job.
VENV   := .venv
PY     := $(VENV)/bin/python
# Mesa 3.5 needs Python >= 3.12; pyenv provides it here (see .python-version).
PYTHON ?= $(shell pyenv which python3.12 2>/dev/null || command -v python3.12 || echo python3)
ARGS   ?=

.PHONY: setup run test test-fast dashboard clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Python >= 3.12 needed, got " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,calibrate]"
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) -m experiments.run $(ARGS)

# every test; -rs lists each skipped test with its reason (e.g. calibration without the sbi package)
test: setup
	$(PY) -m pytest -n 2 -rs $(ARGS)

# everything not marked slow (see `markers` in pyproject.toml)
test-fast: setup
	$(PY) -m pytest -n 2 -rs -m "not slow" $(ARGS)

dashboard: setup
	$(PY) -m experiments.dashboard

clean:
	rm -rf $(VENV) results outputs multirun
