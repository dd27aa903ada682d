"""The report's tables on hand-computed cases, and validate-predictions' order resolution."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from pipeline.errors import UserError
from pipeline.report.tables import markdown, table1, table3, table4


def _acc(rows):
    return pd.DataFrame(rows, columns=["trained_on", "evaluated_on", "split", "accuracy"])


TRANSFER = _acc([("base", "a", "test", 0.5), ("base", "b", "test", 0.25),
                 ("a", "a", "test", 0.6), ("a", "b", "test", 0.2), ("b", "a", "test", 0.4), ("b", "b", "test", 0.5),
                 ("base", "a", "val", 0.9), ("a", "a", "val", 0.9)])
FINAL = _acc([("base", "a", "test", 0.5), ("base", "b", "test", 0.25), ("joint", "a", "test", 0.55),
              ("joint", "b", "test", 0.5), ("curriculum", "a", "test", 0.0), ("curriculum", "b", "test", 1.0)])


def test_table1_takes_each_tasks_own_specialist_and_computes_delta_rel():
    t = table1(FINAL, TRANSFER, ["a", "b"], floor=0.01)
    assert list(t.columns) == ["Base", "ST×K", "JT", "CL"]  # models without results are left out
    assert list(t.index) == ["a", "b", "Average", "Δrel"]
    assert t.loc["a", "ST×K"] == 0.6 and t.loc["b", "ST×K"] == 0.5  # the diagonal of the transfer table
    assert t.loc["Average", "JT"] == pytest.approx(0.525)
    # Δrel (Eq. 14): mean of log(acc / base); CL's 0 is floored at 0.01.
    assert t.loc["Δrel", "JT"] == pytest.approx((math.log(0.55 / 0.5) + math.log(0.5 / 0.25)) / 2)
    assert t.loc["Δrel", "CL"] == pytest.approx((math.log(0.01 / 0.5) + math.log(1.0 / 0.25)) / 2)
    assert t.loc["Δrel", "Base"] == 0


def test_table3_and_table4():
    predictions = pd.DataFrame({"label": ["best", "best", "worst", "worst"], "task": ["a", "b", "a", "b"],
                                "predicted": [0.6, 0.5, 0.4, 0.3], "actual": [0.55, 0.45, 0.5, 0.2]})
    validation = {"orders": {
        "best": {"order": ["a", "b"], "predicted": {"delta_rel": 0.2}, "actual": {"delta_rel": 0.1}},
        "worst": {"order": ["b", "a"], "predicted": {"delta_rel": -0.1}, "actual": {"delta_rel": 0.05}}}}
    t3 = table3(predictions, validation)
    assert list(t3.index) == ["a → b (best)", "b → a (worst)"]
    assert t3.loc["b → a (worst)", "a actual"] == 0.5 and t3.loc["a → b (best)", "Δrel pred"] == 0.2
    curricula = pd.DataFrame({"order": ["b>a", "a>b"], "score": [-2, -1], "delta_rel": [0, 1]})
    t4 = table4(curricula, validation)
    assert list(t4["order"]) == ["a → b", "b → a"] and list(t4.index) == [1, 2]
    assert t4.loc[1, "Δrel actual"] == 0.1 and t4["Δrel pred"].dtype == float
    text = markdown(t4)
    assert text.splitlines()[0] == "| rank | order | S (Eq. 10) | Δrel pred | Δrel actual |"
    assert "| 2 | b → a | -2.000 | 0.000 | 0.050 |" in text


def test_resolve_orders(tmp_path):
    from pipeline.commands.validate import resolve_orders

    csv = tmp_path / "curricula.csv"
    pd.DataFrame({"order": ["a>b>c", "c>b>a", "b>a>c"], "rank": [1, 3, 2]}).to_csv(csv, index=False)
    got = resolve_orders(["worst", "best", "b>c>a", "a>b>c"], ["a", "b", "c"], csv, ["a", "b", "c"])
    assert got == {"best": ["a", "b", "c"], "worst": ["c", "b", "a"], "b>c>a": ["b", "c", "a"]}
    with pytest.raises(UserError, match="does not list each"):
        resolve_orders(["a>b"], ["a", "b", "c"], csv, ["a", "b", "c"])
    with pytest.raises(UserError, match="K ≤ 8"):
        resolve_orders(["worst"], ["a", "b", "c"], tmp_path / "missing.csv", ["a", "b", "c"])


def test_validate_and_report_refuse_missing_inputs_with_one_line(tmp_path, capsys):
    from pipeline.cli import main

    root = Path(__file__).resolve().parents[2]
    params = [str(root / "params.yaml"), str(root / "configs" / "smoke.yaml")]
    out = tmp_path / "out"
    assert main(["validate-predictions", "--order-dir", str(tmp_path / "order"), "--out", str(out),
                 "--params", *params]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "curriculum.json" in err
    assert main(["report", "--transfer", str(tmp_path / "transfer"), "--out", str(out), "--params", *params]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "accuracies.csv" in err
    assert not out.exists()  # nothing half-written
