"""Preflight: what would stop a stage of these params, found before any job is submitted.

A paper-scale run spends days of GPU time before its last stages start; a missing benchmark file or library
found there costs all of it. Each check below looks at what a stage will read, the way the stage reads it,
without running the stage: benchmark sources (a local path exists, pinned files are known and any present
ones carry their hash, a hub id), the libraries BigCodeBench's tasks import (in the sandbox, with the
interpreter the tasks will run on), and the snapshots a single-task run keeps for checkpoint selection
(against the run's length when the curated data is there, against ``max_steps`` otherwise).

``python -m pipeline preflight --params params.yaml configs/paper.yaml`` prints one line per stage and check
and exits 1 when any check found a problem. Checks are registered per stage (:data:`CHECKS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..config import Params
from ..errors import UserError
from ..registry import Registry


@dataclass(frozen=True)
class Finding:
    stage: str
    check: str
    ok: bool
    message: str


@dataclass(frozen=True)
class Context:
    curated: Path              # curate's outputs (run lengths are exact when they exist)
    load_data: bool = True     # load benchmark records (local, or from the hub cache) to list their libraries


@dataclass(frozen=True)
class Check:
    stage: str
    run: Callable[[Params, Context], list[tuple[bool, str]]]


CHECKS: Registry[Check] = Registry("preflight check")
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")  # owner/name: what load_rows sends to the hub when no such path exists


def check(name: str, stage: str) -> Callable[[Callable[[Params, Context], list[tuple[bool, str]]]], Check]:
    def decorate(fn: Callable[[Params, Context], list[tuple[bool, str]]]) -> Check:
        return CHECKS.register(name)(Check(stage, fn))
    return decorate


@check("benchmark_sources", "evaluate_benchmarks")
def benchmark_sources(params: Params, ctx: Context) -> list[tuple[bool, str]]:
    """Each selected benchmark's source: a local path that exists, pinned files (present with their hash, or
    fetched by the stage), or a hub id (with the configuration the stage passes)."""
    from ..data.pinned import sha256_of
    from ..eval.benchmarks import BENCHMARKS

    p = params.benchmarks
    out = []
    for name in p.names:
        if name not in BENCHMARKS:
            out.append((False, f"{name}: unknown benchmark"))
            continue
        bench = BENCHMARKS[name]
        source = p.sources.get(name, p.data_dir)
        if source is not None:
            path = Path(source).expanduser()
            if path.is_dir() and not (path / bench.local_file).exists() and name not in p.sources:
                out.append((False, f"{name}: benchmarks.data_dir {path} has no {bench.local_file}"))
            elif path.exists():
                out.append((True, f"{name}: local {path}"))
            elif HUB_ID.match(source) and not bench.loader:
                out.append(_hub(name, source, bench))
            else:
                out.append((False, f"{name}: {path} not found (benchmarks.sources.{name} or benchmarks.data_dir)"))
        elif bench.pinned:
            folder = Path(p.download_dir) / name
            bad = [f.path for f in bench.pinned
                   if (folder / f.path).exists() and sha256_of(folder / f.path) != f.sha256]
            present = sum((folder / f.path).exists() for f in bench.pinned)
            out.append((not bad, f"{name}: {len(bench.pinned)} pinned files in {folder} ({present} present"
                        + (f"; {', '.join(bad)} with another sha256: delete to fetch again)" if bad
                           else ", the rest fetched by the stage)")))
        elif bench.hub_id:
            out.append(_hub(name, bench.hub_id, bench))
        else:
            out.append((False, f"{name}: no hub copy and no pinned files: give benchmarks.sources.{name}"))
    return out


def _hub(name: str, hub_id: str, bench) -> tuple[bool, str]:
    """The hub load the stage makes; a dataset with several configurations needs the adapter to name one."""
    if bench.hub_has_configs and not bench.hub_config:
        return False, (f"{name}: hub {hub_id} has several configurations and the adapter names none (the hub "
                       "refuses the load)")
    config = f", configuration {bench.hub_config}" if bench.hub_config else ""
    return True, f"{name}: hub {hub_id} (split {bench.hub_split}{config})"


@check("benchmark_libraries", "evaluate_benchmarks")
def benchmark_libraries(params: Params, ctx: Context) -> list[tuple[bool, str]]:
    """The libraries the selected benchmarks' tasks list, imported in the sandbox by ``rewards.code.python``."""
    from ..eval.benchmarks import BENCHMARKS, load_benchmark
    from ..eval.benchmarks.libraries import missing_modules, required_modules
    from ..rewards.total import RewardModel

    p = params.benchmarks
    coding = [n for n in p.names if n in BENCHMARKS and BENCHMARKS[n].lists_libraries]
    if not coding or not p.check_libraries:
        return [(True, "no benchmark whose tasks list libraries" if not coding
                 else "benchmarks.check_libraries is false")]
    if not ctx.load_data:
        return [(True, "not checked (--no-data)")]
    needed: dict[str, list[str]] = {}
    out: list[tuple[bool, str]] = []
    for name in coding:
        try:
            records = load_benchmark(name, p.source(name), None, p.download_dir)
        except (UserError, OSError, ValueError, ConnectionError) as exc:
            out.append((False, f"{name}: cannot load it to list its libraries ({exc})"))
            continue
        if modules := required_modules(records):
            needed[name] = modules
    if not needed:
        return out or [(True, "the selected code benchmarks list no libraries")]
    try:
        rewards = RewardModel(params.rewards)
        scorer = rewards.code
    except UserError as exc:
        return [*out, (False, str(exc))]
    try:
        for name, modules in needed.items():
            missing = missing_modules(scorer, modules)
            out.append((not missing, f"{name}: {len(modules) - len(missing)} of {len(modules)} libraries import "
                        f"in the sandbox ({scorer.sandbox.interpreter.path})"
                        + (f"; missing: {', '.join(missing)} (make bigcodebench-env)" if missing else "")))
    finally:
        rewards.close()
    return out


