# Quick start: `make run` (install, ingest knowledge_base/, serve on :5000) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# mypy's cache outside the checkout: it is checked by content hash, so a clean clone reuses what
# an earlier checkout analysed (the installed libraries, mostly) and mypy takes seconds, not 90.
export MYPY_CACHE_DIR ?= $(HOME)/.cache/helpdesk-test/mypy

.PHONY: install run ingest serve test test-fast lint bench bench-quick bench-latency clean chromium redis-server

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU wheel first: otherwise pip resolves torch to a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

ingest: $(STAMP)
	$(BIN)/helpdesk ingest

serve: $(STAMP)
	$(BIN)/helpdesk serve

run: ingest serve

# The browser tests drive Debian's Chromium (Playwright's own browser download is not reachable
# here), with a Korean font so Korean pages render as text, not boxes; installed once, with sudo
# when not root.
chromium:
	@{ command -v chromium >/dev/null && fc-list :lang=ko | grep -q .; } || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	    $$SUDO apt-get install -y -q chromium fonts-noto-cjk; }

# The shared rate limit's test runs Debian's redis-server (two `helpdesk serve` share it).
redis-server:
	@command -v redis-server >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	    $$SUDO apt-get install -y -q redis-server; }

test: $(STAMP) chromium redis-server
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not integration and not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The benchmark suite (docs/benchmarks.md#the-cost-curve): ingest, load, memory and the cost
# curve at 1k, 10k and 50k generated chunks; the table on stdout, JSON and plot in artifacts/bench.
bench: $(STAMP)
	$(BIN)/python -m benchmarks --out artifacts/bench

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick --out artifacts/bench-quick

# The older single-purpose benchmarks: sequential latency on the sample knowledge base, and
# generated answers per LLM backend.
bench-latency: $(STAMP)
	$(BIN)/python scripts/bench_latency.py --ingest
	$(BIN)/python scripts/bench_answers.py

clean:
	rm -rf $(VENV) data .cache .pytest_cache .mypy_cache .ruff_cache
