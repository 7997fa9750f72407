# The two commands of the README: `make up` runs Cordon, `make test` runs the tests.
# Each creates the virtual environment and installs on first use (and when pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: up test lint install migrate bench clean console-shots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/cordon up

migrate: $(STAMP)
	$(BIN)/cordon migrate

# Lint and the import contracts first (so CI runs them), then pytest.
# PYTEST_ARGS narrows the run, e.g. `make test PYTEST_ARGS="-k bus"`. pytest's exit code 5
# (nothing collected) is named as such: it is neither a pass nor a test failure.
test: lint
	@$(BIN)/python -m pytest $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "make test: no tests were selected (pytest exit 5)" >&2; fi; \
	exit $$code

# Lint and import order (ruff), and the walls between kernel, services and gateway (import-linter).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# The console's browser test (headless Chromium) with a screenshot of each page under .cordon/screenshots/.
console-shots: $(STAMP)
	CORDON_SCREENSHOTS=$(CURDIR)/.cordon/screenshots $(BIN)/python -m pytest tests/e2e/test_console.py -p no:cacheprovider -q

bench: $(STAMP)
	$(BIN)/python -m bench.bus

clean:
	rm -rf $(VENV) .cordon .pytest_cache .hypothesis
