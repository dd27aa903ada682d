import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from pipeline.config import Params, dump_params, explain, load_params, merge_params, parse_params, read_params_files
from pipeline.errors import UserError
from .conftest import REPO


def test_shipped_params_are_valid(repo):
    p = load_params(repo / "params.yaml")
    assert isinstance(p, Params)
    assert p.tasks == ["math", "coding", "qa", "writing"]
    assert p.order.method == "exact" and p.order.floor == pytest.approx(1e-3)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"order": {"methd": "exact"}}, "order.methd: unknown key"),
        ({"bogus": 1}, "bogus: unknown key"),
        ({"order": {"floor": -1}}, "order.floor: Input should be greater than 0"),
        ({"order": {"floor": "low"}}, "order.floor"),
        ({"order": {"exact_max_k": 40}}, "order.exact_max_k: Input should be less than or equal to 24"),
        ({"seed": "x"}, "seed: Input should be a valid integer"),
        ({"tasks": ["math", "math"]}, "tasks: task names must be unique"),
        ({"tasks": ["base"]}, "tasks: invalid task name 'base'"),
        ({"order": {"weights": {"poetry": 1.0}}}, "order.weights names unknown task"),
        ({"order": {"weights": {"math": -1.0}}}, "order.weights: weight of 'math' must be >= 0"),
        # Non-finite and absurd settings (issue 36): each is one line naming its key.
        ({"train": {"grpo": {"lr": float("inf")}}}, "train.grpo.lr: Input should be a finite number"),
        ({"train": {"grpo": {"temperature": float("inf")}}}, "train.grpo.temperature: Input should be a finite"),
        ({"baselines": {"merge": {"lambda": float("inf")}}}, "baselines.merge.lambda: Input should be a finite"),
        ({"order": {"weights": {"math": float("nan")}}}, "order.weights.math: Input should be a finite number"),
        ({"order": {"pairwise_scales": [float("inf"), 1.0]}}, "order.pairwise_scales.0: Input should be a finite"),
        ({"train": {"grpo": {"beta": {"math": -0.1}}}}, "train.grpo.beta: β of 'math' must be >= 0"),
        ({"train": {"grpo": {"beta": {"math": float("nan")}}}}, "train.grpo.beta.math: Input should be a finite"),
        ({"models": {"heads": 3}}, "models: heads (3) must divide hidden (128)"),
        ({"models": {"kv_heads": 8}}, "models: kv_heads (8) must divide heads (4)"),
        ({"models": {"kv_heads": 3}}, "models: kv_heads (3) must divide heads (4)"),
        ({"tasks": ["../../x"]}, "tasks: invalid task name '../../x'"),
        ({"tasks": [".hidden"]}, "tasks: invalid task name '.hidden'"),
        ({"tasks": ["a/b"]}, "tasks: invalid task name 'a/b'"),
        ({"rewards": {"code": {"timeout_s": 1e308}}}, "rewards.code.timeout_s: Input should be less than or equal"),
        ({"rewards": {"judge": {"deadline_s": float("inf")}}}, "rewards.judge.deadline_s: Input should be a finite"),
    ],
)
def test_bad_params_give_one_line_error_naming_the_key(data, message):
    with pytest.raises(UserError) as info:
        parse_params(data, source="params.yaml")
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith("params.yaml: ")
    assert message in text


