"""What a run will cost, before it is submitted: per stage, the GPU-hours it requests and the judge calls, tokens
and dollars it will spend (``preflight`` prints the table).

GPU-hours are the Slurm requests (:mod:`.resources`): jobs × nodes × GPUs per node × hours, an upper bound of
what a job holds. Judge calls count every judged response twice (the pairwise judge asks in both orders):

- training: the prompts a run trains on × its group size G, for each task whose reward kind is ``judge``;
  one single-task run's prompts are exact from the curated train split when it is there (the run's own plan;
  verl trains full batches only), else ``data.tasks.<t>.n`` × the train share; a curriculum segment and the
  joint run see the same prompts of a task as its single-task run (its ``max_steps`` caps both);
- RFT: ``baselines.rft.samples`` responses per train prompt (``max_prompts`` caps them);
- evaluation: per model, each val / test prompt's greedy answer, plus ``eval.samples`` sampled ones when
  ``eval.temperature`` > 0; MT-Bench's 20 writing and roleplay questions likewise;
- the validation curricula, the pair runs and the temperature ablation as the training and evaluation they
  run; checkpoint selection of the merge baseline evaluates each kept snapshot of a judged task on its val.

Tokens per call are bounded, not measured: the judge's own prompt text, plus a question of at most
``train.verl.max_prompt_length`` tokens, plus two answers (the response and the reference) of at most the
generating stage's ``max_new_tokens`` each; each reply is ``rewards.judge.reply_tokens``. So the table is an
upper bound on prompt tokens, and an estimate of reply tokens. Dollars need ``rewards.judge.price_per_mtok``
(no price is assumed). Curation's LLM distractors (SuperGPQA) are not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..config import JudgePrice, Params
from ..errors import UserError
from .resources import stage_resources
from .stages import STAGES, Stage

MT_BENCH_QUESTIONS = 20  # MT-Bench's writing and roleplay questions (pipeline/eval/benchmarks/mt_bench.py)
ORDERS = 2  # the pairwise judge asks twice per response


def template_tokens() -> int:
    """Tokens of the judge's fixed prompt text (system prompt and template, without the question and answers)."""
    from ..rewards.judge import CHARS_PER_TOKEN, SYSTEM, TEMPLATE

    return math.ceil(len(SYSTEM + TEMPLATE.format(question="", a="", b="")) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class TaskSizes:
    """A judged task's prompts: train, val, test (None: unknown before curation) and how they were found."""

    train: int | None
    val: int | None
    test: int | None
    exact: bool


def task_sizes(params: Params, task: str, curated: Path) -> TaskSizes:
    """From the curated splits when they were curated with these parameters, else ``data.tasks.<task>.n`` × each
    split's share (another profile's data on disk is not this run's)."""
    from ..data.curate import curated_with

    folder = Path(curated) / task
    if curated_with(params, task, curated):
        import pyarrow.parquet as pq

        train, val, test = (pq.read_metadata(folder / f"{s}.parquet").num_rows for s in ("train", "val", "test"))
        return TaskSizes(train, val, test, exact=True)
    n = getattr(params.data.tasks[task], "n", None)
    if n is None:
        return TaskSizes(None, None, None, exact=False)
    val, test = params.data.val_fraction, params.data.test_fraction
    return TaskSizes(round(n * (1 - val - test)), round(n * val), round(n * test), exact=False)


def single_run_prompts(params: Params, task: str, sizes: TaskSizes, curated: Path) -> int | None:
    """Prompts one single-task run of ``task`` trains on (repeats over epochs counted)."""
    g = params.train.for_single(task)
    full_only = params.train.backend == "verl"  # verl's sampler drops a partial last batch
    if sizes.exact:
        from ..rl.plan import plan_training

        batches = plan_training(params, "single", curated, task=task).schedule
        return sum(len(b.items) for b in batches if not full_only or len(b.items) == g.batch_size)
    if sizes.train is None:
        return None
    per_epoch = (sizes.train // g.batch_size) * g.batch_size if full_only else sizes.train
    prompts = g.epochs * per_epoch
    return min(prompts, g.max_steps * g.batch_size) if g.max_steps else prompts


@dataclass(frozen=True)
class Workload:
    """What the judge sees in one run of the DAG: the judged tasks' sizes and run lengths."""

    params: Params
    sizes: dict[str, TaskSizes]      # judged tasks only
    prompts: dict[str, int | None]   # one single-task run's training prompts, per judged task

    @property
    def judged(self) -> list[str]:
        return list(self.sizes)

    def eval_answers(self) -> int:
        """Judged answers per evaluated prompt and model: the greedy one, plus the sampled ones at T > 0."""
        e = self.params.eval
        return 1 + (e.samples if e.temperature > 0 else 0)

    def training(self, tasks: list[str] | None = None, group: int | None = None) -> int | None:
        """Judged responses of one training run over ``tasks`` (default: every judged task)."""
        total = 0
        for t in self.judged if tasks is None else [t for t in tasks if t in self.sizes]:
            prompts = self.prompts[t]
            if prompts is None:
                return None
            total += prompts * (group or self.params.train.for_single(t).group_size)
        return total

    def evaluation(self, models: int, splits: tuple[str, ...]) -> int | None:
        """Judged answers of evaluating ``models`` models on ``splits`` of every judged task."""
        total = 0
        for s in self.sizes.values():
            for split in splits:
                n = getattr(s, split)
                if n is None:
                    return None
                total += models * n * self.eval_answers()
        return total

    def snapshots(self, task: str) -> int | None:
        """Snapshots a single-task run keeps for the merge baseline's checkpoint selection."""
        from ..rl.schedules import snapshot_interval

        g, p = self.params.train.for_single(task), self.prompts[task]
        if p is None:
            return None
        steps = math.ceil(p / g.batch_size)
        try:
            interval = snapshot_interval(g.keep_every, g.keep_snapshots, steps) if steps > 1 else 0
        except UserError:  # preflight's snapshot check reports it; the cost is unknown until it is mended
            return None
        return (steps - 1) // interval if interval else 0


Part = tuple[int | None, int]
"""Judged responses and the token cap of each (the generating stage's ``max_new_tokens``)."""


def _train_cap(p: Params) -> int:
    return p.train.grpo.max_new_tokens


def _trained_orders(p: Params) -> int:
    k = len(p.tasks)
    named = [o for o in p.validate_.orders if o not in ("best", "worst", "all")]
    if "all" in p.validate_.orders:
        return math.factorial(k) - 1  # the recommended order is train_curriculum's, reused
    return len(named) + ("worst" in p.validate_.orders) + p.validate_.sample


def _mt_bench(w: Workload, models: int) -> list[Part]:
    if "mt_bench" not in w.params.benchmarks.names or not w.sizes:
        return []
    return [(models * MT_BENCH_QUESTIONS * w.eval_answers(), w.params.eval.max_new_tokens)]


def _mul(n: int | None, k: int) -> int | None:
    return None if n is None else n * k


def _rft_responses(w: Workload) -> int | None:
    """RFT's sampled responses of the judged tasks: ``samples`` per train prompt, ``max_prompts`` at most."""
    rft, total = w.params.baselines.rft, 0
    for s in w.sizes.values():
        if s.train is None:
            return None
        total += min(s.train, rft.max_prompts or s.train) * rft.samples
    return total


def _selection_answers(w: Workload) -> int | None:
    """The merge baseline's checkpoint selection: each kept snapshot of a judged task on that task's val."""
    total = 0
    for t in w.judged:
        snapshots, val = w.snapshots(t), w.sizes[t].val
        if snapshots is None or val is None:
            return None
        total += snapshots * val * w.eval_answers()
    return total


JUDGED: dict[str, Callable[[Workload], list[Part]]] = {
    "train_single": lambda w: [(w.training(), _train_cap(w.params))],
    "train_curriculum": lambda w: [(w.training(), _train_cap(w.params))],
    "train_joint": lambda w: [(w.training(group=w.params.train.grpo.group_size), _train_cap(w.params))],
    "train_pairs": lambda w: [] if not w.params.pairs.enabled else [
        (_mul(w.training(), len(w.params.tasks) - 1), _train_cap(w.params)),  # i → t: t's segment, K − 1 times
        (w.evaluation(len(w.params.tasks) * (len(w.params.tasks) - 1), ("val", "test")), w.params.eval.max_new_tokens)],
    "validate_predictions": lambda w: [
        (_mul(w.training(), _trained_orders(w.params)), _train_cap(w.params)),
        (w.evaluation(_trained_orders(w.params), (w.params.validate_.split,)), w.params.eval.max_new_tokens)],
    "ablate_temperature": lambda w: [
        (w.training(list(w.params.ablations.temperature.runs)), _train_cap(w.params)),
        (w.evaluation(len(w.params.ablations.temperature.runs), ("test",)),
         w.params.eval.max_new_tokens)] if w.params.ablations.temperature.runs else [],
    "sft_rft": lambda w: [(_rft_responses(w), w.params.baselines.rft.max_new_tokens)],
    "evaluate_transfer": lambda w: [(w.evaluation(1 + len(w.params.tasks), ("val", "test")),
                                     w.params.eval.max_new_tokens)],
    "merge_ties": lambda w: [(_selection_answers(w), w.params.eval.max_new_tokens)],
    "evaluate_final": lambda w: [(w.evaluation(4, ("test",)), w.params.eval.max_new_tokens)],  # SFT, MM, JT, CL
    "benchmark_transfer": lambda w: _mt_bench(w, 1 + len(w.params.tasks)),
    "evaluate_benchmarks": lambda w: _mt_bench(w, 4),
}
"""Each stage's judged responses per replica seed (stages not listed call no judge)."""


@dataclass(frozen=True)
class StageCost:
    stage: str
    jobs: int
    gpu_hours: float
    judge_calls: int | None          # None: unknown until curate has run
    prompt_tokens: int | None
    completion_tokens: int | None

    def usd(self, price: JudgePrice | None) -> float | None:
        if price is None or self.prompt_tokens is None or self.completion_tokens is None:
            return None
        return (self.prompt_tokens * price.input + self.completion_tokens * price.output) / 1e6


def jobs_of(stage: Stage, params: Params) -> int:
    return (len(params.tasks) if stage.per_task else 1) * (len(params.seeds) if stage.per_seed else 1)


def stage_costs(params: Params, curated: Path, gpu_model: str | None = None) -> list[StageCost]:
    """Every cluster stage's requested GPU-hours and judge use (per stage, all replicas and tasks together)."""
    from ..rewards.total import REWARD_KINDS

    judge = params.rewards.judge
    judged = [t for t in params.tasks if REWARD_KINDS[params.rewards.for_task(t).kind].judged] \
        if judge.backend == "llm" else []
    sizes = {t: task_sizes(params, t, curated) for t in judged}
    workload = Workload(params, sizes, {t: single_run_prompts(params, t, sizes[t], curated) for t in judged})
    question = params.train.verl.max_prompt_length
    costs = []
    for stage in STAGES:
        if stage.resources == "local":
            continue
        r = stage_resources(stage, params, gpu_model)
        gpus = int(r["gres"].rsplit(":", 1)[1]) if "gres" in r else 0
        jobs = jobs_of(stage, params)
        calls: int | None = 0
        prompt: int | None = 0
        for responses, cap in JUDGED.get(stage.name, lambda w: [])(workload):
            if responses is None or calls is None or prompt is None:
                calls = prompt = None
                continue
            seeds = len(params.seeds) if stage.per_seed else 1
            calls += responses * ORDERS * seeds
            prompt += responses * ORDERS * seeds * (template_tokens() + question + 2 * cap)
        costs.append(StageCost(stage.name, jobs, jobs * r["nodes"] * gpus * r["runtime"] / 60, calls, prompt,
                               None if calls is None else calls * judge.reply_tokens))
    return costs


def cost_table(costs: list[StageCost], price: JudgePrice | None) -> str:
    """The table ``preflight`` prints, with a total row."""
    def num(v: float | None, fmt: str = ",.0f") -> str:
        return "?" if v is None else format(v, fmt)

    lines = [f"{'stage':<22} {'jobs':>4} {'GPU-hours':>10} {'judge calls':>12} {'prompt tok':>15} "
             f"{'reply tok':>13} {'USD':>10}"]
    for c in costs:
        usd = c.usd(price)
        lines.append(f"{c.stage:<22} {c.jobs:>4} {num(c.gpu_hours):>10} {num(c.judge_calls):>12} "
                     f"{num(c.prompt_tokens):>15} {num(c.completion_tokens):>13} "
                     f"{num(usd, ',.2f') if price else '-':>10}")

    def total(values: list[float | None]) -> float | None:
        return None if any(v is None for v in values) else sum(v or 0 for v in values)

    usd_total = total([c.usd(price) for c in costs]) if price else None
    lines.append(f"{'total':<22} {sum(c.jobs for c in costs):>4} {num(sum(c.gpu_hours for c in costs)):>10} "
                 f"{num(total([c.judge_calls for c in costs])):>12} {num(total([c.prompt_tokens for c in costs])):>15} "
                 f"{num(total([c.completion_tokens for c in costs])):>13} "
                 f"{num(usd_total, ',.2f') if price else '-':>10}")
    return "\n".join(lines)
