"""Export records as verl's RL parquet.

verl's ``RLHFDataset`` reads rows with ``data_source``, ``prompt`` (chat messages),
``ability``, ``reward_model: {style, ground_truth}`` and ``extra_info``; the reward
function receives ``data_source``, ``ground_truth`` and ``extra_info`` (not the prompt).
We put the task in ``data_source`` (routing of the reward registry), and in ``extra_info``
the full record identity, its meta and the user's question (``question``: what the judge
must see, :func:`pipeline.data.prompts.user_text` of the prompt).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import datasets

from ..io import atomic_path
from .prompts import user_text


def to_verl_row(record: dict[str, Any], index: int, reward: Mapping[str, str]) -> dict[str, Any]:
    """One verl row; ``reward``: the task's ``ability`` (its reward kind) and ``style`` ("model" when judged),
    :func:`pipeline.rewards.total.verl_reward_fields`."""
    task = record["task"]
    return {
        "data_source": task,
        "prompt": record["prompt"],
        "ability": reward["ability"],
        "reward_model": {"style": reward["style"], "ground_truth": record["reference"]},
        "extra_info": {"task": task, "split": record["split"], "index": index, "id": record["id"],
                       "source": record["source"], "question": user_text(record["prompt"]),
                       "meta": json.dumps(record["meta"], ensure_ascii=False)},
    }


def write_verl_parquet(records: Iterable[dict[str, Any]], path: str | Path,
                       rewards: Mapping[str, Mapping[str, str]]) -> int:
    """``records`` as verl's parquet at ``path``; ``rewards``: each task's :func:`to_verl_row` reward fields."""
    rows = [to_verl_row(r, i, rewards[r["task"]]) for i, r in enumerate(records)]
    if not rows:
        raise ValueError("no records to export")
    with atomic_path(path) as tmp:
        datasets.Dataset.from_list(rows).to_parquet(str(tmp))
    return len(rows)
