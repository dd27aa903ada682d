"""Extracting the final answer and checking the think/answer format (Appendix A.1)."""

from __future__ import annotations

import re

ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
TAGS = ("<think>", "</think>", "<answer>", "</answer>")
CODE_BLOCK = re.compile(r"```(?:python|py|Python)?[^\n]*\n(.*?)```", re.DOTALL)


def extract_answer(response: str) -> str | None:
    """Text of the last ``<answer>…</answer>``, stripped; ``None`` when there is none."""
    found = ANSWER.findall(response)
    return found[-1].strip() if found else None


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
    """The last fenced Python code block, or ``None``."""
    blocks = CODE_BLOCK.findall(text)
    return blocks[-1] if blocks else None


def without_think(response: str) -> str:
    return THINK.sub("", response).strip()
