"""Synthetic coding: infer a small function from input/output examples, checked by running it.

The prompt gives two examples of ``f``; the reference holds hidden call-based tests in
code-r1's ``functional`` format (``def check(candidate): assert …`` then ``check(f)``).
Difficulty 1: ``f(x) = a*x + b`` (a in 1–5, b in 0–59) shown at x = 0 and at one x in 1–9, so b is
read off and only the slope is inferred (2,700 distinct problems: room for a pool of 2,000
and a warm start on problems outside it). Difficulty 2 shows two arbitrary
points in 0–9 (the intercept must be inferred too; b in 0–9) and adds ``x*x + b`` and ``a*x - b``;
difficulty ≥ 3 adds ``x % m`` and ``max(x, c)``.
"""

from __future__ import annotations

import json

import numpy as np

from ...config import TaskDataParams
from ..prompts import chat, code_user_prompt
from ..splits import content_id
from .base import Record, generate_pool_and_pretrain, register_generator


def _family(rng: np.random.Generator, difficulty: int) -> tuple[str, callable, str]:
    """(expression in x, python function, reasoning hint)."""
    kinds = ["linear"] + (["square", "linear_minus"] if difficulty >= 2 else []) \
        + (["mod", "max"] if difficulty >= 3 else [])
    kind = rng.choice(kinds)
    a, b = int(rng.integers(1, 6)), int(rng.integers(0, 60 if difficulty == 1 else 10))
    if kind == "linear":
        expr = f"{a}*x+{b}" if b else f"{a}*x"
        return expr, lambda x: a * x + b, f"f grows by {a} per step"
    if kind == "linear_minus":
        return f"{a}*x-{b}", lambda x: a * x - b, f"f grows by {a} per step"
    if kind == "square":
        return f"x*x+{b}", lambda x: x * x + b, "f grows like a square"
    if kind == "mod":
        m = int(rng.integers(2, 6))
        return f"x%{m}", lambda x: x % m, f"f repeats every {m}"
    c = int(rng.integers(2, 8))
    return f"max(x,{c})", lambda x: max(x, c), f"f is never below {c}"


@register_generator("synthetic_coding")
def generate(cfg: TaskDataParams, task: str, rng: np.random.Generator) -> tuple[list[Record], list[Record]]:
    def make(kind: str) -> Record:
        expr, fn, hint = _family(rng, cfg.difficulty)
        if cfg.difficulty == 1:
            shown = [0, int(rng.integers(1, 10))]
        else:
            shown = sorted(int(x) for x in rng.choice(np.arange(0, 10), size=2, replace=False))
        hidden = [0, 1, 2, 3, 5, 7, 10]
        question = (f"Write a Python function f(x) with f({shown[0]}) = {fn(shown[0])} "
                    f"and f({shown[1]}) = {fn(shown[1])}.")
        asserts = "".join(f"    assert candidate({x}) == {fn(x)}\n" for x in hidden)
        check = "def check(candidate):\n" + asserts + "\ncheck(f)\n"
        code = f"```python\ndef f(x):\n    return {expr}\n```"
        return {
            "id": content_id(task, question, expr), "task": task, "source": "synthetic_coding", "split": "train",
            "prompt": chat(code_user_prompt(question)), "reference": json.dumps({"functional": check}),
            "meta": {"difficulty": cfg.difficulty, "entry_point": "f", "solution": expr,
                     "completion": f"<think>{hint}</think><answer>{code}</answer>"},
        }

    return generate_pool_and_pretrain(make, cfg, rng)
