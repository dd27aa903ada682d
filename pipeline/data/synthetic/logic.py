"""Synthetic logic: put a few letters in alphabetical order (the fifth task of docs/extending.md).

The worked example of adding a task: this module is the whole of its data (it registers its generator, which
``data.tasks.<task>.source: synthetic_logic`` selects), scored by the ``exact`` reward kind
(:mod:`pipeline.rewards.kinds.exact`), switched on by ``configs/fifth_task.yaml``. Difficulty d asks for
d + 2 distinct letters out of the first twelve; the answer is them in order, without separators (``bdf``).
"""

from __future__ import annotations

import numpy as np

from ...config import TaskDataParams
from ..prompts import chat
from ..splits import content_id
from .base import Record, generate_pool_and_pretrain, register_generator

LETTERS = "abcdefghijkl"


def _puzzle(rng: np.random.Generator, difficulty: int) -> tuple[str, str, str]:
    """(question, worked steps, answer)."""
    letters = [str(c) for c in rng.choice(list(LETTERS), size=min(difficulty + 2, len(LETTERS)), replace=False)]
    ordered = sorted(letters)
    question = f"Put these letters in alphabetical order: {', '.join(letters)}. Answer with the letters only."
    return question, "<".join(ordered), "".join(ordered)


@register_generator("synthetic_logic")
def generate(cfg: TaskDataParams, task: str, rng: np.random.Generator) -> tuple[list[Record], list[Record]]:
    def make(kind: str) -> Record:
        question, steps, answer = _puzzle(rng, cfg.difficulty)
        return {
            "id": content_id(task, question), "task": task, "source": "synthetic_logic", "split": "train",
            "prompt": chat(question), "reference": answer,
            "meta": {"difficulty": cfg.difficulty, "completion": f"<think>{steps}</think><answer>{answer}</answer>"},
        }

    return generate_pool_and_pretrain(make, cfg, rng)
