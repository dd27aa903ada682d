"""The reward registry and the weighted total (Appendix A.1, "Total Reward").

``R_k(q, o) = Σ_{r ∈ F_k} w_r · r(q, o)`` over the components ``accuracy`` (the task's
primary reward: math, code, qa or judge), ``format`` and ``tags``. A component that is
undefined (``None``: e.g. the judge gave no verdict) is left out of the sum; a sample
whose primary reward is undefined is marked ``excluded``: it is dropped from the policy
update and left out of accuracy (counted as ``undefined``).

:class:`RewardModel` scores batches, grouping samples by primary kind so that each
verifier runs batched and in parallel (code in the sandbox pool, math in the deadline
pool, the judge concurrently).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any, Sequence

from ..config import RewardParams
from .code import CodeScorer
from .extract import extract_answer, without_think
from .format import format_reward, tags_reward
from .judge import LLMJudge, RubricJudge
from .kind import REWARD_KINDS, RewardKind, Sample, register_reward_kind
from .math import FAILURE_COUNTS as MATH_FAILURES
from .math import MathScorer
from .qa import mcq_reward, qa_reward
from .sandbox import Interpreter, Sandbox, SandboxLimits


@dataclass(frozen=True)
class Scored:
    score: float
    components: dict[str, float | None]
    excluded: bool


def total_reward(components: dict[str, float | None], weights: dict[str, float]) -> tuple[float, bool]:
    """``R_k = Σ w_r r`` over defined components; ``excluded`` when the primary reward (``accuracy``) is
    undefined: format and tags alone would score the sample as a loss of the task it was never judged on,
    so it carries no signal and is dropped from the update (and from accuracy)."""
    defined = {name: value for name, value in components.items() if value is not None}
    excluded = components.get("accuracy") is None
    return sum(weights.get(name, 0.0) * value for name, value in defined.items()), excluded


def verl_reward_fields(params: RewardParams, task: str) -> dict[str, str]:
    """verl's ``ability`` and ``reward_model.style`` of a task's rows: its reward kind, "model" when judged."""
    kind = params.for_task(task).kind
    judged = REWARD_KINDS.get_or_fail(kind, f"rewards.tasks.{task}.kind").judged
    return {"ability": kind, "style": "model" if judged else "rule"}


@register_reward_kind("math")
def _math(model: "RewardModel", samples: Sequence[Sample]) -> list[float | None]:
    return model.math.score_many([(s.response, s.reference) for s in samples])


@register_reward_kind("code")
def _code(model: "RewardModel", samples: Sequence[Sample]) -> list[float | None]:
    return [o.score for o in model.code.score_many([(s.response, s.reference) for s in samples])]


@register_reward_kind("qa")
def _qa(model: "RewardModel", samples: Sequence[Sample]) -> list[float | None]:
    return [qa_reward(s.response, s.reference, s.meta) for s in samples]


@register_reward_kind("mcq")
def _mcq(model: "RewardModel", samples: Sequence[Sample]) -> list[float | None]:
    return [mcq_reward(s.response, s.reference) for s in samples]


@register_reward_kind("judge", keep_at=0.5, judged=True)  # RFT keeps a win or a tie
def _judge(model: "RewardModel", samples: Sequence[Sample]) -> list[float | None]:
    texts = [(s.question, extract_answer(s.response) or without_think(s.response), s.reference) for s in samples]
    return model.judge.judge_many(texts, [s.meta for s in samples])


class RewardModel:
    """All verifiers, built lazily from ``rewards`` params; one instance per process, safe to call from several
    threads at once (verl's reward managers do). ``judge_processes``: how many processes share the API judge's
    ``concurrency`` (verl's reward workers; 1 elsewhere)."""

    def __init__(self, params: RewardParams, judge_processes: int = 1) -> None:
        self.params = params
        self.judge_processes = judge_processes
        self._build = threading.Lock()
        self._math: MathScorer | None = None
        self._code: CodeScorer | None = None
        self._judge: LLMJudge | RubricJudge | None = None

    @property
    def math(self) -> MathScorer:
        with self._build:
            if self._math is None:
                m = self.params.math
                self._math = MathScorer(workers=m.workers, timeout_s=m.timeout_s, memory_mb=m.memory_mb,
                                        max_answer_chars=m.max_answer_chars)
            return self._math

    @property
    def code(self) -> CodeScorer:
        with self._build:
            return self._build_code()

    def _build_code(self) -> CodeScorer:
        if self._code is None:
            c = self.params.code
            limits = SandboxLimits(timeout_s=c.timeout_s, cpu_s=c.cpu_s, memory_mb=c.memory_mb,
                                   max_processes=c.max_processes, max_file_mb=c.max_file_mb,
                                   max_open_files=c.max_open_files, tmp_size_mb=c.tmp_size_mb,
                                   max_output_bytes=c.max_output_kb << 10,
                                   programs_per_sandbox=c.programs_per_sandbox)
            python = Interpreter.at(c.python) if c.python else None
            self._code = CodeScorer(Sandbox(limits, require_isolation=c.require_isolation, slots=c.workers,
                                            python=python), workers=c.workers)
        return self._code

    @property
    def judge(self) -> LLMJudge | RubricJudge:
        with self._build:
            if self._judge is None:
                self._judge = (LLMJudge(self.params.judge, processes=self.judge_processes)
                               if self.params.judge.backend == "llm" else RubricJudge())
            return self._judge

    def score(self, samples: Sequence[Sample]) -> list[Scored]:
        """Scores in input order."""
        accuracy: list[float | None] = [None] * len(samples)
        task_params = {task: self.params.for_task(task) for task in {s.task for s in samples}}
        by_kind: dict[str, list[int]] = {}
        for i, s in enumerate(samples):
            by_kind.setdefault(task_params[s.task].kind, []).append(i)
        for kind, idx in by_kind.items():
            score = REWARD_KINDS.get_or_fail(kind, "rewards.tasks.*.kind").score
            for i, value in zip(idx, score(self, [samples[i] for i in idx])):
                accuracy[i] = value
        out = []
        for s, acc in zip(samples, accuracy):
            components = {"accuracy": acc, "format": format_reward(s.response), "tags": tags_reward(s.response)}
            score, excluded = total_reward(components, task_params[s.task].weights)
            out.append(Scored(score, components, excluded))
        return out

    def stats(self) -> dict[str, Any]:
        report: dict[str, Any] = {}
        if self._math is not None:
            report["math"] = dict(self._math.counts)
        if self._code is not None:
            report["code"] = dict(self._code.counts)
        if self._judge is not None:
            report["judge"] = self._judge.stats.as_dict()
        return report

    def failures(self) -> dict[str, int]:
        """How many answers each way of failing scored 0 without a verdict so far (math: ``timeout``,
        ``out_of_memory``, ``error``, ``too_long``). Machine-dependent (a deadline under load): logged beside
        the timings, never in a hashed output."""
        counts = self._math.counts if self._math is not None else {}
        return {f"math_{k}": counts.get(k, 0) for k in MATH_FAILURES}

    def close(self) -> None:
        failed = {k: v for k, v in self.failures().items() if v}
        if failed:
            listed = ", ".join(f"{v} {k.removeprefix('math_').replace('_', ' ')}" for k, v in failed.items())
            print(f"math verifier: {listed} (each scored 0)", file=sys.stderr)
        if self._math is not None:
            self._math.close()
        if self._code is not None:
            self._code.close()
        if isinstance(self._judge, LLMJudge):
            self._judge.close()


from . import kinds  # noqa: E402, F401  (its modules register the kinds beyond the paper's)

__all__ = ["REWARD_KINDS", "RewardKind", "RewardModel", "Sample", "Scored", "register_reward_kind", "total_reward",
           "verl_reward_fields"]