def test_invalid_yaml_names_file_and_line(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("order:\n  method: [exact\n")
    with pytest.raises(UserError, match=r"p.yaml line \d+: invalid YAML"):
        load_params(bad)


def test_params_command_exit_code_2_on_bad_key(tmp_path, repo):
    bad = tmp_path / "params.yaml"
    data = yaml.safe_load((repo / "params.yaml").read_text())
    data["order"]["floor"] = 2.0
    bad.write_text(yaml.safe_dump(data))
    proc = subprocess.run([sys.executable, "-m", "pipeline", "params", "--params", str(bad)],
                          capture_output=True, text=True, cwd=repo)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "order.floor" in lines[0] and str(bad) in lines[0]


def test_explain_names_each_tasks_keys_and_what_the_params_file_changes(repo):
    """Per-task keys are listed (for the run's tasks, or as <task> without params) and a value that differs from
    the model's default is shown beside it (issue 38: the per-task keys were missing, the defaults misleading)."""
    generic = "\n".join(explain())
    assert "\ndata.tasks.<task>.source (required): " in generic and "\nrewards.tasks.<task>.kind (required)" in generic
    here = "\n".join(explain(values=load_params(repo / "params.yaml")))
    assert "\ndata.tasks.math.source (required, here 'synthetic_math'): " in here
    assert "\ntrain.grpo.checkpoint_every (default 25, here 10): " in here
    assert "\ntrain.grpo.eps_low (default 0.2): " in here  # unchanged: no "here"


def test_explain_documents_every_key():
    text = "\n".join(explain())
    for key in ("seed", "tasks", "order.method", "order.split", "order.floor", "order.weights",
                "order.exact_max_k", "order.restarts"):
        assert f"\n{key}" in "\n" + text


@pytest.mark.parametrize("name", ["smoke.yaml", "paper.yaml", "seeds3.yaml", "ground_truth.yaml", "fifth_task.yaml"])
def test_shipped_profiles_are_valid_overlays_holding_only_what_differs(repo, name):
    params = load_params([repo / "params.yaml", repo / "configs" / name])
    assert params.tasks == ["math", "coding", "qa", "writing", *(["logic"] if name == "fifth_task.yaml" else [])]
    base, overlay = read_params_files(repo / "params.yaml"), read_params_files(repo / "configs" / name)

    def leaves(node, path=()):
        for key, value in node.items():
            if isinstance(value, dict) and value:
                yield from leaves(value, (*path, key))
            else:
                yield (*path, key), value

    def lookup(node, path):
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return "<absent>"
            node = node[key]
        return node

    same = [".".join(path) for path, value in leaves(overlay) if lookup(base, path) == value]
    assert not same, f"configs/{name} repeats params.yaml's values: {same}"


def test_overlays_merge_key_by_key():
    base = {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "l": [1, 2], "s": 1}
    assert merge_params(base, {"a": {"y": {"q": 3}}, "l": [3], "s": None}) == \
        {"a": {"x": 1, "y": {"p": 1, "q": 3}}, "l": [3], "s": None}
    assert base["a"]["y"]["q"] == 2  # the inputs are left as they were


def test_params_on_the_command_line_take_overlays(tmp_path, capsys):
    from pipeline.cli import main

    (tmp_path / "over.yaml").write_text("order: {method: greedy}\nseed: 3\n")
    assert main(["params", "--params", str(REPO / "params.yaml"), str(tmp_path / "over.yaml"),
                 "--out", str(tmp_path / "resolved.yaml")]) == 0
    resolved = load_params(tmp_path / "resolved.yaml")
    assert resolved.order.method == "greedy" and resolved.seed == 3 and resolved.models.hidden == 128
    (tmp_path / "bad.yaml").write_text("order: {method: best}\n")
    assert main(["params", "--params", str(REPO / "params.yaml"), str(tmp_path / "bad.yaml")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "order.method" in err and len(err.strip().splitlines()) == 1


def test_paper_profile_follows_table5_and_requires_isolation(repo):
    p = load_params([repo / "params.yaml", repo / "configs" / "paper.yaml"])
    assert p.rewards.code.require_isolation is True
    assert p.rewards.judge.model == "gpt-4.1-mini" and p.rewards.judge.temperature == 0.4
    assert p.models.base == "Qwen/Qwen2.5-7B-Instruct"
    g = p.train.grpo
    assert (g.group_size, g.lr, g.epochs, g.eps_low, g.eps_high, g.top_k, g.max_new_tokens) == \
        (16, 1e-6, 3, 0.2, 0.2, 50, 3072)
    assert p.train.backend == "verl" and p.train.verl.max_prompt_length == 1024 and p.eval.backend == "vllm"


def test_a_key_given_twice_is_an_error_naming_both_lines(tmp_path):
    from pipeline.config import load_params

    path = tmp_path / "params.yaml"
    path.write_text("seed: 0\ntasks: [math]\nseed: 1\n")
    with pytest.raises(UserError, match=rf"^{re.escape(str(path))}: duplicate key 'seed' \(lines 1 and 3\)$"):
        load_params(path)
    path.write_text("train:\n  grpo: {lr: 0.1}\n  overrides: {}\ntrain:\n  backend: local\n")
    with pytest.raises(UserError, match=r"duplicate key 'train' \(lines 1 and 4\)"):
        load_params(path)
    path.write_text("train: {grpo: {lr: 0.1, lr: 0.2}}\n")
    with pytest.raises(UserError, match=r"duplicate key 'lr' \(lines 1 and 1\)"):
        load_params(path)


def test_parameter_reference_page_is_current():
    """docs/params.md is generated from the config models and params.yaml (`make generate`)."""
    from pipeline.config import load_yaml
    from pipeline.config_reference import reference_markdown

    shipped = load_yaml((REPO / "params.yaml").read_text(encoding="utf-8"))
    assert (REPO / "docs" / "params.md").read_text(encoding="utf-8") == reference_markdown(shipped), \
        "docs/params.md is stale: run `make generate`"


def test_parameter_reference_shows_both_defaults():
    from pipeline.config_reference import reference_rows

    rows = {key: (default, shipped) for key, _, default, shipped, _ in
            reference_rows({"baselines": {"rft": {"lr": 1e-4}}, "data": {"tasks": {"qa": {"n": 7}}}})}
    assert rows["baselines.rft.lr"] == ("`2.5e-06`", "`0.0001`")
    assert rows["data.tasks.<task>.n"] == ("`null`", "qa: `7`")
    assert rows["seed"] == ("`0`", "")


def test_temperature_ablation_runs_name_tasks_and_positive_temperatures():
    from pydantic import ValidationError

    shipped = yaml.safe_load((REPO / "params.yaml").read_text())
    assert Params.model_validate(shipped).ablations.temperature.runs == {"qa": 1.2, "writing": 0.1}  # Table 2's
    with pytest.raises(ValidationError, match="ablations.temperature.runs names unknown task 'poetry'"):
        Params.model_validate({**shipped, "ablations": {"temperature": {"runs": {"poetry": 1.2}}}})
    with pytest.raises(ValidationError, match="a rollout temperature must be > 0"):
        Params.model_validate({**shipped, "ablations": {"temperature": {"runs": {"qa": 0}}}})


def test_seeds_default_to_the_global_seed_and_a_replica_replaces_it():
    """`seeds` absent, null or empty: one replica seeded by `seed` (today's single run), written out as a list so
    DVC's foreach sees one; a replica's stage reads the params with its own seed."""
    base = read_params_files(REPO / "params.yaml")
    for value in (None, []):
        assert parse_params({**base, "seed": 7, "seeds": value}).seeds == [7]
    assert parse_params({k: v for k, v in {**base, "seed": 3}.items() if k != "seeds"}).seeds == [3]
    assert "seeds:\n- 3\n" in dump_params(parse_params({**base, "seed": 3, "seeds": None}))
    params = parse_params({**base, "seeds": [0, 4, 2]})
    assert params.replica(4).seed == 4 and params.replica(4).seeds == [0, 4, 2] and params.replica(None) is params
    with pytest.raises(UserError, match=r"--seed 5 is not one of seeds \[0, 4, 2\]"):
        params.replica(5)
    for bad in ([1, 1], [-1]):
        with pytest.raises(UserError, match="seeds"):
            parse_params({**base, "seeds": bad})


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: os.mkfifo(p), "not a regular file"),
    (lambda p: p.write_bytes(b"\xff\xfe seed: 1"), "not UTF-8 text (byte 0)"),
    (lambda p: p.write_text("? [a, b]\n: 1\n"), "line 1: invalid YAML (a list as a key"),
    (lambda p: p.write_text("1: 2\n"), "1: a key must be a name, not a int"),
    (lambda p: p.write_text("a: " + "[" * 10000 + "]" * 10000 + "\n"), "nested too deeply"),
    (lambda p: p.write_text("seed: 1\n#" + "x" * (1 << 20) + "\n"), "larger than 1 MiB"),
])
def test_a_params_path_that_is_not_a_params_file_is_one_line(tmp_path, make, message):
    """A FIFO would block forever and /dev/zero fill the memory; odd bytes and shapes end in a traceback today."""
    path = tmp_path / "params.yaml"
    make(path)
    proc = subprocess.run([sys.executable, "-m", "pipeline", "params", "--params", str(path)], capture_output=True,
                          text=True, timeout=60, cwd=REPO)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_a_device_is_not_read_as_params():
    with pytest.raises(UserError, match="/dev/zero: not a regular file"):
        load_params("/dev/zero")


