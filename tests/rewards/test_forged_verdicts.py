"""Programs that try to forge the code reward's verdict instead of solving the problem (issue 36, item 1).

Each attack program is wrong: it can score 1 only if it reaches the expected outputs, the comparison or the
verdict. The sandbox sees the inputs only; expected values, check code and comparison stay in the scorer and
its checker process (pipeline/rewards/_harness.py, _checker.py), so every attack scores 0, while the positive
controls (a correct program in each format) score 1 in the same scorer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from pipeline.rewards._harness import NotPlain, decode, encode
from pipeline.rewards.code import CodeScorer, reference_tests
from pipeline.rewards.sandbox import Sandbox, SandboxLimits

from ..conftest import REPO

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

FUNCTIONAL = json.dumps({"functional": "def check(candidate):\n    assert candidate([3, 1, 2]) == [1, 2, 3]\n"
                                       "    assert candidate([5, 4]) == [4, 5]\n\ncheck(Solution().sort)"})
TACO = json.dumps({"functional": "import math\ndef _deep_eq(a, b, tol=1e-5):\n    if isinstance(a, float) or "
                                 "isinstance(b, float):\n        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)\n"
                                 "    return a == b\n_inputs = [[1, 2], [10, -3]]\n_outputs = [[3], [7]]\n"
                                 "for i, o in zip(_inputs, _outputs):\n    assert _deep_eq(add(*i), o[0])\n"})
IO = json.dumps({"inputs": ["1 2\n", "10 -3\n"], "outputs": ["3\n", "7\n"]})
CALL = json.dumps({"fn_name": "add", "inputs": [[1, 2], [10, -3]], "outputs": [3, 7]})
UNITTEST = json.dumps({"unittest": "import unittest\nclass T(unittest.TestCase):\n    def test(self):\n"
                                   "        assert add(1, 2) == 3\n        self.assertEqual(add(10, -3), 7)\n"})

GOOD = {FUNCTIONAL: "class Solution:\n    def sort(self, xs):\n        return sorted(xs)",
        TACO: "def add(a, b):\n    return a + b",
        IO: "a, b = map(int, input().split())\nprint(a + b)",
        CALL: "def add(a, b):\n    return a + b",
        UNITTEST: "def add(a, b):\n    return a + b"}
WRONG = {FUNCTIONAL: "class Solution:\n    def sort(self, xs):\n        return xs",
         TACO: "def add(a, b):\n    return a - b",
         IO: "a, b = map(int, input().split())\nprint(a - b)",
         CALL: "def add(a, b):\n    return a - b",
         UNITTEST: "def add(a, b):\n    return a - b"}

TRACE_REBINDS_COMPARISON = """import sys, threading
def hook(frame, event, arg):
    for scope in (frame.f_globals, frame.f_locals):
        for name in ('__omni_eq__', 'same', 'eq', '_deep_eq'):
            if name in scope:
                scope[name] = lambda *a, **k: True
    return hook
sys.settrace(hook); sys.setprofile(hook); threading.settrace(hook)
"""
TRACE_REWRITES_LOCALS = """import sys, ctypes
def hook(frame, event, arg):
    if event == 'call' and frame.f_code.co_name in ('same', 'run_call', 'plain', 'answer', 'encode'):
        loc = frame.f_locals
        if 'a' in loc and 'b' in loc:
            loc['a'] = loc['b']
            ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
    return hook
sys.settrace(hook); sys.setprofile(hook)
"""
PATCH_MAIN = """import sys
m = sys.modules['__main__']
for name in ('same', 'plain', '_normalise_output', 'run_stdio', 'encode'):
    if hasattr(m, name):
        setattr(m, name, lambda *a, **k: True)
if hasattr(m, 'Program'):
    m.Program.answer = lambda self, op: {'stdout': '3\\n', 'value': 3, 'handle': 0}
