# make demo: set up .venv (with a browser) and run the bundled scenarios against the reference apps.
# make test: the same set-up (plus nginx and a Gradio 5.50 environment), then the whole test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# a second environment with Gradio 5.50: the tests serve the fixture apps with it, as a deployed
# app built on Gradio 5 would be
GRADIO5 := .venv-gradio5
GRADIO5_STAMP := $(GRADIO5)/.installed

.PHONY: setup gradio5 demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/install-browser scripts/install-nginx
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	scripts/install-browser $(PY)
	scripts/install-nginx
	touch $(STAMP)

gradio5: $(GRADIO5_STAMP)

$(GRADIO5_STAMP):
	test -x $(GRADIO5)/bin/python || $(PYTHON) -m venv $(GRADIO5)
	$(GRADIO5)/bin/python -m pip install -q --upgrade pip
	$(GRADIO5)/bin/python -m pip install -q 'gradio==5.50.0'
	touch $(GRADIO5_STAMP)

demo: setup
	@echo "== bundled scenarios against the reference app (gr.Blocks): API, browser, parity"
	$(PY) -m pytest scenarios/*.chat.yaml -q -rs --driver all
	@echo "== bundled scenarios against the ChatInterface app: API, browser, parity"
	$(PY) -m pytest scenarios/*.chat.yaml -q -rs --driver all --chat-app fixtures.chat_interface_app:demo
	@echo "== apps on hosted models (InferenceClient, OpenAI SDK), their model scripted: API, browser, parity"
	$(PY) -m pytest scenarios/llm/ -q -rs --driver all
	@echo "== a bot whose replies are random: behaviour contracts, loose matchers, parity by those matchers"
	$(PY) -m pytest scenarios/random/ -q -rs --driver all
	@echo "== apps written the way Gradio's guides and demos write them (a chat driven by buttons, ...)"
	$(PY) -m pytest scenarios/guides/ -q -rs --driver all
	@echo "== chat-harness check: every wired action's behaviour contracts, no scenario"
	$(VENV)/bin/chat-harness check fixtures.reference_app:demo

test: setup gradio5 lint
	$(PY) -m pytest -q -rs -n 2

lint: setup
	$(VENV)/bin/ruff check harness fixtures tests bench
	$(VENV)/bin/ruff format --check harness fixtures tests bench
	$(VENV)/bin/mypy

bench: setup
	$(PY) bench/run.py
	$(PY) bench/model.py

clean:
	rm -rf $(VENV) $(GRADIO5) build *.egg-info
