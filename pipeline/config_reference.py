"""The parameter reference (``docs/params.md``), generated from the config models.

One row per key: its type, the config model's default (what a key left out of a params file gets), the value
the embedded default (``params.yaml``) sets where it sets one, and the description. Keys under a per-task
mapping (``data.tasks``, ``rewards.tasks``) are documented once as ``<task>``, with the embedded default's
value of every task. ``python -m pipeline params --reference`` prints it; a test keeps the committed page
current.
"""

from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel

from .config import Params

TASK = "<task>"
HEADER = """# Parameter reference

Generated from the config models (`pipeline/config.py`) by `python -m pipeline params --reference`; do not edit.
**model default**: what a key left out of a params file gets. **params.yaml**: the value the embedded default
sets, where it sets one (blank: the model default). A profile in `configs/` overrides either.
Every key is validated when any stage starts: an unknown key, a wrong type or an out-of-range value is a
one-line error naming the key (exit 2).
"""


def _fmt(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    text = json.dumps(value, ensure_ascii=False, default=str)
    return "`" + text.replace("|", "\\|") + "`"


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if typing.get_origin(annotation) is None else None
    return (text or str(annotation).replace("typing.", "")).replace("|", "\\|")


def _model_of(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(the model a field holds, whether it is a ``dict[str, model]`` keyed by task)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if typing.get_origin(annotation) is dict:
        value = typing.get_args(annotation)[1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value, True
    return None, False


def _lookup(data: Any, path: list[str]) -> dict[str, Any]:
    """Values at ``path`` in the raw params mapping; ``<task>`` fans out over the mapping's keys."""
    found: dict[str, Any] = {"": data}
    for part in path:
        nxt: dict[str, Any] = {}
        for label, node in found.items():
            if not isinstance(node, dict):
                continue
            if part == TASK:
                nxt.update({f"{label}{k}: ": v for k, v in node.items()})
            elif part in node:
                nxt[label] = node[part]
        found = nxt
    return found


def reference_rows(shipped: dict[str, Any], model: type[BaseModel] = Params,
                   prefix: tuple[str, ...] = ()) -> list[tuple[str, str, str, str, str]]:
    """(key, type, model default, params.yaml value, description) for every parameter, depth first."""
    rows = []
    for name, info in model.model_fields.items():
        path = (*prefix, info.alias or name)
        inner, per_task = _model_of(info.annotation)
        if inner is not None:
            doc = (inner.__doc__ or "").strip().splitlines()[0] if inner.__doc__ else ""
            rows.append((".".join(path), "section" if not per_task else f"per task: {inner.__name__}", "", "",
                         info.description or doc))
            rows += reference_rows(shipped, inner, (*path, TASK) if per_task else path)
            continue
        default = info.get_default(call_default_factory=True) if not info.is_required() else None
        values = _lookup(shipped, list(path))
        shipped_text = ", ".join(f"{label}{_fmt(v)}" for label, v in values.items()
                                 if label or v != default)
        rows.append((".".join(path), _type_name(info.annotation), "required" if info.is_required() else _fmt(default),
                     shipped_text,
                     (info.description or "").replace("|", "\\|").replace("\n", " ")))
    return rows


def reference_markdown(shipped: dict[str, Any]) -> str:
    lines = [HEADER, "| key | type | model default | params.yaml | meaning |", "|---|---|---|---|---|"]
    lines += [f"| `{key}` | {kind} | {default} | {value} | {desc} |"
              for key, kind, default, value, desc in reference_rows(shipped)]
    return "\n".join(lines) + "\n"
