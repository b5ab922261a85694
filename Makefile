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
# Each stage of `make test` runs through scripts/stage_times.py, which records its wall and CPU
# time when ATTN_TIMINGS names a file (make test sets it) and otherwise only runs the command.
TIMED := $(BIN)/python scripts/stage_times.py run

.PHONY: help setup book book-en book-zh catalogues notebooks test test-stages book-then-browser lint nbval nbval-cached pytest browser browser-with-pdf pdf-then-check browser-pages browser-pages-en browser-pages-zh browser-figures browser-student browser-rest browser-pdf student bench module-bench pdf check-clean clean checkpoints results

help:
	@echo "make book     build the HTML book into _build/html, English and Chinese (zh_CN/)"
	@echo "make test     ruff, pytest, the strict book build, nbval's checks on its notebooks, the PDF, browser tests"
	@echo "              (prints the time of each stage at the end; kept in _build/timings.json)"
	@echo "make nbval    every notebook executed under nbval (no book build needed)"
	@echo "              (the PDF and the browser tests need Debian's chromium: skipped without it, except in CI)"
	@echo "make catalogues  update the Chinese catalogues (book/locale) after an English edit"
	@echo "make notebooks  rebuild the book and refresh notebooks/ (what Colab, Binder, download open)"
	@echo "make student  the student edition: every notebook without its solutions, in student/ (Chinese: student/zh_CN/)"
	@echo "make bench    notebook times and memory, cold and warm build times, module benchmark"
	@echo "make module-bench  the module benchmark into book/ch7_networks/results/module_bench.json"
	@echo "make pdf      the printed book, one PDF per edition, in _build/pdf/ (Debian's chromium)"
	@echo "make clean    remove _build (keeps .venv)"
	@echo "make checkpoints  retrain the shipped chapter 7 networks (deterministic, about a minute)"
	@echo "make results  run every declared experiment, two runs at a time, into attn_lessons/results/"

# The environment is made once; it is remade only when the requirements change. The oldest Python
# accepted is pyproject.toml's requires-python, the one place it is set (scripts/check_python.py).
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) scripts/check_python.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[book,dev]"
	@touch $@

setup: $(STAMP)

# Two editions from one source: the English book, then the Chinese one (scripts/build_zh.py: the
# same sources in language zh_CN, from book/locale; it reuses the English build's execution cache)
# into _build/html/zh_CN/, beside the English site. Both builds are strict. First every notebook
# of _toc.yml not yet in the execution cache is executed into it, two at a time
# (scripts/execute_notebooks.py, as the build would execute it, in kernels forked from one process
# that imported torch once: scripts/forked_kernels.py), so the builds execute nothing,
# and the two editions, which share only that cache (read), are built at the same time: each
# Sphinx build uses one core. The builds compute the interactive figures' data with torch on one
# thread (small tensors: a second thread costs more CPU than it saves, and make test runs pytest
# beside the build).
book: $(STAMP)
	$(TIMED) "execute notebooks" -- $(BIN)/python scripts/execute_notebooks.py
	@$(MAKE) --no-print-directory -j2 --output-sync=target book-en book-zh
	@echo "The book is built: open $(CURDIR)/_build/html/index.html (Chinese: _build/html/zh_CN/index.html)"

book-en: $(STAMP)
	$(TIMED) "book (English)" -- env OMP_NUM_THREADS=1 $(BIN)/jupyter-book build . $(BOOK_FLAGS)

book-zh: $(STAMP)
	$(TIMED) "book (Chinese)" -- env OMP_NUM_THREADS=1 $(BIN)/python scripts/build_zh.py

# The Chinese catalogues after an English edit: re-extract the messages and update
# book/locale/zh_CN with sphinx-intl (new messages untranslated, changed ones fuzzy).
catalogues: $(STAMP)
	$(BIN)/python scripts/build_zh.py --catalogues
	@echo "What is left to translate or review, per catalogue (scripts/check_translations.py):"
	@$(BIN)/python scripts/check_translations.py >/dev/null || true

