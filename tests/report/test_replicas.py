"""Averaging training replicas (params `seeds`): each formula on a hand-computed case."""

import numpy as np
import pandas as pd
import pytest

from pipeline.commands.args import expand_seeds
from pipeline.report.replicas import mean_and_sd, mean_of_errors, mean_tree, mean_validation, pooled, sd
from pipeline.report.tables import markdown


def test_mean_and_sd_cell_by_cell_aligned_on_the_first_replica():
    a = pd.DataFrame({"CL": [0.5, 0.7], "JT": [0.4, 0.6]}, index=["math", "qa"])
    b = pd.DataFrame({"JT": [0.8, 0.4], "CL": [0.7, 0.9]}, index=["qa", "math"])  # other order: aligned by label
    mean, spread = mean_and_sd([a, b])
    assert mean.loc["math", "CL"] == pytest.approx(0.7) and mean.loc["qa", "JT"] == pytest.approx(0.7)
    assert spread.loc["math", "CL"] == pytest.approx(np.sqrt(0.08))  # |0.5 − 0.9| / √2
    assert spread.loc["qa", "JT"] == pytest.approx(np.sqrt(0.02))
    one_mean, one_sd = mean_and_sd([a])
    pd.testing.assert_frame_equal(one_mean, a)
    assert one_sd.isna().all().all()
    assert sd([1.0]) != sd([1.0])  # NaN with one replica
    assert sd([1.0, 3.0]) == pytest.approx(np.sqrt(2))


def test_mean_of_errors_and_pooling():
    assert mean_of_errors([0.3, 0.4]) == pytest.approx(0.25)  # √(0.09 + 0.16) / 2
    pool = pooled([{("CL", "qa"): np.array([1.0, 0.0]), ("JT", "qa"): np.array([1.0, 1.0])},
                   {("CL", "qa"): np.array([0.5, 0.5])}])
    assert list(pool) == [("CL", "qa")]  # only keys every replica has
    np.testing.assert_array_equal(pool["CL", "qa"], [1.0, 0.0, 0.5, 0.5])


def test_mean_validation_averages_each_order_and_ranks_on_the_means():
    def replica(pred_best, act_best, act_worst):
        return {"split": "test", "orders": {
            "best": {"order": ["a", "b"], "predicted": {"delta_rel": pred_best, "score": pred_best},
                     "actual": {"delta_rel": act_best, "score": act_best}},
            "worst": {"order": ["b", "a"], "predicted": {"delta_rel": 0.1, "score": 0.1},
                      "actual": {"delta_rel": act_worst, "score": act_worst}}}}

    merged = mean_validation([replica(0.3, 0.2, 0.25), replica(0.2, 0.4, 0.25)])
    assert merged["orders"]["best"]["predicted"]["delta_rel"] == pytest.approx(0.25)
    assert merged["orders"]["best"]["actual"]["delta_rel"] == pytest.approx(0.3)
    assert merged["orders"]["best"]["actual_sd"] == pytest.approx(np.sqrt(0.02))
    # 0.3 > 0.25 on the means, but the lead (0.05) is within the best order's across-seed SE (√0.02 / √2 = 0.1):
    # no verdict, with the reason.
    assert merged["best_predicted_is_best_actual"] is None and merged["replicas"] == 2
    assert "within its standard error 0.100" in merged["best_undetermined"]
    clear = mean_validation([replica(0.3, 0.40, 0.25), replica(0.2, 0.42, 0.25)])  # lead 0.16, SE 0.01
    assert clear["best_predicted_is_best_actual"] is True and "best_undetermined" not in clear
    tied = mean_validation([replica(0.3, 0.0, 0.0), replica(0.2, 0.0, 0.0)])  # every order measured 0
    assert tied["best_predicted_is_best_actual"] is None and tied["best_undetermined"].startswith("2 orders tie")
    other = replica(0.3, 0.2, 0.25)
    other["orders"]["worst"]["order"] = ["a", "b"]
    with pytest.raises(ValueError, match="different orders"):
        mean_validation([replica(0.3, 0.2, 0.25), other])


def test_markdown_shows_the_sd_beside_each_mean():
    mean = pd.DataFrame({"CL": [0.5, np.nan]}, index=pd.Index(["math", "qa"], name="task"))
    spread = pd.DataFrame({"CL": [0.0123, np.nan]}, index=mean.index)
    assert markdown(mean, sd=spread).splitlines()[2:] == ["| math | 0.500 ± 0.012 |", "| qa | – |"]
    assert markdown(mean).splitlines()[2] == "| math | 0.500 |"


