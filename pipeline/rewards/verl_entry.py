"""verl entry point: ``reward.custom_reward_function.path`` → this file, ``name`` → ``compute_score``.

verl calls ``compute_score(data_source, solution_str, ground_truth, extra_info, **kwargs)``
once per sample. ``data_source`` is the task (see :mod:`pipeline.data.verl_export`);
``extra_info`` carries the prompt and the record's meta. Reward params come from the
``params`` keyword (a params.yaml path, passed through ``custom_reward_function.reward_kwargs``),
else ``$OMNI_THINKER_PARAMS``, else ``params.yaml``. The returned dict has ``score``
(the weighted total) and each component (undefined ones as NaN, so that verl can
aggregate them), plus ``excluded``.
"""

from __future__ import annotations

import json
import math
import os
from functools import lru_cache
from typing import Any

from pipeline.config import load_params
from pipeline.data.prompts import user_text
from pipeline.rewards.total import RewardModel, Sample  # absolute: verl imports this file by path


@lru_cache(maxsize=4)
def _model(params_path: str) -> RewardModel:
    return RewardModel(load_params(params_path).rewards)


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict[str, Any] | None = None,
                  **kwargs: Any) -> dict[str, float]:
    extra = dict(extra_info or {})
    params_path = str(kwargs.get("params") or os.environ.get("OMNI_THINKER_PARAMS") or "params.yaml")
    meta = extra.get("meta") or {}
    if isinstance(meta, str):
        meta = json.loads(meta)
    task = str(extra.get("task") or data_source)
    sample = Sample(task=task, question=user_text(extra.get("prompt") or ""), response=solution_str,
                    reference=str(ground_truth), meta=meta)
    scored = _model(params_path).score([sample])[0]
    result = {"score": float(scored.score), "excluded": float(scored.excluded)}
    result.update({k: (math.nan if v is None else float(v)) for k, v in scored.components.items()})
    return result
