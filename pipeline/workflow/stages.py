"""The stage table: the one place a stage of the DAG is declared.

``dvc.yaml`` and the Snakemake rules (``workflow_rules/stages.smk``) are generated from it
(:mod:`.render`, ``python -m pipeline stages --write``), and each stage's code dependencies are the import
closure of its command module (:mod:`.deps`), so both tools run the same stages and rerun them on the same
code changes by construction. ``tests/workflow/`` fails when a generated file is stale.

Path patterns: ``{task}`` is the stage's own task (a per-task stage: DVC ``foreach``, Snakemake wildcard);
``{seed}`` the stage's own replica seed (a per-seed stage: DVC ``foreach``, or ``matrix`` with ``{task}``;
Snakemake wildcard); ``{tasks}`` and ``{seeds}`` fan in over every task and every seed (Snakemake expands them;
DVC depends on the folder above them; a ``{seeds}`` in a command's argument is expanded by the command over
params ``seeds``). A path ending in ``/`` is a folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import SHARED_REWARD_KEYS

Resources = Literal["local", "cpu", "all_cores", "gpu_train", "gpu_node", "gpu_eval"]
"""Resource classes: ``local`` runs where the workflow runs (cheap, no cluster job); ``cpu`` one core;
``all_cores`` every core of its node (nothing runs beside it); ``gpu_train`` verl training over
``train.verl.nnodes`` nodes, ``gpu_node`` one GPU node, ``gpu_eval`` vLLM evaluation — GPU jobs when the run's
backends use GPUs (:mod:`.resources` derives each request from params)."""


@dataclass(frozen=True)
class Stage:
    name: str
    module: str                    # pipeline.commands.<module>: the command, and the root of the code deps
    command: str                   # `python -m pipeline <command>`
    args: tuple[str, ...]          # its arguments (before `--params`)
    doc: str                       # one line: what it does, with the paper's section
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()  # DVC metrics (cached like outputs; `dvc metrics show`, `dvc exp show` columns):
    # the report's comparison metrics only, so an experiment table stays readable; every other stage's JSON
    # summary is a plain output
    params: tuple[str, ...] = ()   # dotted params keys it reads
    per_task: bool = False
    per_seed: bool = False         # one job per replica seed (``{seed}``; ``--seed`` appended to its command)
    resources: Resources = "cpu"
    critical: bool = False         # on the critical path (singles → transfer → order → curriculum → validation)

    def cmd(self) -> list[str]:
        return ["python", "-m", "pipeline", self.command, *self.args, *(("--seed", "{seed}") if self.per_seed else ())]


TRAIN_THREADS = "train.threads"
"""The params key of a CPU training process's torch threads: a stage that reads it trains, and its Snakemake rule
reserves that many cores (``threads``), so DVC and Snakemake run it on the same count."""
TRAIN_SETTINGS = ("train.backend", "train.verl", "train.grpo", TRAIN_THREADS)
TRAIN_PARAMS = (*TRAIN_SETTINGS, "rewards")
"""What a training replica on every task reads (its seed is in its command: ``--seed``)."""
TASK_TRAIN_PARAMS = (*TRAIN_SETTINGS, "rewards.tasks.{task}", *(f"rewards.{k}" for k in SHARED_REWARD_KEYS),
                     "train.overrides.{task}")
"""What one task's training run reads: its own reward and GRPO overrides, never another task's
(:meth:`~pipeline.config.RewardParams.identity`), so changing one task's settings reruns that task's runs only.
Its data settings (``data.tasks.<task>``) reach it through its curated split, an input."""
EVAL_PARAMS = ("eval", "rewards")
RUN = "seed{seed}"
"""A replica's folder under each per-seed output (docs/seeds.md): ``data/models/single/seed0/math/``."""
SINGLES = f"data/models/single/{RUN}"
SINGLE_MODELS = f"{SINGLES}/{{tasks}}/model/"
TRANSFER, BENCH_TRANSFER, FINAL = (f"data/eval/{kind}/{RUN}" for kind in ("transfer", "benchmark_transfer", "final"))
MODELS = {name: f"data/models/{name}/{RUN}" for name in ("sft", "merged", "joint", "curriculum")}
FINAL_MODELS = tuple(f"{folder}/model/" for folder in MODELS.values())
FINAL_ARGS = tuple(a for name, folder in MODELS.items() for a in ("--model", f"{name}={folder}/model"))
ALL = "seed{seeds}"
"""Every replica's folder (a fan-in over ``seeds``)."""
TRANSFER_TABLES = {kind: (f"data/eval/transfer/{ALL}/{kind}.csv", f"data/eval/benchmark_transfer/{ALL}/{kind}.csv")
                   for kind in ("accuracies", "entropies")}
