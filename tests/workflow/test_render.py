"""dvc.yaml and workflow_rules/stages.smk are generated from the stage table and committed current."""

from __future__ import annotations

import yaml

from pipeline.config import load_params
from pipeline.workflow.deps import ROOT
from pipeline.workflow.render import render_dvc, stale
from pipeline.workflow.stages import STAGES


def test_generated_files_are_current():
    """Fails after a stage-table edit or a new import until `python -m pipeline stages --write` is run."""
    assert stale(list(load_params(ROOT / "params.yaml").tasks)) == []


def test_dvc_yaml_carries_the_table():
    dvc = yaml.safe_load(render_dvc(["math", "qa"]))
    assert list(dvc["stages"]) == [s.name for s in STAGES]
    single = dvc["stages"]["train_single"]
    assert single["foreach"] == "${tasks}"
    assert single["do"]["cmd"].endswith("--task ${item} --base data/models/base --out data/models/single/${item} "
                                        "--params params.yaml")
    assert "train.overrides.${item}" in single["do"]["params"]
    assert "data/curated/${item}/train.parquet" in single["do"]["deps"]
    # A fan-in over every task depends on the folder above it.
    assert "data/curated" in dvc["stages"]["train_joint"]["deps"]
    assert "data/order/curriculum.json" in dvc["stages"]["order"]["metrics"]  # cached: pushed and pulled too
    curves = [p for p in dvc["plots"] if isinstance(p, dict) and "Joint training (accuracy reward, moving average)" in p]
    assert curves[0]["Joint training (accuracy reward, moving average)"]["y"] == {"data/report/curves/joint.csv":
                                                                                 ["math", "qa"]}
