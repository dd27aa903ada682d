"""The stage table: the one place a stage of the DAG is declared.

``dvc.yaml`` and the Snakemake rules (``workflow_rules/stages.smk``) are generated from it
(:mod:`.render`, ``python -m pipeline stages --write``), and each stage's code dependencies are the import
closure of its command module (:mod:`.deps`), so both tools run the same stages and rerun them on the same
code changes by construction. ``tests/workflow/`` fails when a generated file is stale.

Path patterns: ``{task}`` is the stage's own task (a per-task stage: DVC ``foreach``, Snakemake wildcard);
``{tasks}`` fans in over every task (Snakemake expands it; DVC depends on the folder above it). A path
ending in ``/`` is a folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
    metrics: tuple[str, ...] = ()  # small JSON outputs (DVC: metrics, cached and pushed like outputs)
    params: tuple[str, ...] = ()   # dotted params keys it reads
    per_task: bool = False
    resources: Resources = "cpu"
    critical: bool = False         # on the critical path (singles → transfer → order → curriculum → validation)

    def cmd(self) -> list[str]:
        return ["python", "-m", "pipeline", self.command, *self.args]


TRAIN_PARAMS = ("seed", "train.backend", "train.verl", "train.grpo", "rewards")
EVAL_PARAMS = ("seed", "eval", "rewards")
SINGLE_MODELS = "data/models/single/{tasks}/model/"
TRANSFER_TABLES = {kind: (f"data/eval/transfer/{kind}.csv", f"data/eval/benchmark_transfer/{kind}.csv")
                   for kind in ("accuracies", "entropies")}
"""``order``'s tables: the curated splits' (val, test) and the benchmarks' domain averages (``order.split``)."""
FINAL_MODELS = ("data/models/sft/model/", "data/models/merged/model/", "data/models/joint/model/",
                "data/models/curriculum/model/")

