# make run: the platform with a demo project on http://127.0.0.1:5000
# make test: everything CI checks, in whichever lane DATABASE_URL/REDIS_URL select
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install bench lint clean

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/annotator run --demo

lint: $(STAMP)
	$(BIN)/ruff check annotator tasks incentives tests bench migrations/env.py
	$(BIN)/lint-imports

test: $(STAMP)
	$(BIN)/ruff check annotator tasks incentives tests bench migrations/env.py
	$(BIN)/lint-imports
	node --test frontend/tests/
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@for script in bench/*.py; do [ -e "$$script" ] || continue; echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
