# `make run`, `make test`, `make test-fast`, `make calibrate` and `make dashboard` set up what their job
# needs on a fresh machine, then do it. Each stamp below is one install; a changed pyproject.toml redoes them.
#   .venv/.installed            the model and its commands (`pip install -e .`)        run, dashboard
#   .venv/.installed-test       + the test tools, the calibration, Ray and strategy extras test, test-fast
#   .venv/.installed-calibrate  + the calibration extra (sbi with torch)                 calibrate
VENV   := .venv
PY     := $(VENV)/bin/python
# Mesa 3.5 needs Python >= 3.12; pyenv provides it here (see .python-version).
PYTHON ?= $(shell pyenv which python3.12 2>/dev/null || command -v python3.12 || echo python3)
ARGS   ?=

.PHONY: setup run test test-fast calibrate dashboard clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "Python >= 3.12 needed, got " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

# CI keeps running the calibration, Ray and strategy-lab tests, so the test set-up has those extras too
$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[test,calibrate,ray,strategy]"
	touch $@

$(VENV)/.installed-calibrate: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[calibrate]"
	touch $@

setup: $(VENV)/.installed

run: setup
	$(PY) -m experiments.run $(ARGS)

# every test; -rs lists each skipped test with its reason (e.g. calibration without the sbi package)
test: $(VENV)/.installed-test
	$(PY) -m pytest -n 2 -rs $(ARGS)

# everything not marked slow (see `markers` in pyproject.toml)
test-fast: $(VENV)/.installed-test
	$(PY) -m pytest -n 2 -rs -m "not slow" $(ARGS)

# e.g. make calibrate ARGS=configs/calibration/small.yaml (default configs/calibration/main.yaml)
calibrate: $(VENV)/.installed-calibrate
	$(PY) -m experiments.calibrate $(ARGS)

dashboard: setup
	$(PY) -m experiments.dashboard

clean:
	rm -rf $(VENV) results outputs multirun
