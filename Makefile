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

bench: $(SYNCED)
	$(BIN)/bienestar bench

clean-db:
	-$(BIN)/bienestar db stop
	rm -rf .bienestar/pgdata
