# Two quickstart commands: `make run` (the pipeline on the embedded default) and
# `make test` (the test suite). Both set up .venv themselves on a fresh machine.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(CURDIR)/$(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test test-slow test-all test-ci-slow lint generate test-slurm bench clean-venv bigcodebench-env preflight-paper

# What the DAG needs: the pipeline and the two workflow tools (no verl, TRL or test tools).
$(RUN_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# CPU build of torch first, so nothing later pulls a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[workflow]'
	@touch $(RUN_STAMP)

$(DEV_STAMP): $(RUN_STAMP) pyproject.toml
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(DEV_STAMP)

# The whole DAG on params.yaml, one stage at a time on every core (`snakemake --cores all` runs the
# same stages; on 2 cores its side-by-side single-thread jobs were slower, see README "Performance").
run: $(RUN_STAMP)
	PATH="$(BIN):$$PATH" dvc repro

# The fast tier: lint, the generated-files check and every test not marked slow (tests/README.md), on
# $(TEST_WORKERS) pytest-xdist workers (2: 18% faster than one process on a 2-core machine; `auto`: one per core).
TEST_WORKERS ?= 2
test: lint
	$(PY) -m pytest -q -m "not slow" -n $(TEST_WORKERS)

# The slow tier: end-to-end DAG runs (one smoke DAG per session, shared), clusters, kill tests, BigCodeBench.
test-slow: $(DEV_STAMP)
	PATH="$(BIN):$$PATH" $(PY) -m pytest -q -m slow

# Both tiers.
test-all: lint
	PATH="$(BIN):$$PATH" $(PY) -m pytest -q

# Style (ruff), types of the pure modules (mypy) and generated workflow files current (see docs/dag.md).
lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check
	$(VENV)/bin/mypy
	$(PY) -m pipeline stages --check

# Regenerate what is generated: dvc.yaml and workflow_rules/stages.smk from the stage table
# (pipeline/workflow/stages.py), docs/params.md from the config models. Tests fail while they are stale.
generate: $(DEV_STAMP)
	$(PY) -m pipeline stages --write
	$(PY) -m pipeline params --reference --out docs/params.md

# The cluster path for real (root, Debian): a two-node Slurm cluster on this machine, the smoke DAG through
# `snakemake --cores all --profile slurm`, a two-node Ray job (success, failure, scancel), a failing job;
# the cluster is stopped again afterwards.
test-slurm: $(DEV_STAMP)
	scripts/slurm-local-cluster start
	PATH="$(BIN):$$PATH" OMNI_SLURM_TESTS=1 $(PY) -m pytest -q -s tests/slurm; \
	rc=$$?; scripts/slurm-local-cluster stop; exit $$rc

# What .ci/run runs after `make test`: the slow tier and the Slurm tests in one session, on the local cluster,
# so that they share one smoke DAG run.
test-ci-slow: $(DEV_STAMP)
	scripts/slurm-local-cluster start
	PATH="$(BIN):$$PATH" OMNI_SLURM_TESTS=1 $(PY) -m pytest -q -m slow; \
	rc=$$?; scripts/slurm-local-cluster stop; exit $$rc

# Paper scale: the sandbox's interpreter for BigCodeBench (Python 3.10 with its own pins; see scripts/bigcodebench-env),
# then what would stop a stage of configs/paper.yaml, found before anything is submitted.
bigcodebench-env: .venv-bigcodebench/.installed

.venv-bigcodebench/.installed: configs/bigcodebench-requirements.txt scripts/bigcodebench-env
	scripts/bigcodebench-env .venv-bigcodebench

preflight-paper: $(RUN_STAMP)
	$(PY) -m pipeline preflight --params params.yaml configs/paper.yaml

bench: $(DEV_STAMP)
	$(PY) benchmarks/bench_ordering.py
	$(PY) benchmarks/bench_rewards.py
	$(PY) benchmarks/bench_score_memory.py
	$(PY) benchmarks/bench_grpo.py
	$(PY) benchmarks/bench_warmstart.py
	$(PY) benchmarks/bench_dag.py --workspace

clean-venv:
	rm -rf $(VENV)
