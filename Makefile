# The two front-door commands: `make run` and `make test`.  Both create .venv when missing and
# install into it only when pyproject.toml changed (stamp files), so they are cheap to repeat.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint typecheck pytest chromium nss-tools caddy bench bench-tools clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.run-installed

$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@ $(VENV)/.run-installed

# The demo API writes to a working copy, so trying the example never dirties the checkout.
run: $(VENV)/.run-installed
	@mkdir -p .run && [ -f .run/db.json ] || cp examples/db.json .run/db.json
	$(BIN)/minicors serve examples/public --api .run/db.json --reload $(ARGS)

# Debian's Chromium for the browser tests (never a downloaded browser build).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# Debian's certutil (libnss3-tools): `minicors tls trust` and its tests write NSS databases.
nss-tools:
	@if ! command -v certutil >/dev/null; then \
		echo "installing Debian's libnss3-tools"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnss3-tools >/dev/null; \
	fi

# Debian's caddy: the tests run `minicors export caddy` output in it (nginx: bench-tools).
caddy:
	@if ! command -v caddy >/dev/null; then \
		echo "installing Debian's caddy"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy >/dev/null; \
	fi

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.test-installed
	$(BIN)/mypy

# The quick benchmark runs inside the tests (so the harness cannot rot): it needs wrk.
pytest: $(VENV)/.test-installed chromium nss-tools bench-tools caddy
	$(BIN)/pytest

test: lint typecheck pytest

# Debian's wrk and nginx-light for the benchmarks.
bench-tools:
	@if ! command -v wrk >/dev/null || [ ! -x /usr/sbin/nginx ]; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null; \
	fi

bench: $(VENV)/.bench-installed bench-tools
	$(BIN)/python -m bench.run $(if $(QUICK),--quick,)
	$(BIN)/python -m bench.api_scale $(if $(QUICK),--quick,)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
