"""The six math sets of Table 1, scored by the math verifier (math-verify, then sympy).

Quirks of the public files (../shared/data/MANIFEST.md):

- AMC23 stores its answer as a float (``27.0``): written back as ``27``;
- MinervaMath has no answer field: the answer is the last ``\\boxed{}`` of its solution;
- OlympiadBench's ``final_answer`` is a list (several answers when ``is_multiple_answer``), in
  ``$…$``, sometimes with a ``unit``: the answers are joined with ", " and the prompt states the
  unit and asks for the number without it; ``context`` (a shared preamble) precedes the question.
"""

from __future__ import annotations

from typing import Any

from ...rewards.math import boxed_contents
from .base import Benchmark, record, register

TASK = "math"


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _strip_dollars(text: str) -> str:
    text = text.strip()
    return text[1:-1].strip() if len(text) > 1 and text.startswith("$") and text.endswith("$") else text


def gold_response(rec: dict[str, Any]) -> str:
    """The benchmark's answer as its file writes it (``27.0``, ``$\\frac{41}{12}$``, a list in ``$…$``), boxed:
    it must verify against the reference the adapter derived from it."""
    return f"<think>Known answer.</think><answer>\\boxed{{{rec['meta']['source_answer']}}}</answer>"


def _simple(name: str, question_keys: tuple[str, ...], id_key: str | None):
    def to_record(row: dict[str, Any], line: int) -> dict[str, Any]:
        question = next(row[k] for k in question_keys if row.get(k))
        row_id = row.get(id_key) if id_key else None
        return record(name, TASK, row_id if row_id is not None else line, question,
                      _strip_dollars(_number(row["answer"])),
                      str(row.get("subject") or row.get("type") or name), source_answer=str(row["answer"]))
    return to_record


def _minerva(row: dict[str, Any], line: int) -> dict[str, Any]:
    answer = row.get("answer")
    if not answer:
        boxed = boxed_contents(row["solution"])
        if not boxed:
            raise ValueError("no \\boxed{} answer in the solution")
        answer = boxed[-1]
    return record("minerva_math", TASK, row.get("idx", line), row.get("problem") or row["question"], str(answer),
                  str(row.get("type") or "minerva_math"), source_answer=str(answer))


def _olympiad(row: dict[str, Any], line: int) -> dict[str, Any]:
    answers = row["final_answer"]
    answers = [answers] if isinstance(answers, str) else list(answers)
    if not answers:
        raise ValueError("empty final_answer")
    parts = [p.strip() for a in answers for p in (a.split("$,$") if "$,$" in a else [a])]
    reference = ", ".join(p.strip("$ ") for p in parts)
    question = row["question"]
    if row.get("context"):
        question = f"{row['context'].strip()}\n{question}"
    unit = row.get("unit")
    if unit:
        question += f"\nThe unit of the answer is {_strip_dollars(unit)}; give the number without the unit."
    if len(parts) > 1:
        question += "\nThere are several answers: give all of them, separated by commas, in one \\boxed{}."
    return record("olympiadbench", TASK, row.get("id", line), question, reference,
                  str(row.get("subfield") or "olympiadbench"), answer_type=row.get("answer_type"), unit=unit,
                  source_answer=", ".join(answers))


for bench in (
    Benchmark("aime24", TASK, "math", "HuggingFaceH4/aime_2024", "train", "aime24/test.jsonl",
              _simple("aime24", ("problem", "question"), "id"), gold_response),
    Benchmark("amc23", TASK, "math", "math-ai/amc23", "test", "amc23/test.jsonl",
              _simple("amc23", ("problem", "question"), "id"), gold_response),
    Benchmark("gaokao2023en", TASK, "math", "MARIO-Math-Reasoning/Gaokao2023-Math-En", "train",
              "gaokao2023en/test.jsonl",
              _simple("gaokao2023en", ("question", "problem"), None), gold_response),
    Benchmark("math500", TASK, "math", "HuggingFaceH4/MATH-500", "test", "math500/test.jsonl",
              _simple("math500", ("problem", "question"), "unique_id"), gold_response),
    Benchmark("minerva_math", TASK, "math", "math-ai/minervamath", "test", "minerva_math/test.jsonl", _minerva,
              gold_response),
    # the hub copy has one configuration per subset; the paper's (Qwen2.5-Math's) is the 675 open-ended,
    # text-only, English competition maths problems, the local file's rows
    Benchmark("olympiadbench", TASK, "math", "Hothan/OlympiadBench", "train", "olympiadbench/test.jsonl", _olympiad,
              gold_response, hub_config="OE_TO_maths_en_COMP", hub_has_configs=True),
):
    register(bench)
