# Kabar's single entry point. `make demo` runs the stack with demo data; `make test` runs the tests.
SHELL := /bin/bash
PY ?= python3
export PYTHONPATH := $(CURDIR)

.PHONY: setup services-up services-down demo down test test-fast lint format typecheck bench snapshot restore compose-check

setup:            ## install system packages, Python deps and Elasticsearch
	scripts/setup.sh

services-up: setup ## start Elasticsearch, RabbitMQ and Redis on loopback (idempotent)
	scripts/services.sh up

services-down:    ## stop only the services this project started
	scripts/services.sh down

demo: services-up ## the whole stack with demo data; prints the URLs (Ctrl-C or `make down` stops it)
	$(PY) -m scripts.demo up

down:             ## stop the demo processes and the services
	-$(PY) -m scripts.demo down
	scripts/services.sh down

test: services-up ## every test, against the real services the target starts itself
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-fast: services-up
	$(PY) -m pytest -q -m "not slow and not browser" $(PYTEST_ARGS)

lint:
	mypy shared services harness
	lint-imports
	ruff check .
	ruff format --check .

format:
	ruff check --fix .
	ruff format .

typecheck:
	mypy shared services harness

bench: services-up ## benchmarks: JSON lines + tables, each with its baseline from the same run (BENCH_ARGS="--quick --only openloop_bench")
	$(PY) -m bench.run_all $(BENCH_ARGS)

snapshot: services-up
	$(PY) -m services.cli snapshot create

restore: services-up
	$(PY) -m services.cli snapshot restore --latest

compose-check:    ## validate docker-compose.yml with Docker Compose itself (built from the Go module proxy)
	scripts/compose.sh config --quiet
