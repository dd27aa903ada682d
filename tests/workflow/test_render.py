"""dvc.yaml and workflow_rules/stages.smk are generated from the stage table and committed current."""

from __future__ import annotations

import yaml

from pipeline.workflow.render import render_dvc, stale
from pipeline.workflow.stages import STAGES


def test_generated_files_are_current():
    """Fails after a stage-table edit or a new import until `python -m pipeline stages --write` is run."""
    assert stale() == []


def test_dvc_yaml_carries_the_table():
    dvc = yaml.safe_load(render_dvc())
    assert list(dvc["stages"]) == [s.name for s in STAGES]
    curate = dvc["stages"]["curate"]  # per task: foreach over the tasks
    assert curate["foreach"] == "${tasks}" and curate["do"]["cmd"].startswith("python -m pipeline curate --task ${item} ")
    assert "data.tasks.${item}" in curate["do"]["params"]
    single = dvc["stages"]["train_single"]  # per seed and task: a matrix
    assert single["matrix"] == {"seed": "${seeds}", "task": "${tasks}"}
    assert single["cmd"].endswith("--task ${item.task} --base data/models/base --out "
                                  "data/models/single/seed${item.seed}/${item.task} --seed ${item.seed} "
                                  "--params params.yaml")
    assert "train.overrides.${item.task}" in single["params"] and "seed" not in single["params"]
    assert "data/curated/${item.task}/train.parquet" in single["deps"]
    joint = dvc["stages"]["train_joint"]  # per seed: foreach over the seeds
    assert joint["foreach"] == "${seeds}" and joint["do"]["cmd"].endswith("--seed ${item} --params params.yaml")
    assert "data/models/joint/seed${item}/model" in joint["do"]["outs"]
    # A fan-in over every task, or every seed, depends on the folder above it.
    assert "data/curated" in joint["do"]["deps"]
    assert "data/models/single/seed${item}" in dvc["stages"]["merge_ties"]["do"]["deps"]
    assert {"data/eval/transfer", "data/eval/benchmark_transfer"} <= set(dvc["stages"]["order"]["deps"])
    assert "seed{seeds}" in dvc["stages"]["order"]["cmd"] and "seeds" in dvc["stages"]["order"]["params"]
    assert "data/order/curriculum.json" in dvc["stages"]["order"]["outs"]  # cached: pushed and pulled too
    assert [k for s in dvc["stages"].values() for k in s.get("metrics", s.get("do", {}).get("metrics", []))] == \
        ["data/report/metrics.json"]  # DVC's only metrics: what compares experiments
    curves = [p for p in dvc["plots"] if isinstance(p, dict) and "Joint training (accuracy reward, moving average)" in p]
    assert curves[0]["Joint training (accuracy reward, moving average)"]["y"] == {"data/report/curves/joint.csv":
                                                                                 "${tasks}"}  # DVC reads params