@check("snapshot_candidates", "train_single")
def snapshot_candidates(params: Params, ctx: Context) -> list[tuple[bool, str]]:
    """Each single-task run keeps snapshots before its final step, so that checkpoint selection (the TIES
    baseline's) has more than the final model to choose from: the exact run length from the curated train
    split when it is there (train_single's own plan), else ``max_steps``."""
    from ..data.curate import curated_with
    from ..rl.plan import plan_training
    from ..rl.schedules import snapshot_interval

    out = []
    for task in params.tasks:
        grpo = params.train.for_single(task)
        where = f"train.overrides.{task}" if "keep_every" in params.train.overrides.get(task, {}) else "train.grpo"
        if (ctx.curated / task / "train.parquet").exists() and not curated_with(params, task, ctx.curated):
            out.append((True, f"{task}: {ctx.curated / task} was curated with other data settings (another "
                        "profile's), so it is not read: run lengths are estimated from these parameters"))
        if curated_with(params, task, ctx.curated):
            try:
                plan = plan_training(params, "single", ctx.curated, task=task)
            except UserError as exc:
                out.append((False, f"{task}: {exc}"))
                continue
            interval, batches = plan.grpo.keep_every, len(plan.schedule)
            out.append((interval > 0, f"{task}: a snapshot every {interval} steps of a {batches}-batch run"
                        if interval else f"{task}: a {batches}-batch run keeping the final model only (set "
                        f"{where}.keep_snapshots)"))
        elif grpo.keep_every and grpo.max_steps:
            try:
                snapshot_interval(grpo.keep_every, grpo.keep_snapshots, grpo.max_steps, where)
                out.append((True, f"{task}: a snapshot every {grpo.keep_every} of at most {grpo.max_steps} steps"))
            except UserError as exc:
                out.append((False, f"{task}: {exc}"))
        elif grpo.keep_every:
            out.append((True, f"{task}: {where}.keep_every {grpo.keep_every}, checked against the run length when "
                        "train_single starts (no curated data yet)"))
        else:
            out.append((grpo.keep_snapshots > 0, f"{task}: keep_snapshots {grpo.keep_snapshots}, spread over the run"
                        if grpo.keep_snapshots else f"{task}: the final model only (set {where}.keep_snapshots)"))
    return out


ATTENTION_PACKAGES = {"flash_attention_2": ("flash_attn", "kernels"), "sdpa": (), "eager": ()}
"""What transformers needs importable to load a model with each attention implementation (either package)."""


@check("attention", "train_single")
def attention(params: Params, ctx: Context) -> list[tuple[bool, str]]:
    """The verl runs load the actor with the attention implementation their rendered config names (verl's own
    default, flash_attention_2, when it names none); transformers refuses to load without its package. Read
    from the config our overrides compose, as the trainer will see it."""
    import importlib.util

    if params.train.backend != "verl":
        return []
    if importlib.util.find_spec("verl") is None:
        return [(False, "train.backend verl: the verl package is not installed (pip install -e '.[gpu]')")]
    from ..scale.verl_config import VerlRun, grpo_overrides
    from ..scale.verl_run import compose_config

    run = VerlRun(name="preflight", model=str(params.models.base), train_file=Path("t.parquet"),
                  val_file=Path("v.parquet"), steps=1, checkpoint_dir=Path("c"), grpo=params.train.grpo, beta=0.0)
    cfg = compose_config(grpo_overrides(run, params.train.verl, None, Path("p.yaml"), params.seed))
    impl = cfg.actor_rollout_ref.model.override_config.get("attn_implementation", "flash_attention_2")
    needed = ATTENTION_PACKAGES.get(impl, ())
    if needed and not any(importlib.util.find_spec(name) for name in needed):
        return [(False, f"the actor loads with attn_implementation {impl}, which needs {' or '.join(needed)} "
                        "(pip install -e '.[gpu]' installs flash-attn 2.8.3), or set train.verl.attn_implementation: "
                        "sdpa")]
    return [(True, f"attn_implementation {impl}" + (f": {' or '.join(needed)} imports" if needed else ""))]


def preflight(params: Params, ctx: Context) -> list[Finding]:
    """Every registered check's findings, in registry order."""
    return [Finding(c.stage, name, ok, message) for name, c in CHECKS.items() for ok, message in c.run(params, ctx)]
