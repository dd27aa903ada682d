"""Short-form QA reward: ``r_qa(q, o) = 1{o_ans = a_q}`` (Appendix A.1).

The answer inside the tags is compared with the reference (or, when ``meta`` lists
several acceptable answers in ``answers``, with any of them) after
:func:`pipeline.text.normalize_answer` (case, punctuation, articles, whitespace).
A bare option letter ("B", "(c)", "Option D") is not an answer: it scores 0 unless the
reference text itself is that letter.
"""

from __future__ import annotations

import re
from typing import Any

from ..text import normalize_answer
from .extract import extract_answer

LETTER = re.compile(r"^\(?(?:option\s+)?[a-p]\)?[.:]?$", re.IGNORECASE)


def qa_reward(response: str, reference: str, meta: dict[str, Any] | None = None) -> float:
    answer = extract_answer(response)
    if answer is None:
        return 0.0
    golds = [reference, *((meta or {}).get("answers") or [])]
    gold_keys = {normalize_answer(g) for g in golds}
    if LETTER.match(answer.strip()) and normalize_answer(answer) not in gold_keys:
        return 0.0
    return 1.0 if normalize_answer(answer) in gold_keys else 0.0
