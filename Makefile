# The two commands a fresh machine needs: `make demo` and `make test`.
# uv is installed with pip when it is missing; everything else runs through `uv run`.
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
PYTEST_WORKERS ?=

.PHONY: demo test test-all bench lint format uv clean

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv

demo: uv
	$(UV) run houseedge demo

test: uv
	$(UV) run pytest

test-all: uv
	$(UV) run pytest -m "" --benchmark-disable

bench: uv
	$(UV) run pytest benchmarks -m benchmark --benchmark-enable --benchmark-columns=min,median,mean,max,rounds -p no:randomly

lint: uv
	$(UV) run ruff check src tests benchmarks
	$(UV) run ruff format --check src tests benchmarks
	$(UV) run pyright

format: uv
	$(UV) run ruff format src tests benchmarks
	$(UV) run ruff check --fix src tests benchmarks

clean:
	rm -rf data/store reports .pytest_cache .ruff_cache .benchmarks
