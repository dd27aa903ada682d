"""The benchmark registry and the helpers every adapter shares (the :class:`Benchmark` record, ``register``,
``record``, ``resolve_source``); the package (``__init__``) registers the adapters and loads benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ...data.pinned import PinnedFile
from ...errors import UserError
from ...registry import Registry

if TYPE_CHECKING:
    from ...config import RewardParams


@dataclass(frozen=True)
class Benchmark:
    name: str
    domain: str                                   # math | coding | qa | writing: Table 1's row group
    kind: str                                     # the reward kind that scores it (registered in rewards)
    hub_id: str                                   # default source when no local path is given
    hub_split: str
    local_file: str                               # the file inside a local folder (../shared/data layout)
    to_record: Callable[[dict[str, Any], int], dict[str, Any]]  # (row, row number) → record
    gold: Callable[[dict[str, Any]], str]          # record → a response that states its reference answer
    metric: str = "accuracy"                      # what Table 1 calls the score
    loader: Callable[[str], Any] | None = None     # rows of a local source, when not one file of load_rows
    hub_config: str | None = None                 # the hub dataset's configuration, when it has several
    hub_has_configs: bool = False                 # the hub dataset has several (it refuses a load without a name)
    pinned: tuple[PinnedFile, ...] = ()           # files fetched and checked by hash when no source is given
    lists_libraries: bool = False                 # records carry meta.libs, imported in the sandbox first


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")


def register(benchmark: Benchmark) -> Benchmark:
    return BENCHMARKS.register(benchmark.name)(benchmark)


def record(benchmark: str, task: str, row_id: Any, user: str, reference: str, category: str,
           **meta: Any) -> dict[str, Any]:
    """A benchmark record (split ``test``) with the paper's think/answer prompt."""
    from ...data.prompts import chat

    return {"id": f"{benchmark}/{row_id}", "task": task, "source": benchmark, "split": "test",
            "prompt": chat(user), "reference": reference, "meta": {"benchmark": benchmark, "category": category,
                                                                  **meta}}


def benchmark_rewards(rewards: "RewardParams", records: Mapping[str, list[dict[str, Any]]]) -> "RewardParams":
    """The reward settings benchmarks are scored with: the task of each benchmark's records (its domain, or
    ``qa_letter``) scored by the kind the benchmark declares, with the weights of the run's task of that name
    when there is one. A run's tasks need not be named after the domains, and MMLU-Pro is scored as QA whatever
    the run's ``qa`` task is. Two benchmarks that need different kinds for the same task are a one-line error."""
    from ...config import TaskRewardParams

    tasks = dict(rewards.tasks)
    chosen: dict[str, tuple[str, str]] = {}
    for name, recs in records.items():
        kind = BENCHMARKS[name].kind
        for task in sorted({r["task"] for r in recs}):
            if task in chosen and chosen[task][1] != kind:
                raise UserError(f"benchmarks {chosen[task][0]} and {name} score task {task!r} with different "
                                f"reward kinds ({chosen[task][1]}, {kind})")
            chosen[task] = (name, kind)
            weights = tasks[task].weights if task in tasks else TaskRewardParams(kind=kind).weights
            tasks[task] = TaskRewardParams(kind=kind, weights=weights)
    return rewards.model_copy(update={"tasks": tasks})


def resolve_source(benchmark: Benchmark, source: str | None) -> str:
    """A local folder holding the benchmark's ``local_file`` (the ../shared/data layout), a file, or a hub id."""
    if source is None:
        return benchmark.hub_id
    path = Path(source).expanduser()
    if path.is_dir() and (path / benchmark.local_file).exists():
        return str(path / benchmark.local_file)
    return source
