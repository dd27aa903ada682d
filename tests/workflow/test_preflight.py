"""`python -m pipeline preflight`: every stage of configs/paper.yaml checked dry, before anything is submitted.

configs/paper.yaml passes (its benchmark sources resolve, MT-Bench by its pinned files, BigCodeBench's libraries
import in the sandbox on .venv-bigcodebench, every single-task run keeps snapshots for checkpoint selection); and
each problem that once needed hand work is found: a missing local benchmark folder, a pinned file edited locally,
an interpreter without BigCodeBench's libraries, a keep_every that leaves the final model only.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys

import pytest
import yaml

from ..conftest import FIXTURES, REPO, SHARED

PAPER = ["params.yaml", "configs/paper.yaml"]
BCB_ENV = REPO / ".venv-bigcodebench" / "bin" / "python"
BCB_FULL = SHARED / "data" / "bigcodebench" / "BigCodeBench-full.jsonl.gz"


def preflight(tmp_path, overlay: dict, *files: str, base: list[str] = PAPER) -> subprocess.CompletedProcess:
    (tmp_path / "overlay.yaml").write_text(yaml.safe_dump(overlay))
    return subprocess.run([sys.executable, "-m", "pipeline", "preflight", "--curated", str(tmp_path / "curated"),
                           "--params", *base, *files, str(tmp_path / "overlay.yaml")],
                          capture_output=True, text=True, cwd=REPO, timeout=1200)


def lines(proc: subprocess.CompletedProcess, check: str) -> list[str]:
    return [line for line in proc.stdout.splitlines() if f" {check} " in line]


@pytest.mark.skipif(not BCB_FULL.exists(), reason="../shared/data/bigcodebench is not present (the hub cannot be "
                                                   "reached here)")
@pytest.mark.slow  # BigCodeBench's 139 libraries imported in its environment
def test_configs_paper_yaml_passes_preflight(tmp_path):
    """Everything as configs/paper.yaml has it, but BigCodeBench read from the local copy of its file (no hub
    here) and the pinned downloads going to a fresh folder."""
    if not BCB_ENV.exists():
        if os.environ.get("OMNI_REQUIRE_BIGCODEBENCH_ENV"):
            pytest.fail(f"{BCB_ENV} is missing: `make bigcodebench-env` must run before this test")
        pytest.skip(f"{BCB_ENV} is not built (make bigcodebench-env)")
    attention = {} if importlib.util.find_spec("flash_attn") else {"verl": {"attn_implementation": "sdpa"}}
    proc = preflight(tmp_path, {"benchmarks": {"sources": {"bigcodebench": str(BCB_FULL)},
                                               "download_dir": str(tmp_path / "downloads")},
                                "train": attention})  # this CPU env has no flash-attn: see the attention test
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PROBLEM" not in proc.stdout
    sources = lines(proc, "benchmark_sources")
    assert len(sources) == 10 and any("olympiadbench: hub Hothan/OlympiadBench (split train, configuration "
                                      "OE_TO_maths_en_COMP)" in line for line in sources)
    assert any("mt_bench: 2 pinned files" in line for line in sources)
    (libraries,) = lines(proc, "benchmark_libraries")
    assert "bigcodebench: 139 of 139 libraries import in the sandbox" in libraries and str(BCB_ENV) in libraries
    assert len(lines(proc, "snapshot_candidates")) == 4


def test_preflight_finds_each_problem_that_needed_hand_work(tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    task = json.loads(gzip.open(FIXTURES / "benchmarks" / "bigcodebench" / "BigCodeBench-full.jsonl.gz", "rt")
                      .readline())
    task["libs"] = "['itertools', 'numpy']"
    (tmp_path / "bcb.jsonl").write_text(json.dumps(task) + "\n")
    edited = tmp_path / "downloads" / "mt_bench" / "question.jsonl"
    edited.parent.mkdir(parents=True)
    edited.write_text('{"question_id": 81, "category": "writing", "turns": ["my own question"]}\n')
    keep_50 = {"keep_every": 50, "keep_snapshots": 0, "max_steps": 23}
    overlay = {"benchmarks": {"names": ["olympiadbench", "bigcodebench", "mt_bench", "amc23"],
                              "sources": {"bigcodebench": str(tmp_path / "bcb.jsonl"),
                                          "amc23": "data/benchmarks/amc23"},
                              "download_dir": str(tmp_path / "downloads")},
               "rewards": {"code": {"python": str(bare / "bin" / "python"), "require_isolation": False}},
               "train": {"grpo": keep_50, "overrides": {t: keep_50 for t in ("math", "coding", "qa", "writing")},
                         "verl": {"attn_implementation": "sdpa"}}}
    proc = preflight(tmp_path, overlay)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    problems = [line for line in proc.stdout.splitlines() if line.startswith("PROBLEM")]
    assert any("amc23: data/benchmarks/amc23 not found" in p for p in problems)
    assert any("mt_bench: 2 pinned files" in p and "question.jsonl with another sha256" in p for p in problems)
    assert any("bigcodebench: 1 of 2 libraries import" in p and "missing: numpy" in p and str(bare) in p
               for p in problems)
    snapshots = [p for p in problems if "snapshot_candidates" in p]
    assert len(snapshots) == 4 and all("keep_every: 50 leaves no snapshot before the final step of this 23-step run"
                                       in p for p in snapshots)
    assert proc.stdout.strip().endswith("7 problem(s)")


def test_the_attention_the_rendered_config_loads_with_must_import(tmp_path):
    """verl loads the actor with flash_attention_2 unless the config says otherwise, and transformers refuses to
    load it without flash-attn: found by preflight from the composed config, not at the first GPU job."""
    proc = preflight(tmp_path, {"benchmarks": {"names": []}})
    (line,) = lines(proc, "attention")
    if importlib.util.find_spec("flash_attn") or importlib.util.find_spec("kernels"):
        assert line.startswith("ok") and "flash_attention_2: flash_attn or kernels imports" in line
    else:  # this CPU env
        assert line.startswith("PROBLEM") and "needs flash_attn or kernels" in line and proc.returncode == 1
    proc = preflight(tmp_path, {"benchmarks": {"names": []}, "train": {"verl": {"attn_implementation": "sdpa"}}})
    (line,) = lines(proc, "attention")
    assert line.startswith("ok") and "attn_implementation sdpa" in line
    assert lines(preflight(tmp_path, {}, base=["params.yaml"]), "attention") == []  # the local backend: no verl


def test_the_run_length_comes_from_the_curated_split_when_it_is_there(tmp_path):
    """After curate, the check plans each single-task run as train_single does: the embedded default's math run
    keeps snapshots; a keep_every past its length is refused with train_single's own message."""
    curate = subprocess.run([sys.executable, "-m", "pipeline", "curate", "--task", "math", "--out",
                             str(tmp_path / "curated" / "math")], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert curate.returncode == 0, curate.stderr
    ok = preflight(tmp_path, {}, base=["params.yaml"])
    math, coding = lines(ok, "snapshot_candidates")[:2]
    assert ok.returncode == 0 and math.startswith("ok") and "math: a snapshot every 60 steps of a 240-batch run" in math
    assert "coding: a snapshot every 25 of at most 100 steps" in coding  # not curated here: its max_steps
    refused = preflight(tmp_path, {"train": {"overrides": {"math": {"keep_every": 240}}}}, base=["params.yaml"])
    math = lines(refused, "snapshot_candidates")[0]
    assert refused.returncode == 1 and "train.overrides.math.keep_every: 240 leaves no snapshot" in math


def test_a_hub_dataset_with_several_configurations_needs_one_named(monkeypatch, tmp_path):
    """OlympiadBench's hub copy refuses a load without a configuration (tests/eval/test_benchmarks.py shows it with
    datasets itself); preflight finds an adapter that names none."""
    import dataclasses

    from pipeline.config import load_params
    from pipeline.eval.benchmarks import BENCHMARKS
    from pipeline.workflow.preflight import Context, benchmark_sources

    params = load_params([REPO / "params.yaml", REPO / "configs" / "paper.yaml"])
    assert all(ok for ok, _ in benchmark_sources.run(params, Context(tmp_path)))
    monkeypatch.setitem(BENCHMARKS, "olympiadbench", dataclasses.replace(BENCHMARKS["olympiadbench"], hub_config=None))
    problems = [m for ok, m in benchmark_sources.run(params, Context(tmp_path)) if not ok]
    assert problems == ["olympiadbench: hub Hothan/OlympiadBench has several configurations and the adapter names "
                        "none (the hub refuses the load)"]


def test_a_data_dir_without_the_benchmarks_file_is_a_problem(tmp_path):
    from pipeline.config import load_params
    from pipeline.workflow.preflight import Context, benchmark_sources

    (tmp_path / "aime24").mkdir()
    (tmp_path / "aime24" / "test.jsonl").write_text("")
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(yaml.safe_dump({"benchmarks": {"names": ["aime24", "amc23"], "data_dir": str(tmp_path)}}))
    params = load_params([REPO / "params.yaml", overlay])
    found = benchmark_sources.run(params, Context(tmp_path))
    assert found == [(True, f"aime24: local {tmp_path}"),
                     (False, f"amc23: benchmarks.data_dir {tmp_path} has no amc23/test.jsonl")]
