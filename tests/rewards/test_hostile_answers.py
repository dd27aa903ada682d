"""Hostile math answers (issue 43): none runs, none forges a verdict, none exhausts the scorer.

Each payload tries to run code through one sink that model text reached or could reach (``eval``, ``exec``,
``compile``, ``parse_expr``, ``sympify``, ``lambdify``, ``pickle``, attribute chains to builtins), to rebind a
helper of the verifier so that later wrong answers verify, or to exhaust time or memory. Each is scored through
``python -m pipeline score`` and through verl's entry point (``rewards/verl_entry.compute_score``, called from
threads as verl's reward manager does); each must score 0 and leave no file, no process and no changed state:
wrong answers scored after them stay 0 and the honest controls stay 1.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from pipeline.rewards.extract import extract_answer, last_code_block, without_think
from pipeline.rewards.math import MathScorer, boxed_contents

from ..conftest import REPO


def payloads(mark: Path) -> dict[str, str]:
    """name → answer text; a code-execution payload would create the file ``mark/<its name>`` (spaces as _)."""
    m = str(mark)

    def system(name: str) -> str:
        return f"__import__('os').system('touch {m}/{name}')"

    setattr = "__import__('builtins').setattr"
    return {
        "os.system": system("os.system"),
        "boxed os.system": f"\\boxed{{{system('boxed_os.system')}}}",
        "eval": f"eval(\"__import__('os').system('touch {m}/eval')\")",
        "exec": f"exec(\"import os\\nos.system('touch {m}/exec')\")",
        "compile": f"exec(compile(\"open('{m}/compile', 'w')\", 'x', 'exec'))",
        "open": f"open('{m}/open', 'w').write('x')",
        "subprocess": f"__import__('subprocess').run(['touch', '{m}/subprocess'])",
        "pathlib": f"__import__('pathlib').Path('{m}/pathlib').touch()",
        "sympify": f"sympify(\"__import__('os').system('touch {m}/sympify')\")",
        "parse_expr": f"parse_expr(\"__import__('os').system('touch {m}/parse_expr')\")",
        "lambdify": f"lambdify(x, \"__import__('os').system('touch {m}/lambdify')\")(1)",
        "pickle": f"__import__('pickle').loads(b\"cos\\nsystem\\n(S'touch {m}/pickle'\\ntR.\")",
        "lambda": f"(lambda: __import__('os').system('touch {m}/lambda'))()",
        "subclasses": "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen'][0]"
                      f"(['touch', '{m}/subclasses'])",
        "builtins chain": f"Symbol('x').__class__.__init__.__globals__['__builtins__']['open']('{m}/builtins_chain', 'w')",
        "fullwidth eval": f"ｅｖａｌ(\"open('{m}/fullwidth_eval', 'w')\")",  # NFKC-normalised to eval by Python
        "operatorname": f"\\operatorname{{{system('operatorname')}}}",
        "text": f"$\\text{{{system('text')}}}$",
        "conditional": f"0 if open('{m}/conditional', 'w') else 1",
        "walrus": f"(f := open('{m}/walrus', 'w')) and 1",
        # Rebinding a helper inside a verifier process (parse_expr's implicit multiplication splits bare names
        # such as ``str``, so these reach every object through __import__): on the old code each made every later
        # wrong answer of its worker verify.
        "rebind _sympy_equal": f"{setattr}(__import__('pipeline.rewards.math',fromlist=['x']),'_sympy_equal',"
                               "__import__('operator').ne)",
        "rebind simplify": f"{setattr}(__import__('sympy'),'simplify',__import__('sympy').S.Zero.__mul__)",
        "rebind symbolic_equal": f"{setattr}(__import__('pipeline.rewards.math',fromlist=['x']),'symbolic_equal',"
                                 "__import__('operator').ne)",
        "rebind plain_verdict": f"{setattr}(__import__('pipeline.rewards.math',fromlist=['x']),'plain_verdict',"
                                "__import__('operator').ne)",
        "rebind math_verify": f"{setattr}(__import__('math_verify'),'verify',__import__('operator').ne)",
        "power tower": "9^9^9^9",
        "python power tower": "9**9**9**9",
        "latex power tower": "10^{10^{10^{10}}}",
        "huge factorial": "(10^8)!",
        "deep nesting": "(" * 900 + "1" + ")" * 900,
        "deep fractions": "\\frac{" * 190 + "1" + "}{2}" * 190,
        "deep latex nesting": "\\sqrt{" * 280 + "2" + "}" * 280,
        "long nesting": "(" * 20000 + "1" + ")" * 20000,
        "million characters": "1+" * 500_000 + "1",
        "expansion": "(x+1)^{900}*(x-1)^{900}",
    }


HONEST = [("\\frac{1}{2}", "0.5"), ("x^2+2x+1", "(x+1)**2"), ("12", "12"), ("\\sqrt{8}", "2\\sqrt{2}")]
WRONG = [(str(n), str(n + 1)) for n in range(30)] + [("x^2+1", "x^2-1"), ("\\frac{1}{3}", "0.5")]


def ans(text: str) -> str:
    return f"<think>ok</think><answer>{text}</answer>"


def row(i: int, response: str, reference: str) -> dict:
    return {"id": str(i), "task": "math", "prompt": [{"role": "user", "content": "?"}], "reference": reference,
            "meta": {}, "response": response}


def fast_params(tmp_path: Path) -> Path:
    """params.yaml with a 2 s verification deadline (5 s as shipped): the power towers end sooner."""
    from pipeline.config import dump_params, load_params

    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "params.yaml"
    params = load_params(REPO / "params.yaml")
    math = params.rewards.math.model_copy(update={"timeout_s": 2.0})
    path.write_text(dump_params(params.model_copy(update={"rewards": params.rewards.model_copy(update={"math": math})})))
    return path


def leftover_children() -> list[psutil.Process]:
    """Processes below this one other than the forkserver and the verifier templates (forks of a call)."""
    me = psutil.Process()
    return [p for p in me.children(recursive=True)
            if p.ppid() != me.pid and psutil.Process(p.ppid()).ppid() != me.pid]


def test_every_payload_scores_zero_through_score_and_leaves_nothing(tmp_path):
    mark = tmp_path / "marks"
    mark.mkdir()
    hostile = payloads(mark)
    rows = [row(i, ans(text), "2") for i, text in enumerate(hostile.values())]
    rows += [row(1000 + i, ans(pred), gold) for i, (gold, pred) in enumerate(WRONG + HONEST)]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    params = fast_params(tmp_path / "params")
    proc = subprocess.run([sys.executable, "-m", "pipeline", "score", str(src), "--out", str(out), "--params",
                           str(params)], capture_output=True, text=True, cwd=tmp_path, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-2000:]
    accuracy = [json.loads(line)["components"]["accuracy"] for line in out.read_text().splitlines()]
    n = len(hostile)
    assert dict(zip(hostile, accuracy[:n])) == dict.fromkeys(hostile, 0.0)
    assert accuracy[n:n + len(WRONG)] == [0.0] * len(WRONG)  # scored after every rebinding payload
    assert accuracy[n + len(WRONG):] == [1.0] * len(HONEST)
    assert list(mark.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == [
        "in.jsonl", "marks", "out.jsonl", "out.jsonl.stats.json", "params"]
    stats = json.loads((tmp_path / "out.jsonl.stats.json").read_text())["math"]
    # Every payload reached the verifier (none was set aside as a hedge), but the two over max_answer_chars.
    assert stats["hedged"] == 0 and stats["too_long"] == 2


def test_every_payload_scores_zero_through_verls_entry_point_from_threads(tmp_path):
    from pipeline.rewards import math as math_module
    from pipeline.rewards import verl_entry

    mark = tmp_path / "marks"
    mark.mkdir()
    hostile = payloads(mark)
    helpers = (math_module.verify_answer, math_module.plain_verdict)
    params = str(fast_params(tmp_path))

    def score(item: tuple[str, str]) -> float:
        response, reference = item
        result = verl_entry.compute_score(data_source="math", solution_str=response, ground_truth=reference,
                                          extra_info={"question": "?"}, params=params)
        return result["accuracy"]

    with ThreadPoolExecutor(8) as threads:  # verl's reward manager calls from many threads at once
        hostile_scores = list(threads.map(score, [(ans(text), "2") for text in hostile.values()]))
        wrong_scores = list(threads.map(score, [(ans(pred), gold) for gold, pred in WRONG]))
        honest_scores = list(threads.map(score, [(ans(pred), gold) for gold, pred in HONEST]))
    assert dict(zip(hostile, hostile_scores)) == dict.fromkeys(hostile, 0.0)
    assert wrong_scores == [0.0] * len(WRONG) and honest_scores == [1.0] * len(HONEST)
    assert list(mark.iterdir()) == []
    assert (math_module.verify_answer, math_module.plain_verdict) == helpers
    assert leftover_children() == []


def test_a_rebinding_answer_followed_by_wrong_answers_leaves_every_one_wrong():
    scorer = MathScorer(workers=1, timeout_s=5)  # one worker: every verification runs from the same template
    try:
        rebinders = [p for name, p in payloads(Path("/nonexistent")).items() if name.startswith("rebind")]
        for rebinder in rebinders:
            items = [(ans(rebinder), "2")] + [(ans(pred), gold) for gold, pred in WRONG]
            assert scorer.score_many(items) == [0.0] * len(items)
        assert scorer.score_many([(ans(pred), gold) for gold, pred in HONEST]) == [1.0] * len(HONEST)
    finally:
        scorer.close()


# --- The scoring process itself reads every response: linear time on any of them ---------------------------

REGEX_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
REGEX_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
REGEX_CODE = re.compile(r"```(?:python|py|Python)?[^\n]*\n(.*?)```", re.DOTALL)
REGEX_BOXED = re.compile(r"\\boxed\s*\{")


def regex_boxed(text: str) -> list[str]:
    """The scan this project used before (quadratic on unclosed braces), as the reference."""
    out = []
    for match in REGEX_BOXED.finditer(text):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                out.append(text[start:i].strip())
                break
    return out


def test_linear_extraction_matches_the_regexes_it_replaced():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    pieces = st.sampled_from(["<answer>", "</answer>", "<think>", "</think>", "```", "```python", "\n", "x", " ",
                              "\\boxed{", "\\boxed {", "{", "}", "1"])

    @settings(max_examples=400, deadline=None)
    @given(st.lists(pieces, max_size=24).map("".join))
    def check(text: str) -> None:
        found = REGEX_ANSWER.findall(text)
        assert extract_answer(text) == (found[-1].strip() if found else None)
        assert without_think(text) == REGEX_THINK.sub("", text).strip()
        blocks = REGEX_CODE.findall(text)
        assert last_code_block(text) == (blocks[-1] if blocks else None)
        assert boxed_contents(text) == regex_boxed(text)

    check()


BOMBS = """
import sys
sys.path.insert(0, REPO)
from pipeline.rewards.extract import extract_answer, last_code_block, without_think, tags_valid
from pipeline.rewards.math import boxed_contents, final_answer
n = 1_000_000
assert extract_answer("<answer>" * (n // 8)) is None
assert extract_answer("<answer>" * (n // 8) + "</answer>") == "<answer>" * (n // 8 - 1)
assert without_think("<think>" * (n // 7) + "x") == ("<think>" * (n // 7) + "x")
assert last_code_block("`" * n) is None and last_code_block("```\\n" * (n // 4)) == ""
assert boxed_contents("\\\\boxed{" * (n // 7)) == []
assert final_answer("<answer>" + "\\\\boxed{" * (n // 7) + "</answer>") == ("\\\\boxed{" * (n // 7), False)
assert not tags_valid("<think>" + "x" * n)
print("ok")
"""


def test_million_character_responses_are_read_in_linear_time():
    # In a subprocess with a time limit: a quadratic regression fails here instead of hanging the suite
    # (each of these took hours with the regexes above; the whole script takes about a second).
    proc = subprocess.run([sys.executable, "-c", BOMBS.replace("REPO", repr(str(REPO)), 1)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]
