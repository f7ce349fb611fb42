# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
PORT ?= 8501

.PHONY: run test install browser benchmark benchmark-metrics benchmark-decisions benchmark-pages benchmark-pull clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's Chromium (test tools' own browser downloads do not work offline).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		( $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null ) || { \
			echo "make test: the browser tests need Debian's chromium (/usr/bin/chromium) and it could not be installed;" >&2; \
			echo "install it as root with 'apt-get update && apt-get install -y chromium', then run make test again." >&2; \
			exit 1; }; \
	fi

run: install
	$(BIN)/python -m vsm_app.serve --server.port=$(PORT)

test: install browser
	$(BIN)/python -m pytest -q

benchmark: install
	$(BIN)/python benchmarks/bench_import.py

benchmark-metrics: install
	$(BIN)/python benchmarks/bench_metrics.py

benchmark-decisions: install
	$(BIN)/python benchmarks/bench_decisions.py

# Each page in Debian's Chromium against a real server on 127.0.0.1 (about 10 minutes).
benchmark-pages: install browser
	$(BIN)/python benchmarks/bench_pages.py

benchmark-pull: install
	$(BIN)/python benchmarks/bench_pull.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