# The reader notebooks: book/_ext/reader_notebooks.py writes them into _build/html/_notebooks at
# the end of the build (plain Jupyter markdown, numbers resolved); notebooks/ is their committed
# copy, which Colab and Binder open. tests/browser/test_reader_notebooks.py keeps the two equal.
# The Chinese edition's reader notebooks (markdown from the catalogues) go to notebooks/zh_CN/.
notebooks: book
	rm -rf notebooks
	cp -r _build/html/_notebooks notebooks
	cp -r _build/html/zh_CN/_notebooks notebooks/zh_CN
	@echo "notebooks/ refreshed from the build: commit it"

lint: $(STAMP)
	$(TIMED) lint -- $(BIN)/ruff check .

pytest: $(STAMP)
	$(TIMED) pytest -- $(BIN)/python -m pytest tests

# Every notebook executed in a fresh kernel under nbval (for instructors; it needs no book build).
nbval: $(STAMP)
	$(TIMED) nbval -- $(BIN)/python -m pytest --nbval-lax --nbval-current-env \
		--nbval-cell-timeout=300 -p no:cacheprovider book

# nbval's checks on the book build's one execution of each notebook (book/conftest.py): a cell
# that raised fails, a cell tagged nbval-check-output fails when its output differs. make test
# runs this after `make book` instead of executing every notebook a second time.
nbval-cached: $(STAMP)
	$(TIMED) "nbval (from the build)" -- $(BIN)/python -m pytest --nbval-lax \
		--nbval-from-cache=_build/.jupyter_cache -p no:cacheprovider book

# After the build: every page in headless Chromium (Debian's chromium package), and the student
# edition executed from its own folders (tests/browser; `pytest tests` leaves that folder out).
# Several pytest processes at once, because a browser test mostly waits for Chromium (one process
# keeps a core less than half busy): the pages of each edition, the interactive figures, the
# student edition (its notebooks executed, two at a time), the rest (the Chinese edition, the
# reader notebooks, the exercise pages) and the printed book's checks (test_pdf.py, which reads
# the PDF). A new file in tests/browser runs with the rest. Each process prints its report when it
# ends (and its time, within make test); any failure fails the stage.
BROWSER_PAGES   := tests/browser/test_pages.py
BROWSER_FIGURES := tests/browser/test_interactive.py tests/browser/test_interactive_b.py
BROWSER_STUDENT := tests/browser/test_student_edition.py
BROWSER_PDF     := tests/browser/test_pdf.py
BROWSER_PYTEST  := $(BIN)/python -m pytest -p no:cacheprovider
BROWSER_NICE    :=

browser: $(STAMP)
	@$(MAKE) --no-print-directory -j6 --output-sync=target \
		browser-pages-en browser-pages-zh browser-figures browser-student browser-rest browser-pdf

# Within make test: the PDF is printed while the other browser processes run, and only the
# checks that read it (browser-pdf) wait for it; everything else starts at once, so that no
# process runs alone at the end while a core idles.
# The PDF is the longest chain (two single-page builds, then two prints, then its checks), so the
# other five processes, and the Chromiums and kernels they start, run at a lower priority
# (BROWSER_NICE): the PDF is done early instead of being starved to the end, and the five fill the
# cores as before.
browser-with-pdf: $(STAMP)
	@$(MAKE) --no-print-directory -j6 --output-sync=target BROWSER_NICE="nice -n 5" \
		browser-pages-en browser-pages-zh browser-figures browser-student browser-rest pdf-then-check

pdf-then-check:
	@$(MAKE) --no-print-directory pdf PDF_FLAGS=--skip-without-chromium
	@$(MAKE) --no-print-directory browser-pdf

browser-pages: browser-pages-en browser-pages-zh

browser-pages-en:
	ATTN_BROWSER_EDITION=en $(BROWSER_NICE) $(TIMED) "browser: pages (English)" -- \
		$(BROWSER_PYTEST) $(BROWSER_PAGES)

