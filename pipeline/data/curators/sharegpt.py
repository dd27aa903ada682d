"""ShareGPT creative writing: single-turn conversations, the reply as the reference.

Schema: ``{id, conversations: [{from: human|gpt, value}, …]}``. Kept: conversations of
at most ``max_turns`` turns (2: one human message and one reply). Dropped and counted:
``too_many_turns``, ``not_human_then_gpt`` (roles out of order or a missing reply),
``trivial`` (prompt or reply shorter than ``min_prompt_chars`` / ``min_reply_chars``),
``duplicate`` (same prompt after whitespace and case normalisation; the first is kept).
"""

from __future__ import annotations

from typing import Any, Iterable

from ..prompts import chat
from ..splits import content_id
from .base import Context, Record, fields, register_curator

HUMAN = {"human", "user"}
ASSISTANT = {"gpt", "assistant", "chatgpt", "bard"}


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@register_curator("sharegpt")
def curate(rows: Iterable[tuple[int, Any]], cfg, ctx: Context) -> list[Record]:
    out: list[Record] = []
    seen: set[str] = set()
    for _, row in rows:
        row = fields(row, {"conversations": list}, ctx)
        if row is None:
            continue
        turns = row["conversations"]
        if not turns:
            ctx.stats.drop("empty_conversations")
            continue
        if not all(isinstance(t, dict) and isinstance(t.get("from"), str) and isinstance(t.get("value"), str)
                   for t in turns):
            ctx.stats.drop("bad_turn")
            continue
        if len(turns) > cfg.max_turns:
            ctx.stats.drop("too_many_turns")
            continue
        if len(turns) < 2 or turns[0]["from"].lower() not in HUMAN or turns[1]["from"].lower() not in ASSISTANT:
            ctx.stats.drop("not_human_then_gpt")
            continue
        prompt, reply = turns[0]["value"].strip(), turns[1]["value"].strip()
        if len(prompt) < cfg.min_prompt_chars or len(reply) < cfg.min_reply_chars:
            ctx.stats.drop("trivial")
            continue
        key = _norm(prompt)
        if key in seen:
            ctx.stats.drop("duplicate")
            continue
        seen.add(key)
        uid = str(row.get("id") or content_id(ctx.task, prompt))
        out.append({"id": uid, "task": ctx.task, "source": "sharegpt", "split": "train",
                    "prompt": chat(prompt), "reference": reply, "meta": {}})
    return out
