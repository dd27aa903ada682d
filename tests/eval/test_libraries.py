"""The sandbox's interpreter (rewards.code.python) and the check of the libraries code benchmarks' tasks list:
a bare environment lacks them and is named, the pipeline's own has them; another Python version runs the tests
from source (code objects do not cross versions)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.config import RewardParams
from pipeline.errors import UserError
from pipeline.eval.benchmarks.libraries import check_libraries, missing_modules, required_modules
from pipeline.rewards.code import CodeScorer
from pipeline.rewards.sandbox import Interpreter, Sandbox, SandboxLimits
from pipeline.rewards.total import RewardModel

from ..conftest import FIXTURES, REPO
from ..conftest import KINDS


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> Path:
    """A virtual environment of this Python with nothing installed (no numpy, no pipeline)."""
    env = tmp_path_factory.mktemp("bare") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    return env / "bin" / "python"


def other_python() -> str | None:
    """A CPython of another minor version than this one, if the machine has one (pyenv's, or on PATH)."""
    candidates = [shutil.which(f"python3.{minor}") for minor in range(8, 15)]
    candidates += sorted(str(p) for p in Path("/root/.pyenv/versions").glob("3.*/bin/python3")) \
        if Path("/root/.pyenv/versions").is_dir() else []
    for candidate in filter(None, candidates):
        try:
            version = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[1])"], capture_output=True,
                                     text=True, timeout=30).stdout.strip()
        except OSError:
            continue
        if version.isdigit() and int(version) >= 8 and int(version) != sys.version_info[1]:
            return candidate
    return None


def scorer(python: Interpreter | None = None) -> CodeScorer:
    return CodeScorer(Sandbox(SandboxLimits(timeout_s=20, cpu_s=20, memory_mb=2048), slots=2, uid_base=61700,
                              python=python), workers=2)


def test_required_modules_are_the_top_level_names_the_tasks_list():
    records = [{"meta": {"libs": "['numpy', 'os.path', 'random']"}}, {"meta": {"libs": ["sklearn", "numpy"]}},
               {"meta": {}}]
    assert required_modules(records) == ["numpy", "os", "random", "sklearn"]


def test_missing_modules_are_found_in_the_sandbox_with_the_interpreter_given(bare_python):
    own = scorer()
    try:
        assert missing_modules(own, ["json", "numpy", "no_such_module_here"]) == ["no_such_module_here"]
    finally:
        own.sandbox.close()
    bare_interpreter = Interpreter.at(bare_python)
    assert bare_interpreter.prefix == bare_python.parent.parent.resolve() and bare_interpreter.same_bytecode
    bare = scorer(bare_interpreter)
    try:
        assert missing_modules(bare, ["json", "numpy"]) == ["numpy"]
        with pytest.raises(UserError) as err:
            check_libraries(bare, {"bigcodebench": ["json", "numpy", "pandas"]})
        message = str(err.value)
        assert "\n" not in message and str(bare_python) in message and "make bigcodebench-env" in message
        assert "bigcodebench needs 2 of its 3 libraries that the sandbox cannot import (numpy, pandas)" in message
        check_libraries(bare, {"bigcodebench": ["json", "itertools"]})  # all there: no error
    finally:
        bare.sandbox.close()


def test_a_missing_interpreter_is_a_one_line_error(tmp_path):
    with pytest.raises(UserError, match=r"rewards.code.python: .*nowhere/python is not an executable Python"):
        Interpreter.at(tmp_path / "nowhere" / "python")
    script = tmp_path / "python"
    script.write_text("#!/bin/sh\necho not python\n")
    script.chmod(0o755)
    with pytest.raises(UserError, match="does not run as Python"):
        Interpreter.at(script)


@pytest.mark.skipif(other_python() is None, reason="no CPython of another minor version on this machine")
def test_another_python_version_runs_every_test_format_from_source():
    """Code objects do not cross Python versions: the functional check (rewritten) and BigCodeBench's test module
    go as source. Each program also checks that it runs under the other version."""
    python = Interpreter.at(str(other_python()))
    assert not python.same_bytecode
    major, minor = python.version
    here = f"import sys\nassert sys.version_info[:2] == ({major}, {minor})\n"
    cases = [
        (f"{here}def add(a, b):\n    return a + b", {"functional": "assert add(1, 2) == 3"}, 1.0),
        (f"{here}def add(a, b):\n    return a - b", {"functional": "assert add(1, 2) == 3"}, 0.0),
        (f"{here}def task_func(n):\n    return n * 2",
         {"unittest": "import unittest\nclass T(unittest.TestCase):\n    def test(self):\n"
                      "        self.assertEqual(task_func(2), 4)\n"}, 1.0),
        (f"{here}print(int(input()) + 1)", {"inputs": ["1\n"], "outputs": ["2\n"]}, 1.0),
        (f"{here}class Solution:\n    def f(self, x):\n        return x + 1", {"fn_name": "f", "inputs": [[1]],
                                                                             "outputs": [2]}, 1.0),
    ]
    other = scorer(python)
    try:
        outcomes = other.score_many([(f"<answer>```python\n{code}\n```</answer>", json.dumps(tests))
                                     for code, tests, _ in cases])
    finally:
        other.sandbox.close()
    assert [o.score for o in outcomes] == [expected for _, _, expected in cases], outcomes


