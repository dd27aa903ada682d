"""Synthetic creative writing: short constrained prompts with a machine-checkable rubric.

Rubric (``meta["rubric"]``): ``required_words`` (each must appear), ``lines`` (exact line
count) and ``ending`` (the last character). The offline rubric judge compares a response
with the reference on it. The reference is *beatable*, as GPT-4's MT-Bench answers are:
it satisfies only part of the rubric (difficulty 1 misses one criterion, higher
difficulties keep it missing one while adding required words), so a good policy can
win more than half of its comparisons. A share ``demo_quality`` of the warm-start
completions satisfies all of it; the others miss one criterion, like the reference.
"""

from __future__ import annotations

import numpy as np

from ...config import TaskDataParams
from ..prompts import chat
from ..splits import content_id
from .base import Record, generate_pool_and_pretrain, register_generator

TOPICS = ("the sea", "a city", "the moon", "a forest", "winter", "a train", "the rain", "a garden")
WORDS = ("blue", "light", "stone", "song", "wind", "fire", "gold", "sleep", "road", "bird", "cold", "dream")
ENDINGS = ("!", ".", "?")
FILLER = ("we walk", "it sings", "they wait", "you stay", "all turn")


def rubric_problem(rubric: object) -> str | None:
    """Why ``rubric`` is not a writing rubric (``required_words``: a list of words, ``lines``: a positive
    integer, ``ending``: text), or None."""
    if not isinstance(rubric, dict):
        return f"the rubric is a {type(rubric).__name__}, not an object"
    words, lines, ending = rubric.get("required_words"), rubric.get("lines"), rubric.get("ending")
    if not (isinstance(words, list) and all(isinstance(w, str) for w in words)):
        return "rubric.required_words must be a list of words"
    if not (isinstance(lines, int) and not isinstance(lines, bool) and lines > 0):
        return "rubric.lines must be a positive integer"
    if not isinstance(ending, str):
        return "rubric.ending must be text"
    return None


def criteria(response: str, rubric: dict) -> dict[str, bool]:
    """Which rubric criteria a response meets (shared with the offline judge)."""
    text = response.strip()
    lines = [line for line in text.splitlines() if line.strip()]
    words = set(text.lower().replace("!", " ").replace(".", " ").replace("?", " ").replace(",", " ").split())
    met = {f"word:{w}": w in words for w in rubric["required_words"]}
    met["lines"] = len(lines) == rubric["lines"]
    met["ending"] = text.endswith(rubric["ending"])
    return met


def _compose(rng: np.random.Generator, rubric: dict, drop: str | None) -> str:
    words = [w for w in rubric["required_words"] if drop != f"word:{w}"]
    n_lines = rubric["lines"] + (1 if drop == "lines" else 0)
    lines = []
    for i in range(n_lines):
        chunk = words[i::n_lines] if words else []
        lines.append(" ".join([str(rng.choice(FILLER)), *chunk]))
    end = rubric["ending"] if drop != "ending" else next(e for e in ENDINGS if e != rubric["ending"])
    lines[-1] = lines[-1] + end
    return "\n".join(lines)


@register_generator("synthetic_writing")
def generate(cfg: TaskDataParams, task: str, rng: np.random.Generator) -> tuple[list[Record], list[Record]]:
    def make(kind: str) -> Record:
        n_words = min(1 + cfg.difficulty, 4)
        rubric = {"topic": str(rng.choice(TOPICS)),
                  "required_words": sorted(rng.choice(WORDS, size=n_words, replace=False).tolist()),
                  "lines": int(rng.integers(1, 3)), "ending": str(rng.choice(ENDINGS))}
        words = " and ".join(f"'{w}'" for w in rubric["required_words"])
        line_text = "one line" if rubric["lines"] == 1 else f"{rubric['lines']} lines"
        request = f"Write {line_text} about {rubric['topic']} using {words}, ending with '{rubric['ending']}'."
        keys = [f"word:{w}" for w in rubric["required_words"]] + ["lines", "ending"]
        reference = _compose(rng, rubric, drop=str(rng.choice(keys)))
        perfect = cfg.demo_quality >= 1 or rng.random() < cfg.demo_quality
        best = _compose(rng, rubric, drop=None if perfect else str(rng.choice(keys)))
        return {
            "id": content_id(task, request), "task": task, "source": "synthetic_writing", "split": "train",
            "prompt": chat(request), "reference": reference,
            "meta": {"rubric": rubric, "difficulty": cfg.difficulty,
                     "completion": f"<think>{rubric['topic']}</think><answer>{best}</answer>"},
        }

    return generate_pool_and_pretrain(make, cfg, rng)