def test_a_runs_reward_identity_holds_its_own_tasks_and_the_shared_settings_only():
    """RewardParams.identity: what a run on some tasks reads of `rewards` (its resume and reuse keys, and the
    params a per-task stage depends on). Another task's weight leaves it unchanged; a shared setting changes it;
    every field of RewardParams is either per task or shared (a new field cannot be forgotten)."""
    from pipeline.config import SHARED_REWARD_KEYS, RewardParams

    assert set(RewardParams.model_fields) == {"tasks", *SHARED_REWARD_KEYS}
    base = {"tasks": {"math": {"kind": "math"}, "qa": {"kind": "qa"}}}
    params = RewardParams.model_validate(base)
    other = RewardParams.model_validate({"tasks": {"math": {"kind": "math"},
                                                   "qa": {"kind": "qa", "weights": {"accuracy": 0.5}}}})
    assert set(params.identity(["math"])["tasks"]) == {"math"}
    assert params.identity(["math"]) == other.identity(["math"])
    assert params.identity(["qa"]) != other.identity(["qa"])
    assert params.identity(["math", "qa"]) != other.identity(["qa", "math"])
    judge = RewardParams.model_validate({**base, "judge": {"temperature": 0.0}})
    assert params.identity(["math"]) != judge.identity(["math"])


