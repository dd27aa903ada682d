import json
import subprocess
import sys

import pyarrow.parquet as pq
import yaml

from pipeline.cli import main
from pipeline.data.curate import curate_task, write_task
from pipeline.data.schema import read_split

from ..conftest import FIXTURES, REPO, data_params


def test_verl_export_columns(tmp_path):
    splits, stats = curate_task(data_params("qa", source="supergpqa", path=str(FIXTURES / "supergpqa_original.jsonl")),
                                "qa")
    write_task(splits, stats, tmp_path / "qa")
    assert main(["export-verl", str(tmp_path / "qa" / "train.parquet"), str(tmp_path / "qa" / "val.parquet"),
                 "--out", str(tmp_path / "verl.parquet")]) == 0
    rows = pq.read_table(tmp_path / "verl.parquet").to_pylist()
    records = read_split(tmp_path / "qa" / "train.parquet") + read_split(tmp_path / "qa" / "val.parquet")
    assert len(rows) == len(records)
    for i, (row, rec) in enumerate(zip(rows, records)):
        assert set(row) == {"data_source", "prompt", "ability", "reward_model", "extra_info"}
        assert row["data_source"] == "qa" and row["prompt"] == rec["prompt"] and row["ability"] == "qa"
        assert row["reward_model"] == {"style": "rule", "ground_truth": rec["reference"]}
        assert row["extra_info"]["index"] == i and row["extra_info"]["id"] == rec["id"]
        assert row["extra_info"]["split"] == rec["split"] and json.loads(row["extra_info"]["meta"]) == rec["meta"]
        assert row["extra_info"]["question"] == rec["prompt"][-1]["content"] != ""  # what the judge must see


def test_export_verl_missing_input(tmp_path, capsys):
    assert main(["export-verl", str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "x.parquet")]) == 2
    assert "nope.parquet: file not found" in capsys.readouterr().err


def test_curate_cli_writes_outputs_and_bad_params_exit_2(tmp_path):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"]["tasks"]["math"]["n"] = 50
    params["data"]["tasks"]["math"]["pretrain_n"] = 20
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    proc = subprocess.run([sys.executable, "-m", "pipeline", "curate", "--task", "math", "--out",
                           str(tmp_path / "math"), "--params", str(path)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "math: kept 70 of 70 read" in proc.stdout
    assert json.loads((tmp_path / "math" / "stats.json").read_text())["kept_per_split"]["pretrain"] == 20

    params["data"]["tasks"]["math"]["difficulty"] = 9
    path.write_text(yaml.safe_dump(params))
    proc = subprocess.run([sys.executable, "-m", "pipeline", "curate", "--task", "math", "--out",
                           str(tmp_path / "bad"), "--params", str(path)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: {path}: data.tasks.math.difficulty: Input should be less than "
                                                "or equal to 5 (got 9)"]
    assert not (tmp_path / "bad").exists()


def test_curate_cli_unknown_task(capsys):
    assert main(["curate", "--task", "poetry", "--out", "/tmp/never", "--params", str(REPO / "params.yaml")]) == 2
    assert "no entry for task 'poetry'" in capsys.readouterr().err


def test_hub_id_that_cannot_be_reached_is_one_line_error(tmp_path):
    import os

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"]["tasks"]["math"] = {"source": "openr1", "path": "open-r1/OpenR1-Math-220k", "n": 12000}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "pipeline", "curate", "--task", "math", "--out", str(tmp_path / "m"),
                           "--params", str(path)], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert proc.returncode == 2
    err = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "open-r1/OpenR1-Math-220k: not a local path and could not be loaded from the hub" in err[0]
    assert not (tmp_path / "m").exists()
