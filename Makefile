# The course's two commands:  `make lab` opens it, `make test` runs every test.
# Both create .venv when missing and install what is missing; nothing else is needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ftlab-installed
# A CPU build of torch (on the course machines this wheel lies on local disk). Override with
# e.g. TORCH_SPEC="torch --index-url <your CPU wheel index>" elsewhere.
TORCH_SPEC ?= torch==2.13.0

.PHONY: lab prepare test install install-llama install-cluster test-unit test-sdk-matrix test-notebooks test-ui bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install $(TORCH_SPEC)
	$(BIN)/python -m pip install -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# llama.cpp itself (the `llama` extra), so the tests check an exported GGUF with it. It compiles
# from source (PyPI has no CPU wheel): ~3.5 min on 2 idle cores (358 CPU-s), needs a C++ compiler.
# Only `make test` builds it; `make lab` does not (chapter 09 skips that cell without it).
# LLAVA_BUILD=OFF: the multimodal helper library is not needed and is a third of the build.
LLAMA_STAMP := $(VENV)/.ftlab-llama-installed
$(LLAMA_STAMP): pyproject.toml | $(STAMP)
	CMAKE_ARGS="-DLLAVA_BUILD=OFF $$CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	  $(BIN)/python -m pip install -q -e ".[test,llama]"
	$(BIN)/python -c "import llama_cpp; print('llama-cpp-python', llama_cpp.__version__)"
	touch $(LLAMA_STAMP)

install-llama: $(LLAMA_STAMP)

# Ray (the `cluster` extra), so the tests train a job on a real local Ray head (`--executor`).
# A wheel from PyPI (~70 MB), no build; `make lab` does not need it.
CLUSTER_STAMP := $(VENV)/.ftlab-cluster-installed
$(CLUSTER_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install -q -e ".[test,cluster]"
	$(BIN)/python -c "import ray; print('ray', ray.__version__)"
	touch $(CLUSTER_STAMP)

install-cluster: $(CLUSTER_STAMP)

# JupyterLab refuses to run as root unless told; containers and course VMs often are root.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks $(LAB_ROOT)

# Before class: train every course model once (ftlab prepare), so Run All in the notebooks
# waits for no training. Uses the same sandbox home as `make lab` (FTLAB_HOME, default ~/.ftlab).
prepare: install
	$(BIN)/ftlab prepare

# Everything: unit, sandbox (two SDK versions), notebooks under nbval, and the browser tests.
# The notebooks and the browser share one fresh sandbox home (FTLAB_TEST_HOME): the browser then
# finds the course models nbval trained, instead of training them all a second time.
test: install install-llama install-cluster test-unit test-sdk-matrix
	home=$$(mktemp -d) && $(MAKE) --no-print-directory test-notebooks test-ui FTLAB_TEST_HOME=$$home; rc=$$?; \
	  rm -rf $$home; exit $$rc

# Two pytest workers (pytest-xdist; a test file stays on one worker, with its fixtures): many
# tests wait on a server, a subprocess or a browser-free widget, so two share the cores well
# (measured: 506 s instead of 760 s on 2 cores). TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test-unit: install install-llama install-cluster
	$(BIN)/python -m pytest tests --ignore=tests/ui $(XDIST)

# The sandbox's API tests again with the oldest supported openai SDK (the venv has the newest);
# it goes into .sdk/ and shadows the venv's copy through PYTHONPATH. Training tests run once, above.
SDK_OLD ?= 1.87.0
SDK_DIR := .sdk/openai-$(SDK_OLD)
test-sdk-matrix: install
	test -f $(SDK_DIR)/openai/__init__.py || $(BIN)/python -m pip install -q --target $(SDK_DIR) \
	  --no-deps "openai==$(SDK_OLD)" "distro>=1.7,<2"
	PYTHONPATH=$(SDK_DIR) $(BIN)/python -c "import openai; assert openai.__version__ == '$(SDK_OLD)', openai.__version__"
	PYTHONPATH=$(SDK_DIR) $(BIN)/python -m pytest -p no:cacheprovider -m "not training" $(XDIST) \
	  tests/test_sandbox_api.py tests/test_sandbox_chat.py tests/test_sandbox_jobs.py tests/test_backend.py \
	  tests/test_sandbox_names.py tests/test_sandbox_objects.py tests/test_sandbox_responses.py \
	  tests/test_sandbox_constrained.py tests/test_sandbox_types.py tests/test_sandbox_tools.py

# Every notebook runs top to bottom in a fresh sandbox home (or FTLAB_TEST_HOME, see `test`);
# outputs of `# NBVAL_CHECK_OUTPUT` cells are compared with the committed ones (ids and timestamps
# masked by the sanitize file).
test-notebooks: install
	home=$${FTLAB_TEST_HOME:-$$(mktemp -d)} && FTLAB_HOME=$$home $(BIN)/python -m pytest --nbval-lax notebooks \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider --durations=15; rc=$$?; \
	  FTLAB_HOME=$$home $(BIN)/python -m ftlab.sandbox.control stop >/dev/null 2>&1; \
	  test -n "$$FTLAB_TEST_HOME" || rm -rf $$home; exit $$rc

# The notebooks and their forms in a real JupyterLab driven by headless Chromium (tests/ui).
# Needs Debian's chromium (no browser download); screenshots go to tests/ui/screenshots-run/.
test-ui: install
	@test -x /usr/bin/chromium || { echo "test-ui: /usr/bin/chromium is missing — install chromium: apt-get install chromium" >&2; exit 1; }
	$(BIN)/python -m pytest tests/ui -p no:cacheprovider -rA

bench: install
	$(BIN)/python benchmarks/bench_validate.py
	$(BIN)/python benchmarks/bench_sandbox.py
