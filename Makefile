# Comptoir: `make run` serves the demo, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export COMPTOIR_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test lint install install-test browser dovecot services clean

# The worker (mailboxes, outgoing mail) runs beside the server and stops when it does.
run: install
	$(BIN)/comptoir db upgrade
	$(BIN)/comptoir demo load --once
	$(BIN)/comptoir worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(BIN)/comptoir run

test: install-test browser dovecot
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install-test
	$(BIN)/ruff check .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamp files: reinstall only when pyproject.toml changes.
install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# Browser tests drive Debian's Chromium (no browser download from the test tool).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# IMAP tests start a private Dovecot of their own (tests/dovecot.py): only the program is needed.
dovecot:
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || { \
	  echo "installing Debian's dovecot-imapd for the IMAP tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd; }

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
