"""verl entry point: ``reward.custom_reward_function.path`` → this file, ``name`` → ``compute_score``.

verl calls ``compute_score(data_source, solution_str, ground_truth, extra_info, **kwargs)``
once per sample, from many executor threads of each reward-worker process at once.
``data_source`` is the task (see :mod:`pipeline.data.verl_export`); ``extra_info`` carries
the user's question (``question``, what the judge sees) and the record's meta. Keyword
arguments come from ``custom_reward_function.reward_kwargs``:

- ``params``: the params file (else ``$OMNI_THINKER_PARAMS``, else ``params.yaml``);
- ``judge_processes``: how many reward workers share ``rewards.judge.concurrency`` (default 1);
- ``judge_log``: a jsonl file to which every judge timeout is appended (the run reports the count);
- ``judge_env``: a JSON file of environment variables (the judge's key and endpoint) for this
  process, written by the run with mode 0600, so that the key is never on a command line.

The returned dict has ``score`` (the weighted total) and each component (undefined ones as NaN,
so that verl can aggregate them), plus ``excluded``. A reward that was not computed is never a number: when
the primary reward is undefined (the judge gave no verdict) or scoring raised (the judge unreachable, a
wrong key, any error), ``score`` is NaN, so that the advantage estimator ``omni_grpo``
(:mod:`pipeline.scale.verl_advantage`) leaves the sample out of its group; verl's managers would otherwise
turn an exception into a reward of 0.0. Each distinct cause is appended once per process to ``judge_log``
(``{"pid", "cause"}``), so that the run can name the first one when it stops.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
from typing import Any

from pipeline.config import load_params
from pipeline.data.prompts import user_text
from pipeline.rewards.total import RewardModel, Sample  # absolute: verl imports this file by path

_LOCK = threading.Lock()
_MODELS: dict[tuple[str, int], RewardModel] = {}
_REPORTED: dict[tuple[str, int], int] = {}
_CAUSES: set[str] = set()
UNDEFINED_VERDICT = "the judge gave no verdict (both orders unanswered, garbled or timed out)"


def _model(params_path: str, judge_processes: int, judge_env: str | None = None) -> RewardModel:
    """One reward model per process and settings, built once even when many threads ask at the same time."""
    key = (params_path, judge_processes)
    with _LOCK:
        if key not in _MODELS:
            if judge_env and os.path.exists(judge_env):  # written only when a key or endpoint is set
                with open(judge_env, encoding="utf-8") as f:
                    os.environ.update(json.load(f))
            _MODELS[key] = RewardModel(load_params(params_path).rewards, judge_processes=judge_processes)
        return _MODELS[key]


def _report_timeouts(key: tuple[str, int], model: RewardModel, judge_log: str | None) -> None:
    """Append the judge timeouts not reported yet to ``judge_log`` (one line per report) and warn."""
    judge = model._judge
    timeouts = getattr(getattr(judge, "stats", None), "timeouts", 0)
    with _LOCK:
        new = timeouts - _REPORTED.get(key, 0)
        if new <= 0:
            return
        _REPORTED[key] = timeouts
        print(f"omni-thinker reward: {new} judge verdict(s) timed out (undefined, not scored 0)", file=sys.stderr)
        if judge_log:
            with open(judge_log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"pid": os.getpid(), "timeouts": new}) + "\n")


def _report_cause(cause: str, judge_log: str | None) -> None:
    """Append a cause of undefined rewards to ``judge_log`` the first time this process meets it, and warn."""
    cause = " ".join(cause.split())[:300]
    with _LOCK:
        if cause in _CAUSES:
            return
        _CAUSES.add(cause)
        print(f"omni-thinker reward: undefined (left out of its group): {cause}", file=sys.stderr)
        if judge_log:
            with open(judge_log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"pid": os.getpid(), "cause": cause}) + "\n")


def compute_score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict[str, Any] | None = None,
                  **kwargs: Any) -> dict[str, float]:
    try:
        result = _score(data_source, solution_str, ground_truth, extra_info, **kwargs)
    except Exception as exc:  # noqa: BLE001  (verl would score it 0.0: it is undefined, and its cause is logged)
        _report_cause(f"{type(exc).__name__}: {exc}", kwargs.get("judge_log"))
        return {"score": math.nan, "excluded": 1.0}
    if result["excluded"]:
        _report_cause(UNDEFINED_VERDICT, kwargs.get("judge_log"))
    return result


def _score(data_source: str, solution_str: str, ground_truth: str, extra_info: dict[str, Any] | None = None,
           **kwargs: Any) -> dict[str, float]:
    extra = dict(extra_info or {})
    params_path = str(kwargs.get("params") or os.environ.get("OMNI_THINKER_PARAMS") or "params.yaml")
    judge_processes = int(kwargs.get("judge_processes") or 1)
    meta = extra.get("meta") or {}
    if isinstance(meta, str):
        meta = json.loads(meta)
    task = str(extra.get("task") or data_source)
    question = extra.get("question") or user_text(extra.get("prompt") or "")
    sample = Sample(task=task, question=str(question), response=solution_str, reference=str(ground_truth), meta=meta)
    model = _model(params_path, judge_processes, kwargs.get("judge_env"))
    scored = model.score([sample])[0]
    _report_timeouts((params_path, judge_processes), model, kwargs.get("judge_log"))
    result = {"score": math.nan if scored.excluded else float(scored.score), "excluded": float(scored.excluded)}
    result.update({k: (math.nan if v is None else float(v)) for k, v in scored.components.items()})
    return result