STAGES: tuple[Stage, ...] = (
    Stage("curate", "curate", "curate", ("--task", "{task}", "--out", "data/curated/{task}"),
          "one task's data from its real source or the synthetic generator (Section 4)",
          outputs=tuple(f"data/curated/{{task}}/{s}.parquet" for s in ("train", "val", "test", "pretrain")),
          metrics=("data/curated/{task}/stats.json",),
          params=("seed", "data.val_fraction", "data.test_fraction", "data.tasks.{task}", "models.base"),
          per_task=True),
    Stage("base_model", "base_model", "base-model", ("--out", "data/models/base"),
          "θ0: the tiny Qwen2 built and warm-started, or models.base copied (Section 4)",
          inputs=("data/curated/{tasks}/pretrain.parquet", "data/curated/{tasks}/train.parquet"),
          outputs=("data/models/base/",), params=("seed", "models"), resources="all_cores"),
    Stage("train_single", "train", "train",
          ("--mode", "single", "--task", "{task}", "--base", "data/models/base", "--out", "data/models/single/{task}"),
          "single-task GRPO from θ0 (Section 4)",
          inputs=("data/models/base/", "data/curated/{task}/train.parquet"),
          outputs=("data/models/single/{task}/model/", "data/models/single/{task}/checkpoints/",
                   "data/models/single/{task}/log.jsonl"),
          metrics=("data/models/single/{task}/metrics.json",),
          params=(*TRAIN_PARAMS, "train.overrides.{task}"), per_task=True, resources="gpu_train", critical=True),
    Stage("evaluate_transfer", "evaluate", "evaluate",
          ("--transfer", "data/models/base", "data/models/single", "--out", "data/eval/transfer"),
          "θ0 and every single-task model on every task, val and test: accuracy and entropy (Eq. 11)",
          inputs=("data/models/base/", SINGLE_MODELS, "data/curated/{tasks}/val.parquet",
                  "data/curated/{tasks}/test.parquet"),
          outputs=("data/eval/transfer/accuracies.csv", "data/eval/transfer/entropies.csv",
                   "data/eval/transfer/units.jsonl"),
          params=EVAL_PARAMS, resources="gpu_eval", critical=True),
    Stage("benchmark_transfer", "benchmark", "benchmark",
          ("--transfer", "data/models/base", "data/models/single", "--out", "data/eval/benchmark_transfer"),
          "θ0 and every single-task model on every benchmark; domain averages for `order.split: benchmarks`",
          inputs=("data/models/base/", SINGLE_MODELS),
          outputs=("data/eval/benchmark_transfer/results.csv", "data/eval/benchmark_transfer/accuracies.csv",
                   "data/eval/benchmark_transfer/entropies.csv"),
          params=(*EVAL_PARAMS, "benchmarks"), resources="gpu_eval"),
    Stage("order", "order", "order",
          ("--accuracies", *TRANSFER_TABLES["accuracies"], "--entropies", *TRANSFER_TABLES["entropies"],
           "--out", "data/order"),
          "BWT (Eq. 6), Algorithm 1, the curriculum from the LOP (Eq. 10) and the entropy matrix (Eq. 12)",
          inputs=(*TRANSFER_TABLES["accuracies"], *TRANSFER_TABLES["entropies"]),
          outputs=("data/order/bwt.csv", "data/order/curricula.csv", "data/order/bwt.png",
                   "data/order/entropy_change.csv", "data/order/entropy_change.png"),
          metrics=("data/order/curriculum.json",), params=("seed", "order"), resources="local", critical=True),
    Stage("sft_rft", "sft_rft", "sft-rft", ("--base", "data/models/base", "--out", "data/models/sft"),
          "the rejection-sampling SFT baseline from θ0 (Section 4)",
          inputs=("data/models/base/", "data/curated/{tasks}/train.parquet"),
          outputs=("data/models/sft/model/", "data/models/sft/rft_data.jsonl"), metrics=("data/models/sft/rft.json",),
          params=("seed", "baselines.rft", "eval.backend", "eval.vllm", "rewards", "train.backend", "train.verl"),
          resources="gpu_node"),
    Stage("merge_ties", "merge_ties", "merge-ties",
          ("--base", "data/models/base", "--singles", "data/models/single", "--reuse", "data/eval/transfer",
           "--out", "data/models/merged"),
          "the TIES-merging baseline: the best single-task checkpoints on val, merged into θ0 with mergekit",
          inputs=("data/models/base/", SINGLE_MODELS, "data/models/single/{tasks}/checkpoints/",
                  "data/models/single/{tasks}/metrics.json", "data/eval/transfer/units.jsonl",
                  "data/curated/{tasks}/val.parquet", "data/curated/{tasks}/test.parquet"),
          outputs=("data/models/merged/model/",), metrics=("data/models/merged/selection.json",),
          params=(*EVAL_PARAMS, "baselines.merge"), resources="gpu_eval"),
    Stage("train_curriculum", "train", "train",
          ("--mode", "curriculum", "--order", "data/order/curriculum.json", "--base", "data/models/base",
           "--singles", "data/models/single", "--out", "data/models/curriculum"),
          "MT-GRPO task by task in the order of `order`; its first segment is σ(1)'s single-task run (Section 2.3)",
          inputs=("data/models/base/", SINGLE_MODELS, "data/order/curriculum.json",
                  "data/curated/{tasks}/train.parquet"),
          outputs=("data/models/curriculum/model/", "data/models/curriculum/segments/",
                   "data/models/curriculum/log.jsonl"),
          metrics=("data/models/curriculum/metrics.json",), params=(*TRAIN_PARAMS, "train.overrides"),
          resources="gpu_train", critical=True),
    Stage("train_joint", "train", "train",
          ("--mode", "joint", "--base", "data/models/base", "--out", "data/models/joint"),
          "MT-GRPO over all tasks mixed (Section 2.3)",
          inputs=("data/models/base/", "data/curated/{tasks}/train.parquet"),
          outputs=("data/models/joint/model/", "data/models/joint/log.jsonl"),
          metrics=("data/models/joint/metrics.json",), params=(*TRAIN_PARAMS, "train.overrides"),
          resources="gpu_train"),
    Stage("evaluate_final", "evaluate", "evaluate",
          ("--transfer", "data/models/base", "data/models/single", "--model", "sft=data/models/sft/model",
           "--model", "merged=data/models/merged/model", "--model", "joint=data/models/joint/model",
           "--model", "curriculum=data/models/curriculum/model", "--split", "test", "--reuse", "data/eval/transfer",
           "--out", "data/eval/final"),
          "Base, ST×K, SFT, MM, JT and CL on test (Table 1; Base and ST reused from evaluate_transfer)",
          inputs=("data/models/base/", SINGLE_MODELS, "data/eval/transfer/units.jsonl", *FINAL_MODELS,
                  "data/curated/{tasks}/test.parquet"),
          outputs=("data/eval/final/accuracies.csv", "data/eval/final/entropies.csv", "data/eval/final/units.jsonl"),
          params=EVAL_PARAMS, resources="gpu_eval"),
    Stage("evaluate_benchmarks", "benchmark", "benchmark",
          ("--model", "sft=data/models/sft/model", "--model", "merged=data/models/merged/model",
           "--model", "joint=data/models/joint/model", "--model", "curriculum=data/models/curriculum/model",
           "--reuse", "data/eval/benchmark_transfer/results.csv", "--out", "data/eval/benchmarks"),
          "the final models on Table 1's benchmarks (benchmarks.names); Base and ST×K from benchmark_transfer",
          inputs=(*FINAL_MODELS, "data/eval/benchmark_transfer/results.csv"),
          outputs=("data/eval/benchmarks/results.csv",), params=(*EVAL_PARAMS, "benchmarks"), resources="gpu_eval"),
    Stage("validate_predictions", "validate", "validate-predictions",
          ("--order-dir", "data/order", "--accuracies", "data/eval/transfer/accuracies.csv",
           "--curriculum", "data/models/curriculum", "--base", "data/models/base", "--singles", "data/models/single",
           "--out", "data/validate"),
          "extra curricula trained and measured against Algorithm 1's predictions (Table 3)",
          inputs=("data/order/curriculum.json", "data/order/curricula.csv", "data/eval/transfer/accuracies.csv",
                  "data/models/curriculum/model/", "data/models/base/", SINGLE_MODELS,
                  "data/curated/{tasks}/train.parquet", "data/curated/{tasks}/val.parquet",
                  "data/curated/{tasks}/test.parquet"),
          outputs=("data/validate/predictions.csv", "data/validate/models/"),
          metrics=("data/validate/validation.json",),
          params=(*TRAIN_PARAMS, "train.overrides", "eval", "order.floor", "validate"), resources="gpu_train",
          critical=True),
    Stage("ablate_temperature", "ablate_temperature", "ablate-temperature",
          ("--base", "data/models/base", "--out", "data/ablation/temperature"),
          "Table 2: single-task GRPO at other rollout temperatures, evaluated on every task's test split (Sec. 5.3)",
          inputs=("data/models/base/", "data/curated/{tasks}/train.parquet", "data/curated/{tasks}/test.parquet"),
          outputs=("data/ablation/temperature/runs/", "data/ablation/temperature/accuracies.csv",
                   "data/ablation/temperature/entropies.csv", "data/ablation/temperature/units.jsonl"),
          params=(*TRAIN_PARAMS, "train.overrides", "eval", "ablations.temperature"), resources="gpu_train"),
    Stage("ablate_format", "ablate_format", "ablate-format",
          ("--base", "data/models/base", "--singles", "data/models/single", "--reuse", "data/eval/transfer",
           "--out", "data/ablation/answer_format"),
          "Figure 3: a policy trained on letter choices beside the full-text one, both formats evaluated (App. A.2.1)",
          inputs=("data/models/base/", SINGLE_MODELS, "data/eval/transfer/units.jsonl",
                  "data/curated/{tasks}/train.parquet", "data/curated/{tasks}/val.parquet",
                  "data/curated/{tasks}/test.parquet"),
          outputs=("data/ablation/answer_format/curated/", "data/ablation/answer_format/runs/",
                   "data/ablation/answer_format/accuracies.csv", "data/ablation/answer_format/units.jsonl"),
          params=(*TRAIN_PARAMS, "train.overrides", "eval", "ablations.answer_format", "benchmarks"),
          resources="gpu_train"),
    Stage("report", "report", "report",
          ("--transfer", "data/eval/transfer", "--final", "data/eval/final", "--order-dir", "data/order",
           "--validate", "data/validate", "--benchmarks", "data/eval/benchmarks",
           "--benchmark-transfer", "data/eval/benchmark_transfer", "--models", "data/models",
           "--ablation", "data/ablation", "--out", "data/report"),
          "the paper's tables and figures in data/report/",
          inputs=("data/eval/benchmarks/results.csv", "data/eval/benchmark_transfer/accuracies.csv",
                  "data/eval/transfer/accuracies.csv",
                  "data/eval/final/accuracies.csv", "data/eval/final/units.jsonl", "data/order/curriculum.json",
                  "data/ablation/temperature/accuracies.csv", "data/ablation/temperature/entropies.csv",
                  "data/ablation/temperature/units.jsonl", "data/ablation/answer_format/accuracies.csv",
                  "data/eval/transfer/entropies.csv",
                  "data/eval/transfer/units.jsonl",
                  "data/order/entropy_change.csv", "data/validate/predictions.csv", "data/validate/validation.json",
                  "data/models/single/{tasks}/log.jsonl", "data/models/joint/log.jsonl",
                  "data/models/curriculum/log.jsonl"),
          outputs=("data/report/summary.md", "data/report/table1.csv", "data/report/table2.csv",
                   "data/report/figure3.csv", "data/report/figure3.png",
                   "data/report/table1_benchmarks.csv",
                   "data/report/figure1.png", "data/report/bwt_val.png", "data/report/bwt_test.png",
                   "data/report/entropy_change.png", "data/report/training_curves.png", "data/report/curves/"),
          metrics=("data/report/metrics.json",),
          params=("order.floor", "order.weights", "eval.accuracy", "eval.samples", "ablations"),
          resources="local"),
)

PLOTS: tuple[object, ...] = (
    "data/report/figure1.png", "data/report/bwt_val.png", "data/report/bwt_test.png",
    "data/report/entropy_change.png", "data/report/training_curves.png",
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
