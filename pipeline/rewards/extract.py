"""Extracting the final answer and checking the think/answer format (Appendix A.1).

Every function here reads model output in the scoring process itself, so each is linear in the length of the
response: a scan with ``str.find`` instead of a lazy regex such as ``<answer>(.*?)</answer>``, which retries at
every unclosed ``<answer>`` and so takes quadratic time (a 64 KB response of ``<answer>`` repeated took minutes).
Each function returns what the regex would (tests/rewards/test_hostile_answers.py compares them).
"""

from __future__ import annotations

from typing import Iterator

TAGS = ("<think>", "</think>", "<answer>", "</answer>")
FENCE = "```"


def _spans(text: str, start: str, end: str) -> Iterator[tuple[int, int, int]]:
    """``(open, content_start, content_end)`` of each non-overlapping ``start … end``, left to right: the matches of
    the regex ``start(.*?)end`` (DOTALL). Stops at the first ``start`` with no ``end`` after it: none of the
    later ones has one either."""
    pos = 0
    while (opened := text.find(start, pos)) >= 0:
        closed = text.find(end, opened + len(start))
        if closed < 0:
            return
        yield opened, opened + len(start), closed
        pos = closed + len(end)


def extract_answer(response: str) -> str | None:
    """Text of the last ``<answer>…</answer>``, stripped; ``None`` when there is none."""
    last = None
    for _, begin, end in _spans(response, "<answer>", "</answer>"):
        last = (begin, end)
    return response[last[0]:last[1]].strip() if last else None


def tags_valid(response: str) -> bool:
    """Exactly one ``<think>…</think>`` followed by one ``<answer>…</answer>``, properly nested, nothing but
    whitespace around and between them. Linear in time and memory: the equivalent regex
    (``^\\s*<think>(?:(?!</?think>|</?answer>).)*</think>\\s*<answer>…</answer>\\s*$``) needs a backtracking
    frame per character, about 60 bytes, so one 30 MB response took 1.9 GB to check."""
    text = response.strip()
    if not (text.startswith("<think>") and text.endswith("</answer>")) or any(text.count(tag) != 1 for tag in TAGS):
        return False
    think_end, answer_start = text.index("</think>"), text.index("<answer>")
    return think_end < answer_start and not text[think_end + len("</think>"):answer_start].strip()


def tags_present(response: str) -> int:
    """How many of the four markers appear (each counted once)."""
    return sum(tag in response for tag in TAGS)


def last_code_block(text: str) -> str | None:
    """The last fenced code block (```` ```python ````, ```` ``` ```` or any info string), or ``None``: the
    regex ```` ```[^\\n]*\\n(.*?)``` ````, found in linear time."""
    last = None
    pos = 0
    while (opened := text.find(FENCE, pos)) >= 0:
        newline = text.find("\n", opened + len(FENCE))
        closed = text.find(FENCE, newline + 1) if newline >= 0 else -1
        if closed < 0:  # no later fence has a newline and a closing fence after it either
            break
        last = (newline + 1, closed)
        pos = closed + len(FENCE)
    return text[last[0]:last[1]] if last else None


def without_think(response: str) -> str:
    """The response with every ``<think>…</think>`` removed, stripped."""
    kept, pos = [], 0
    for opened, _, end in _spans(response, "<think>", "</think>"):
        kept.append(response[pos:opened])
        pos = end + len("</think>")
    kept.append(response[pos:])
    return "".join(kept).strip()
