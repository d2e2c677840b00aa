# Two commands matter: `make run` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 2
# Test processes (pytest-xdist). Many tests wait on servers and child processes, so more than the 2 cores pays.
TEST_JOBS ?= 3

.PHONY: setup run test lint unit check-rules clean browser-deps postgres proxy-deps bench assets

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Browser-side libraries (CodeMirror, axe-core) come from the npm registry, locked by package-lock.json,
# and are bundled by esbuild into webapp/static/build/ (never a CDN). Node.js and npm come with the machine;
# Debian's packages otherwise.
NODE_STAMP := node_modules/.installed-stamp
$(NODE_STAMP): package.json package-lock.json
	command -v npm >/dev/null || ($(SUDO) apt-get update && $(APT_INSTALL) nodejs npm)
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

assets: $(NODE_STAMP)
	node webapp/assets/build.mjs

# nginx in front of gunicorn's sync workers: the settings are webapp/serving/ (docs/deployment.md).
# Bytecode written ahead (quick when nothing changed): each of the three processes of a start would
# otherwise compile the app's modules again when PYTHONDONTWRITEBYTECODE is set (docs/benchmarks.md).
run: setup proxy-deps assets
	$(BIN)/python -m compileall -q engine webapp
	$(BIN)/python -m webapp.serving --bind $(HOST):$(PORT) --workers $(WORKERS)

lint: setup
	$(BIN)/ruff check engine webapp tests bench
	$(BIN)/ruff format --check engine webapp tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The bundled rules, tariffs and clause index; and every version in the ledgers (a changed file needs a
# new version, and `flets-elig lock` records it).
check-rules: setup
	$(BIN)/flets-elig check
	$(BIN)/flets-elig lock --check

# The browser test drives Debian's chromium (Playwright's own browser download does not work offline).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Non-interactive: CI has no terminal to answer package configuration questions.
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q
browser-deps:
	command -v chromium >/dev/null || ($(SUDO) apt-get update && $(APT_INSTALL) chromium)
	fc-list :lang=ja 2>/dev/null | grep -q . || ($(SUDO) apt-get update && $(APT_INSTALL) fonts-ipafont-gothic)

# The server reads every request whole in Debian's nginx before a worker sees it (webapp/serving/).
proxy-deps:
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || ($(SUDO) apt-get update && $(APT_INSTALL) nginx)

# The decision-log tests start a throwaway PostgreSQL server from Debian's package (tests/lifecycle).
postgres:
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ($(SUDO) apt-get update && $(APT_INSTALL) postgresql)

unit: setup browser-deps postgres proxy-deps assets
	$(BIN)/pytest -n $(TEST_JOBS) --dist worksteal

test: lint check-rules unit

# Every benchmark of docs/benchmarks.md, one after the other (about 30 minutes, longer while the HTTP
# rounds wait for a quiet host; nothing else should run).
# Each script's report is kept in test-output/bench/ for copying into the docs.
BENCH_OUT := test-output/bench
bench: setup proxy-deps
	$(BIN)/pip install --quiet -e '.[bench]'
	mkdir -p $(BENCH_OUT)
	$(BIN)/python bench/decisions.py | tee $(BENCH_OUT)/decisions.md
	$(BIN)/python bench/memory.py | tee $(BENCH_OUT)/memory.md
	$(BIN)/python bench/memory.py --live -n 30000 | tee $(BENCH_OUT)/memory-live.md
	$(BIN)/python bench/audit_overhead.py --n 3000 | tee $(BENCH_OUT)/audit-overhead.md
	$(BIN)/python bench/whatif.py | tee $(BENCH_OUT)/whatif.md
	$(BIN)/python bench/http_load.py --runs 5 --quiet 1 --quiet-wait 600 --json $(BENCH_OUT)/http.json | tee $(BENCH_OUT)/http.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules webapp/static/build
