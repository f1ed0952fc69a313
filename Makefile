PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-peers docs lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev,docs]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m brainsim demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -q --nbmake tests notebooks

bench: $(STAMP)
	$(PY) benchmarks/coba.py --model coba --n 4000 --duration 1.0
	$(PY) benchmarks/coba.py --model cuba --n 4000 --duration 1.0
	$(PY) benchmarks/coba.py --model cobahh --n 4000 --duration 1.0
	$(PY) benchmarks/scale.py --quick
	$(PY) benchmarks/mapping.py --part traffic --quick
	$(PY) benchmarks/distributed.py --quick

bench-peers: $(STAMP)
	$(MAKE) -C benchmarks/peers venvs PYTHON_BRIAN=$(PYTHON_BRIAN) PYTHON_BRAINPY=$(PYTHON_BRAINPY)
	$(PY) benchmarks/peers/compare.py --sizes 4000,40000,400000

docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

lint: $(STAMP)
	$(VENV)/bin/ruff check brainsim tests benchmarks

clean:
	rm -rf $(VENV) demo_output site brainsim_output coba_output readme_network_output
