# The course's two commands:  `make lab` opens it, `make test` runs every test.
# Both create .venv when missing and install what is missing; nothing else is needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ftlab-installed
# A CPU build of torch (on the course machines this wheel lies on local disk). Override with
# e.g. TORCH_SPEC="torch --index-url <your CPU wheel index>" elsewhere.
TORCH_SPEC ?= torch==2.13.0

.PHONY: lab test install test-unit test-notebooks bench clean-home

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install $(TORCH_SPEC)
	$(BIN)/python -m pip install -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks

test: install test-unit test-notebooks

test-unit: install
	$(BIN)/python -m pytest tests

# Every notebook runs top to bottom in a fresh sandbox home; outputs of `# NBVAL_CHECK_OUTPUT`
# cells are compared with the committed ones (ids and timestamps masked by the sanitize file).
test-notebooks: install
	home=$$(mktemp -d) && FTLAB_HOME=$$home $(BIN)/python -m pytest --nbval-lax notebooks \
	  --sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider; rc=$$?; \
	  FTLAB_HOME=$$home $(BIN)/python -m ftlab.sandbox.control stop >/dev/null 2>&1; rm -rf $$home; exit $$rc

bench: install
	$(BIN)/python benchmarks/bench_validate.py
	$(BIN)/python benchmarks/bench_sandbox.py
