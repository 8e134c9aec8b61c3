# Two commands for a fresh machine: `make workshop` and `make test`.
# Both create .venv when missing, install only when a requirements file changed,
# and build the offline evaluation assets once.

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
BACKEND ?= local
REGION  ?= us-east-1
# Extra options for the runner, e.g. ARGS='--only 01_fine_tune_and_evaluate --param dataset_source="bundled"'
ARGS    ?=
# pytest-xdist workers for the test targets: the CPUs this shell may use (what nproc counts).
# Not -n auto: with psutil installed (Ray brings it) that counts the machine's physical cores,
# fewer than the CPUs on a laptop with hyperthreads, more than a CPU-pinned CI container gets.
# Each worker runs its own stand-in and notebook kernels, so more workers than CPUs only
# contend. JOBS=0 runs the suite in this process, as before (e.g. for --pdb).
JOBS    ?= $(shell $(PYTHON) -c "import os; print(len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1)")
# loadgroup: tests that share a costly fixture (the offline assets build, a module-scoped
# fixture) share one worker (see tests/conftest.py); the others go to whichever is free.
PYTEST  := $(PY) -m pytest -n $(JOBS) --dist loadgroup

.PHONY: workshop test test-fast test-new-account lab standin assets setup setup-dev lint format lock clean help

help:
	@echo "make workshop   run every notebook headless (BACKEND=local|aws REGION=... ARGS=...)"
	@echo "make test       run the test suite in parallel (JOBS=$(JOBS) workers)"
	@echo "make test-fast  the suite without the notebook runs (-m \"not notebook and not browser\")"
	@echo "make test-new-account   the tests the account can change, as a new AWS account"
	@echo "make lab        JupyterLab wired to the local stand-in"
	@echo "make standin    the local stand-in alone (prints the shell exports)"
	@echo "make lint       ruff check and format, notebooks stripped (nbstripout), mypy"
	@echo "make lock       re-pin every transitive dependency into requirements.lock"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# requirements*.txt name the direct dependencies; requirements.lock pins every package they
# pull in, so a clean machine installs exactly what CI tested (`make lock` renews it).
$(VENV)/.runtime: requirements.txt requirements.lock pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt -c requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.dev: requirements-dev.txt requirements.lock $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt -c requirements.lock
	$(PY) -m pip check
	@touch $@

# Resolve requirements*.txt afresh in a throw-away environment and pin the result.
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	{ echo "# Every package make and CI install, pinned: written by \`make lock\` from"; \
	  echo "# requirements.txt and requirements-dev.txt. Do not edit; change those and re-lock."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | sed -E 's/\+[A-Za-z0-9.]+$$//'; \
	} > requirements.lock
	rm -rf .lock-venv

setup: $(VENV)/.runtime assets
setup-dev: $(VENV)/.dev assets

assets: $(VENV)/.runtime
	@$(PY) -m utils.assets

workshop: setup
	$(PY) -m runner --backend $(BACKEND) --region $(REGION) $(ARGS)

test: setup-dev
	$(PYTEST)

# Unit, stand-in and contract tests: everything but the notebook runs, by papermill or in
# the browser (tests/browser/, minutes of JupyterLab in Chromium).
test-fast: setup-dev
	$(PYTEST) -m "not notebook and not browser"

# The suite against a stand-in playing an account new to Bedrock (no model units, no Legacy
# models). tests/conftest.py keeps only the tests that account can change; tests of
# provisioned throughput ask for an established account themselves.
test-new-account: setup-dev
	WORKSHOP_STANDIN_ACCOUNT=new $(PYTEST)

lab: setup
	$(PY) -m runner.lab --lab

standin: setup
	$(PY) -m runner.lab

NOTEBOOKS = $(shell $(PY) -m tools.notebooks --list 2>/dev/null)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check utils standin runner tools tests benchmarks fine-tuning/rewards *.ipynb */*.ipynb
	$(VENV)/bin/ruff format --check utils standin runner tools tests benchmarks fine-tuning/rewards *.ipynb */*.ipynb
	$(VENV)/bin/nbstripout --verify --keep-id $(NOTEBOOKS)
	$(PY) -m tools.notebooks --check
	$(VENV)/bin/mypy

format: $(VENV)/.dev
	$(VENV)/bin/ruff format utils standin runner tools tests benchmarks fine-tuning/rewards *.ipynb */*.ipynb
	$(VENV)/bin/nbstripout --keep-id $(NOTEBOOKS)
	$(PY) -m tools.notebooks --write-series

clean:
	rm -rf runs .workshop .pytest_cache .ruff_cache .mypy_cache
