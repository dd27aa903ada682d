"""code-r1-12k: prompts over the token limit removed, JSON unit tests kept.

Schema: ``{data_source, prompt: [{role, content}…], ability, reward_model: {style,
ground_truth: JSON string}, extra_info: {split, index, …}}``. ``ground_truth`` is
``{"functional": "<check code>"}`` or ``{"inputs": […], "outputs": […]}``; both are kept
verbatim as the record's reference.

The prompt is rebuilt as our think/answer system message plus the source's user
message; its length is measured with the run's tokenizer (``tokenizer``: local path or
hub id) on the chat template when it has one, and rows longer than
``max_prompt_tokens`` are dropped (``too_long``). Rows whose tests do not parse are
dropped as ``bad_tests``.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from ..prompt_length import load_tokenizer, prompt_tokens
from ..prompts import chat
from ..splits import content_id
from .base import Context, Record, fields, register_curator


def tests_problem(ground_truth: str) -> str | None:
    try:
        tests = json.loads(ground_truth)
    except json.JSONDecodeError:
        return "bad_tests"
    if not isinstance(tests, dict):
        return "bad_tests"
    if "functional" in tests:
        return None if isinstance(tests["functional"], str) and tests["functional"].strip() else "bad_tests"
    inputs, outputs = tests.get("inputs"), tests.get("outputs")
    if isinstance(inputs, list) and isinstance(outputs, list) and inputs and len(inputs) == len(outputs):
        return None
    return "bad_tests"


@register_curator("code_r1")
def curate(rows: Iterable[tuple[int, Any]], cfg, ctx: Context) -> list[Record]:
    tokenizer = load_tokenizer(cfg.tokenizer)
    out: list[Record] = []
    lengths: list[int] = []
    for _, row in rows:
        row = fields(row, {"prompt": (list, tuple), "reward_model": dict}, ctx)
        if row is None:
            continue
        user = [m for m in row["prompt"] if isinstance(m, dict) and m.get("role") == "user"]
        if not user or not isinstance(user[-1].get("content"), str) or not user[-1]["content"].strip():
            ctx.stats.drop("empty_prompt")
            continue
        ground_truth = row["reward_model"].get("ground_truth")
        if not isinstance(ground_truth, str):
            ctx.stats.drop("missing_ground_truth")
            continue
        problem = tests_problem(ground_truth)
        if problem:
            ctx.stats.drop(problem)
            continue
        messages = chat(user[-1]["content"].strip())
        n_tokens = prompt_tokens(tokenizer, messages)
        if n_tokens > cfg.max_prompt_tokens:
            ctx.stats.drop("too_long")
            continue
        lengths.append(n_tokens)
        extra = row.get("extra_info") or {}
        origin = extra.get("dataset") if isinstance(extra, dict) else None
        index = extra.get("index") if isinstance(extra, dict) else None
        uid = content_id(ctx.task, user[-1]["content"], ground_truth)
        fmt = "functional" if "functional" in json.loads(ground_truth) else "io"
        out.append({
            "id": uid, "task": ctx.task, "source": "code_r1", "split": "train", "prompt": messages,
            "reference": ground_truth,
            "meta": {"test_format": fmt, "origin": origin, "source_index": index, "prompt_tokens": n_tokens},
        })
    if lengths:
        ctx.stats.extra["prompt_tokens_max"] = max(lengths)
    return out
