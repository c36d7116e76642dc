# make demo: set up .venv (with a browser) and run the bundled scenarios against the reference apps.
# make test: the same set-up, then the whole test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/install-browser
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	scripts/install-browser $(PY)
	touch $(STAMP)

demo: setup
	@echo "== bundled scenarios against the reference app (gr.Blocks): API, browser, parity"
	$(PY) -m pytest scenarios/ -q -rs --driver all
	@echo "== bundled scenarios against the ChatInterface app: API, browser, parity"
	$(PY) -m pytest scenarios/ -q -rs --driver all --chat-app fixtures.chat_interface_app:demo

test: setup lint
	$(PY) -m pytest -q -rs -n 2

lint: setup
	$(VENV)/bin/ruff check harness fixtures tests bench
	$(VENV)/bin/ruff format --check harness fixtures tests bench
	$(VENV)/bin/mypy

bench: setup
	$(PY) bench/api_vs_client.py
	$(PY) bench/browser_vs_playwright.py

clean:
	rm -rf $(VENV) build *.egg-info