def test_set_param_overrides_turn_params_yaml_into_the_overlay_merged_on_it(tmp_path):
    """`params --exp-run`'s -S arguments: one per value an overlay sets (mappings merge, so they are descended
    into; a list replaces), JSON values, and an empty mapping only where params.yaml lacks the key."""
    from pipeline.config import load_yaml, merge_params, set_param_overrides

    base = {"seeds": [0], "train": {"overrides": {"qa": {}}, "grpo": {"lr": 0.1}}, "order": {"method": "exact"}}
    overlay = {"seeds": [0, 1], "train": {"overrides": {"qa": {}, "logic": {}}, "grpo": {"lr": 1e-05}},
               "order": {"method": "greedy", "floor": None}}
    sets = set_param_overrides(base, overlay)
    assert sets == ["++seeds=[0, 1]", "++train.overrides.logic={}", "++train.grpo.lr=1e-05",
                    '++order.method="greedy"', "++order.floor=null"]
    # Applied by DVC's own code (what `dvc exp run -S` calls on params.yaml), they give what merge_params gives.
    dvc_hydra = pytest.importorskip("dvc.utils.hydra")
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(base))
    dvc_hydra.apply_overrides(path, sets)
    assert load_yaml(path.read_text()) == merge_params(base, overlay)
    # DVC writes 1e-05 the YAML 1.2 way; the params loader reads it as the number it is (PyYAML alone: a string).
    assert "lr: 1e-05" in path.read_text() and load_yaml("lr: 1e-05\nx: 2E+3") == {"lr": 1e-05, "x": 2000.0}


@pytest.mark.skipif(not (REPO / ".venv" / "bin" / "dvc").exists() and not __import__("shutil").which("dvc"),
                    reason="dvc comes with the [workflow] extra")
def test_a_profile_runs_as_a_dvc_experiment_without_writing_params_yaml(tmp_path):
    """`params --params params.yaml PROFILE --exp-run`: real `dvc exp run --temp` in a scratch repository whose
    stage reads a params key; the experiment has the profile's values, params.yaml keeps the shipped ones, and a
    profile with a bad value stops before DVC runs, with one line, params.yaml untouched."""
    import shutil

    env = {**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}", "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "dvc.yaml").write_text("stages:\n  read:\n    cmd: python -c \"import yaml; p = yaml.safe_load("
                                       "open('params.yaml')); open('seeds.txt', 'w').write(str(p['seeds']))\"\n"
                                       "    params: [seeds, order.method]\n    outs: [seeds.txt]\n")
    (tmp_path / "profile.yaml").write_text("seeds: [0, 1]\norder: {method: greedy}\n")
    shipped = (tmp_path / "params.yaml").read_text()

    def sh(*cmd):
        return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)

    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "x"]):
        assert sh(*cmd).returncode == 0
    run = sh(sys.executable, "-m", "pipeline", "params", "--params", "params.yaml", "profile.yaml", "--exp-run",
             "--name", "smoke")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "dvc exp run --temp -S '++seeds=[0, 1]' -S '++order.method=\"greedy\"' --name smoke" in run.stdout
    assert (tmp_path / "params.yaml").read_text() == shipped
    shown = json.loads(sh("dvc", "exp", "show", "--json").stdout)
    exps = [e for rev in shown for group in (rev.get("experiments") or []) for e in group["revs"]]
    params = {e["name"]: e["data"]["params"]["params.yaml"]["data"] for e in exps}
    assert params["smoke"]["seeds"] == [0, 1] and params["smoke"]["order"]["method"] == "greedy"
    (tmp_path / "bad.yaml").write_text("order: {method: nope}\n")
    bad = sh(sys.executable, "-m", "pipeline", "params", "--params", "params.yaml", "bad.yaml", "--exp-run")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "order.method" in bad.stderr
    assert (tmp_path / "params.yaml").read_text() == shipped
