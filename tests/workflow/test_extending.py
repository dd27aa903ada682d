"""docs/extending.md's worked example runs: a fifth task is one generator module, one reward-kind module and one
overlay (``configs/fifth_task.yaml``), and the DAG takes it as it takes the paper's four."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from ..smoke import ENV, REPO
from ..smoke import copy_repo as _copy_repo
from ..smoke import run as _run

pytestmark = pytest.mark.skipif(shutil.which("snakemake", path=ENV["PATH"]) is None,
                                reason="snakemake comes with the [dev] extra")

SMALL = "data: {tasks: {logic: {n: 60, pretrain_n: 100}}}\n"  # the smoke profile's sizes for the new task too
OVERLAY = ["--configfile", "configs/smoke.yaml", "configs/fifth_task.yaml", "small.yaml"]


def test_the_worked_example_is_the_files_the_page_names():
    page = (REPO / "docs" / "extending.md").read_text()
    for path in ("pipeline/data/synthetic/logic.py", "pipeline/rewards/kinds/exact.py", "configs/fifth_task.yaml"):
        assert (REPO / path).is_file() and f"`{path}`" in page, path


@pytest.mark.slow
def test_the_fifth_task_runs_through_the_dag_from_its_overlay(tmp_path):
    """The overlay on the smoke profile: Snakemake's dry run has the new task's job in every per-task stage and
    in every fan-in; then, for real, its data is curated, θ0 is built on five tasks' data, every task's single-task
    run (the new one's 2 GRPO steps) and evaluate_transfer's 6 × 5 table on val and test."""
    root = _copy_repo(tmp_path / "repo", smoke=False)
    (root / "small.yaml").write_text(SMALL)
    dry = _run(["snakemake", "--dry-run", "--cores", "1", *OVERLAY], root).stdout
    per_task = re.findall(r"^rule (curate|train_single):\n(?:\s+\S.*\n)*?\s+wildcards: (?:seed=\d, )?task=(\w+)",
                          dry, re.M)
    assert ("curate", "logic") in per_task and per_task.count(("train_single", "logic")) == 2  # both seeds
    assert len([job for job in per_task if job[0] == "train_single"]) == 10  # 5 tasks × 2 seeds

    _run(["snakemake", "data/eval/transfer/seed0/accuracies.csv", "--cores", "2", *OVERLAY], root, timeout=1500)
    stats = json.loads((root / "data/curated/logic/stats.json").read_text())
    assert stats["source"] == "synthetic_logic" and stats["kept_per_split"]["pretrain"] == 100
    assert min(stats["kept_per_split"][split] for split in ("train", "val", "test")) > 0
    metrics = json.loads((root / "data/models/single/seed0/logic/metrics.json").read_text())
    assert metrics["steps"] == 2 and metrics["schedule"] == ["logic"]
    table = pd.read_csv(root / "data/eval/transfer/seed0/accuracies.csv")
    assert set(table.evaluated_on) == {"math", "coding", "qa", "writing", "logic"}
    assert set(table.trained_on) == {"base", "math", "coding", "qa", "writing", "logic"}
    assert len(table) == 6 * 5 * 2 and table.accuracy.between(0, 1).all()
