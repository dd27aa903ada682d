"""MT-Bench writing and roleplay (Table 1's creative writing): the pairwise judge compares the model's
answer to the first turn with GPT-4's answer (FastChat's ``model_answer/gpt-4.jsonl``), both orders,
ties counted 0.5: the win rate against GPT-4. Only the first turn is judged: our models answer single
prompts, and the second turn asks to rewrite a first answer that differs between the two models.

The source is a FastChat ``mt_bench`` folder (``question.jsonl`` and ``model_answer/gpt-4.jsonl``); the
hub has the questions but not GPT-4's answers, so a local folder is required.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from ...errors import UserError
from .base import Benchmark, record, register

CATEGORIES = ("writing", "roleplay")


def rows(folder: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Questions of the two categories, each with GPT-4's first-turn answer."""
    root = Path(folder)
    questions, answers = root / "question.jsonl", root / "model_answer" / "gpt-4.jsonl"
    for path in (questions, answers):
        if not path.exists():
            raise UserError(f"{path}: not found (MT-Bench needs a FastChat mt_bench folder with question.jsonl and "
                            "model_answer/gpt-4.jsonl)")
    gpt4 = {}
    for text in answers.read_text(encoding="utf-8").splitlines():
        if text.strip():
            row = json.loads(text)
            gpt4[row["question_id"]] = row["choices"][0]["turns"][0]
    for line, text in enumerate(questions.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        row = json.loads(text)
        if row.get("category") in CATEGORIES:
            if row["question_id"] not in gpt4:
                raise UserError(f"{answers}: no GPT-4 answer for question {row['question_id']}")
            yield line, {**row, "gpt4_answer": gpt4[row["question_id"]]}


def _to_record(row: dict[str, Any], line: int) -> dict[str, Any]:
    return record("mt_bench", "writing", row["question_id"], row["turns"][0], row["gpt4_answer"], row["category"])


def gold_response(rec: dict[str, Any]) -> str:
    return f"<think>Known answer.</think><answer>{rec['reference']}</answer>"


register(Benchmark("mt_bench", "writing", "", "", "mt_bench", _to_record, gold_response, metric="win rate",
                   loader=rows))
