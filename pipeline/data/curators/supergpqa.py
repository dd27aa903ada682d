"""SuperGPQA: stratified subsample, reformulated as open-ended QA with 15 distractors.

Accepted schemas:

- original (HF ``m-a-p/SuperGPQA``): ``uuid, question, options[…10], answer, answer_letter,
  discipline, field, subfield, …``;
- derived (the public 300-row sample): ``question`` = stem + ``"Options are:"`` + lettered
  options, ``answer`` = ``"B. <text>"``. It has no categories: all rows fall in one stratum.

Steps: parse rows (``unparsable_options`` and ``answer_not_in_options`` are dropped),
stratified seeded subsample of ``n`` in proportion to (discipline, field) — before any
LLM call — then ``n_options − 1`` distractors per question (:mod:`..distractors`), and
the prompt lists every option, shuffled, asking for the answer's full text.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Iterable

import numpy as np

from ..distractors import LLMDistractors, offline_distractors
from ..prompts import LETTERS, chat, qa_user_prompt
from ..splits import content_id
from .base import Context, Record, fields, register_curator

OPTIONS_HEADER = re.compile(r"\n\s*Options are:\s*\n", re.IGNORECASE)


def parse_derived(question: str) -> tuple[str, list[str]] | None:
    """Split ``stem\\n Options are:\\nA. …\\nB. …`` into the stem and the option texts."""
    parts = OPTIONS_HEADER.split(question, maxsplit=1)
    if len(parts) != 2:
        return None
    stem, body = parts
    options: list[str] = []
    current: list[str] | None = None
    for line in body.split("\n"):
        expected = LETTERS[len(options) + (1 if current is not None else 0)] if len(options) < len(LETTERS) else None
        if expected and line.startswith(f"{expected}. "):
            if current is not None:
                options.append("\n".join(current).strip())
            current = [line[len(expected) + 2:]]
        elif current is not None:
            current.append(line)
    if current is not None:
        options.append("\n".join(current).strip())
    return (stem.strip(), options) if len(options) >= 2 else None


def _parse(row: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    if isinstance(row.get("options"), list):  # original schema
        options = [str(o).strip() for o in row["options"]]
        answer = str(row["answer"]).strip()
        if answer not in options:
            letter = str(row.get("answer_letter") or "").strip()
            if len(letter) == 1 and letter in LETTERS[: len(options)]:
                answer = options[LETTERS.index(letter)]
            else:
                ctx.stats.drop("answer_not_in_options")
                return None
        stem = str(row["question"]).strip()
        strata = (str(row.get("discipline") or "unknown"), str(row.get("field") or "unknown"))
        uid = str(row.get("uuid") or content_id(ctx.task, stem))
        return {"id": uid, "stem": stem, "options": options, "answer": answer, "strata": strata,
                "subfield": row.get("subfield")}
    parsed = parse_derived(row["question"])
    if parsed is None:
        ctx.stats.drop("unparsable_options")
        return None
    stem, options = parsed
    match = re.match(r"\s*([A-P])\.\s", row["answer"])
    if not match or LETTERS.index(match.group(1)) >= len(options):
        ctx.stats.drop("answer_not_in_options")
        return None
    answer = options[LETTERS.index(match.group(1))]
    return {"id": content_id(ctx.task, stem), "stem": stem, "options": options, "answer": answer,
            "strata": ("unknown", "unknown"), "subfield": None}


def stratified_subsample(items: list[dict[str, Any]], n: int | None, rng: np.random.Generator) -> list[dict[str, Any]]:
    """``n`` items in proportion to their stratum sizes (largest remainder), seeded within strata."""
    if n is None or n >= len(items):
        return items
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        groups[item["strata"]].append(i)
    keys = sorted(groups)
    quotas = np.array([len(groups[k]) * n / len(items) for k in keys])
    take = np.floor(quotas).astype(int)
    for j in np.argsort(-(quotas - take), kind="stable")[: n - int(take.sum())]:
        take[j] += 1
    chosen: list[int] = []
    for k, t in zip(keys, take):
        chosen += rng.choice(groups[k], size=int(t), replace=False).tolist()
    return [items[i] for i in sorted(chosen)]


@register_curator("supergpqa")
def curate(rows: Iterable[tuple[int, Any]], cfg, ctx: Context) -> list[Record]:
    parsed: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _, row in rows:
        row = fields(row, {"question": str, "answer": str}, ctx)
        if row is None:
            continue
        item = _parse(row, ctx)
        if item is None:
            continue
        if item["id"] in seen:
            ctx.stats.drop("duplicate")
            continue
        seen.add(item["id"])
        parsed.append(item)
    chosen = stratified_subsample(parsed, cfg.n, ctx.rng)
    ctx.stats.subsampled_out += len(parsed) - len(chosen)
    need = cfg.n_options - 1
    own = [[o for o in item["options"] if o != item["answer"]] for item in chosen]
    if cfg.distractors.mode == "llm":
        generator = LLMDistractors(cfg.distractors)
        distractors = generator.many([(it["stem"], it["answer"], mine) for it, mine in zip(chosen, own)], need)
        ctx.stats.extra.update(generator.summary())
    else:
        by_field: dict[tuple[str, str], list[str]] = defaultdict(list)
        for it in parsed:
            by_field[it["strata"]].append(it["answer"])
        every = [it["answer"] for it in parsed]
        distractors = [offline_distractors(it["answer"], mine, by_field[it["strata"]], every, need, ctx.rng)
                       for it, mine in zip(chosen, own)]
    out: list[Record] = []
    for item, wrong in zip(chosen, distractors):
        if len(wrong) < need:
            ctx.stats.drop("distractor_shortfall")
            continue
        options = [item["answer"], *wrong]
        options = [options[i] for i in ctx.rng.permutation(len(options))]
        discipline, field_ = item["strata"]
        out.append({
            "id": item["id"], "task": ctx.task, "source": "supergpqa", "split": "train",
            "prompt": chat(qa_user_prompt(item["stem"], options)), "reference": item["answer"],
            "meta": {"options": options, "category": discipline, "field": field_, "subfield": item["subfield"],
                     "distractors": cfg.distractors.mode},
        })
    return out
