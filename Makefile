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

# Production deployment (docs/deploy.md). Docker and kubectl are not needed by the tests.
.PHONY: image compose-up compose-down k8s-render test-deploy
OVERLAY ?= prod

image:
	docker build -t suxing:local .

compose-up:
	docker compose up -d --build

compose-down:
	docker compose down

k8s-render:
	kubectl kustomize deploy/overlays/$(OVERLAY)

test-deploy: $(STAMP)
	$(BIN)/pytest tests/static tests/e2e/test_production_profile.py -q
