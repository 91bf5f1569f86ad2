# tokensmith: two commands set everything up on a fresh machine.
#   make demo   run the main job (starts the offline dev IdP on loopback, gets tokens)
#   make test   run the whole suite (unit, interop against real servers) and the checks
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all venv check lint typecheck structure test unit demo demo-node bench sysdeps interop-deps browser-deps tmux-deps broker-deps store-deps clean

all: test

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,devidp]'
	touch $(STAMP)

venv: $(STAMP)

sysdeps:
	bash scripts/sysdeps.sh

interop-deps: sysdeps
	bash scripts/interop-deps.sh

browser-deps:
	bash scripts/browser-deps.sh

# the store tests' real servers: redis-server, dbus-daemon, gnome-keyring (apt, when missing)
store-deps:
	bash scripts/store-deps.sh

tmux-deps:
	bash scripts/tmux-deps.sh

broker-deps:
	bash scripts/broker-deps.sh

lint: venv
	$(BIN)/ruff check src tests bench examples scripts
	$(BIN)/ruff format --check src tests bench examples scripts

typecheck: venv
	$(BIN)/mypy

# the async façade is generated from the sync one; the layers are contracts
structure: venv
	$(BIN)/python scripts/unasync.py --check
	$(BIN)/lint-imports

check: lint typecheck structure

unit: venv
	$(BIN)/pytest tests/unit -q

test: venv interop-deps browser-deps tmux-deps broker-deps store-deps check
	$(BIN)/pytest -q

demo: venv
	bash scripts/demo-deps.sh
	$(BIN)/python -m examples.demo

demo-node: venv interop-deps
	$(BIN)/python -m examples.demo --provider node

bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .interop node_modules .mypy_cache .ruff_cache .pytest_cache

# issue 14: >= 100,000 hostile inputs over every surface, with counts per surface
.PHONY: fuzz
fuzz: venv
	$(BIN)/python -m tests.unit.hostile.run_fuzz
