"""The `order` command's contract: outputs, columns, and bad input (exit 2, no partial output)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.cli import COMMANDS, build_parser, main

from ..conftest import REPO, write_accuracy_csv

TASKS = ["math", "coding", "qa", "writing"]


def run_order(*args):
    return main(["order", *map(str, args)])


def test_table1_example_end_to_end(tmp_path, repo, capsys):
    out = tmp_path / "order"
    assert run_order("--accuracies", repo / "examples/table1_accuracies.csv", "--out", out, "--floor", "1e-3") == 0
    assert {p.name for p in out.iterdir()} == {"bwt.csv", "curricula.csv", "curriculum.json", "bwt.png"}

    bwt = pd.read_csv(out / "bwt.csv", index_col=0)
    assert bwt.index.name == "evaluated_on" and list(bwt.index) == TASKS and list(bwt.columns) == TASKS
    assert bwt.loc["qa", "math"] == pytest.approx(np.log(0.379 / 0.415))  # trained on math, evaluated on qa

    cur = pd.read_csv(out / "curricula.csv")
    assert len(cur) == 24
    assert list(cur.columns[:1]) == ["order"] and {f"pred_{t}" for t in TASKS} <= set(cur.columns)
    assert {"delta_rel", "rank", "score"} <= set(cur.columns)
    assert list(cur["rank"]) == list(range(1, 25))
    assert cur["order"].iloc[0] == "coding>math>qa>writing"
    assert cur["order"].iloc[-1] == "writing>qa>math>coding"
    assert cur["delta_rel"].is_monotonic_decreasing  # uniform weights: S and Δrel rank alike
    # Top order's predictions from Algorithm 1, by hand: writing is last, so it keeps its ST accuracy.
    assert cur["pred_writing"].iloc[0] == pytest.approx(0.783)
    # coding first: 0.361 * exp(BWT_c,m + BWT_c,q + BWT_c,w) = 0.361 * (.299*.305*.301)/.296^3
    assert cur["pred_coding"].iloc[0] == pytest.approx(0.361 * 0.299 * 0.305 * 0.301 / 0.296 ** 3)

    report = json.loads((out / "curriculum.json").read_text())
    assert report["tasks"] == TASKS
    for key in ("exact", "greedy", "forgettability"):
        assert report[key] == ["coding", "math", "qa", "writing"]
        pred = report["predictions"][key]
        assert set(pred["predicted_accuracy"]) == set(TASKS) and "score" in pred
    assert report["order"] == report["exact"]
    assert report["predictions"]["exact"]["delta_rel"] == pytest.approx(cur["delta_rel"].iloc[0])
    assert "recommended (exact): coding>math>qa>writing" in capsys.readouterr().out


def test_every_command_has_help(capsys):
    build_parser()
    for name in COMMANDS:
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
    assert "--accuracies" in capsys.readouterr().out


def test_console_entry_point_runs(repo, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pipeline", "order", "--accuracies",
                           str(repo / "examples/table1_accuracies.csv"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o" / "curriculum.json").exists()


def _good(tmp_path):
    rng = np.random.default_rng(0)
    return write_accuracy_csv(tmp_path / "acc.csv", TASKS, list(rng.uniform(0.2, 0.8, 4)),
                              rng.uniform(0.2, 0.8, (4, 4)).tolist())


def _set_line(path, index, text):
    """``path`` with its line ``index`` (0-based, header included) replaced by ``text``."""
    lines = path.read_text().splitlines()
    lines[index] = text
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda text: "\n".join(l for l in text.splitlines() if l != text.splitlines()[7]) + "\n",
         "missing row trained_on="),
        (lambda text: text + "math,qa,0.5\n", "duplicate row for trained_on=math, evaluated_on=qa"),
        (lambda text: text.replace(text.splitlines()[3], "qa,math,1.2"), "accuracy 1.2 is outside [0, 1]"),
        (lambda text: text.replace(text.splitlines()[3], "qa,math,-0.1"), "is outside [0, 1]"),
        (lambda text: text.replace(text.splitlines()[3], "qa,math,abc"), "accuracy 'abc' is not a number"),
        (lambda text: text.replace(text.splitlines()[3], "qa,math,nan"), "is not finite"),
        (lambda text: text + "poetry,math,0.4\n", "trained_on 'poetry' is not an evaluated task"),
        (lambda text: "trained_on,evaluated_on,acc\n", "missing column 'accuracy'"),
        (lambda text: "", "empty file"),
        (lambda text: text.replace(text.splitlines()[3], "qa,math"), "expected 3 fields"),
    ],
)
def test_bad_accuracy_table(tmp_path, capsys, mutate, message):
    acc = _good(tmp_path)
    acc.write_text(mutate(acc.read_text()))
    out = tmp_path / "out"
    assert run_order("--accuracies", acc, "--out", out, "--floor", "0.001") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err
    assert str(acc) in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tmp")]


def test_error_names_the_line(tmp_path, capsys):
    acc = _set_line(_good(tmp_path), 4, "coding,math,7")
    assert run_order("--accuracies", acc, "--out", tmp_path / "o") == 2
    assert f"{acc} line 5:" in capsys.readouterr().err


def test_unknown_task_in_weights(tmp_path, capsys):
    weights = tmp_path / "w.json"
    weights.write_text(json.dumps({"math": 1.0, "poetry": 2.0}))
    assert run_order("--accuracies", _good(tmp_path), "--out", tmp_path / "o", "--weights", weights) == 2
    err = capsys.readouterr().err
    assert "unknown task 'poetry'" in err and str(weights) in err
    assert not (tmp_path / "o").exists()


def test_failed_rerun_leaves_previous_outputs_untouched(tmp_path, capsys):
    acc, out = _good(tmp_path), tmp_path / "o"
    assert run_order("--accuracies", acc, "--out", out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    acc.write_text(acc.read_text() + "math,qa,0.5\n")
    assert run_order("--accuracies", acc, "--out", out) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_zero_accuracy_requires_explicit_floor_then_warns(tmp_path, capsys):
    acc = _set_line(_good(tmp_path), 3, "coding,math,0")
    assert run_order("--accuracies", acc, "--out", tmp_path / "a") == 2
    err = capsys.readouterr().err
    assert "line 4: accuracy 0" in err and "--floor" in err
    assert run_order("--accuracies", acc, "--out", tmp_path / "b", "--floor", "0.01") == 0
    err = capsys.readouterr().err
    assert "line 4: accuracy 0 (trained_on=coding, evaluated_on=math) raised to floor 0.01" in err
    bwt = pd.read_csv(tmp_path / "b" / "bwt.csv", index_col=0)
    assert np.isfinite(bwt.to_numpy()).all()
    assert np.isfinite(pd.read_csv(tmp_path / "b" / "curricula.csv").select_dtypes("number").to_numpy()).all()


def test_predictions_above_one_are_flagged(tmp_path, capsys):
    # Training qa or writing multiplies math accuracy by 2.5 each: math first is predicted above 1.
    base = [0.4, 0.4, 0.4]
    single = [[0.5, 1.0, 1.0], [0.4, 0.5, 0.4], [0.4, 0.4, 0.5]]
    acc = write_accuracy_csv(tmp_path / "acc.csv", ["math", "qa", "writing"], base, single)
    assert run_order("--accuracies", acc, "--out", tmp_path / "o") == 0
    report = json.loads((tmp_path / "o" / "curriculum.json").read_text())
    assert report["predictions"]["exact"]["above_one"] == ["math"]
    cur = pd.read_csv(tmp_path / "o" / "curricula.csv", keep_default_na=False)
    assert (cur["above_one"] == "math").sum() == 4  # every order where math is not trained last
    assert set(cur.loc[cur["above_one"] == "", "order"]) == {"qa>writing>math", "writing>qa>math"}
    assert "predicts accuracy above 1 for math" in capsys.readouterr().err


def test_weights_from_file_change_the_order(tmp_path):
    # qa before math earns BWT_qa,math (+0.5) with weight α_qa; math before qa earns BWT_math,qa (+0.2) · α_math.
    acc = write_accuracy_csv(tmp_path / "acc.csv", ["math", "qa"], [0.5, 0.5],
                             [[0.6, 0.5 * np.exp(0.2)], [0.5 * np.exp(0.5), 0.6]])
    assert run_order("--accuracies", acc, "--out", tmp_path / "u") == 0
    assert json.loads((tmp_path / "u" / "curriculum.json").read_text())["exact"] == ["qa", "math"]
    w = tmp_path / "w.json"
    w.write_text(json.dumps({"math": 5.0}))
    assert run_order("--accuracies", acc, "--out", tmp_path / "v", "--weights", w) == 0
    report = json.loads((tmp_path / "v" / "curriculum.json").read_text())
    assert report["exact"] == ["math", "qa"] and report["weights"] == {"math": 5.0, "qa": 1.0}


def test_large_k_uses_heuristic_with_bound_and_skips_enumeration(tmp_path):
    k = 22
    tasks = [f"t{i:02d}" for i in range(k)]
    rng = np.random.default_rng(1)
    acc = write_accuracy_csv(tmp_path / "acc.csv", tasks, list(rng.uniform(0.3, 0.6, k)),
                             rng.uniform(0.3, 0.6, (k, k)).tolist())
    assert run_order("--accuracies", acc, "--out", tmp_path / "o") == 0
    report = json.loads((tmp_path / "o" / "curriculum.json").read_text())
    assert report["exact"] is None and report["method"] == "heuristic"
    solver = report["predictions"]["heuristic"]["solver"]
    assert solver["upper_bound"] >= solver["lop_value"] and solver["gap"] >= 0
    assert sorted(report["order"]) == tasks
    assert not (tmp_path / "o" / "curricula.csv").exists()


def test_split_column_selects_rows_and_mixed_splits_need_a_choice(tmp_path, capsys):
    rng = np.random.default_rng(2)
    val = write_accuracy_csv(tmp_path / "v.csv", TASKS, list(rng.uniform(.2, .8, 4)), rng.uniform(.2, .8, (4, 4)).tolist())
    test = write_accuracy_csv(tmp_path / "t.csv", TASKS, list(rng.uniform(.2, .8, 4)), rng.uniform(.2, .8, (4, 4)).tolist())
    both = tmp_path / "both.csv"
    rows = ["trained_on,evaluated_on,accuracy,split"]
    rows += [f"{line},val" for line in val.read_text().splitlines()[1:]]
    rows += [f"{line},test" for line in test.read_text().splitlines()[1:]]
    both.write_text("\n".join(rows) + "\n")
    assert run_order("--accuracies", both, "--out", tmp_path / "x") == 2
    assert "choose one with --split" in capsys.readouterr().err
    for split, single in (("val", val), ("test", test)):
        assert run_order("--accuracies", both, "--out", tmp_path / split, "--split", split) == 0
        assert run_order("--accuracies", single, "--out", tmp_path / f"{split}-ref") == 0
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / split / "bwt.csv"),
                                      pd.read_csv(tmp_path / f"{split}-ref" / "bwt.csv"))
    assert not pd.read_csv(tmp_path / "val" / "bwt.csv").equals(pd.read_csv(tmp_path / "test" / "bwt.csv"))
    # With --params, order.split (val in the shipped params) is the default.
    assert run_order("--accuracies", both, "--out", tmp_path / "p", "--params", REPO / "params.yaml") == 0
    assert (tmp_path / "p" / "bwt.csv").read_bytes() == (tmp_path / "val" / "bwt.csv").read_bytes()


def test_entropy_change_output(tmp_path):
    ent = tmp_path / "ent.csv"
    lines = ["trained_on,evaluated_on,entropy"]
    for e in TASKS:
        lines.append(f"base,{e},2.0")
        for t in TASKS:
            lines.append(f"{t},{e},{1.0 if t in ('math', 'coding') else 3.0}")
    ent.write_text("\n".join(lines) + "\n")
    assert run_order("--accuracies", _good(tmp_path), "--out", tmp_path / "o", "--entropies", ent) == 0
    h = pd.read_csv(tmp_path / "o" / "entropy_change.csv", index_col=0)
    assert h.index.name == "trained_on"
    assert h.loc["math", "writing"] == pytest.approx(-0.5) and h.loc["writing", "math"] == pytest.approx(0.5)
    assert (tmp_path / "o" / "entropy_change.png").stat().st_size > 1000


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "omni-thinker"
    proc = subprocess.run([str(script), "order", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--accuracies" in proc.stdout


def test_params_supplies_defaults(tmp_path, repo):
    params = tmp_path / "params.yaml"
    params.write_text((repo / "params.yaml").read_text().replace("method: exact", "method: greedy"))
    assert run_order("--accuracies", repo / "examples/table1_accuracies.csv", "--out", tmp_path / "o",
                     "--params", params) == 0
    report = json.loads((tmp_path / "o" / "curriculum.json").read_text())
    assert report["method"] == "greedy" and report["floor"] == pytest.approx(1e-3)


def test_replicas_are_averaged_before_the_bwt(tmp_path, repo, capsys):
    """One table per training seed (``seed{seeds}`` in the path, params ``seeds``): `order` takes the BWT of the
    cell-by-cell mean, the same as of a table holding the means by hand."""
    rng = np.random.default_rng(5)
    base = rng.uniform(.2, .8, (2, 4))
    single = rng.uniform(.2, .8, (2, 4, 4))
    for i, seed in enumerate((3, 8)):
        (tmp_path / f"seed{seed}").mkdir()
        write_accuracy_csv(tmp_path / f"seed{seed}" / "acc.csv", TASKS, list(base[i]), single[i].tolist())
    mean = write_accuracy_csv(tmp_path / "mean.csv", TASKS, list(base.mean(0)), single.mean(0).tolist())
    params = tmp_path / "params.yaml"
    params.write_text((repo / "params.yaml").read_text().replace("seeds: [0]", "seeds: [3, 8]"))
    assert run_order("--accuracies", tmp_path / "seed{seeds}" / "acc.csv", "--out", tmp_path / "o",
                     "--params", params) == 0
    assert run_order("--accuracies", mean, "--out", tmp_path / "ref", "--params", params) == 0
    got, ref = (pd.read_csv(tmp_path / d / "bwt.csv", index_col=0) for d in ("o", "ref"))
    pd.testing.assert_frame_equal(got, ref, rtol=1e-9)
    assert json.loads((tmp_path / "o" / "curriculum.json").read_text())["order"] == \
        json.loads((tmp_path / "ref" / "curriculum.json").read_text())["order"]
    # A replica missing, or a pattern without the params it stands for: one line naming it.
    params.write_text(params.read_text().replace("seeds: [3, 8]", "seeds: [3, 8, 9]"))
    assert run_order("--accuracies", tmp_path / "seed{seeds}" / "acc.csv", "--out", tmp_path / "x",
                     "--params", params) == 2
    assert "seed9/acc.csv: file not found" in capsys.readouterr().err
    assert run_order("--accuracies", tmp_path / "seed{seeds}" / "acc.csv", "--out", tmp_path / "x") == 2
    assert "{seeds} stands for params `seeds`: give --params" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


SINGLE = {"math": 0.569, "coding": 0.361, "qa": 0.513, "writing": 0.783}  # the example's a_k (diagonal)
CHAIN = [("writing", "qa"), ("qa", "math"), ("math", "coding")]  # j learns 35% better after i (F_ij = log 1.35)


def write_pair_csv(path: Path, lift: float = 1.35, drop_row: bool = False) -> Path:
    """A train-pairs table over the example's tasks: every pair leaves both tasks at their single-task accuracy
    (F = B = 0) except along CHAIN, where the second task learns ``lift`` × better."""
    lines = ["trained_on,evaluated_on,split,accuracy"]
    for i in TASKS:
        for j in TASKS:
            if i == j:
                continue
            for t in TASKS:
                acc = SINGLE[t] * (lift if (i, j) in CHAIN and t == j else 1.0)
                for split in ("val", "test"):
                    lines.append(f"{i}>{j},{t},{split},{acc:.6f}")
    path.write_text("\n".join(lines[:-1] if drop_row else lines) + "\n")
    return path


def test_the_pairwise_predictor_ranks_and_recommends_from_the_pair_runs(tmp_path, repo, capsys):
    out, pairs = tmp_path / "order", write_pair_csv(tmp_path / "pairs.csv")
    assert run_order("--accuracies", repo / "examples/table1_accuracies.csv", "--pairs", pairs, "--split", "val",
                     "--method", "pairwise", "--out", out) == 0
    report = json.loads((out / "curriculum.json").read_text())
    # only the chain writing → qa → math → coding collects every forward transfer: the unique LOP optimum
    assert report["order"] == report["predictions"]["pairwise"]["order"] == ["writing", "qa", "math", "coding"]
    assert report["method"] == "pairwise" and report["exact"] == ["coding", "math", "qa", "writing"]
    pred = report["predictions"]["pairwise"]
    assert pred["predictor"] == "pairwise" and report["predictions"]["exact"]["predictor"] == "algorithm1"
    assert pred["solver"]["name"] == "pairwise-exact" and pred["solver"]["exact"]
    # (P3) by hand: each task of the chain but writing learns 1.35× better, nothing moves a finished task
    assert pred["predicted_accuracy"] == pytest.approx({t: SINGLE[t] * (1.0 if t == "writing" else 1.35)
                                                        for t in TASKS}, rel=1e-5)
    assert report["pairwise"]["forward_transfer"]["qa"]["math"] == pytest.approx(np.log(1.35), rel=1e-5)
    assert report["pairwise"]["backward_transfer"]["qa"]["math"] == pytest.approx(0.0, abs=1e-6)
    cur = pd.read_csv(out / "curricula.csv")
    top = cur.sort_values("pairwise_rank").iloc[0]
    assert top["order"] == "writing>qa>math>coding" and top["pairwise_pred_math"] == pytest.approx(0.569 * 1.35,
                                                                                                    rel=1e-5)
    assert sorted(cur["pairwise_rank"]) == list(range(1, 25))
    assert "recommended (pairwise): writing>qa>math>coding" in capsys.readouterr().out


def test_pairs_without_runs_leave_algorithm1_and_bad_pair_tables_are_refused(tmp_path, repo, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("trained_on,evaluated_on,split,accuracy\n")
    out = tmp_path / "order"
    assert run_order("--accuracies", repo / "examples/table1_accuracies.csv", "--pairs", empty, "--split", "val",
                     "--out", out) == 0
    report = json.loads((out / "curriculum.json").read_text())
    assert report["pairwise"] is None and "pairwise" not in report["predictions"]
    assert "pairwise_rank" not in pd.read_csv(out / "curricula.csv").columns
    capsys.readouterr()
    assert run_order("--accuracies", repo / "examples/table1_accuracies.csv", "--pairs", empty, "--split", "val",
                     "--method", "pairwise", "--out", tmp_path / "o2") == 2
    assert "order.method pairwise needs the pair runs" in capsys.readouterr().err
    short = write_pair_csv(tmp_path / "short.csv", drop_row=True)
    assert run_order("--accuracies", repo / "examples/table1_accuracies.csv", "--pairs", short, "--split", "test",
                     "--out", tmp_path / "o3") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "short.csv: no test accuracy for writing>qa on writing" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("trained_on,evaluated_on,split,accuracy\nmath>math,math,val,0.5\n")
    assert run_order("--accuracies", repo / "examples/table1_accuracies.csv", "--pairs", bad, "--split", "val",
                     "--out", tmp_path / "o4") == 2
    assert "bad.csv line 2: 'math>math' on 'math' is not a pair i>j" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in ("o2", "o3", "o4"))


def test_a_zero_pair_accuracy_needs_a_floor(tmp_path, repo, capsys):
    pairs = write_pair_csv(tmp_path / "pairs.csv")
    pairs.write_text(pairs.read_text().replace("writing>qa,qa,val,0.692550", "writing>qa,qa,val,0"))
    args = ("--accuracies", repo / "examples/table1_accuracies.csv", "--pairs", pairs, "--split", "val")
    assert run_order(*args, "--out", tmp_path / "o") == 2
    assert "pairs.csv: an accuracy of 0 makes log-accuracy undefined; set order.floor" in capsys.readouterr().err
    assert run_order(*args, "--floor", "0.01", "--out", tmp_path / "o") == 0
    report = json.loads((tmp_path / "o" / "curriculum.json").read_text())
    assert report["pairwise"]["forward_transfer"]["writing"]["qa"] == pytest.approx(np.log(0.01 / 0.513))
