"""Synthetic math: arithmetic word problems with integer or fraction answers.

Difficulty 1: one addition or subtraction on numbers 0–9. Difficulty 2: two operations
(+, −, ×) on numbers up to 12. Difficulty ≥ 3 adds sharing into equal parts, whose
answer is a fraction in lowest terms (``3/4``).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ...config import TaskDataParams
from ..prompts import chat
from ..splits import content_id
from .base import Record, generate_pool_and_pretrain, register_generator

NAMES = ("Ana", "Ben", "Caro", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun")
ITEMS = ("apples", "books", "coins", "pens", "shells", "stamps", "cards", "marbles")


def _problem(rng: np.random.Generator, difficulty: int) -> tuple[str, str, str]:
    """(question, worked steps, answer)."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    kinds = ["add", "sub"] + (["two_ops"] if difficulty >= 2 else []) + (["share"] if difficulty >= 3 else [])
    kind = rng.choice(kinds)
    hi = 10 if difficulty == 1 else 13
    a, b = int(rng.integers(0, hi)), int(rng.integers(0, hi))
    if kind == "add":
        question = f"{name} has {a} {item} and gets {b} more. How many {item} does {name} have?"
        return question, f"{a}+{b}={a + b}", str(a + b)
    if kind == "sub":
        a, b = max(a, b), min(a, b)
        return f"{name} has {a} {item} and gives away {b}. How many {item} are left?", f"{a}-{b}={a - b}", str(a - b)
    if kind == "two_ops":
        c = int(rng.integers(1, 6))
        return (f"{name} buys {c} boxes of {a} {item} and finds {b} more. How many {item} is that?",
                f"{c}*{a}={c * a}, {c * a}+{b}={c * a + b}", str(c * a + b))
    parts = int(rng.integers(2, 9))
    total = int(rng.integers(1, 3 * parts))
    value = Fraction(total, parts)
    return (f"{name} shares {total} kg of {item} equally among {parts} friends. How many kg does each get?",
            f"{total}/{parts}={value}", str(value))


@register_generator("synthetic_math")
def generate(cfg: TaskDataParams, task: str, rng: np.random.Generator) -> tuple[list[Record], list[Record]]:
    def make(kind: str) -> Record:
        question, steps, answer = _problem(rng, cfg.difficulty)
        return {
            "id": content_id(task, question), "task": task, "source": "synthetic_math", "split": "train",
            "prompt": chat(question), "reference": answer,
            "meta": {"difficulty": cfg.difficulty, "completion": f"<think>{steps}</think><answer>{answer}</answer>"},
        }

    return generate_pool_and_pretrain(make, cfg, rng)
