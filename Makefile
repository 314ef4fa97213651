# The two commands: `make run` (set up everything, load demo data, serve the app) and
# `make test` (the whole suite). Everything else here is what those two need.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
PYTEST_ARGS ?=
# Test processes (pytest-xdist): each has its own SQLite files and PostgreSQL database
# (test_gw0, test_gw1...); TEST_WORKERS=0 runs the suite in this one process.
TEST_WORKERS ?= 2
export FLASK_APP := wsgi.py

.PHONY: run test bench loadtest setup setup-dev assets migrate demo chromium clean

## Set-up ------------------------------------------------------------------------------

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3

$(VENV)/.installed-app: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed-app
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

static/build/app.css: node_modules/.installed static/src/app.scss static/src/copy-assets.js
	npm run --silent build

assets: static/build/app.css

setup: $(VENV)/.installed-app assets

setup-dev: $(VENV)/.installed-dev assets

migrate: setup
	$(BIN)/flask db upgrade

demo: migrate
	$(BIN)/flask demo load
	$(BIN)/flask search rebuild

## The two commands ---------------------------------------------------------------------

# The worker that runs the scheduled jobs (`flask worker`) runs beside the app.
# In demo mode with no Stripe keys of your own, card payments run offline against
# localstripe (a development dependency) on 127.0.0.1:$(STRIPE_DEMO_PORT), stopped with the app.
STRIPE_DEMO_PORT ?= 8420
export STRIPE_DEMO_PORT PORT

run: demo $(VENV)/.installed-dev
	@echo "Serving the marketplace at http://127.0.0.1:$(PORT)  (Ctrl+C to stop)"
	$(BIN)/python -m tools.serve_demo

# Style first (seconds), then the suite: ruff's settings are in pyproject.toml. The suite
# runs in TEST_WORKERS processes, each taking the next test as it finishes one.
test: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

## Extras -------------------------------------------------------------------------------

# Benchmarks (print figures, assert nothing): search over a synthetic market of 10,000 then
# 100,000 services (BENCH_DATABASE_URL, default PostgreSQL database bench_search), then
# bookings per second through the service layer with 16, then 4, then 2 concurrent clients on
# PostgreSQL, each beside pgbench with the same clients (BENCH_BOOKINGS_DATABASE_URL, default bench_bookings).
# BENCH_SIZES="10000" to run one size. Last, a new gunicorn worker's first search, cold and
# warmed at start (database bench_warmup).
BENCH_SIZES ?=
bench: setup-dev
	$(BIN)/python -m bench $(BENCH_SIZES)
	$(BIN)/python -m bench.bookings_bench --clients 16,4,2 --seconds 15
	$(BIN)/python -m bench.reports_bench --people 10000 --months 12
	$(BIN)/python -m bench.payment_runs_bench --sizes 100000,250000,500000,1000000
	$(BIN)/python -m bench.warmup_bench --sizes 100000

# Load test (not part of `make test`): Locust drives searches, service pages, sign-ins,
# bookings from budgets and by card (localstripe), providers accepting and recording visits
# and commissioners' reports through gunicorn on PostgreSQL, at each number of workers in
# LOADTEST_WORKERS, beside a bare route measured in the same run; then `flask ledger check`.
# Fails on any 5xx, failed request or broken ledger. Databases loadtest_*, dropped after.
LOADTEST_WORKERS ?= 2,4
LOADTEST_USERS ?= 40
LOADTEST_SECONDS ?= 60
loadtest: setup-dev
	$(BIN)/python -m tools.loadtest --workers $(LOADTEST_WORKERS) --users $(LOADTEST_USERS) --seconds $(LOADTEST_SECONDS)

# Headless Chromium for the browser tests, from Debian's packages (never downloaded by a
# test tool). Needs root; CI runs it before `make test`.
chromium:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

clean:
	rm -rf $(VENV) node_modules static/build static/govuk .pytest_cache
