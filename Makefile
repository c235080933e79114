# The kit's commands. Everything runs in a virtual environment (.venv) built
# from the pinned lock file, so a fresh machine reproduces the same versions.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SOLVED := build/assignment_solved.ipynb
SUBMISSIONS ?= examples/submissions
GRADING ?= grading
JOBS ?=
POINTS ?=
# What `make lint` checks: the kit's own files, never submissions kept inside the kit's folder.
LINTED := grader tests scripts bench solutions Blocks.py automark.py dataset_utils.py \
	gradient_check.py assignment.ipynb
STAMP := $(VENV)/.installed-$(shell cat requirements-lock.txt requirements-sandbox.txt requirements-dask.txt | cksum | cut -d' ' -f1)

.PHONY: help venv grade test test-fast lint solved release bench serve examples data sample clean

help:
	@echo "make grade       grade SUBMISSIONS (default: examples/submissions) into GRADING (grading/)"
	@echo "                 (POINTS=conv_matrix=2,box_blur=1 for this run; course.toml for every run)"
	@echo "make test        install (once) and run every test, notebooks included"
	@echo "make test-fast   the tests without executing notebooks"
	@echo "make lint        ruff on the kit's own files (pyflakes, pycodestyle, import order, bugbear, ...)"
	@echo "make examples    rebuild examples/submissions from the notebook"
	@echo "make solved      build/assignment_solved.ipynb (references in the stubs) and its executed HTML"
	@echo "make release     dist/student/ and dist/student.zip: the student kit, leak-checked"
	@echo "                 (SERVER=http://HOST:1234/ builds it for a server: no remote vectors)"
	@echo "make bench       speed ratios against SciPy/PyTorch baselines -> bench/results.json"
	@echo "make serve       the AutoMark server on port 1234 (example roster, data in server-data/)"
	@echo "                 (ROSTER=students.csv for a class, DEADLINE=2026-12-11T23:59+01:00)"
	@echo "make data        download full MNIST into data/mnist (verified by MD5)"
	@echo "make sample      rebuild the bundled MNIST sample from full MNIST"

$(STAMP): requirements-lock.txt requirements-sandbox.txt requirements-dask.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-lock.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-sandbox.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dask.txt
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

grade: $(STAMP)
	$(PY) -m grader grade $(SUBMISSIONS) --out $(GRADING) $(if $(JOBS),-j $(JOBS)) $(if $(POINTS),--points $(POINTS))

examples: $(STAMP)
	$(PY) -m scripts.make_example_submissions

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINTED)

test: lint
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

solved: $(STAMP)
	$(PY) -m grader solve --out $(SOLVED) --html

release: $(STAMP)
	$(PY) -m grader release --out dist/student --zip dist/student.zip $(if $(SERVER),--server $(SERVER))

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0 \
		|| echo "PyTorch is not installable here: its rows are skipped"
	npm install --silent --prefix $(VENV)/dolos @dodona/dolos-lib@3.5.1 >/dev/null 2>&1 \
		|| echo "Dolos is not installable here (npm, node 18+): its similarity scores are skipped"
	$(PY) -m bench

serve: $(STAMP)
	$(PY) -m grader serve --roster $(or $(ROSTER),examples/submissions/students.csv) $(if $(DEADLINE),--deadline $(DEADLINE))

data: $(STAMP)
	$(PY) -m scripts.download_mnist --dest data/mnist

sample: $(STAMP)
	$(PY) -m scripts.build_mnist_sample

clean:
	rm -rf build grading dist .pytest_cache
