# Two quickstart commands: `make run` (the pipeline on the embedded default) and
# `make test` (the test suite). Both set up .venv themselves on a fresh machine.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-slurm bench clean-venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU build of torch first, so nothing later pulls a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" dvc repro

test: $(STAMP)
	$(PY) -m pytest -q

# The cluster path for real (root, Debian): a single-node Slurm cluster, the smoke DAG through
# `snakemake --cores all --profile slurm`, a failing job; the cluster is stopped again afterwards.
test-slurm: $(STAMP)
	scripts/slurm-local-cluster start
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" OMNI_SLURM_TESTS=1 $(PY) -m pytest -q -s tests/slurm; \
	rc=$$?; scripts/slurm-local-cluster stop; exit $$rc

bench: $(STAMP)
	$(PY) benchmarks/bench_ordering.py
	$(PY) benchmarks/bench_rewards.py
	$(PY) benchmarks/bench_grpo.py
	$(PY) benchmarks/bench_dag.py --workspace

clean-venv:
	rm -rf $(VENV)
