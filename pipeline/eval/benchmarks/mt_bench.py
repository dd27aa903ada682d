"""MT-Bench writing and roleplay (Table 1's creative writing): the pairwise judge compares the model's
answer to the first turn with GPT-4's answer (FastChat's ``model_answer/gpt-4.jsonl``), both orders,
ties counted 0.5: the win rate against GPT-4. Only the first turn is judged: our models answer single
prompts, and the second turn asks to rewrite a first answer that differs between the two models.

The source is a FastChat ``mt_bench`` folder (``question.jsonl`` and ``model_answer/gpt-4.jsonl``). No hub
dataset has both; without a source the two files are fetched into ``benchmarks.download_dir`` and pinned by
SHA-256 (:data:`PINNED`): the questions from FastChat's repository, GPT-4's answers from the Hugging Face space
that FastChat's own ``download_mt_bench_pregenerated.py`` reads, or from a fork that committed the same file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from ...data.pinned import PinnedFile
from ...errors import UserError
from .base import Benchmark, record, register

CATEGORIES = ("writing", "roleplay")

FASTCHAT = "https://raw.githubusercontent.com/lm-sys/FastChat/0e6d3e4beaab66f4d3f93db72541a4abab8af28d/fastchat/llm_judge"
FORK = "https://raw.githubusercontent.com/enricai/FastChat/edacaa5bd955893e72a7e6f0899d8301fd5ae492/fastchat/llm_judge"
SPACE = "https://huggingface.co/spaces/lmsys/mt-bench/resolve/main"
PINNED = (
    PinnedFile("question.jsonl", "119565adbab82227089cefdb44c8d7e2cf04dc0a0ec233634c82e7d4e2a944f7",
               (f"{FASTCHAT}/data/mt_bench/question.jsonl", f"{FORK}/data/mt_bench/question.jsonl")),
    PinnedFile("model_answer/gpt-4.jsonl", "49c071285f7f41a0354e85ca77ff5f23024265dd55797bd9a12a7ca3a21fa157",
               (f"{SPACE}/data/mt_bench/model_answer/gpt-4.jsonl", f"{FORK}/data/mt_bench/model_answer/gpt-4.jsonl")),
)


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


register(Benchmark("mt_bench", "writing", "judge", "", "", "mt_bench", _to_record, gold_response, metric="win rate",
                   loader=rows, pinned=PINNED))
