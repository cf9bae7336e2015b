# Every target bootstraps .venv on a fresh clone with only python3 and the package registry.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYNCED := $(VENV)/.synced
UV_VERSION := 0.13.9
PYTEST_ARGS ?=

.PHONY: demo test check bench venv clean-db

$(SYNCED): pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@$(BIN)/uv sync --frozen --inexact --python $(BIN)/python --quiet
	@touch $(SYNCED)

venv: $(SYNCED)

demo: $(SYNCED)
	$(BIN)/bienestar demo

test: $(SYNCED)
	$(BIN)/pytest --create-db $(PYTEST_ARGS)

check: $(SYNCED)
	$(BIN)/ruff check src tests conftest.py bench
	$(BIN)/ruff format --check src tests conftest.py bench
	$(BIN)/mypy
	$(BIN)/bienestar makemigrations --check --dry-run

# `make bench`: the default size (100,000 people, bench/results/latest.json) with a 10-minute soak,
# then the national scale (1,000,000 people, bench/results/1m.json) without one, exporting one
# state (Aguascalientes) rather than the whole network (which alone would take ~25 minutes).
# `make bench BENCH_SIZES=100000` skips the 1M run; BENCH_SOAK=0 skips the soak; any other size
# writes bench/results/people-<n>.json.
BENCH_SIZES ?= 100000 1000000
BENCH_SOAK ?= 600

bench: $(SYNCED)
	@bench/install-tools.sh
	@set -e; for n in $(BENCH_SIZES); do \
	  case $$n in \
	    100000) $(BIN)/bienestar bench --soak $(BENCH_SOAK) ;; \
	    1000000) $(BIN)/bienestar bench --people 1000000 --soak 0 --bulk-export-group territory-MX.01 --out bench/results/1m.json ;; \
	    *) $(BIN)/bienestar bench --people $$n --soak 0 --out bench/results/people-$$n.json ;; \
	  esac; \
	done

clean-db:
	-$(BIN)/bienestar db stop
	rm -rf .bienestar/pgdata
