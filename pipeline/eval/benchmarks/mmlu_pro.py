"""MMLU-Pro in free form (Section 4, Appendix A.2.1): every option is listed in the context, without
letters, and the model writes the text of the answer; the QA verifier (exact match after
normalisation) scores it against the correct option's text. Results per category.

``mmlu_pro_letter`` is the same questions as lettered multiple choice, answered with the letter (the ``mcq``
reward): the letter format of Figure 3 (``ablations.answer_format.benchmark``)."""

from __future__ import annotations

from typing import Any

from ...data.answer_formats import letter_record
from ...data.prompts import qa_user_prompt
from .base import Benchmark, record, register


def _to_record(row: dict[str, Any], line: int) -> dict[str, Any]:
    options = [str(o) for o in row["options"]]
    index = int(row["answer_index"])
    if not 0 <= index < len(options):
        raise ValueError(f"answer_index {index} outside the {len(options)} options")
    return record("mmlu_pro", "qa", row.get("question_id", line), qa_user_prompt(row["question"], options),
                  options[index], str(row.get("category") or "mmlu_pro"), options=options, answer_index=index)


def gold_response(rec: dict[str, Any]) -> str:
    return f"<think>Known answer.</think><answer>{rec['reference']}</answer>"


register(Benchmark("mmlu_pro", "qa", "qa", "TIGER-Lab/MMLU-Pro", "test", "mmlu_pro/test_sample.jsonl", _to_record,
                   gold_response))


def _to_letter_record(row: dict[str, Any], line: int) -> dict[str, Any]:
    rec = letter_record(_to_record(row, line), "qa_letter")
    return {**rec, "id": rec["id"].replace("mmlu_pro/", "mmlu_pro_letter/", 1), "source": "mmlu_pro_letter",
            "meta": {**rec["meta"], "benchmark": "mmlu_pro_letter"}}


register(Benchmark("mmlu_pro_letter", "qa", "mcq", "TIGER-Lab/MMLU-Pro", "test", "mmlu_pro/test_sample.jsonl",
                   _to_letter_record, gold_response))
