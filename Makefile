# One task runner. `make run` and `make test` work on a fresh machine (they create .venv).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-all test-faults lint typecheck fmt clean install migration

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/suxing up

test: $(STAMP)
	$(BIN)/pytest -m "not faults" -q

test-faults: $(STAMP)
	$(BIN)/pytest -m faults -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# make migration SERVICE=pledges MSG="add the x table"
migration: $(STAMP)
	$(BIN)/python -c 'import sys; from shared.migrations import revision; revision(sys.argv[1], sys.argv[2])' "$(SERVICE)" "$(MSG)"
	$(BIN)/ruff format services/$(SERVICE)/migrations
	$(BIN)/ruff check --fix services/$(SERVICE)/migrations

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
