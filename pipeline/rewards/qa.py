"""Short-form QA reward: ``r_qa(q, o) = 1{o_ans = a_q}`` (Appendix A.1).

The answer inside the tags is compared with the reference (or, when ``meta`` lists
several acceptable answers in ``answers``, with any of them) after
:func:`pipeline.text.normalize_answer` (case, punctuation, articles, whitespace).
A bare option letter ("B", "(c)", "Option D") is not an answer: it scores 0 unless the
reference text itself is that letter.

The normalisation can make two different options equal ("-2" and "2", "Bb Bb" and "bb bb",
"~Bej" and "Bej": 10 of MMLU-Pro's 350 sample questions). When ``meta["options"]`` holds
another option that normalises like the answer, the answer must match the reference strictly
(case and signs kept, whitespace collapsed), else a wrong option would score 1.

The letter format of Figure 3's ablation (Appendix A.2.1) is scored by :func:`mcq_reward`:
``1{letter(o_ans) = a_q}`` where the reference is the correct option's letter.
"""

from __future__ import annotations

import re
from typing import Any

from ..text import normalize_answer
from .extract import extract_answer

LETTER = re.compile(r"^\(?(?:option\s+)?([a-p])\)?[.:]?$", re.IGNORECASE)


def _strict(text: str) -> str:
    return " ".join(str(text).split()).rstrip(".")


def qa_reward(response: str, reference: str, meta: dict[str, Any] | None = None) -> float:
    answer = extract_answer(response)
    if answer is None:
        return 0.0
    golds = [reference, *((meta or {}).get("answers") or [])]
    gold_keys = {normalize_answer(g) for g in golds}
    key = normalize_answer(answer)
    if key not in gold_keys:
        return 0.0
    strict_golds = {_strict(g) for g in golds}
    rivals = [o for o in (meta or {}).get("options") or []
              if normalize_answer(str(o)) == key and _strict(o) not in strict_golds]
    if rivals:  # the normalised answer cannot tell the reference from another option
        return 1.0 if _strict(answer) in strict_golds else 0.0
    return 1.0


def mcq_reward(response: str, reference: str) -> float:
    """Letter-choice reward (Appendix A.2.1): 1 when the answer is a bare option letter ("B", "(b)", "Option B.")
    equal to the reference letter, else 0; an answer that is not a letter (the option's text) scores 0."""
    answer = extract_answer(response)
    if answer is None:
        return 0.0
    match = LETTER.match(answer)
    return float(match is not None and match.group(1).upper() == reference.strip().upper())
