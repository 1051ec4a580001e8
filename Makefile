# Two commands on a fresh machine:
#   make demo   installs striate in .venv and trains LeNet-5 on the built-in MNIST subset
#   make test   installs striate in .venv and runs the test suite
# torch==2.13.0 is installed first: on a CPU-only machine that is the CPU build, and the
# package's own "torch>=2.3" is then already satisfied (no multi-gigabyte CUDA download).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0

.PHONY: install demo test test-fast clean

$(BIN)/striate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/striate

demo: install
	$(BIN)/striate train recipes/lenet5-mnist.yaml

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

clean:
	rm -rf $(VENV) runs .pytest_cache