browser-pages-zh:
	ATTN_BROWSER_EDITION=zh_CN $(BROWSER_NICE) $(TIMED) "browser: pages (Chinese)" -- \
		$(BROWSER_PYTEST) $(BROWSER_PAGES)

browser-figures:
	$(BROWSER_NICE) $(TIMED) "browser: figures" -- $(BROWSER_PYTEST) $(BROWSER_FIGURES)

browser-student:
	$(BROWSER_NICE) $(TIMED) "browser: student edition" -- $(BROWSER_PYTEST) $(BROWSER_STUDENT)

browser-rest:
	$(BROWSER_NICE) $(TIMED) "browser: rest" -- $(BROWSER_PYTEST) tests/browser \
		$(foreach f,$(BROWSER_PAGES) $(BROWSER_FIGURES) $(BROWSER_STUDENT) $(BROWSER_PDF),--ignore=$(f))

browser-pdf:
	$(TIMED) "browser: printed book" -- $(BROWSER_PYTEST) $(BROWSER_PDF)

student: $(STAMP)
	$(BIN)/python scripts/make_student.py
	$(BIN)/python scripts/make_student.py --book notebooks/zh_CN --data book --out student/zh_CN

bench: $(STAMP)
	$(BIN)/python scripts/bench_book.py

# The chapter 7 networks shipped in attn_lessons/checkpoints, with their manifest (SHA-256, accuracy).
checkpoints: $(STAMP)
	$(BIN)/python scripts/make_checkpoints.py
	$(BIN)/python scripts/make_control_checkpoints.py

# Every experiment of attn_lessons/experiments (the chapters' comparisons), two runs at a time on
# one CPU thread each, into attn_lessons/results/<name>.json (design, runs, provenance); commit
# them. Not part of `make test`: the notebooks read and re-check the files instead.
JOBS ?= 2
results: $(STAMP)
	$(BIN)/python -m attn_lessons.experiments run --all --jobs $(JOBS)

# The module benchmark's committed result file (median of 30 interleaved runs; run it on a quiet
# machine: the file records the load average at the start).
module-bench: $(STAMP)
	$(BIN)/python -m attn_lessons.bench --device cpu --repeats 30 \
		--json book/ch7_networks/results/module_bench.json


# The book as one single-page build (reusing the notebooks' execution cache), printed by
# Debian's chromium into _build/pdf/<edition>.pdf; tests/browser/test_pdf.py checks it. `make pdf`
# needs chromium. Within `make test` a machine without it skips the printing with a message, as the
# browser stage skips its tests there; where the variable CI is set both fail instead.
PDF_FLAGS :=
pdf: $(STAMP)
	$(TIMED) pdf -- $(BIN)/python scripts/make_pdf.py $(PDF_FLAGS)

# make test: the stages below, each timed (scripts/stage_times.py); at the end, failed or not, the
# time of every stage is printed and kept in _build/timings.json, and make test exits with the
# status of the stages. The library's tests (one process, one core) run beside the book build (the
# notebooks' one execution, two at a time, then the two editions), nbval's checks on that
# execution, then the PDF and the browser stage: those need the book, not the library's tests, so
# they start as soon as the book is built (waiting for pytest left a core idle for about 50 s).
TIMINGS := $(CURDIR)/_build/timings.jsonl
test: $(STAMP)
	@mkdir -p _build && ATTN_TIMINGS=$(TIMINGS) $(BIN)/python scripts/stage_times.py start
	@status=0; ATTN_TIMINGS=$(TIMINGS) $(MAKE) --no-print-directory test-stages || status=$$?; \
		ATTN_TIMINGS=$(TIMINGS) $(BIN)/python scripts/stage_times.py report; exit $$status

test-stages: lint
	@$(MAKE) --no-print-directory -j2 --output-sync=target pytest book-then-browser

book-then-browser: $(STAMP)
	@$(MAKE) --no-print-directory book
	@$(MAKE) --no-print-directory nbval-cached
	@$(MAKE) --no-print-directory browser-with-pdf

clean:
	rm -rf _build
