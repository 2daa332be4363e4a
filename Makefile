# mrelease_ref build/test plumbing. The two commands that matter:
#   make report   sync + execute every notebook (regenerates figures/), render build/report/
#   make test     every check CI runs (.ci/run calls exactly this)
# Both bootstrap .venv (python3 -m venv + pip install -e ".[dev]") on first use and
# reinstall only when pyproject.toml changes.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
# 1 = the figures gate also fails on `git status --porcelain -- figures` (CI, pre-commit);
# 0 = hashes only, for iterating locally before you commit regenerated figures.
FIGURES_GIT ?= 1

NOTEBOOKS_PY := $(sort $(wildcard notebooks/[0-9][0-9]_*.py))
NOTEBOOKS_IPYNB := $(NOTEBOOKS_PY:.py=.ipynb)

# MPLBACKEND=Agg (set by some CI images) suppresses the inline figure outputs that are stored
# in the .ipynb and compared by nbval: never pass it to a notebook kernel.
unexport MPLBACKEND
NBENV := env -u MPLBACKEND

NBVAL := --nbval --nbval-current-env --nbval-sanitize-with nbval_sanitize.cfg

.PHONY: help venv report test lint pairs executed pytest sync bench bench-lmkd clean

help:
	@echo "make report  - sync + execute notebooks/NN_*.py (rewrites .ipynb, figures/), HTML in build/report/"
	@echo "make test    - ruff, mypy, pair/executed checks, pytest tests+notebooks (nbval), figures gate"
	@echo "make lint    - ruff + mypy only"
	@echo "make sync    - jupytext --sync every notebook pair (newer file wins)"
	@echo "make bench   - python -m mrelease_ref.bench.reap, then mrelease_ref.bench.explore"
	@echo "make bench-lmkd - python -m mrelease_ref.bench.lmkd (LMKD scenario, widget, reap)"
	@echo "make clean   - remove build/ and caches (keeps .venv; rm -rf .venv to rebuild it)"

# ---- environment ------------------------------------------------------------------------
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@# build matplotlib's font cache now: on first import it prints a notice to stderr,
	@# which strict nbval would see as an unexpected output
	$(PY) -c "import matplotlib.font_manager"
	touch $@

venv: $(STAMP)

# Debian's Chromium for the widget browser test (tests/test_browser_lmkd.py); never a
# downloaded browser. Installed with apt where we are root and apt exists; elsewhere the
# test skips and says why (.ci/run makes it fail instead).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "note: $(CHROMIUM) missing and cannot be installed here (need root + apt)"; fi

# ---- the two main commands ----------------------------------------------------------------
report: $(STAMP)
	$(NBENV) $(PY) tools/run_notebooks.py $(NOTEBOOKS_PY)
	$(PY) tools/render_report.py --out build/report $(NOTEBOOKS_IPYNB)

# Sequential on purpose (also under make -j): cheap static checks first, then one pytest run.
test: $(STAMP) $(CHROMIUM)
	$(RUFF)
	$(MYPY)
	$(PY) tools/check_pairs.py
	$(PY) tools/check_executed.py
	$(PYTEST_GATED)

# ---- the pieces of `make test`, one by one ------------------------------------------------
RUFF := $(PY) -m ruff check .
MYPY := $(PY) -m mypy -p mrelease_ref -p tools
# One pytest run over tests/ and notebooks/ (nbval re-executes every notebook, which rewrites
# figures/), wrapped in the figures gate: figures/ must be byte-identical afterwards and,
# with FIGURES_GIT=1, clean in git. The font-cache warm-up keeps a matplotlib notice off
# the notebooks' stderr.
PYTEST_GATED = $(PY) -c "import matplotlib.font_manager" && \
	$(NBENV) $(PY) tools/figures_gate.py $(if $(filter 0,$(FIGURES_GIT)),--no-git) -- \
	    $(PY) -m pytest tests notebooks $(NBVAL)

lint: $(STAMP)
	$(RUFF)
	$(MYPY)

pairs: $(STAMP)
	$(PY) tools/check_pairs.py

executed: $(STAMP)
	$(PY) tools/check_executed.py

pytest: $(STAMP)
	$(PYTEST_GATED)

# ---- helpers ------------------------------------------------------------------------------
sync: $(STAMP)
	$(PY) -m jupytext --sync $(NOTEBOOKS_PY)

bench: $(STAMP)
	$(PY) -m mrelease_ref.bench.reap
	$(PY) -m mrelease_ref.bench.explore

bench-lmkd: $(STAMP)
	$(PY) -m mrelease_ref.bench.lmkd

clean:
	rm -rf build .mypy_cache .ruff_cache .hypothesis *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
