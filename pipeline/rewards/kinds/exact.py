"""``exact``: the answer inside ``<answer>…</answer>`` equals the reference, ignoring case and whitespace.

The reward kind of docs/extending.md's worked example (the ``synthetic_logic`` task). Deterministic, no
parsing beyond the tags, so a response cannot earn it without stating the reference itself.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..extract import extract_answer
from ..kind import Sample, register_reward_kind


def exact_match(response: str, reference: str) -> float:
    """1.0 when the tagged answer equals ``reference`` up to case and whitespace, else 0.0 (no answer: 0.0)."""
    answer = extract_answer(response)
    if answer is None:
        return 0.0
    return float("".join(answer.split()).casefold() == "".join(reference.split()).casefold())


@register_reward_kind("exact")
def _exact(model: Any, samples: Sequence[Sample]) -> list[float | None]:
    return [exact_match(s.response, s.reference) for s in samples]
