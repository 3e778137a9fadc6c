# ToukTouk: `make demo` publishes a demo episode, `make test` runs every check.
# Both install what is missing first (Debian packages, the pinned Python packages, the offline
# Whisper model), so they work on a fresh Debian machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock requirements-openai.txt requirements-speakers.txt | sha256sum | cut -c1-12)
# postgresql: the server binaries for the test of a Prefect server on PostgreSQL (tests/pg_cluster.py
# starts its own throw-away cluster; the package's default cluster is not used).
DEB_PACKAGES := ffmpeg espeak-ng fonts-dejavu-core fonts-liberation postgresql
FOOTAGE ?=
BROWSER_DEPS := tests/browser/node_modules/.package-lock.json

.PHONY: setup system demo test lint typecheck clean

setup: system $(STAMP) $(BROWSER_DEPS)

system:
	@if ! command -v ffmpeg >/dev/null || ! command -v espeak-ng >/dev/null \
	   || [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] \
	   || [ ! -f /usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf ] \
	   || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "Installing Debian packages: $(DEB_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES); \
	fi
	@# The Prefect UI test: Debian's chromium driven by playwright-core (npm; needs Node.js 20+).
	@if ! command -v chromium >/dev/null || ! command -v npm >/dev/null; then \
	  pkgs="chromium"; command -v npm >/dev/null || pkgs="$$pkgs nodejs npm"; \
	  echo "Installing Debian packages: $$pkgs"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$pkgs; \
	fi

$(BROWSER_DEPS): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

$(STAMP): pyproject.toml requirements.lock requirements-openai.txt requirements-speakers.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is needed"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c requirements.lock -e '.[test]'
	$(BIN)/touktouk models install base
	$(BIN)/pip install -q -c requirements.lock -r requirements-openai.txt
	$(BIN)/pip install -q --no-deps openai-whisper==20250625
	$(BIN)/pip install -q -c requirements.lock -r requirements-speakers.txt
	$(BIN)/pip install -q --no-deps resemblyzer==0.1.4
	$(BIN)/touktouk models convert base
	rm -f $(VENV)/.installed-* && touch $@

demo: setup
	@set -e; footage="$(FOOTAGE)"; \
	if [ -z "$$footage" ]; then footage=demo/episode.mp4; $(BIN)/touktouk demo-footage $$footage; fi; \
	$(BIN)/touktouk publish "$$footage" --episode config/episodes/demo.toml

lint: setup
	$(BIN)/ruff check src tests flows benchmarks
	$(BIN)/ruff format --check src tests flows benchmarks

typecheck: setup
	$(BIN)/mypy src

test: setup lint typecheck
	$(BIN)/pytest -n 2 --dist loadfile

clean:
	rm -rf $(VENV) demo published .pytest_cache .mypy_cache .ruff_cache
