# The README's commands. Everything installs into .venv from pyproject.toml's pins.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
MLFLOW_TRACKING_URI ?= sqlite:///$(CURDIR)/mlruns/mlflow.db

.PHONY: install demo test ui mlflow-ui bench clean-state browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/analytics-pipeline demo

# The report's rendering test opens its HTML in headless Chromium: `browser` installs it when missing.
test: $(STAMP) browser
	$(BIN)/python -m pytest

# Headless Chromium for the weekly report's rendering test (Debian package; needs root or sudo).
browser:
	@command -v chromium-headless-shell >/dev/null || command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends chromium-headless-shell; }

ui: $(STAMP)
	$(BIN)/analytics-pipeline ui

mlflow-ui: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/mlflow ui --backend-store-uri "$(MLFLOW_TRACKING_URI)" --host 127.0.0.1 --port 5000

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Stops the local MongoDB server and deletes all generated local state.
clean-state: $(STAMP)
	-$(BIN)/analytics-pipeline mongo stop
	rm -rf .local .dagster_home
	find mlruns saved_models -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