"""``order``'s tables, every replica's: the curated splits' (val, test) and the benchmarks' domain averages
(``order.split``); ``order`` averages the replicas."""
PAIRS = f"data/pairs/{RUN}"
"""``train_pairs``' folder: every ordered pair ``i → j`` trained and evaluated (``accuracies.csv``, ``runs/``)."""
VALIDATE, TEMPERATURE, FORMAT = f"data/validate/{RUN}", f"data/ablation/temperature/{RUN}", \
    f"data/ablation/answer_format/{RUN}"
CURATED = tuple(f"data/curated/{{tasks}}/{split}.parquet" for split in ("train", "val", "test"))

STAGES: tuple[Stage, ...] = (
    Stage("curate", "curate", "curate", ("--task", "{task}", "--out", "data/curated/{task}"),
          "one task's data from its real source or the synthetic generator (Section 4)",
          outputs=(*(f"data/curated/{{task}}/{s}.parquet" for s in ("train", "val", "test", "pretrain")),
                   "data/curated/{task}/stats.json"),
          params=("seed", "data.val_fraction", "data.test_fraction", "data.tasks.{task}", "models.base"),
          per_task=True),
    Stage("base_model", "base_model", "base-model", ("--out", "data/models/base"),
          "θ0: the tiny Qwen2 built and warm-started, or models.base copied (Section 4)",
          inputs=("data/curated/{tasks}/pretrain.parquet", "data/curated/{tasks}/train.parquet"),
          outputs=("data/models/base/",), params=("seed", "models", TRAIN_THREADS), resources="all_cores"),
    Stage("train_single", "train", "train",
          ("--mode", "single", "--task", "{task}", "--base", "data/models/base", "--out", f"{SINGLES}/{{task}}"),
          "single-task GRPO from θ0 (Section 4)",
          inputs=("data/models/base/", "data/curated/{task}/train.parquet"),
          outputs=(f"{SINGLES}/{{task}}/model/", f"{SINGLES}/{{task}}/checkpoints/", f"{SINGLES}/{{task}}/log.jsonl",
                   f"{SINGLES}/{{task}}/metrics.json"),
          params=TASK_TRAIN_PARAMS, per_task=True, per_seed=True, resources="gpu_train",
          critical=True),
    Stage("evaluate_transfer", "evaluate", "evaluate",
          ("--transfer", "data/models/base", SINGLES, "--out", TRANSFER),
          "θ0 and every single-task model on every task, val and test: accuracy and entropy (Eq. 11)",
          inputs=("data/models/base/", SINGLE_MODELS, *CURATED[1:]),
          outputs=tuple(f"{TRANSFER}/{f}" for f in ("accuracies.csv", "entropies.csv", "units.jsonl")),
          params=EVAL_PARAMS, per_seed=True, resources="gpu_eval", critical=True),
    Stage("benchmark_transfer", "benchmark", "benchmark",
          ("--transfer", "data/models/base", SINGLES, "--out", BENCH_TRANSFER),
          "θ0 and every single-task model on every benchmark; domain averages for `order.split: benchmarks`",
          inputs=("data/models/base/", SINGLE_MODELS),
          outputs=tuple(f"{BENCH_TRANSFER}/{f}" for f in ("results.csv", "accuracies.csv", "entropies.csv")),
          params=(*EVAL_PARAMS, "benchmarks"), per_seed=True, resources="gpu_eval"),
    Stage("train_pairs", "train_pairs", "train-pairs",
          ("--base", "data/models/base", "--singles", SINGLES, "--out", PAIRS),
          "every ordered pair i → j as a two-segment curriculum, evaluated on every task: the pairwise predictor's "
          "transfers (pairs.enabled; off, an empty table)",
          inputs=("data/models/base/", SINGLE_MODELS, f"{SINGLES}/{{tasks}}/log.jsonl", *CURATED),
          outputs=tuple(f"{PAIRS}/{f}" for f in ("accuracies.csv", "entropies.csv", "units.jsonl", "runs/")),
          params=(*TRAIN_PARAMS, "train.overrides", "eval", "pairs"), per_seed=True, resources="gpu_train"),
    Stage("order", "order", "order",
          ("--accuracies", *TRANSFER_TABLES["accuracies"], "--entropies", *TRANSFER_TABLES["entropies"],
           "--pairs", f"data/pairs/{ALL}/accuracies.csv", "--out", "data/order"),
          "BWT (Eq. 6) of the replicas' mean accuracies, Algorithm 1 and the pairwise predictor, the curriculum from "
          "the LOP (Eq. 10) and the entropy matrix (Eq. 12)",
          inputs=(*TRANSFER_TABLES["accuracies"], *TRANSFER_TABLES["entropies"], f"data/pairs/{ALL}/accuracies.csv"),
          outputs=("data/order/bwt.csv", "data/order/curricula.csv", "data/order/bwt.png",
                   "data/order/entropy_change.csv", "data/order/entropy_change.png", "data/order/curriculum.json"),
          params=("seed", "seeds", "order"), resources="local",
          critical=True),
    Stage("sft_rft", "sft_rft", "sft-rft", ("--base", "data/models/base", "--out", MODELS["sft"]),
          "the rejection-sampling SFT baseline from θ0 (Section 4)",
          inputs=("data/models/base/", "data/curated/{tasks}/train.parquet"),
          outputs=(f"{MODELS['sft']}/model/", f"{MODELS['sft']}/rft_data.jsonl", f"{MODELS['sft']}/rft.json"),
          params=("baselines.rft", "eval.backend", "eval.vllm", "rewards", "train.backend", "train.verl",
                  TRAIN_THREADS),
          per_seed=True, resources="gpu_node"),
    Stage("merge_ties", "merge_ties", "merge-ties",
          ("--base", "data/models/base", "--singles", SINGLES, "--reuse", TRANSFER, "--out", MODELS["merged"]),
          "the TIES-merging baseline: the best single-task checkpoints on val, merged into θ0 with mergekit",
          inputs=("data/models/base/", SINGLE_MODELS, f"{SINGLES}/{{tasks}}/checkpoints/",
                  f"{SINGLES}/{{tasks}}/metrics.json", f"{TRANSFER}/units.jsonl", *CURATED[1:]),
          outputs=(f"{MODELS['merged']}/model/", f"{MODELS['merged']}/selection.json"),
          params=(*EVAL_PARAMS, "baselines.merge"), per_seed=True, resources="gpu_eval"),
    Stage("train_curriculum", "train", "train",
          ("--mode", "curriculum", "--order", "data/order/curriculum.json", "--base", "data/models/base",
           "--singles", SINGLES, "--out", MODELS["curriculum"]),
          "MT-GRPO task by task in the order of `order`; its first segment is σ(1)'s single-task run (Section 2.3)",
          inputs=("data/models/base/", SINGLE_MODELS, "data/order/curriculum.json", CURATED[0]),
          outputs=tuple(f"{MODELS['curriculum']}/{f}" for f in ("model/", "segments/", "checkpoints/", "log.jsonl",
                                                                 "metrics.json")),
          params=(*TRAIN_PARAMS, "train.overrides"),
          per_seed=True, resources="gpu_train", critical=True),
    Stage("train_joint", "train", "train",
          ("--mode", "joint", "--base", "data/models/base", "--out", MODELS["joint"]),
          "MT-GRPO over all tasks mixed (Section 2.3)",
          inputs=("data/models/base/", CURATED[0]),
          outputs=tuple(f"{MODELS['joint']}/{f}" for f in ("model/", "checkpoints/", "log.jsonl", "metrics.json")),
          params=(*TRAIN_PARAMS, "train.overrides"),
          per_seed=True, resources="gpu_train"),
    Stage("evaluate_final", "evaluate", "evaluate",
          ("--transfer", "data/models/base", SINGLES, *FINAL_ARGS, "--split", "test", "--reuse", TRANSFER,
           "--out", FINAL),
          "Base, ST×K, SFT, MM, JT and CL on test (Table 1; Base and ST reused from evaluate_transfer)",
          inputs=("data/models/base/", SINGLE_MODELS, f"{TRANSFER}/units.jsonl", *FINAL_MODELS, CURATED[2]),
          outputs=tuple(f"{FINAL}/{f}" for f in ("accuracies.csv", "entropies.csv", "units.jsonl")),
          params=EVAL_PARAMS, per_seed=True, resources="gpu_eval"),
    Stage("evaluate_benchmarks", "benchmark", "benchmark",
          (*FINAL_ARGS, "--reuse", f"{BENCH_TRANSFER}/results.csv", "--out", f"data/eval/benchmarks/{RUN}"),
          "the final models on Table 1's benchmarks (benchmarks.names); Base and ST×K from benchmark_transfer",
          inputs=(*FINAL_MODELS, f"{BENCH_TRANSFER}/results.csv"),
          outputs=(f"data/eval/benchmarks/{RUN}/results.csv",), params=(*EVAL_PARAMS, "benchmarks"),
          per_seed=True, resources="gpu_eval"),
    Stage("validate_predictions", "validate", "validate-predictions",
          ("--order-dir", "data/order", "--accuracies", f"{TRANSFER}/accuracies.csv",
           "--curriculum", MODELS["curriculum"], "--base", "data/models/base", "--singles", SINGLES,
           "--pairs", PAIRS, "--out", VALIDATE),
          "extra curricula trained and measured against the predictions of Algorithm 1 and the pairwise predictor "
          "(Table 3)",
          inputs=("data/order/curriculum.json", "data/order/curricula.csv", f"{TRANSFER}/accuracies.csv",
                  f"{MODELS['curriculum']}/model/", "data/models/base/", SINGLE_MODELS, f"{PAIRS}/accuracies.csv",
                  f"{PAIRS}/runs/", *CURATED),
          outputs=(f"{VALIDATE}/predictions.csv", f"{VALIDATE}/models/", f"{VALIDATE}/validation.json"),
          params=(*TRAIN_PARAMS, "train.overrides", "eval", "order.floor", "order.pairwise_scales", "validate"),
          per_seed=True,
          resources="gpu_train", critical=True),
    Stage("ablate_temperature", "ablate_temperature", "ablate-temperature",
          ("--base", "data/models/base", "--out", TEMPERATURE),
          "Table 2: single-task GRPO at other rollout temperatures, evaluated on every task's test split (Sec. 5.3)",
          inputs=("data/models/base/", CURATED[0], CURATED[2]),
          outputs=tuple(f"{TEMPERATURE}/{f}" for f in ("runs/", "accuracies.csv", "entropies.csv", "units.jsonl")),
          params=(*TRAIN_PARAMS, "train.overrides", "eval", "ablations.temperature"), per_seed=True,
          resources="gpu_train"),
    Stage("ablate_format", "ablate_format", "ablate-format",
          ("--base", "data/models/base", "--singles", SINGLES, "--reuse", TRANSFER, "--out", FORMAT),
          "Figure 3: a policy trained on letter choices beside the full-text one, both formats evaluated (App. A.2.1)",
          inputs=("data/models/base/", SINGLE_MODELS, f"{TRANSFER}/units.jsonl", *CURATED),
          outputs=tuple(f"{FORMAT}/{f}" for f in ("curated/", "runs/", "accuracies.csv", "units.jsonl")),
          params=(*TRAIN_PARAMS, "train.overrides", "eval", "ablations.answer_format", "benchmarks"), per_seed=True,
          resources="gpu_train"),
    Stage("report", "report", "report",
          ("--transfer", f"data/eval/transfer/{ALL}", "--final", f"data/eval/final/{ALL}", "--order-dir", "data/order",
           "--validate", f"data/validate/{ALL}", "--pairs", f"data/pairs/{ALL}",
           "--benchmarks", f"data/eval/benchmarks/{ALL}",
           "--benchmark-transfer", f"data/eval/benchmark_transfer/{ALL}", "--singles", f"data/models/single/{ALL}",
           "--joint", f"data/models/joint/{ALL}", "--curriculum", f"data/models/curriculum/{ALL}",
           "--temperature", f"data/ablation/temperature/{ALL}", "--answer-format", f"data/ablation/answer_format/{ALL}",
           "--out", "data/report"),
          "the paper's tables and figures in data/report/, each accuracy the replicas' mean (± their SD)",
          inputs=(f"data/eval/benchmarks/{ALL}/results.csv", f"data/eval/benchmark_transfer/{ALL}/accuracies.csv",
                  *(f"data/eval/transfer/{ALL}/{f}" for f in ("accuracies.csv", "entropies.csv", "units.jsonl")),
                  f"data/eval/final/{ALL}/accuracies.csv", f"data/eval/final/{ALL}/units.jsonl",
                  "data/order/curriculum.json", "data/order/entropy_change.csv",
                  *(f"data/ablation/temperature/{ALL}/{f}" for f in ("accuracies.csv", "entropies.csv", "units.jsonl")),
                  f"data/ablation/answer_format/{ALL}/accuracies.csv",
                  f"data/validate/{ALL}/predictions.csv", f"data/validate/{ALL}/validation.json",
                  f"data/pairs/{ALL}/accuracies.csv",
                  f"data/models/single/{ALL}/{{tasks}}/log.jsonl", f"data/models/joint/{ALL}/log.jsonl",
                  f"data/models/curriculum/{ALL}/log.jsonl"),
          outputs=("data/report/summary.md", "data/report/table1.csv", "data/report/table2.csv",
                   "data/report/figure3.csv", "data/report/figure3.png",
                   "data/report/table1_benchmarks.csv",
                   "data/report/figure1.png", "data/report/bwt_val.png", "data/report/bwt_test.png",
                   "data/report/entropy_change.png", "data/report/training_curves.png", "data/report/curves/",
                   "data/report/details.json"),
          metrics=("data/report/metrics.json",),
          params=("seeds", "order.floor", "order.weights", "order.pairwise_scales", "eval.accuracy", "eval.samples",
                  "ablations"),
          resources="local"),
)

PLOTS: tuple[object, ...] = (
    "data/report/figure1.png", "data/report/bwt_val.png", "data/report/bwt_test.png",
    "data/report/entropy_change.png", "data/report/training_curves.png", "data/report/figure3.png",
    {"Curriculum training (accuracy reward, moving average)":
        {"x": "step", "y": {"data/report/curves/curriculum.csv": "{tasks}"}}},
    {"Joint training (accuracy reward, moving average)":
        {"x": "step", "y": {"data/report/curves/joint.csv": "{tasks}"}}},
)
"""DVC's top-level plots (``dvc plots show``); ``"{tasks}"`` becomes the list of tasks."""


def stage(name: str) -> Stage:
    for s in STAGES:
        if s.name == name:
            return s
    raise KeyError(f"no stage {name!r} (stages: {', '.join(s.name for s in STAGES)})")
