"""``train-pairs`` with the pairs off: nothing trained, empty tables that `order` reads as 'no pairwise predictor'."""

import json

from pipeline.cli import main
from pipeline.commands.train_pairs import ordered_pairs

from ..conftest import REPO


def test_the_ordered_pairs():
    assert ordered_pairs(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "a"), ("b", "c"), ("c", "a"), ("c", "b")]


def test_pairs_off_write_empty_tables(tmp_path, capsys):
    out = tmp_path / "pairs"
    assert main(["train-pairs", "--base", str(tmp_path / "no-base"), "--out", str(out),
                 "--params", str(REPO / "params.yaml")]) == 0
    assert "pairs.enabled is false" in capsys.readouterr().out
    assert (out / "accuracies.csv").read_text().startswith("trained_on,evaluated_on,split,accuracy,")
    assert len((out / "accuracies.csv").read_text().splitlines()) == 1
    assert json.loads((out / "runs" / "index.json").read_text()) == {"pairs": []}
    assert (out / "units.jsonl").read_text() == ""
