# Attention, Derived: the two commands readers need are `make book` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Sphinx warnings are errors; nitpicky catches broken references; keep going to list them all.
BOOK_FLAGS := -W -n --keep-going

.PHONY: help setup book test lint nbval pytest browser student bench pdf check-clean clean

help:
	@echo "make book     build the HTML book into _build/html (executes the notebooks)"
	@echo "make test     ruff, pytest, nbval on every notebook, the strict book build, browser tests"
	@echo "make student  the student edition: every notebook without its solutions, in student/"
	@echo "make bench    notebook times and memory, cold and warm build times, module benchmark"
	@echo "make pdf      the printed book, one PDF per edition, in _build/pdf/ (Debian's chromium)"
	@echo "make clean    remove _build (keeps .venv)"

# The environment is made once; it is remade only when the requirements change.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[book,dev]"
	@touch $@

setup: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . $(BOOK_FLAGS)
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check .

pytest: $(STAMP)
	$(BIN)/python -m pytest tests

nbval: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=300 \
		-p no:cacheprovider book

# After the build: every page in headless Chromium (Debian's chromium package), and the student
# edition executed from its own folders (tests/browser; `pytest tests` leaves that folder out).
browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser

student: $(STAMP)
	$(BIN)/python scripts/make_student.py

bench: $(STAMP)
	$(BIN)/python scripts/bench_book.py

# The book as one single-page build (reusing the notebooks' execution cache), printed by
# Debian's chromium into _build/pdf/<edition>.pdf; tests/browser/test_pdf.py checks it.
pdf: $(STAMP)
	$(BIN)/python scripts/make_pdf.py

test: lint pytest nbval book pdf browser

clean:
	rm -rf _build
