# nids-workbook: `make workbook` runs the notebooks on the default dataset; `make test` runs the tests.
# Both set up .venv first (pinned versions, Python 3.11). Data: NIDS_DATA_DIR, else data/raw
# (downloaded and SHA-256-verified by `nids data fetch` when missing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup data workbook quick test lint clean

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (nids)" >/dev/null
	touch $(STAMP)

setup: $(STAMP)

data: setup
	$(BIN)/nids data fetch --dataset unsw-nb15
	$(BIN)/nids data fetch --dataset nsl-kdd

workbook: data
	$(BIN)/python run_all.py

quick: data
	$(BIN)/python run_all.py --quick

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check nids tests run_all.py benchmarks
	$(BIN)/ruff format --check nids tests run_all.py benchmarks

clean:
	rm -rf notebooks/executed figures/*/ reports/*.json reports/*.md models/*/
