# make book : set up .venv, vendor the JavaScript, build the book strictly into _build/html/
# make test : set up, then every test: library, Colab install, chapters (quick profile), strict
#             build, browser
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(PY) -m pytest
BUILD := $(VENV)/bin/jupyter-book build . -W -n --keep-going

.PHONY: setup vendor book build test test-lib test-colab test-notebooks test-browser outputs rehearse clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-install when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[test,book]'
	touch $@

setup: $(VENV)/.installed vendor

vendor: $(VENV)/.installed
	$(PY) tools/vendor_assets.py

# --all: a change to static files alone would otherwise not rebuild the pages.
build:
	$(BUILD) --all
	@echo "The book is in _build/html/index.html"

book: setup
	$(MAKE) build

test-lib: setup
	$(PYTEST) -m "not notebooks and not browser and not built and not colab"

# The library installed as a chapter's setup cell does on Colab, then a widget chapter run there.
test-colab: setup
	$(PYTEST) -m colab

test-notebooks: setup
	$(PYTEST) -m notebooks

# make test builds right before this, so a missing build is a failure, never a skip.
test-browser: setup
	PIXELCNN_REQUIRE_BUILD=1 $(PYTEST) -m "browser or built"

test: setup
	$(MAKE) test-lib
	$(MAKE) test-colab
	$(MAKE) test-notebooks
	$(MAKE) build
	$(MAKE) test-browser

# Every chapter's gpu profile on this machine, capped at a few steps (pixelcnn_lib/rehearsal.py).
rehearse: setup
	$(PY) tools/run_chapters.py --profile gpu --rehearse --copy-to _build/rehearsal

# Fail if a chapter's committed outputs did not come from its committed code.
outputs: setup
	$(PY) tools/run_chapters.py --check

clean:
	rm -rf _build
