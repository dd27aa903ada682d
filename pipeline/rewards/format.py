"""Auxiliary format rewards shared by every task (Appendix A.1).

``r_format(q, o) = 1{tags_valid(o)}`` and ``r_tags(q, o) = ¼ · |tags_present(o)|``.
"""

from __future__ import annotations

from .extract import tags_present, tags_valid


def format_reward(response: str) -> float:
    return 1.0 if tags_valid(response) else 0.0


def tags_reward(response: str) -> float:
    return 0.25 * tags_present(response)
