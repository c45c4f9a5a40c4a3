# The two commands a fresh machine needs: `make demo` and `make test`.
# uv is installed with pip when it is missing; everything else runs through `uv run`.
# `uv run` syncs the environment to what it is told, and plain `uv run` would REMOVE the
# broker extras (houseedge[alpaca,binance,ib]) the tests drive: every target passes
# --all-extras.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
PYTEST_WORKERS ?=

.PHONY: demo test test-all bench lint format uv clean

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

demo: uv
	$(UV) run --all-extras houseedge demo

test: uv
	$(UV) run --all-extras pytest

test-all: uv
	$(UV) run --all-extras pytest -m "" --benchmark-disable

bench: uv
	$(UV) run --all-extras pytest benchmarks -m benchmark --benchmark-enable --benchmark-columns=min,median,mean,max,rounds -p no:randomly

lint: uv
	$(UV) run --all-extras ruff check src tests benchmarks
	$(UV) run --all-extras ruff format --check src tests benchmarks
	$(UV) run --all-extras pyright

format: uv
	$(UV) run --all-extras ruff format src tests benchmarks
	$(UV) run --all-extras ruff check --fix src tests benchmarks

clean:
	rm -rf data/store reports .pytest_cache .ruff_cache .benchmarks
