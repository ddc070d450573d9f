# Everything a fresh machine needs comes from here: Python 3.11+ and make are assumed, nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint screenshots bench soak family-soak clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/toptui $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check toptui tests benchmarks scripts
	$(BIN)/ruff format --check toptui tests benchmarks scripts
	$(BIN)/lint-imports

screenshots: $(STAMP)
	$(BIN)/python scripts/make_screenshots.py screenshots

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# toptui under process churn for MINUTES (default 30); its own detector must judge it no_leak.
soak: $(STAMP)
	$(BIN)/python scripts/soak.py --minutes $(or $(MINUTES),30) $(ARGS)
# The screen beside 1000 idle processes and churn, F pressed every minute for MINUTES (default 15):
# toptui's RSS must end within 10% of where it was after the first switch, and toptui must judge
# itself no_leak (issue 14, item 3). Needs tmux.
family-soak: $(STAMP)
	$(BIN)/python scripts/family_soak.py --minutes $(or $(MINUTES),15) $(ARGS)
verdict-soak: $(STAMP) ; $(BIN)/python scripts/verdict_soak.py --minutes $(or $(MINUTES),10) $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
