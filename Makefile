# Every target sets itself up: a fresh machine with Python 3.11+ needs nothing else.
# What they install is pinned, with hashes, in requirements.lock (exported from uv.lock by
# `make lock`); pyproject.toml keeps the compatible ranges that the wheel's metadata carries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLOORS_VENV := .venv-floors
UV := $(BIN)/uv
PIP_INSTALL := --quiet --disable-pip-version-check --no-input

.PHONY: test lockcheck lint typecheck layers pytest demo bench soak wheel lock relock floors clean gallery

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_INSTALL) --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install $(PIP_INSTALL) --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: $(STAMP) lockcheck lint typecheck layers pytest

# A lock older than pyproject.toml's ranges fails here, before anything runs on it.
lockcheck: $(STAMP)
	@$(UV) lock --check --offline --quiet 2>/dev/null || { \
	  echo "uv.lock does not match pyproject.toml: run 'make lock' (or 'make relock' to change only what pyproject.toml needs) and commit uv.lock, requirements.lock and floors.lock" >&2; \
	  exit 1; }

lint: $(STAMP)
	$(BIN)/ruff check notifier tests bench tools
	$(BIN)/ruff format --check notifier tests bench tools

typecheck: $(STAMP)
	$(BIN)/mypy --strict notifier

# The layer contract of docs/DESIGN.md ("Layers"), in .importlinter.
layers: $(STAMP)
	$(BIN)/lint-imports --no-cache

pytest: $(STAMP)
	$(BIN)/pytest -q

demo: $(STAMP)
	$(BIN)/notifier demo

# docs/emails/: every email in every catalog as HTML and text, and screenshots of a subset
# (needs Debian's chromium: apt-get install -y chromium).
gallery: $(STAMP)
	$(BIN)/python tools/gallery.py

bench: $(STAMP)
	$(BIN)/python bench/run.py

soak: $(STAMP)
	$(BIN)/pytest -q -m soak tests/reliability tests/e2e

wheel: $(STAMP)
	$(BIN)/python -m pip wheel --no-deps --no-build-isolation -w dist .

# Refresh the lock on purpose: newest versions within pyproject.toml's ranges. Then `make test`.
# The lock files are written only here (never as a side effect of another target), so a fresh
# clone, whatever its files' timestamps, installs from what is committed.
lock: $(STAMP)
	$(UV) lock --upgrade
	$(MAKE) relock

# Rewrite the exported locks from uv.lock after a change to pyproject.toml's ranges.
relock: $(STAMP)
	$(UV) lock
	$(UV) export --frozen --quiet --all-extras --all-groups --no-emit-project \
	  --format requirements-txt -o requirements.lock
	$(UV) pip compile --quiet --resolution lowest-direct --generate-hashes --python-version 3.11 \
	  --extra test --extra bench --group build --group lock --universal pyproject.toml \
	  -o floors.lock

# The floors are true: the unit and component tests pass on the lowest allowed versions.
floors:
	rm -rf $(FLOORS_VENV)
	$(PYTHON) -m venv $(FLOORS_VENV)
	$(FLOORS_VENV)/bin/python -m pip install $(PIP_INSTALL) --require-hashes --no-deps -r floors.lock
	$(FLOORS_VENV)/bin/python -m pip install $(PIP_INSTALL) --no-deps --no-build-isolation -e .
	NOTIFIER_LOCK=floors.lock $(FLOORS_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/unit tests/component

clean:
	rm -rf $(VENV) $(FLOORS_VENV) dist build *.egg-info demo-mail
