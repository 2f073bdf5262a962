# Sartiq Graph: `make dev` serves the API on demo data, `make test` runs the tests.
# Both first run scripts/bootstrap.sh, which installs what is missing.

SHELL := bash
.DEFAULT_GOAL := help

# uv may have been installed with `pip install --user` by the bootstrap.
export PATH := $(HOME)/.local/bin:$(PATH)
PYTEST_ARGS ?=
UV_RUN := uv run --frozen

.PHONY: help bootstrap dev test fuzz lint typecheck check migrate seed schema bench bench-attack

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

bootstrap: ## install uv, the Python deps, PostgreSQL + PostGIS where missing; check the database login
	@scripts/bootstrap.sh

dev: bootstrap ## serve the API + GraphiQL on demo data at http://127.0.0.1:8000/graphql (PORT=...)
	$(UV_RUN) sartiq dev

test: bootstrap ## run the test suite (extra pytest args: PYTEST_ARGS='-k name -x')
	$(UV_RUN) pytest $(PYTEST_ARGS)

fuzz: bootstrap ## the generated request tests at 10x the examples, failures shrunk (15 min or more)
	HYPOTHESIS_PROFILE=long $(UV_RUN) pytest tests/graph/generated -p no:cacheprovider $(PYTEST_ARGS)

lint: ## ruff lint and format check
	$(UV_RUN) ruff check .
	$(UV_RUN) ruff format --check .

typecheck: ## mypy (strict)
	$(UV_RUN) mypy

check: bootstrap lint typecheck test ## lint + typecheck + test

migrate: bootstrap ## create the database if absent and migrate it to the latest revision
	$(UV_RUN) sartiq migrate

seed: bootstrap ## load the demo data
	$(UV_RUN) sartiq seed

schema: ## write schema.graphql from the schema the server serves
	$(UV_RUN) python scripts/export_schema.py

bench: bootstrap ## benchmark over HTTP with wrk, beside the SQL floor and PostGraphile (BENCH_ARGS="--scenario nested_list --no-peers"; not part of test)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk; } || { echo 'bench: install wrk (apt-get install wrk)'; exit 1; }
	$(UV_RUN) python -m bench.run $(BENCH_ARGS)

bench-attack: bootstrap ## time the refusal of hostile query shapes, worst per shape (target: under 50 ms; not part of test)
	$(UV_RUN) python -m bench.attack $(BENCH_ARGS)
