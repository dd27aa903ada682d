"""Answer formats of a multiple-choice task (Appendix A.2.1, Figure 3).

``full_text`` is the curated format (every option listed, the answer is the option's text: :func:`qa_user_prompt`);
``letter`` asks the same question with the options lettered A, B, … in the same order and takes the letter alone
as the answer (reference: the correct option's letter, scored by the ``mcq`` reward). A record in another format is
a record of a task of its own, ``<task>_<format>`` (``qa_letter``), so that training, evaluation and verl's reward
workers treat it as any other task.
"""

from __future__ import annotations

from typing import Any, Callable

from ..registry import Registry
from .prompts import LETTERS, chat, mcq_user_prompt, qa_question, user_text

Record = dict[str, Any]

FORMATS: Registry[Callable[[Record, str], Record]] = Registry("answer format")
REWARD_KIND = {"full_text": "qa", "letter": "mcq"}
"""The primary reward (``rewards.tasks.<task>.kind``) that scores each format."""


def format_task(task: str, fmt: str) -> str:
    """The task name of ``task``'s records in answer format ``fmt`` (``full_text`` keeps the task's own)."""
    return task if fmt == "full_text" else f"{task}_{fmt}"


@FORMATS.register("full_text")
def full_text_record(record: Record, task: str) -> Record:
    return {**record, "task": task}


@FORMATS.register("letter")
def letter_record(record: Record, task: str) -> Record:
    """``record`` asked as a lettered multiple-choice question; its reference becomes the correct option's letter
    (the option's text stays in ``meta.answer_text``)."""
    options = [str(o) for o in (record["meta"].get("options") or [])]
    if record["reference"] not in options:
        raise ValueError(f"record {record['id']}: its reference is not one of meta.options")
    if len(options) > len(LETTERS):
        raise ValueError(f"record {record['id']}: {len(options)} options, at most {len(LETTERS)} can be lettered")
    question = qa_question(user_text(record["prompt"]))
    system = [m["content"] for m in record["prompt"] if m["role"] == "system"]
    prompt = chat(mcq_user_prompt(question, options), *system[:1])
    return {**record, "task": task, "prompt": prompt, "reference": LETTERS[options.index(record["reference"])],
            "meta": {**record["meta"], "answer_text": record["reference"], "answer_format": "letter"}}


def in_format(records: list[Record], task: str, fmt: str) -> list[Record]:
    """Every record of ``task`` in answer format ``fmt``, as records of task :func:`format_task` (``task``, ``fmt``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown answer format {fmt!r} (known: {', '.join(FORMATS)})")
    return [FORMATS[fmt](r, format_task(task, fmt)) for r in records]
