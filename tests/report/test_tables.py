"""The report's tables on hand-computed cases, and validate-predictions' order resolution."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.errors import UserError
from pipeline.report.tables import format_number, markdown, table1, table3, table4


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
    val = pd.DataFrame({"order": ["b>a", "a>b"], "score": [-2, -1], "delta_rel": [0, 1]})
    test = pd.DataFrame({"order": ["b>a", "a>b"], "score": [-1, -2], "delta_rel": [0.5, 0.25]})
    t4 = table4({"val": val, "test": test}, validation)
    assert list(t4.index) == [1, 2] and list(t4["val: rank"]) == [1, 2] and list(t4["test: rank"]) == [1, 2]
    assert list(t4["val: order"]) == ["a → b", "b → a"] and list(t4["test: order"]) == ["b → a", "a → b"]
    assert list(t4["val: rank on test"]) == [2, 1] and list(t4["test: rank on val"]) == [2, 1]
    assert t4.loc[1, "val: Δrel actual"] == 0.1 and t4.loc[1, "test: Δrel actual"] == 0.05
    assert t4["val: Δrel pred"].dtype == float
    text = markdown(t4)
    assert text.splitlines()[0] == ("| row | val: rank | val: order | val: Δrel pred | val: rank on test | "
                                    "val: Δrel actual | test: rank | test: order | test: Δrel pred | "
                                    "test: rank on val | test: Δrel actual |")
    assert "| 2 | 2 | b → a | 0.000 | 1 | 0.050 | 2 | a → b | 0.250 | 1 | 0.100 |" in text
    tied = table4({"val": val.assign(delta_rel=0.0), "test": test}, validation)  # val: both orders tie
    assert list(tied["val: rank"]) == [1, 1] and list(tied["test: rank on val"]) == [1, 1]


def test_two_rankings_compared_on_a_hand_computed_case():
    """Ranks (1, 2, 3, 4) against (2, 1, 3, 4): d = (−1, 1, 0, 0), ρ = 1 − 6·2 / (4·15) = 0.8; one of six pairs
    (the first two) flips; each one's best is second in the other."""
    from pipeline.analysis.curricula import compare_rankings, ranks_by_delta_rel

    first = pd.Series([1, 2, 3, 4], index=["w", "x", "y", "z"])
    second = pd.Series([4, 3, 1, 2], index=["z", "y", "x", "w"])  # another index order: matched by name
    c = compare_rankings(first, second)
    assert c.spearman == pytest.approx(0.8) and (c.discordant_pairs, c.pairs) == (1, 6)
    assert (c.best_first, c.best_first_rank_second, c.best_second, c.best_second_rank_first) == ("w", 2, "x", 2)
    reversed_ = compare_rankings(first, pd.Series([4, 3, 2, 1], index=["w", "x", "y", "z"]))
    assert reversed_.spearman == pytest.approx(-1.0) and reversed_.discordant_pairs == 6
    ranks = ranks_by_delta_rel(pd.DataFrame({"order": ["p", "q", "r"], "score": [0, 1, 0], "delta_rel": [1, 1, 2]}))
    assert list(ranks.index) == ["r", "q", "p"] and list(ranks) == [1, 2, 2]  # rows: Δrel, S, name; ties share
    # Every order tied (a run with no signal): ρ is undefined, no pair is discordant, no order is "the best".
    flat = pd.Series([1, 1, 1], index=["p", "q", "r"])
    t = compare_rankings(flat, pd.Series([1, 2, 3], index=["p", "q", "r"]))
    assert t.spearman is None and "every order tied" in t.spearman_undefined
    assert (t.discordant_pairs, t.tied_pairs, t.best_first_ties, t.best_second_ties) == (0, 3, 3, 1)
    from pipeline.report.tables import ranking_agreement_text
    text = ranking_agreement_text(t)
    assert "Spearman ρ undefined" in text and "3 orders tie for val's best" in text and "test's best (p)" in text


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
    err = capsys.readouterr().err.strip()  # the smoke profile's two seeds need one folder each
    assert len(err.splitlines()) == 1 and "2 seeds in params, so the folder needs {seeds}" in err
    assert main(["report", "--transfer", str(tmp_path / "transfer" / "seed{seeds}"), "--out", str(out),
                 "--params", *params]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "seed0/accuracies.csv: file not found" in err
    assert not out.exists()  # nothing half-written


def test_table2_puts_each_run_beside_its_temperature_1_model_with_mean_entropy():
    from pipeline.report.tables import table2

    def rows(models, values):
        return pd.DataFrame([{"trained_on": m, "evaluated_on": t, "split": "test", "accuracy_greedy": v, "entropy": v / 10}
                             for m, per_task in zip(models, values) for t, v in zip(["a", "b"], per_task)])

    transfer = rows(["a", "b"], [[0.6, 0.2], [0.3, 0.8]])
    ablation = rows(["a@1.2", "b@0.1"], [[0.4, 0.2], [0.3, 0.9]])
    t2 = table2(transfer, transfer, ablation, ablation, {"a": 1.2, "b": 0.1}, ["a", "b"])
    assert list(t2.columns) == ["a T=1", "a T=1.2", "b T=1", "b T=0.1"]
    assert list(t2.index) == ["a", "b", "entropy (Eq. 11)"]
    assert t2.loc["a", "a T=1"] == 0.6 and t2.loc["a", "a T=1.2"] == 0.4 and t2.loc["b", "b T=0.1"] == 0.9
    assert t2.loc["entropy (Eq. 11)", "a T=1.2"] == pytest.approx((0.04 + 0.02) / 2)  # mean over the tasks


def test_temperature_verdicts_follow_section_5_3_with_a_paired_error():
    """Hot QA: −0.25 on its own prompts (d = (0, −1, 0, 0): s² = 0.75/3, SE = 0.5/2 = 0.25): the difference is
    not larger than its SE, so no verdict; cold writing: +0.5 (d = (1, 0, 1, 0)), SE 0.2887: holds, not beyond 2 SE;
    a run that moves the wrong way (−1 on every prompt, SE 0) does not hold; one that moves nothing has none."""
    from pipeline.report.tables import temperature_verdicts

    before = {"qa": np.array([1, 1, 0, 0.]), "writing": np.array([0, 1, 0, 1.]), "math": np.array([1, 1, 1, 1.]),
              "code": np.zeros(4)}
    after = {"qa": np.array([1, 0, 0, 0.]), "writing": np.array([1, 1, 1, 1.]), "math": np.array([0, 0, 0, 0.]),
             "code": np.zeros(4)}
    v = temperature_verdicts({"qa": 1.2, "writing": 0.1, "math": 0.5, "code": 1.5}, before, after)
    assert v["qa@1.2"]["predicted"] == "falls" and v["qa@1.2"]["difference"] == pytest.approx(-0.25)
    assert v["qa@1.2"]["se"] == pytest.approx(0.25) and v["qa@1.2"]["holds"] is None
    assert "within its standard error" in v["qa@1.2"]["reason"] and not v["qa@1.2"]["beyond_noise"]
    assert v["code@1.5"]["holds"] is None and v["code@1.5"]["reason"].startswith("no difference")
    assert v["writing@0.1"]["predicted"] == "gains" and v["writing@0.1"]["difference"] == pytest.approx(0.5)
    assert v["writing@0.1"]["holds"] and v["writing@0.1"]["se"] == pytest.approx(np.sqrt(1 / 3) / 2)
    assert v["math@0.5"]["difference"] == -1.0 and v["math@0.5"]["holds"] is False
    assert not v["math@0.5"]["beyond_noise"]


def test_figure3_puts_each_evaluation_in_a_row_and_each_trained_format_beside_its_error():
    from pipeline.report.tables import figure3

    rows = [("full_text", "full_text", "qa test", 0.5, 0.05), ("letter", "full_text", "qa test", 0.4, 0.04),
            ("full_text", "letter", "qa test", 0.3, 0.03), ("letter", "letter", "qa test", 0.35, 0.02),
            ("full_text", "full_text", "mmlu_pro", 0.51, 0.01), ("letter", "letter", "mmlu_pro", 0.45, 0.01)]
    frame = pd.DataFrame(rows, columns=["trained_format", "evaluated_format", "data", "accuracy", "accuracy_se"])
    f3 = figure3(frame)
    assert list(f3.columns) == ["trained on full text", "SE (full text)", "trained on letter", "SE (letter)"]
    assert list(f3.index) == ["qa test, full text prompts", "qa test, letter prompts", "mmlu_pro, full text prompts",
                              "mmlu_pro, letter prompts"]
    assert f3.loc["qa test, letter prompts"].tolist() == [0.3, 0.03, 0.35, 0.02]
    assert np.isnan(f3.loc["mmlu_pro, full text prompts", "trained on letter"])  # not evaluated: no number


def test_resolve_orders_all_and_a_seeded_sample(tmp_path):
    from pipeline.commands.validate import resolve_orders

    tasks = ["a", "b", "c"]
    every = resolve_orders(["all"], ["b", "a", "c"], tmp_path / "unused.csv", tasks)
    assert list(every) == ["best", "a>b>c", "a>c>b", "b>c>a", "c>a>b", "c>b>a"]  # 3! = 6, the best once
    drawn = resolve_orders(["a>b>c"], ["b", "a", "c"], tmp_path / "unused.csv", tasks, sample=2, seed=0)
    assert len(drawn) == 4 and list(drawn)[:2] == ["best", "a>b>c"]
    assert drawn == resolve_orders(["a>b>c"], ["b", "a", "c"], tmp_path / "unused.csv", tasks, sample=2, seed=0)
    assert set(drawn) - {"best", "a>b>c"} <= {"a>c>b", "b>c>a", "c>a>b", "c>b>a"}  # from the orders not listed
    others = {tuple(resolve_orders([], ["b", "a", "c"], tmp_path / "u.csv", tasks, sample=2, seed=s))
              for s in range(6)}
    assert len(others) > 1  # the seed decides the sample
    with pytest.raises(UserError, match="validate.sample: 5 more orders asked, 4 left of the 6"):
        resolve_orders(["a>b>c"], ["b", "a", "c"], tmp_path / "u.csv", tasks, sample=5)


def test_table3_and_table4_with_the_pairwise_predictor():
    from pipeline.report.tables import predictor_errors

    rows = [("best", "a", s, p, q, m) for s, p, q, m in (("val", 0.9, 0.9, 0.9), ("test", 0.6, 0.58, 0.55))]
    rows += [("best", "b", s, p, q, m) for s, p, q, m in (("val", 0.9, 0.9, 0.9), ("test", 0.5, 0.47, 0.45))]
    rows += [("b>a", t, "test", 0.5, 0.5, 0.5) for t in ("a", "b")]  # an order of 'all': labelled by itself
    predictions = pd.DataFrame(rows, columns=["label", "task", "split", "predicted", "predicted_pairwise", "actual"])
    scores = {"algorithm1": {"delta_rel": 0.2}, "pairwise": {"delta_rel": 0.15}}
    validation = {"split": "test", "orders": {"best": {"order": ["a", "b"], "predicted": {"delta_rel": 0.2},
                                                       "actual": {"delta_rel": 0.1}, "predictors": scores},
                                              "b>a": {"order": ["b", "a"], "predicted": {"delta_rel": 0.0},
                                                      "actual": {"delta_rel": 0.0}, "predictors": scores}},
                  "errors": {s: {"algorithm1": {"task_mae": 0.04, "delta_rel_mae": 0.1, "spearman": 0.5},
                                 "pairwise": {"task_mae": 0.02, "delta_rel_mae": 0.05, "spearman": 1.0},
                                 "fitted_scales": [0.5, 1.0]} for s in ("val", "test")}}
    t3 = table3(predictions, validation)  # the split of validation.json only
    assert list(t3.columns) == ["a pred", "a pairwise", "a actual", "b pred", "b pairwise", "b actual",
                                "Δrel pred", "Δrel pairwise", "Δrel actual"]
    assert t3.iloc[0].tolist() == [0.6, 0.58, 0.55, 0.5, 0.47, 0.45, 0.2, 0.15, 0.1]
    assert list(t3.index) == ["a → b (best)", "b → a"]
    errors = predictor_errors(validation)
    assert list(errors.index) == ["algorithm1", "pairwise"]
    assert errors.loc["pairwise", "test: task MAE"] == 0.02 and errors.loc["algorithm1", "val: Spearman"] == 0.5
    assert predictor_errors({"orders": {}}) is None
    val = pd.DataFrame({"order": ["b>a", "a>b"], "score": [-2, -1], "delta_rel": [0, 1],
                        "pairwise_delta_rel": [0.3, 0.2]})
    t4 = table4({"val": val}, validation)
    assert list(t4["val: order"]) == ["a → b", "b → a"]  # Algorithm 1's ranking
    assert list(t4["val: Δrel pairwise"]) == [0.2, 0.3] and list(t4["val: pairwise rank"]) == [2, 1]


def test_a_value_that_rounds_to_zero_is_never_printed_negative():
    """The entropy table printed "-0.0%" for a change of -0.0001 % (issue 38): it reads as a loss."""
    assert format_number("{:+.1%}", -1e-6) == "+0.0%" and format_number("{:+.1%}", -0.0) == "+0.0%"
    assert format_number("{:.3f}", -0.0004) == "0.000" and format_number("{:+.1%}", -0.002) == "-0.2%"
    assert format_number("{:+.1%}", 0.3) == "+30.0%"
    table = markdown(pd.DataFrame({"math": [-1e-7, -0.05]}, index=["a", "b"]), fmt="{:+.1%}")
    assert "| a | +0.0% |" in table and "| b | -5.0% |" in table
