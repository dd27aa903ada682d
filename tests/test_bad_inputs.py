"""Bad input and faults end in one line naming the file, exit 2, and nothing half-written: corrupt or
incomplete model folders, corrupt parquet and JSON inputs, a folder where a file is expected, a full disk."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import torch
import yaml

from pipeline.cli import main
from pipeline.errors import UserError
from pipeline.models.tiny import build_tiny_model, load_model
from pipeline.models.tokenizer import build_tokenizer

from .conftest import REPO


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m"
    tokenizer = build_tokenizer(["hello world 12 <think>x</think>"] * 20, vocab_size=300)
    torch.manual_seed(0)
    build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 128, 0, tokenizer).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def broken(model_dir, tmp_path, how):
    path = tmp_path / how
    shutil.copytree(model_dir, path)
    weights = path / "model.safetensors"
    if how == "truncated":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif how == "empty":
        weights.write_bytes(b"")
    elif how == "garbage":
        weights.write_bytes(b"\x00garbage" * 100)
    elif how == "no_config":
        (path / "config.json").unlink()
    elif how == "no_tokenizer":
        for name in ("tokenizer.json", "tokenizer_config.json"):
            (path / name).unlink(missing_ok=True)
    elif how == "no_weights":
        weights.unlink()
    elif how == "no_chat_template":
        (path / "chat_template.jinja").unlink(missing_ok=True)
        config = json.loads((path / "tokenizer_config.json").read_text())
        config.pop("chat_template", None)
        (path / "tokenizer_config.json").write_text(json.dumps(config))
    return path


@pytest.mark.parametrize("how,message", [
    ("truncated", r"model.safetensors: not a readable safetensors file"),
    ("empty", r"model.safetensors: not a readable safetensors file"),
    ("garbage", r"model.safetensors: not a readable safetensors file"),
    ("no_config", r"no config.json"),
    ("no_tokenizer", r"no tokenizer"),
    ("no_weights", r"no weights"),
    ("no_chat_template", r"its tokenizer has no chat template"),
])
def test_a_broken_model_folder_is_one_line_naming_it(model_dir, tmp_path, how, message):
    with pytest.raises(UserError, match=message) as info:
        load_model(broken(model_dir, tmp_path, how))
    assert "\n" not in str(info.value) and how in str(info.value)


def test_training_from_a_model_without_tokenizer_stops_before_writing(model_dir, tmp_path, capsys):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["tasks"] = ["math"]
    params["data"]["tasks"] = {"math": {"source": "synthetic_math", "n": 40}}
    params["train"]["overrides"] = {}
    params["ablations"] = {}  # the ablations name qa and writing
    params["train"]["grpo"]["keep_every"] = 0  # a 5-step run: no snapshots (else keep_every is refused first)
    params["validate"]["orders"] = ["worst"]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    assert main(["curate", "--task", "math", "--out", str(tmp_path / "cur" / "math"), "--params",
                 str(tmp_path / "p.yaml")]) == 0
    base = broken(model_dir, tmp_path, "no_tokenizer")
    code = main(["train", "--mode", "single", "--task", "math", "--base", str(base), "--curated",
                 str(tmp_path / "cur"), "--out", str(tmp_path / "run"), "--params", str(tmp_path / "p.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "no tokenizer" in err[0] and not (tmp_path / "run").exists()


def test_the_answer_format_ablation_on_a_task_without_options_is_one_line(tmp_path, capsys):
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["tasks"] = ["math"]
    params["data"]["tasks"] = {"math": {"source": "synthetic_math", "n": 40}}
    params["train"]["overrides"] = {}
    params["ablations"] = {"answer_format": {"task": "math"}}
    params["validate"]["orders"] = ["worst"]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    assert main(["curate", "--task", "math", "--out", str(tmp_path / "cur" / "math"), "--params",
                 str(tmp_path / "p.yaml")]) == 0
    (tmp_path / "singles" / "math" / "model").mkdir(parents=True)
    capsys.readouterr()
    code = main(["ablate-format", "--singles", str(tmp_path / "singles"), "--curated", str(tmp_path / "cur"),
                 "--out", str(tmp_path / "abl"), "--params", str(tmp_path / "p.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "cur/math/train.parquet: record" in err[0] and "must be a multiple-choice task" in err[0]
    assert not (tmp_path / "abl" / "runs").exists() and not (tmp_path / "abl" / "accuracies.csv").exists()


@pytest.mark.parametrize("content", [b"", b"PAR1 not really parquet", b"\x00" * 64])
def test_a_corrupt_parquet_is_one_line_naming_it(tmp_path, capsys, content):
    split = tmp_path / "cur" / "math" / "val.parquet"
    split.parent.mkdir(parents=True)
    split.write_bytes(content)
    from pipeline.data.schema import read_split

    with pytest.raises(UserError, match=rf"{split}: not a readable split"):
        read_split(split)


@pytest.mark.parametrize("content", ["{not json", json.dumps({"tasks": ["math"]}), "[1, 2]"])
def test_a_corrupt_curriculum_json_is_one_line_naming_it(tmp_path, capsys, content):
    path = tmp_path / "curriculum.json"
    path.write_text(content)
    code = main(["train", "--mode", "curriculum", "--order", str(path), "--out", str(tmp_path / "o"),
                 "--params", str(REPO / "params.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(path) in err[0], err


def test_a_folder_as_scores_input_or_output(tmp_path, capsys):
    (tmp_path / "in.jsonl").write_text("")
    assert main(["score", str(tmp_path), "--out", str(tmp_path / "o.jsonl"), "--params",
                 str(REPO / "params.yaml")]) == 2
    assert main(["score", str(tmp_path / "in.jsonl"), "--out", str(tmp_path), "--params",
                 str(REPO / "params.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("is a folder" in line for line in err)


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap for a size-capped tmpfs")
def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    """curate into a 16 KiB tmpfs (bubblewrap's --size): ENOSPC ends in one line, exit 2, no output folder."""
    full = tmp_path / "full"
    full.mkdir()
    cmd = ["bwrap", "--dev-bind", "/", "/", "--size", str(16 * 1024), "--tmpfs", str(full), sys.executable, "-m",
           "pipeline", "curate", "--task", "math", "--out", str(full / "math"), "--params", str(REPO / "params.yaml"),
           ";"]
    script = (f"{' '.join(cmd[:-1])}; echo rc=$?; ls -A {full}")
    proc = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    if "Operation not permitted" in proc.stderr or "No permissions" in proc.stderr:
        pytest.skip(f"bubblewrap cannot mount here: {proc.stderr.strip()[:200]}")
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert "rc=2" in proc.stdout, (proc.stdout, proc.stderr[-2000:])
    assert len(errors) == 1 and "No space left on device" in errors[0], proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "rc=2"  # and the folder was left empty: nothing listed


def test_a_corrupt_source_parquet_in_curate_is_one_line(model_dir, tmp_path, capsys):
    source = tmp_path / "code.parquet"
    source.write_bytes(b"PAR1" + b"\x00" * 100)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["tasks"] = ["coding"]
    params["data"]["tasks"] = {"coding": {"source": "code_r1", "path": str(source), "tokenizer": str(model_dir)}}
    params["train"]["overrides"] = {}
    params["ablations"] = {}  # the ablations name qa and writing
    params["validate"]["orders"] = ["worst"]
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(params))
    code = main(["curate", "--task", "coding", "--out", str(tmp_path / "cur"), "--params", str(tmp_path / "p.yaml")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and f"{source}: not a readable parquet file" in err[0], err
    assert not (tmp_path / "cur").exists()


@pytest.mark.parametrize("shards", [1, 2])
def test_vllm_refuses_a_model_with_non_finite_weights_before_loading_it(model_dir, tmp_path, shards):
    """vLLM loads a folder itself, so its generator checks the weights first, tensor by tensor and shard by shard:
    a NaN is one line naming the tensor and its file; finite weights pass to the engine (here: the missing vllm
    package's one line, on a machine without it)."""
    from safetensors.torch import load_file, save_file

    from pipeline.config import EvalParams
    from pipeline.eval.generators import GENERATORS

    path = shutil.copytree(model_dir, tmp_path / "nan")
    weights = load_file(path / "model.safetensors")
    names = sorted(weights)
    weights[names[-1]] = torch.full_like(weights[names[-1]], float("nan"))
    files = {name: "model.safetensors" if shards == 1 else f"model-{i % shards + 1:05d}-of-{shards:05d}.safetensors"
             for i, name in enumerate(names)}  # the file names transformers writes
    (path / "model.safetensors").unlink()
    for file in set(files.values()):
        save_file({k: weights[k] for k in names if files[k] == file}, path / file, metadata={"format": "pt"})
    if shards > 1:
        (path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": files}))
    params = EvalParams(backend="vllm")
    with pytest.raises(UserError, match=rf"tensor {names[-1]} in {files[names[-1]]} holds non-finite") as info:
        GENERATORS["vllm"].load(path, params, 0)
    assert "\n" not in str(info.value)
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(UserError, match="needs the vllm package"):
            GENERATORS["vllm"].load(model_dir, params, 0)
