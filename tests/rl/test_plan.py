"""Run plans: the schedule every backend trains on, and the local backend's dry run."""

from __future__ import annotations

import subprocess
import sys

import yaml

from pipeline.config import parse_params
from pipeline.data.curate import curate_task, write_task
from pipeline.rl.plan import plan_training

from ..conftest import REPO
from ..conftest import KINDS

RAW = {"rewards": {"tasks": KINDS}, "tasks": ["math", "qa"],
       "data": {"tasks": {"math": {"source": "synthetic_math", "n": 50},
                          "qa": {"source": "synthetic_qa", "n": 50, "facts": 10}}},
       "train": {"grpo": {"batch_size": 4, "max_steps": 3}, "overrides": {"qa": {"batch_size": 2, "lr": 5e-5}}}}


def curated(tmp_path):
    params = parse_params(RAW)
    for task in params.tasks:
        splits, stats = curate_task(params, task)
        write_task(splits, stats, tmp_path / "curated" / task)
    return params, tmp_path / "curated"


def test_every_mode_sees_the_same_prompts_and_segments_keep_their_settings(tmp_path):
    params, root = curated(tmp_path)
    single = plan_training(params, "single", root, task="qa")
    joint = plan_training(params, "joint", root)
    curriculum = plan_training(params, "curriculum", root, order=["qa", "math"])
    assert single.sizes == {"qa": 6} and joint.sizes == curriculum.sizes == {"math": 12, "qa": 6}
    items = lambda plan, task: sorted(i for b in plan.schedule for t, i in b.items if t == task)  # noqa: E731
    assert items(single, "qa") == items(joint, "qa") == items(curriculum, "qa") == list(range(6))
    assert [name for name, _ in curriculum.segments()] == ["qa", "math"]
    assert [len(b) for _, b in curriculum.segments()] == [3, 3]  # qa: 6 prompts / 2; math: 12 / 4
    assert curriculum.segment_params["qa"].lr == 5e-5 and curriculum.segment_params["math"].lr == 1e-4
    assert single.grpo.batch_size == 2 and joint.grpo.batch_size == 4
    assert [name for name, _ in joint.segments()] == ["joint"]


def test_local_dry_run_prints_the_plan_and_writes_nothing(tmp_path):
    _, root = curated(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(RAW))
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "pipeline", "train", "--mode", "curriculum", "--order", "qa,math",
                           "--base", str(tmp_path / "no-model-needed"), "--curated", str(root), "--out", str(out),
                           "--params", str(tmp_path / "params.yaml"), "--dry-run"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "curriculum run: 6 steps" in proc.stdout
    assert "segment 1 qa: 3 batches; batch_size=2" in proc.stdout and "lr=5e-05" in proc.stdout
    assert "segment 2 math: 3 batches; batch_size=4" in proc.stdout
    assert not out.exists()


def test_a_single_run_gets_its_snapshot_interval_from_its_length(tmp_path):
    import pytest

    from pipeline.errors import UserError

    params, root = curated(tmp_path)  # qa: 6 prompts / batch 2 = 3 steps
    raw = {**RAW, "train": {**RAW["train"], "grpo": {**RAW["train"]["grpo"], "keep_snapshots": 2}}}
    assert plan_training(parse_params(raw), "single", root, task="qa").grpo.keep_every == 1  # 3 // 3
    raw["train"] = {**raw["train"], "overrides": {"qa": {"batch_size": 2, "keep_every": 3}}}
    with pytest.raises(UserError, match=r"train.overrides.qa.keep_every: 3 leaves no snapshot .* 3-step run"):
        plan_training(parse_params(raw), "single", root, task="qa")
    assert plan_training(parse_params(raw), "joint", root).grpo.keep_every == 0  # only single runs keep snapshots
