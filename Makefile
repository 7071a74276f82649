# One task runner. `make run` and `make test` work on a fresh machine (they create .venv).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow test-all test-faults test-browser bench bench-full lint typecheck fmt clean install migration

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Node.js packages, pinned by each folder's package-lock.json: the Node.js subscriber example
# (examples/node_subscriber) and the AsyncAPI parser that checks docs/asyncapi/
# (tools/asyncapi-check). Their tests skip on a machine without npm (and fail in CI).
NODE_DEPS := examples/node_subscriber/node_modules/.package-lock.json \
	tools/asyncapi-check/node_modules/.package-lock.json
%/node_modules/.package-lock.json: %/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $* --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the tests that need $* will skip"; fi

install: $(STAMP) $(NODE_DEPS)

run: $(STAMP)
	$(BIN)/suxing up

test: $(STAMP) $(NODE_DEPS)
	$(BIN)/pytest -m "not faults and not browser and not slow" -q

# The long suites kept out of `make test`: the authorization matrix over real processes, the
# differencing attack, the live-load rebuild, kill-at-random consumers, the bench harness.
test-slow: $(STAMP)
	$(BIN)/pytest -m slow -q

# The portal in Debian's chromium (apt-get install chromium fonts-noto-cjk) against the real
# stack; writes docs/screenshots/.
test-browser: $(STAMP)
	$(BIN)/pytest -m browser -q tests/browser

test-faults: $(STAMP)
	$(BIN)/pytest -m faults -q

# Enterprise benchmarks (docs/benchmarks.md): a reduced company in a few minutes, or the
# whole company-year. Both append their table to docs/benchmarks.md.
BENCH_DB ?= sqlite,postgresql
bench: $(STAMP)
	$(BIN)/python -m bench.run --scenario all --scale 0.02 --db $(BENCH_DB) --ballots 500 \
		--appends 1000 --latency-seconds 10 --write-docs --title "make bench (scale 0.02)"

bench-full: $(STAMP)
	$(BIN)/python -m bench.run --scenario all --scale 1 --db $(BENCH_DB) --ballots 5000 \
		--appends 5000 --latency-seconds 60 --scaling-records 150000 --write-docs \
		--title "make bench-full (company-year)"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m shared.contracts.compat --check

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
