import json
import math
import subprocess
import sys

import pytest

from ..conftest import REPO

ROWS = [
    {"id": "m", "task": "math", "prompt": [{"role": "user", "content": "1+1?"}], "reference": "2", "meta": {},
     "response": "<think>1+1=2</think><answer>\\boxed{2}</answer>"},
    {"id": "c", "task": "coding", "prompt": [{"role": "user", "content": "f"}], "meta": {},
     "reference": json.dumps({"functional": "def check(candidate):\n    assert candidate(2) == 4\n\ncheck(f)"}),
     "response": "<think>x</think><answer>```python\ndef f(x):\n    return 2*x\n```</answer>"},
    {"id": "q", "task": "qa", "prompt": [{"role": "user", "content": "q"}], "reference": "Argon", "meta": {},
     "response": "<answer>B</answer>"},
    {"id": "w", "task": "writing", "prompt": [{"role": "user", "content": "Write"}], "reference": "grey.",
     "meta": {"rubric": {"topic": "sea", "required_words": ["blue"], "lines": 1, "ending": "!"}},
     "response": "<think>sea</think><answer>blue!</answer>"},
    {"id": "e", "task": "math", "prompt": "1+1?", "reference": "2", "meta": {}, "response": "just 2"},
]


def run_score(tmp_path, lines):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([sys.executable, "-m", "pipeline", "score", str(src), "--out", str(out), "--params",
                           str(REPO / "params.yaml")], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    return proc, out


def test_score_cli_contract(tmp_path):
    proc, out = run_score(tmp_path, [json.dumps(r) for r in ROWS])
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in results] == ["m", "c", "q", "w", "e"]
    assert all(set(r) == {"id", "task", "score", "components", "excluded"} for r in results)
    acc = {r["id"]: r["components"]["accuracy"] for r in results}
    assert acc == {"m": 1.0, "c": 1.0, "q": 0.0, "w": 1.0, "e": 0.0}
    assert results[0]["score"] == pytest.approx(1.2)  # 1·1 + 0.1·format + 0.1·tags
    assert results[4]["components"] == {"accuracy": 0.0, "format": 0.0, "tags": 0.0}
    stats = json.loads((tmp_path / "out.jsonl.stats.json").read_text())
    assert stats["rows"] == 5 and stats["code"] == {"passed": 1}


def test_malformed_lines_are_reported_and_valid_rows_still_written(tmp_path):
    bad_missing = {k: v for k, v in ROWS[0].items() if k != "response"}
    lines = [json.dumps(ROWS[0]), "{not json", json.dumps(bad_missing), json.dumps(ROWS[2]),
             json.dumps({**ROWS[0], "task": "dance"})]
    proc, out = run_score(tmp_path, lines)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3
    assert "line 2: invalid JSON" in errors[0] and "line 3: missing field 'response'" in errors[1]
    assert "line 5:" in errors[2] and "dance" in errors[2]
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["m", "q"]


def test_verl_entry_point_direct():
    from pipeline.rewards.verl_entry import compute_score

    result = compute_score("qa", "<think>t</think><answer>argon</answer>", "Argon",
                           {"task": "qa", "prompt": [{"role": "user", "content": "q"}], "meta": "{}"},
                           params=str(REPO / "params.yaml"))
    assert result["score"] == pytest.approx(1.2) and result["accuracy"] == 1.0 and result["excluded"] == 0.0
    undefined = compute_score("writing", "<answer>x</answer>", "ref", {"task": "writing", "meta": {}},
                              params=str(REPO / "params.yaml"))
    assert math.isnan(undefined["accuracy"])


def test_verl_loads_our_reward_function_with_its_own_loader():
    pytest.importorskip("verl")
    from omegaconf import OmegaConf
    from verl.trainer.ppo.reward import get_custom_reward_fn

    config = OmegaConf.create({"reward": {"custom_reward_function": {
        "path": str(REPO / "pipeline" / "rewards" / "verl_entry.py"), "name": "compute_score",
        "reward_kwargs": {"params": str(REPO / "params.yaml")}}},
        "custom_reward_function": {"path": str(REPO / "pipeline" / "rewards" / "verl_entry.py"),
                                   "name": "compute_score", "reward_kwargs": {"params": str(REPO / "params.yaml")}}})
    fn = get_custom_reward_fn(config)
    assert fn is not None
    out = fn(data_source="math", solution_str="<think>x</think><answer>4</answer>", ground_truth="4",
             extra_info={"task": "math", "meta": "{}"})
    assert out["accuracy"] == 1.0 and out["score"] == pytest.approx(1.2)


def test_rows_of_the_wrong_shape_are_one_line_each_and_the_rest_are_scored(tmp_path, repo):
    """Each of these ended in a traceback (a task that is a list) or reached a verifier (issue 36)."""
    import json
    import subprocess
    import sys

    good = {"id": "8", "task": "qa", "prompt": [{"role": "user", "content": "q"}], "reference": "a", "meta": {},
            "response": "<answer>a</answer>"}
    bad = [({"task": ["qa"]}, "'task' must be a task name, not a list"),
           ({"prompt": [{"role": "user"}]}, "'prompt' messages must be objects with 'role' and 'content' strings"),
           ({"task": "coding", "reference": "[1, 2]"}, "'reference' is not a code reference: a JSON object"),
           ({"task": "coding", "reference": '{"inputs": [], "outputs": []}'}, "at least one test case"),
           ({"task": "writing", "meta": {"rubric": 5}}, "the rubric is a int, not an object"),
           ({"task": "writing", "meta": {"rubric": {"required_words": "sea", "lines": 2, "ending": "."}}},
            "rubric.required_words must be a list of words")]
    lines = [json.dumps({**good, "id": str(i), **change}) for i, (change, _) in enumerate(bad)] + [json.dumps(good)]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([sys.executable, "-m", "pipeline", "score", str(src), "--out", str(tmp_path / "out.jsonl"),
                           "--params", str(repo / "params.yaml")], capture_output=True, text=True, cwd=repo)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == len(bad)
    for (_, message), (lineno, error) in zip(bad, enumerate(errors, 1)):
        assert f"in.jsonl line {lineno}: " in error and message in error, error
    assert [json.loads(line)["id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()] == ["8"]
