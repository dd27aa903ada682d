import json
import shutil

import pytest

from pipeline.rewards.code import CodeScorer, kind_of_tests
from pipeline.rewards.extract import last_code_block
from pipeline.rewards.sandbox import Sandbox, SandboxLimits


def block(code: str) -> str:
    return f"<think>plan</think><answer>Here:\n```python\n{code}\n```</answer>"


@pytest.fixture(scope="module")
def scorer():
    return CodeScorer(Sandbox(SandboxLimits(timeout_s=5), slots=2, uid_base=61600), workers=2)


FUNCTIONAL = json.dumps({"functional": "def check(candidate):\n    assert candidate([3, 1, 2]) == [1, 2, 3]\n"
                                       "    assert candidate([]) != [0]\n\ncheck(Solution().sort)"})
IO = json.dumps({"inputs": ["1 2\n", "10 -3\n"], "outputs": ["3\n", "7\n"]})
CALL = json.dumps({"fn_name": "add", "inputs": [[1, 2], [0.1, 0.2]], "outputs": [3, 0.3]})


@pytest.mark.parametrize(("code", "reference"), [
    ("class Solution:\n    def sort(self, xs):\n        return sorted(xs)", FUNCTIONAL),
    ("a, b = map(int, input().split())\nprint(a + b)", IO),
    ("import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\nexit()", IO),
    ("def add(a, b):\n    return a + b", CALL),
    ("class Solution:\n    def add(self, a, b):\n        return a + b", CALL),
])
def test_correct_solutions_score_one(scorer, code, reference):
    assert scorer.score(block(code), reference).score == 1.0


@pytest.mark.parametrize(("code", "reference", "reason"), [
    ("class Solution:\n    def sort(self, xs):\n        return xs", FUNCTIONAL, "failed"),
    ("a, b = map(int, input().split())\nprint(a - b)", IO, "failed"),
    ("def add(a, b):\n    return 3", CALL, "failed"),  # passes the first case only: the product is 0
    ("def add(a, b):\n    return a + b +", CALL, "failed"),  # syntax error
])
def test_wrong_solutions_score_zero(scorer, code, reference, reason):
    outcome = scorer.score(block(code), reference)
    assert (outcome.score, outcome.reason) == (0.0, reason)


def test_missing_code_and_last_block_wins(scorer):
    assert scorer.score("<answer>no code here</answer>", CALL).reason == "no_code"
    two = "```python\ndef add(a, b):\n    return 0\n```\nfixed:\n```python\ndef add(a, b):\n    return a + b\n```"
    assert last_code_block(two).strip().endswith("return a + b")
    assert scorer.score(f"<answer>{two}</answer>", CALL).score == 1.0


def test_kinds():
    assert kind_of_tests({"functional": ""}) == "functional"
    assert kind_of_tests({"fn_name": "f", "inputs": [], "outputs": []}) == "call"
    assert kind_of_tests({"inputs": [], "outputs": []}) == "io"


def test_parallel_scoring_keeps_order(scorer):
    items = [(block("def add(a, b):\n    return a + b"), CALL), (block("def add(a, b):\n    return 0"), CALL)] * 4
    assert [o.score for o in scorer.score_many(items)] == [1.0, 0.0] * 4


def test_identical_programs_run_once_but_count_per_sample():
    sandbox = Sandbox(SandboxLimits(timeout_s=5), slots=2, uid_base=61600)
    runs = []
    real_run_many = sandbox.run_many
    sandbox.run_many = lambda script, requests: runs.extend(requests) or real_run_many(script, requests)
    scorer = CodeScorer(sandbox, workers=2)
    good, bad = block("def add(a, b):\n    return a + b"), block("def add(a, b):\n    return 0")
    # Same program in different wrappers (think text) is the same program.
    other_wrapper = "<think>another plan</think><answer>```python\ndef add(a, b):\n    return a + b\n```</answer>"
    items = [(good, CALL), (bad, CALL), (other_wrapper, CALL), (good, CALL), (good, IO), ("no code", CALL)]
    assert [o.score for o in scorer.score_many(items)] == [1.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    assert len(runs) == 3  # (good, CALL), (bad, CALL), (good, IO)
    assert scorer.counts == {"passed": 3, "failed": 2, "no_code": 1}


def test_missing_bwrap_is_loud_or_fatal(monkeypatch, capsys):
    import pipeline.rewards.sandbox as sb
    from pipeline.errors import UserError

    real_which = shutil.which
    monkeypatch.setattr(sb.shutil, "which", lambda name: None if name == "bwrap" else real_which(name))
    with pytest.raises(UserError, match="require_isolation"):
        Sandbox(require_isolation=True)
    monkeypatch.setattr(Sandbox, "_warned", False)
    with pytest.warns(RuntimeWarning, match="WITHOUT filesystem, network and PID isolation"):
        fallback = Sandbox(SandboxLimits(timeout_s=5))
    assert "NOT isolated" in capsys.readouterr().err
    # The fallback still runs and scores real programs.
    assert CodeScorer(fallback).score(block("def add(a, b):\n    return a + b"), CALL).score == 1.0