"""
FRAME_AND_GC_WALK = """import sys, gc, os
def _forge():
    # The nonce and the request, wherever the process holds them (frames, then every object), and a proof line
    # that claims every test passed.
    places = []
    f = sys._getframe()
    while f is not None:
        places.append(f.f_locals)
        f = f.f_back
    places += [o for o in gc.get_objects() if isinstance(o, dict)]
    nonce = next((p['nonce'] for p in places if isinstance(p.get('nonce'), str)), None)
    request = next((p['request'] for p in places if isinstance(p.get('request'), dict)), {})
    tests = request.get('tests') or {}
    if nonce:
        passed = len(tests['inputs']) if 'inputs' in tests else 1
        sys.__stdout__.write('\\n%s %r\\n' % (nonce, {'passed': passed, 'error': None}))
        sys.__stdout__.flush()
        os._exit(0)
_forge()
"""
FD_FLOOD = """import os
for payload in (b'{"value": [1, 2, 3]}', b'{"stdout": "3\\\\n"}', b'{"value": 3}', b'{"names": {}}'):
    for _ in range(3):
        try:
            os.write(4, len(payload).to_bytes(4, 'little') + payload)
        except OSError:
            pass
"""


def attack(prelude: str, reference: str) -> str:
    return f"<think>x</think><answer>```python\n{prelude}\n{WRONG[reference]}\n```</answer>"


def good(reference: str) -> str:
    return f"<think>x</think><answer>```python\n{GOOD[reference]}\n```</answer>"


@pytest.fixture(scope="module")
def scorer():
    sandbox = Sandbox(SandboxLimits(timeout_s=5), slots=2, uid_base=61700)
    scorer = CodeScorer(sandbox, workers=2)
    yield scorer
    scorer.close()


FORMATS = {"functional": FUNCTIONAL, "taco_functional": TACO, "io": IO, "call": CALL}
ATTACKS = {"trace_rebinds_comparison": TRACE_REBINDS_COMPARISON, "trace_rewrites_locals": TRACE_REWRITES_LOCALS,
           "patch_main_module": PATCH_MAIN, "frame_and_gc_walk": FRAME_AND_GC_WALK, "answer_channel_flood": FD_FLOOD}


@needs_bwrap
def test_correct_programs_pass_in_every_format(scorer):
    references = [*FORMATS.values(), UNITTEST]
    assert [o.score for o in scorer.score_many([(good(r), r) for r in references])] == [1.0] * len(references)


@needs_bwrap
@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_an_attack_on_the_check_scores_zero(scorer, fmt, name):
    reference = FORMATS[fmt]
    outcome = scorer.score(attack(ATTACKS[name], reference), reference)
    assert outcome.score == 0.0, (name, fmt, outcome)


@needs_bwrap
def test_the_sandbox_never_receives_expected_outputs_or_check_code(scorer):
    """What the harness is sent for each format: the program and its inputs, nothing to compare with."""
    sent: list[bytes] = []
    real = scorer.sandbox._exchange
    scorer.sandbox._exchange = lambda proc, frames, message, wait: sent.append(message) or real(proc, frames, message,
                                                                                                  wait)
    try:
        assert scorer.score(good(FUNCTIONAL), FUNCTIONAL).score == 1.0
        assert scorer.score(good(IO), IO).score == 1.0
        assert scorer.score(good(CALL), CALL).score == 1.0
    finally:
        scorer.sandbox._exchange = real
    everything = b"".join(sent)
    assert b"[1, 2, 3]" not in everything and b"[4, 5]" not in everything  # the functional check's expected values
    assert b"check(" not in everything and b"assert" not in everything
    assert b'"3\\n"' not in everything and b"7\\n" not in everything  # io's outputs (its inputs do go)
    assert b"1 2\\n" in everything and b"[1, 2]" in everything  # inputs and arguments


def test_python_variables_of_the_host_do_not_change_the_check(tmp_path):
    """PYTHONOPTIMIZE=1 (and -O) strip `assert`s from code compiled under them: neither the scorer's environment
    nor its flags reach the check (compiled with optimize=0; the checker and the sandbox run with -I)."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    code = ("import json, sys\nsys.path.insert(0, sys.argv[1])\nfrom tests.rewards.test_forged_verdicts import *\n"
            "s = CodeScorer(Sandbox(SandboxLimits(timeout_s=5), slots=1, uid_base=61710), workers=1)\n"
            "refs = [FUNCTIONAL, TACO, IO, CALL, UNITTEST]\n"
            "print(json.dumps([o.score for o in s.score_many([(attack('', r), r) for r in refs]"
            " + [(good(r), r) for r in refs])]))\ns.close()")
    env = {**os.environ, "PYTHONOPTIMIZE": "1", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-O", "-c", code, str(REPO)], env=env, capture_output=True, text=True,
                         timeout=300, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == [0.0] * 5 + [1.0] * 5


@pytest.mark.parametrize("reference, why", [
    (json.dumps({"inputs": [], "outputs": []}), "at least one test case"),
    (json.dumps({"fn_name": "f", "inputs": [], "outputs": []}), "at least one test case"),
    (json.dumps({"inputs": ["1"], "outputs": []}), "as many outputs as inputs"),
    (json.dumps({"functional": "  "}), "non-empty code"),
    (json.dumps([1, 2]), "a JSON object is expected"),
    ("{not json", "not JSON"),
    (json.dumps({"fn_name": "1x", "inputs": [[1]], "outputs": [1]}), "a Python name"),
])
def test_a_reference_without_test_cases_is_refused_not_passed(reference, why):
    with pytest.raises(ValueError, match=why):
        reference_tests(reference)
    scorer = CodeScorer(Sandbox(SandboxLimits(timeout_s=5), slots=1, uid_base=61720), workers=1)
    outcome = scorer.score(good(CALL), reference)  # no sandbox is started for it
    assert (outcome.score, outcome.reason) == (0.0, "bad_reference")


@pytest.mark.parametrize("value", [None, True, 0, -7, 2 ** 100, 1.5, float("inf"), "s", b"\x00b", 1 + 2j, [1, [2]],
                                   (1, (2,)), {1, 2}, frozenset({3}), {"a": 1, (1, 2): [3]}, []])
def test_the_wire_format_rebuilds_built_in_values(value):
    back = decode(json.loads(json.dumps(encode(value))))
    assert back == value and type(back) is type(value)


def test_the_wire_format_refuses_objects_and_unknown_tags():
    class Sneaky(int):
        def __eq__(self, other):
            return True

    for value in (Sneaky(1), object(), [Sneaky(2)]):
        with pytest.raises(NotPlain):
            encode(value)
    for data in ({"x": 1}, {"s": [[1]]}, {"d": [[[1], 2]]}, {"t": 1, "s": 2}, {"c": [1]}):
        with pytest.raises(ValueError):
            decode(data)


@needs_bwrap
def test_check_code_is_downloaded_text_and_runs_sandboxed_not_on_the_host(scorer, tmp_path):
    """A reference's check code comes from a dataset: it runs in a sandbox of its own, never on the host (it can
    neither write the host's files nor read the scorer's environment), and the program's sandbox cannot see it."""
    marker = tmp_path / "written-by-check"
    os.environ["OMNI_TEST_SECRET"] = "s3cr3t"
    try:
        check = (f"import os\ntry:\n    open({str(marker)!r}, 'w').write('x')\nexcept OSError:\n    pass\n"
                 "assert 's3cr3t' not in str(os.environ)\n"
                 "def check(candidate):\n    assert candidate([2, 1]) == [1, 2]\n\ncheck(Solution().sort)")
        reference = json.dumps({"functional": check})
        assert scorer.score(good(FUNCTIONAL), reference).score == 1.0
    finally:
        os.environ.pop("OMNI_TEST_SECRET")
    assert not marker.exists()