def test_expand_seeds_gives_one_path_per_replica():
    assert expand_seeds(["a/seed{seeds}/x.csv", "b.csv"], [0, 2]) == ["a/seed0/x.csv", "a/seed2/x.csv", "b.csv"]


def test_figure1_draws_the_across_seed_sd_as_error_bars(tmp_path):
    from pipeline.report.figures import save_bar_chart

    table = pd.DataFrame({"JT": [0.5, 0.6], "CL": [0.6, 0.7]}, index=["math", "Average"])
    spread = pd.DataFrame({"JT": [0.05, 0.02], "CL": [0.1, np.nan]}, index=["math", "Average"])
    save_bar_chart(table, tmp_path / "plain.png", "t")
    save_bar_chart(table, tmp_path / "bars.png", "t", errors=spread)
    assert (tmp_path / "bars.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "bars.png").read_bytes() != (tmp_path / "plain.png").read_bytes()


def test_mean_validation_averages_the_predictors_and_their_errors():
    def replica(mae, scale, pairwise_delta):
        return {"split": "test", "orders": {"best": {
            "order": ["a", "b"], "predicted": {"delta_rel": 0.1, "score": 0.1}, "actual": {"delta_rel": 0.2, "score": 0.2},
            "predictors": {"pairwise": {"delta_rel": pairwise_delta, "score": 1.0}}}},
            "errors": {"val": {"pairwise": {"task_mae": mae, "spearman": 1.0}, "fitted_scales": [scale, 1.0]}}}

    merged = mean_validation([replica(0.02, 0.5, 0.3), replica(0.04, 1.5, 0.1)])
    assert merged["errors"]["val"]["pairwise"] == pytest.approx({"task_mae": 0.03, "spearman": 1.0})
    assert merged["errors"]["val"]["fitted_scales"] == pytest.approx([1.0, 1.0])
    assert merged["orders"]["best"]["predictors"]["pairwise"]["delta_rel"] == pytest.approx(0.2)


def test_mean_tree_averages_numbers_keeps_names_and_names_where_replicas_differ():
    a = {"order": ["a", "b"], "model": "seed0/model", "splits": {"val": {"actual": {"delta_rel": 0.1}}},
         "scales": [0.5, 1.0], "ok": True}
    b = {"order": ["a", "b"], "model": "seed1/model", "splits": {"val": {"actual": {"delta_rel": 0.3}}},
         "scales": [1.5, 2.0], "ok": False}
    assert mean_tree([a, b]) == {"order": ["a", "b"], "model": "seed0/model",
                                 "splits": {"val": {"actual": {"delta_rel": pytest.approx(0.2)}}},
                                 "scales": [1.0, 1.5], "ok": True}
    b["splits"]["test"] = {}
    with pytest.raises(ValueError, match=r"differ at splits$"):
        mean_tree([a, b])


def test_headline_gain_pools_the_replicas_and_reports_their_spread(tmp_path):
    from pipeline.commands.report import _headline
    from pipeline.eval.reuse import RESULTS, encode_result

    def replica(folder, curriculum, joint):
        folder.mkdir()
        (folder / RESULTS).write_text(
            "".join(encode_result("k", name, "math", "test", {"per_prompt": np.array(values)})
                    for name, values in (("curriculum", curriculum), ("joint", joint))))
        return folder

    one = replica(tmp_path / "seed0", [1.0, 1.0], [1.0, 0.0])  # gain 1/0.5 − 1 = 1
    two = replica(tmp_path / "seed1", [1.0, 0.0], [1.0, 0.0])  # gain 0
    got = _headline([one, two], ["math"])
    assert list(got) == ["CL vs JT"]  # no merged model was evaluated: that claim is left out
    assert got["CL vs JT"]["gain"] == pytest.approx(0.75 / 0.5 - 1)  # pooled prompts: 3/4 against 2/4
    assert got["CL vs JT"]["sd"] == pytest.approx(np.sqrt(0.5))  # SD of the replicas' gains 1 and 0
    zero = replica(tmp_path / "seed2", [1.0, 0.0], [0.0, 0.0])  # a reference at 0: no gain in that replica
    assert _headline([one, zero], ["math"])["CL vs JT"]["sd"] is None
