"""The `report` stage on a small fixture of its inputs (tests/fixtures/report: stage outputs of a smoke run, two
seeds): every table, section and figure, in the fast tier (the DAG test checks it again end to end)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipeline.cli import main

from ..conftest import FIXTURES, REPO

INPUTS = FIXTURES / "report"
ALL = "seed{seeds}"


def run_report(out) -> int:
    folders = {"transfer": "eval/transfer", "final": "eval/final", "validate": "validate", "pairs": "pairs",
               "benchmarks": "eval/benchmarks", "benchmark-transfer": "eval/benchmark_transfer",
               "singles": "models/single", "joint": "models/joint", "curriculum": "models/curriculum",
               "temperature": "ablation/temperature", "answer-format": "ablation/answer_format"}
    args = [a for flag, folder in folders.items() for a in (f"--{flag}", str(INPUTS / folder / ALL))]
    return main(["report", *args, "--order-dir", str(INPUTS / "order"), "--out", str(out),
                 "--params", str(REPO / "params.yaml"), str(REPO / "configs" / "smoke.yaml")])


def test_report_writes_every_table_section_and_figure(tmp_path):
    out = tmp_path / "report"
    assert run_report(out) == 0
    summary = (out / "summary.md").read_text()
    for heading in ("Table 1", "Table 2", "Figure 3", "BWT (val)", "BWT (test)", "Table 3", "The headline claims",
                    "Table 4"):
        assert f"## {heading}" in summary, heading
    assert "Replicas: 2 training seeds" in summary
    assert "## The curriculum predictors on the 3 trained orders" in summary
    metrics = json.loads((out / "details.json").read_text())
    # What DVC tracks (metrics.json): a comparison's dozen columns, the rest in details.json.
    tracked = json.loads((out / "metrics.json").read_text())
    assert set(tracked) == {"no_signal", "curriculum", "average", "headline"}
    assert tracked["curriculum"] == "writing>qa>coding>math" and tracked["average"] == metrics["average"]
    assert set(tracked["headline"]) == {"CL vs JT", "CL vs MM"}
    assert metrics["seeds"] == [0, 1] and set(metrics["headline"]) == {"CL vs JT", "CL vs MM"}
    assert all(h["gain"] is None or h["se"] >= 0 for h in metrics["headline"].values())
    # The fixture is the smoke DAG's: every accuracy 0. The summary says so first, and draws no verdict from it.
    assert metrics["no_signal"] == "every test accuracy is 0"
    assert summary.splitlines()[2].startswith("**No learning signal: every test accuracy is 0.**")
    assert metrics["table4"]["spearman_val_test"] is None and metrics["table4"]["best_val"] is None
    assert "Spearman ρ undefined (every order tied in one of the rankings)" in summary
    assert "(one of 24 orders that tie on the predicted score S" in summary
    assert "is also the best measured one: **undetermined (3 orders tie for the best prediction)**" in summary
    assert all(v["holds"] is None for v in metrics["table2"].values()) and "does not hold" not in summary
    assert len(metrics["figure3"]) == 4 and set(metrics["predictors"]) == {"val", "test"}
    assert set(metrics["test_accuracy_sd"]) == {"Base", "ST×K", "SFT", "MM", "JT", "CL"}
    table1 = pd.read_csv(out / "table1.csv", index_col=0)
    assert list(table1.columns) == ["Base", "ST×K", "SFT", "MM", "JT", "CL"] and not table1.isna().any().any()
    assert list(table1.index) == ["math", "coding", "qa", "writing", "Average", "Δrel"]
    # Table 1's Base and ST×K columns are the replicas' mean of evaluate_transfer's test accuracies.
    transfer = pd.concat(pd.read_csv(INPUTS / f"eval/transfer/seed{s}/accuracies.csv") for s in (0, 1))
    test = transfer[transfer.split == "test"]
    base = test[test.trained_on == "base"].groupby("evaluated_on").accuracy.mean()
    assert table1.loc["math", "Base"] == pytest.approx(base["math"], abs=5e-4)
    bench = pd.read_csv(out / "table1_benchmarks.csv", index_col=[0, 1])
    assert ("qa", "mmlu_pro") in bench.index and ("coding", "livecodebench") in bench.index
    for png in ("figure1", "figure3", "bwt_val", "bwt_test", "entropy_change", "training_curves"):
        assert (out / f"{png}.png").read_bytes()[:4] == b"\x89PNG", png
    assert {p.name for p in (out / "curves").iterdir()} >= {"curriculum.csv", "joint.csv"}


def test_report_is_the_same_twice(tmp_path):
    """Same inputs, same params: byte-identical tables (the figures' metadata aside)."""
    assert run_report(tmp_path / "a") == 0 and run_report(tmp_path / "b") == 0
    for name in ("summary.md", "table1.csv", "table2.csv", "figure3.csv", "metrics.json", "details.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