def test_the_benchmark_command_stops_before_any_model_when_a_library_is_missing(tmp_path, bare_python):
    """evaluate_benchmarks' start: BigCodeBench tasks listing numpy, a sandbox interpreter without it."""
    task = json.loads(gzip.open(FIXTURES / "benchmarks" / "bigcodebench" / "BigCodeBench-full.jsonl.gz", "rt")
                      .readline())
    task["libs"] = "['itertools', 'numpy']"
    (tmp_path / "bcb.jsonl").write_text(json.dumps(task) + "\n")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["benchmarks"] = {"names": ["bigcodebench"], "sources": {"bigcodebench": str(tmp_path / "bcb.jsonl")}}
    params["rewards"].setdefault("code", {})["python"] = str(bare_python)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "empty-model").mkdir()  # never loaded: the check comes first
    cmd = [sys.executable, "-m", "pipeline", "benchmark", "--model", f"m={tmp_path / 'empty-model'}",
           "--out", str(tmp_path / "out"), "--params", str(tmp_path / "params.yaml")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=300,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode != 0 and not (tmp_path / "out").exists()
    last = proc.stderr.strip().splitlines()[-1]
    assert "bigcodebench needs 1 of its 2 libraries that the sandbox cannot import (numpy)" in last, proc.stderr
    assert str(bare_python) in last


def test_reward_model_builds_its_sandbox_on_the_configured_interpreter(bare_python):
    model = RewardModel(RewardParams(tasks=KINDS, code={"python": str(bare_python)}))
    try:
        assert model.code.sandbox.interpreter.path == bare_python and model.code.sandbox.python == bare_python
        assert str(bare_python.parent.parent.resolve()) in model.code.sandbox.command(Path("/x/h.py"), 61700) or \
            not model.code.sandbox.isolated
    finally:
        model.close()


BCB_ENV = REPO / ".venv-bigcodebench" / "bin" / "python"
BCB_SAMPLE = REPO.parent / "shared" / "data" / "bigcodebench" / "BigCodeBench-full_first150.jsonl"


@pytest.mark.slow  # BigCodeBench's canonical solutions
@pytest.mark.skipif(not BCB_SAMPLE.exists(), reason="../shared/data/bigcodebench is not present")
def test_bigcodebench_canonical_solutions_all_pass_on_its_own_environment():
    """The first 60 tasks (21 of which fail in the pipeline's own environment for a missing library, 3 more on newer
    pandas/numpy APIs): every canonical solution passes on .venv-bigcodebench under configs/paper.yaml's limits
    (its memory and processes, with 60 s of time)."""
    from pipeline.config import load_params
    from pipeline.eval.benchmarks import load_benchmark
    from pipeline.eval.benchmarks.gold import gold_check

    if not BCB_ENV.exists():
        if os.environ.get("OMNI_REQUIRE_BIGCODEBENCH_ENV"):
            pytest.fail(f"{BCB_ENV} is missing: `make bigcodebench-env` must run before this test")
        pytest.skip(f"{BCB_ENV} is not built (make bigcodebench-env)")
    paper = load_params([REPO / "params.yaml", REPO / "configs" / "paper.yaml"]).rewards
    # paper.yaml's limits but 60 s (30 s there): a loaded 2-core machine must not turn a slow task into a failure
    code = paper.code.model_copy(update={"python": str(BCB_ENV), "workers": 2, "timeout_s": 60, "cpu_s": 60})
    model = RewardModel(paper.model_copy(update={"code": code}))
    try:
        records = load_benchmark("bigcodebench", str(BCB_SAMPLE), max_items=60)
        result = gold_check("bigcodebench", records, model)
    finally:
        model.close()
    assert result["n"] == 60 and result["failed"] == [], result
