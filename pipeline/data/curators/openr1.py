"""OpenR1-Math: word problems only, no visual reasoning, with a verifiable answer.

Schema (HF card): ``problem, solution, answer, problem_type, question_type, source, uuid, …``.

Rules, in order (each drop is counted under its name):

- ``not_word_problem``: ``question_type`` is not ``math-word-problem`` (MCQ, proofs, …);
- ``needs_figure``: the problem refers to a figure, diagram, picture, image, graph or
  drawing that is not in the text (the regex :data:`FIGURE` below: "figure", "fig.",
  "diagram", "picture", "image", "drawing", "shown below/above/on the right…",
  "as shown", "the graph", markdown images ``![`` and ``<img``);
- ``no_verifiable_answer``: the answer is empty, ``proof``, ``notfound`` or contains
  several answers separated by ``;`` (ambiguous to verify).

The seeded subsample (``n``, 12,000 in the paper) is taken by the stage.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ..prompts import chat
from ..splits import content_id
from .base import Context, Record, fields, register_curator

FIGURE = re.compile(
    r"\b(figure|fig\.|diagram|picture|image|drawing|the graph|as shown|shown (below|above|on the (right|left))"
    r"|(see|in) the (adjacent|following) )|!\[|<img", re.IGNORECASE)
NO_ANSWER = {"", "proof", "notfound", "none", "n/a"}


@register_curator("openr1")
def curate(rows: Iterable[tuple[int, Any]], cfg, ctx: Context) -> list[Record]:
    out: list[Record] = []
    for _, row in rows:
        row = fields(row, {"problem": str, "answer": str, "question_type": str}, ctx)
        if row is None:
            continue
        if row["question_type"].strip().lower() != "math-word-problem":
            ctx.stats.drop("not_word_problem")
            continue
        if FIGURE.search(row["problem"]):
            ctx.stats.drop("needs_figure")
            continue
        answer = row["answer"].strip()
        if answer.lower() in NO_ANSWER or ";" in answer:
            ctx.stats.drop("no_verifiable_answer")
            continue
        uid = str(row.get("uuid") or content_id(ctx.task, row["problem"]))
        out.append({
            "id": uid, "task": ctx.task, "source": "openr1", "split": "train",
            "prompt": chat(row["problem"].strip()), "reference": answer,
            "meta": {"problem_type": row.get("problem_type"), "origin": row.get("source")},
        })
    return out
