# Comptoir: `make run` serves the demo, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export COMPTOIR_INSTANCE_PATH ?= $(CURDIR)/instance

# Rasa runs from a virtual environment of its own: Rasa Open Source 3.6 needs Python 3.8-3.10
# (the first of these that starts: a pyenv shim may exist and refuse to run).
RASA_VENV := .venv-rasa
RASA_BIN := $(RASA_VENV)/bin
RASA_PROJECT := bot/rasa
RASA_PYTHONS = $(RASA_PYTHON) python3.10 python3.9 python3.8 \
	$$(pyenv root 2>/dev/null)/versions/3.10*/bin/python
RASA_ACTIONS_TOKEN = $(COMPTOIR_INSTANCE_PATH)/rasa-actions.token
RASA_ACTIONS_USER := rasa-actions@maison-lumiere.example
export RASA_TELEMETRY_ENABLED ?= false

.PHONY: run run-rasa rasa demo test lint install install-test assets bytecode browser dovecot \
	services clean

# The worker (mailboxes, outgoing mail) runs beside the server and stops when it does.
run: demo
	$(BIN)/comptoir worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(BIN)/comptoir run

# The assistant's replies come from Rasa (bot/rasa, its actions bot/actions): Rasa on :5005, its
# action server on :5055, Comptoir and its worker; all on loopback, all stopped together.
run-rasa: demo rasa $(RASA_ACTIONS_TOKEN)
	model=$$($(RASA_BIN)/python $(RASA_PROJECT)/train.py --path); \
	export COMPTOIR_PORT=$${COMPTOIR_PORT:-5000} COMPTOIR_BOT_ENGINE=rasa \
	  COMPTOIR_RASA_URL=http://127.0.0.1:5005; \
	$(RASA_BIN)/rasa run --enable-api -i 127.0.0.1 --port 5005 --model $$model \
	  --endpoints $(RASA_PROJECT)/endpoints.yml --credentials $(RASA_PROJECT)/credentials.yml & \
	rasa=$$!; \
	SANIC_HOST=127.0.0.1 COMPTOIR_URL=http://127.0.0.1:$$COMPTOIR_PORT \
	  COMPTOIR_API_TOKEN=$$(cat $(RASA_ACTIONS_TOKEN)) \
	  $(RASA_BIN)/rasa run actions --actions bot.actions --port 5055 & actions=$$!; \
	$(BIN)/comptoir worker & worker=$$!; \
	trap 'kill $$rasa $$actions $$worker 2>/dev/null; wait' EXIT; \
	$(BIN)/comptoir run

# The action server's API token: a staff account of its own, allowed only what the actions do.
$(RASA_ACTIONS_TOKEN): | demo
	$(BIN)/comptoir users list | grep -q ' $(RASA_ACTIONS_USER) ' || \
	  $(BIN)/comptoir users create $(RASA_ACTIONS_USER) --name "Rasa actions" --role agent \
	    --password "$$(head -c 24 /dev/urandom | base64)"
	user=$$($(BIN)/comptoir users list | awk '$$2 == "$(RASA_ACTIONS_USER)" {print $$1}'); \
	umask 077; $(BIN)/comptoir users token $$user --name rasa-actions --scope knowledge:read \
	  --scope conversations:read --scope conversations:write > $@.new && mv $@.new $@

demo: install
	$(BIN)/comptoir db upgrade
	$(BIN)/comptoir demo load --once

test: install-test browser dovecot rasa
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: install-test
	$(BIN)/ruff check .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamp files: reinstall only when pyproject.toml changes.
install: $(VENV)/.installed assets bytecode
install-test: $(VENV)/.installed-test assets bytecode

# pip compiles what it installs, but not an editable install's own modules, and a Python run
# with PYTHONDONTWRITEBYTECODE set never caches them: every command would compile Comptoir's
# modules and migrations again (a tenth of a worker's start-up). Up-to-date files are skipped.
bytecode: | $(BIN)/python
	$(BIN)/python -m compileall -q helpdesk bot knowledge_base widgets config migrations

# Chart.js draws the reports' charts: pinned by package-lock.json, installed from the npm
# registry and served by Comptoir itself (no CDN when pages load).
CHART_JS := helpdesk/web/static/vendor/chart.js/chart.umd.js
assets: $(CHART_JS)

$(CHART_JS): package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "installing Debian's npm for the browser assets"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
	npm ci --no-audit --no-fund
	mkdir -p $(@D)
	cp node_modules/chart.js/dist/chart.umd.js node_modules/chart.js/LICENSE.md $(@D)/

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

# Rasa and its actions in .venv-rasa (reinstalled when the pinned requirements change), then the
# model: trained only when the training data changed (bot/rasa/train.py keeps them by hash).
rasa: $(RASA_VENV)/.installed
	$(RASA_BIN)/python $(RASA_PROJECT)/train.py

$(RASA_VENV)/.installed: $(RASA_PROJECT)/requirements.txt | $(RASA_BIN)/python
	$(RASA_BIN)/pip install --quiet -r $<
	touch $@

$(RASA_BIN)/python:
	@for python in $(RASA_PYTHONS); do \
	  if "$$python" -c 'import sys; sys.exit(not (3, 8) <= sys.version_info < (3, 11))' \
	      2>/dev/null; then \
	    echo "$(RASA_VENV): Rasa's environment, with $$python"; \
	    "$$python" -m venv $(RASA_VENV) || { rm -rf $(RASA_VENV); exit 1; }; exit 0; \
	  fi; \
	done; \
	echo "make rasa: no Python 3.8, 3.9 or 3.10 found, and Rasa 3.6 runs on no other." >&2; \
	echo "Tried: python3.10, python3.9 and python3.8 on PATH, \$$(pyenv root)/versions/3.10*." >&2; \
	echo "Install one (pyenv install 3.10, or apt-get install python3.10-venv) or name it:" >&2; \
	echo "make rasa RASA_PYTHON=/path/to/python3.10" >&2; \
	exit 1

clean:
	rm -rf $(VENV) $(RASA_VENV) $(RASA_PROJECT)/models $(RASA_PROJECT)/.rasa instance \
	  .pytest_cache .ruff_cache node_modules $(dir $(CHART_JS))
