"""Extracting the final answer and checking the think/answer format (Appendix A.1)."""

from __future__ import annotations

import re

ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
TAGS = ("<think>", "</think>", "<answer>", "</answer>")
FORMAT = re.compile(r"^\s*<think>(?:(?!</?think>|</?answer>).)*</think>\s*<answer>(?:(?!</?think>|</?answer>).)*"
                    r"</answer>\s*$", re.DOTALL)
CODE_BLOCK = re.compile(r"```(?:python|py|Python)?[^\n]*\n(.*?)```", re.DOTALL)


def extract_answer(response: str) -> str | None:
    """Text of the last ``<answer>…</answer>``, stripped; ``None`` when there is none."""
    found = ANSWER.findall(response)
    return found[-1].strip() if found else None


def tags_valid(response: str) -> bool:
    """Exactly one ``<think>…</think>`` followed by one ``<answer>…</answer>``, properly nested, nothing else around."""
    return FORMAT.match(response) is not None


def tags_present(response: str) -> int:
    """How many of the four markers appear (each counted once)."""
    return sum(tag in response for tag in TAGS)


def last_code_block(text: str) -> str | None:
    """The last fenced Python code block, or ``None``."""
    blocks = CODE_BLOCK.findall(text)
    return blocks[-1] if blocks else None


def without_think(response: str) -> str:
    return THINK.sub("", response).strip()
