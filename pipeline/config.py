"""One validated configuration: ``params.yaml`` → typed, frozen pydantic models.

One model per ``params.yaml`` section (DVC's one-section-per-stage convention).
Unknown keys, wrong types and out-of-range values are rejected with a one-line
:class:`~pipeline.errors.UserError` naming the file and the dotted key; the CLI
turns it into exit code 2. Each field's ``description`` is its documentation
(``python -m pipeline params --explain`` prints them).
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import UserError

DEFAULT_PARAMS = Path("params.yaml")


STRICT = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)
"""Every section: unknown keys refused, immutable, every float finite (``.inf`` and ``.nan`` are refused
wherever a number is read, inside lists and mappings too)."""

MAX_SECONDS = 7 * 24 * 3600.0
"""The longest any timeout or deadline may be (a week): a larger one (``1e308``) overflows the clocks it is
added to."""

PLAIN_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
"""A name that becomes a folder (tasks, benchmarks): letters, digits, ``_``, ``.``, ``-``, not starting with a dot
(never ``..``, never a path)."""


def non_negative_per_task(values: dict[str, float], what: str, why: str = "") -> dict[str, float]:
    """``values`` (one number per task) when none is negative; else the error naming the first negative task."""
    for task, value in values.items():
        if value < 0:
            raise ValueError(f"{what} of '{task}' must be >= 0{why}, got {value}")
    return values


class Section(BaseModel):
    """Base of every params section: strict keys, immutable, finite numbers."""

    model_config = STRICT


class OrderParams(Section):
    """The ``order`` stage: BWT matrix, Algorithm 1 and the curriculum choice (Section 3)."""

    method: str = Field(
        "exact", description="Whose order is recommended in curriculum.json: Algorithm 1 with a solver (exact LOP, "
        "Algorithm 2 greedy, forgettability ranking, large-K heuristic), or pairwise: the LOP over the pairwise "
        "predictor's scores (docs/curriculum.md; needs pairs.enabled), exact for K ≤ exact_max_k. A registered "
        "solver (pipeline/analysis/ordering.py) or pairwise; checked in pipeline/catalog.py.")
    split: Literal["val", "test", "benchmarks"] = Field(
        "val", description="Which split's BWT matrix drives the order (the paper reports val and test): val or test of "
        "the curated data (evaluate_transfer), or benchmarks: each domain's benchmarks averaged (benchmark_transfer; "
        "needs benchmarks.names covering every task).")
    floor: float | None = Field(
        1e-3, gt=0.0, le=1.0, description="Accuracies below this are raised to it before taking logs "
        "(with a warning). null makes a zero accuracy an error.")
    weights: dict[str, float] = Field(
        default_factory=dict, description="Task weights α of Eq. 10; unlisted tasks weigh 1.")
    exact_max_k: int = Field(
        20, ge=1, le=24, description="Largest K solved exactly by subset DP; above it the heuristic is used.")
    restarts: int = Field(20, ge=0, description="Random restarts of the large-K heuristic.")
    pairwise_scales: tuple[float, float] = Field(
        (1.0, 1.0), description="λ_F, λ_B of the pairwise predictor (P3): how much each measured forward and "
        "backward transfer counts in an order (validate_predictions reports the values fitted on trained orders).")

    @field_validator("weights")
    @classmethod
    def _non_negative(cls, weights: dict[str, float]) -> dict[str, float]:
        return non_negative_per_task(weights, "weight")


class DistractorParams(Section):
    """SuperGPQA distractor generation: an LLM through any OpenAI-compatible endpoint, or the offline fallback."""

    mode: Literal["llm", "offline"] = Field(
        "offline", description="llm: ask the model for plausible wrong answers; offline: the source's own options "
        "topped up with answers of other questions in the same field (deterministic).")
    model: str = Field("gpt-4.1-mini", description="Chat model name sent to the endpoint.")
    base_url: str | None = Field(None, description="Endpoint URL (OpenAI, `vllm serve`, ...); default: "
                                 "$OPENAI_BASE_URL or the OpenAI API.")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the API key.")
    temperature: float = Field(0.7, ge=0.0, le=2.0, description="Sampling temperature of the generator.")
    max_attempts: int = Field(3, ge=1, description="Calls per question before the row is dropped.")
    concurrency: int = Field(8, ge=1, description="Parallel requests.")
    timeout_s: float = Field(60.0, gt=0, le=MAX_SECONDS, description="Per-request timeout.")
    cache_dir: str = Field("data/cache/distractors", description="On-disk cache of every LLM call "
                           "(a rerun makes none).")


class TaskDataParams(Section):
    """Curation of one task: which source, and its filters and sizes."""

    source: str = Field(description="A registered curator (a real source: pipeline/data/curators/) or synthetic "
                        "generator (synthetic_*: pipeline/data/synthetic/); an unknown name is an error listing "
                        "them (pipeline/catalog.py).")
    path: str | None = Field(None, description="Real sources: a Hugging Face hub id or a local jsonl/json/parquet "
                             "file or folder.")
    hub_split: str = Field("train", description="Split to load when `path` is a hub id.")
    n: int | None = Field(None, ge=1, description="Seeded subsample size (stratified for SuperGPQA); null keeps all. "
                          "Synthetic: number of train+val+test items generated.")
    pretrain_n: int = Field(0, ge=0, description="Synthetic: size of the held-out warm-start (pretrain) split.")
    difficulty: int = Field(1, ge=1, le=5, description="Synthetic: difficulty level.")
    facts: int = Field(120, ge=1, description="synthetic_qa: number of facts in the fixed world.")
    pretrain_fact_fraction: float = Field(0.5, ge=0.0, le=1.0, description="synthetic_qa: share of the facts "
                                          "taught in the warm start (sets θ0's QA accuracy).")
    pretrain_answer_accuracy: float = Field(1.0, ge=0.0, le=1.0, description="synthetic_qa: share of a taught "
                                            "fact's warm-start completions that give its true value; the rest give "
                                            "one confusable value fixed per fact (below 1, θ0 hesitates between "
                                            "two values and GRPO groups on taught facts have σ > 0).")
    demo_quality: float = Field(1.0, ge=0.0, le=1.0, description="synthetic_writing: share of warm-start "
                                "completions that meet the whole rubric; the rest miss one criterion, as the "
                                "reference does (below 1, θ0 ties the reference often and GRPO has room to win).")
    n_options: int = Field(16, ge=2, description="QA: candidate options in the prompt (1 correct + distractors).")
    max_prompt_tokens: int = Field(1024, ge=1, description="Drop prompts longer than this many tokens on the run's "
                                   "chat template (with `tokenizer`, else models.base; none yet for the embedded "
                                   "default's θ0). At most train.verl.max_prompt_length with the verl backend.")
    tokenizer: str | None = Field(None, description="Tokenizer (local path or hub id) of the run; null: models.base. "
                                  "code_r1 needs one.")
    max_turns: int = Field(2, ge=2, description="sharegpt: keep conversations with at most this many turns.")
    min_prompt_chars: int = Field(8, ge=0, description="sharegpt: drop prompts shorter than this (trivial).")
    min_reply_chars: int = Field(32, ge=0, description="sharegpt: drop replies shorter than this (trivial).")
    distractors: DistractorParams = Field(default_factory=DistractorParams)
    max_invalid_fraction: float = Field(0.1, ge=0.0, le=1.0, description="Fail if more malformed rows than this.")
    max_filtered_fraction: float = Field(0.99, ge=0.0, le=1.0, description="Fail if curation rules drop more.")

    @model_validator(mode="after")
    def _source_needs(self) -> "TaskDataParams":
        if not self.source.startswith("synthetic_") and not self.path:
            raise ValueError(f"source {self.source!r} needs `path` (hub id or local file)")
        if self.source == "code_r1" and not self.tokenizer:
            raise ValueError("source 'code_r1' needs `tokenizer` (the run's tokenizer: local path or hub id)")
        return self


class DataParams(Section):
    """The ``curate@{task}`` stages (Section 4, Training Datasets)."""

    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="Share of records hashed into val.")
    test_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="Share of records hashed into test.")
    tasks: dict[str, TaskDataParams] = Field(default_factory=dict, description="Per-task curation, keyed by task.")

    @model_validator(mode="after")
    def _fractions(self) -> "DataParams":
        if self.val_fraction + self.test_fraction >= 1.0:
            raise ValueError("val_fraction + test_fraction must be < 1")
        return self


class CodeRewardParams(Section):
    """Sandboxed execution of model-written code (README "Rewards and security")."""

    require_isolation: bool = Field(False, description="Fail instead of falling back when bubblewrap is missing "
                                    "(true in the paper-scale config).")
    timeout_s: float = Field(10.0, gt=0, le=MAX_SECONDS, description="Wall-clock limit per program.")
    cpu_s: int = Field(10, ge=1, le=int(MAX_SECONDS), description="RLIMIT_CPU seconds.")
    memory_mb: int = Field(1024, ge=64, description="RLIMIT_AS per process.")
    max_processes: int = Field(16, ge=1, description="RLIMIT_NPROC for the sandbox's dedicated uid.")
    max_file_mb: int = Field(16, ge=1, description="RLIMIT_FSIZE.")
    max_open_files: int = Field(64, ge=8, description="RLIMIT_NOFILE.")
    tmp_size_mb: int = Field(64, ge=1, description="Size of the private /tmp.")
    max_output_kb: int = Field(1024, ge=1, description="Captured stdout cap; more kills the program.")
    programs_per_sandbox: int = Field(64, ge=1, description="Programs run one after another in one sandbox, "
                                      "which kills what each left running and clears /tmp between them "
                                      "(1: a fresh sandbox per program; the unisolated fallback always uses 1).")
    workers: int = Field(2, ge=1, description="Programs run in parallel.")
    python: str | None = Field(None, description="The Python interpreter that runs programs in the sandbox (null: "
                               "the pipeline's own; a relative path is from the repository root, where the stages "
                               "run; verl's reward workers get it absolute). BigCodeBench's tasks need its pinned "
                               "libraries, which cannot share the pipeline's environment: `make bigcodebench-env` "
                               "builds .venv-bigcodebench (configs/bigcodebench-requirements.txt), and "
                               "evaluate_benchmarks checks at its start that this interpreter imports every library "
                               "its tasks list.")


class MathRewardParams(Section):
    """Symbolic verification of math answers."""

    timeout_s: float = Field(5.0, gt=0, le=MAX_SECONDS,
                             description="Hard deadline per verification (worker killed past it).")
    workers: int = Field(2, ge=1, description="Verification worker processes.")
    memory_mb: int = Field(1024, ge=64, description="Address-space limit of each verification (RLIMIT_AS of the "
                           "fork that runs it): an answer that would exceed it scores 0, counted as out_of_memory.")
    max_answer_chars: int = Field(2000, ge=1, description="Longer final answers score 0 without being parsed "
                                  "(counted as too_long).")


class JudgePrice(Section):
    """An API's price in USD per million tokens."""

    input: float = Field(ge=0, le=1e6, description="USD per million prompt tokens.")
    output: float = Field(ge=0, le=1e6, description="USD per million completion tokens.")


class JudgeParams(Section):
    """Pairwise judge of the writing task against the reference."""

    backend: Literal["rubric", "llm"] = Field("rubric", description="rubric: offline rubric judge (synthetic "
                                              "writing); llm: any OpenAI-compatible endpoint.")
    model: str = Field("gpt-4.1-mini", description="Judge model.")
    base_url: str | None = Field(None, description="Endpoint (default $OPENAI_BASE_URL or OpenAI).")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the key.")
    temperature: float = Field(0.4, ge=0.0, le=2.0, description="Judge temperature (paper: 0.4).")
    concurrency: int = Field(16, ge=1, description="Requests in flight for the whole run: under verl it is split "
                             "among the reward workers (train.verl.reward_workers), each getting an equal share.")
    max_retries: int = Field(5, ge=0, description="Retries on 429, 5xx, timeouts and connection errors.")
    backoff_s: float = Field(0.5, ge=0.0, le=3600.0, description="Base of the exponential backoff.")
    timeout_s: float = Field(60.0, gt=0, le=MAX_SECONDS, description="Per-request timeout.")
    deadline_s: float | None = Field(None, gt=0, le=MAX_SECONDS,
                                     description="Longest a batch waits for its verdicts; past it they are undefined "
                                     "and counted as timeouts. null: the worst case of every retry.")
    cache_dir: str = Field("data/cache/judge", description="Persistent verdict cache (a rerun makes no call).")
    max_rpm: float | None = Field(None, gt=0, le=1e9, description="Requests per minute to the judge over the "
                                  "whole run (your API tier's limit), split among the reward workers like "
                                  "concurrency; null: no limit. Judge calls only: other rewards never wait.")
    max_tpm: float | None = Field(None, gt=0, le=1e12, description="Tokens per minute to the judge over the whole "
                                  "run (prompt estimated from its characters, plus reply_tokens); null: no limit.")
    price_per_mtok: JudgePrice | None = Field(None, description="USD per million tokens of the judge's API, "
                                              "{input, output}: `preflight` prices its cost table with it (no price "
                                              "is assumed: null prints calls and tokens only).")
    reply_tokens: int = Field(400, ge=1, le=100_000, description="Tokens of one judge reply, for `preflight`'s cost "
                              "estimate only (an explanation, then the verdict tag).")


class TaskRewardParams(Section):
    """Reward of one task: its primary verifier and the weights of R_k = Σ w_r r."""

    kind: str = Field(description="Primary reward (accuracy component): a kind registered in "
                      "pipeline/rewards/total.py (math, code, qa, mcq: the option letter of Figure 3's letter "
                      "format, judge); an unknown one is an error listing them (pipeline/catalog.py).")
    weights: dict[Literal["accuracy", "format", "tags"], float] = Field(
        default_factory=lambda: {"accuracy": 1.0, "format": 0.1, "tags": 0.1},
        description="w_r in [0, 1] for each component.")

    @field_validator("weights")
    @classmethod
    def _unit(cls, weights: dict[str, float]) -> dict[str, float]:
        for name, value in weights.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"weight of '{name}' must be in [0, 1], got {value}")
        return weights


SHARED_REWARD_KEYS = ("math", "code", "judge", "max_undefined_share")
"""The ``rewards`` keys every task's run may read (the settings of the math and code verifiers and of the judge,
and the undefined-reward limit); a task's own reward is ``rewards.tasks.<task>``."""


class RewardParams(Section):
    """Hybrid rewards (Section 2.2, Appendix A.1): one registry for training, evaluation and RFT."""

    tasks: dict[str, TaskRewardParams] = Field(default_factory=dict, description="Per-task reward, by task: every task "
                                               "of `tasks` needs one (its kind is never inferred from its name).")
    math: MathRewardParams = Field(default_factory=MathRewardParams)
    code: CodeRewardParams = Field(default_factory=CodeRewardParams)
    judge: JudgeParams = Field(default_factory=JudgeParams)
    max_undefined_share: float = Field(
        0.1, ge=0.0, le=1.0, description="A training step whose share of undefined rewards (no verdict: the judge "
        "failed, timed out or never gave one) exceeds this stops the run with one line naming the step, the count "
        "and the cause; below it those samples are left out of the update and counted in the log (both backends: "
        "verl's through the omni_grpo advantage estimator).")

    def for_task(self, task: str) -> TaskRewardParams:
        if task in self.tasks:
            return self.tasks[task]
        raise UserError(f"rewards.tasks has no entry for task '{task}' (set rewards.tasks.{task}.kind to a "
                        "registered reward kind: docs/params.md)")

    def identity(self, tasks: Iterable[str]) -> dict[str, Any]:
        """What a run on ``tasks`` reads of the rewards: those tasks' entries and the shared per-kind settings,
        never another task's entry. A run's identity (resume and reuse keys) and its stage's params dependencies
        (``rewards.tasks.<task>`` plus :data:`SHARED_REWARD_KEYS`) are both this, so changing one task's reward
        reruns only the runs of that task."""
        shared = self.model_dump(mode="json", include=set(SHARED_REWARD_KEYS))
        return {"tasks": {t: self.for_task(t).model_dump(mode="json") for t in sorted(set(tasks))}, **shared}


class ModelParams(Section):
    """The base model θ0: the tiny locally built model (embedded default) or any HF model."""

    base: str | None = Field(None, description="HF path or hub id of θ0 (paper: Qwen/Qwen2.5-7B-Instruct); null "
                             "builds and warm-starts the tiny model.")
    vocab_size: int = Field(1024, ge=300, description="Tiny model: BPE vocabulary trained on the synthetic corpus.")
    hidden: int = Field(128, ge=8, description="Tiny model width.")
    layers: int = Field(4, ge=1, description="Tiny model layers.")
    heads: int = Field(4, ge=1, description="Attention heads.")
    kv_heads: int = Field(2, ge=1, description="Key/value heads.")
    intermediate: int = Field(512, ge=8, description="MLP width.")
    max_positions: int = Field(512, ge=64, description="Context length.")
    warmstart_steps: int = Field(1600, ge=0, description="SFT steps on the pretrain split.")
    warmstart_batch_size: int = Field(32, ge=1, description="SFT batch size.")
    warmstart_lr: float = Field(2e-3, gt=0, description="SFT peak learning rate (cosine schedule).")
    max_len: int = Field(256, ge=16, description="SFT sequence cap.")

    @model_validator(mode="after")
    def _attention_shapes(self) -> "ModelParams":
        if self.hidden % self.heads:
            raise ValueError(f"heads ({self.heads}) must divide hidden ({self.hidden})")
        if self.kv_heads > self.heads or self.heads % self.kv_heads:
            raise ValueError(f"kv_heads ({self.kv_heads}) must divide heads ({self.heads})")
        return self


class GRPOParams(Section):
    """MT-GRPO (Eqs. 2–5) and the local trainer; Table 5 gives the paper's values."""

    group_size: int = Field(8, ge=2, description="G, samples per prompt (paper: 16).")
    batch_size: int = Field(8, ge=1, description="Prompts per batch (paper: 256×6).")
    epochs: int = Field(1, ge=1, description="Passes over each task's data (paper: 3).")
    max_steps: int | None = Field(None, ge=1, description="Cap on a task's steps per epoch: it contributes its first "
                                  "max_steps × batch_size train prompts, the same ones in single-task, joint and "
                                  "curriculum runs (per task, from train.overrides); null: all of them.")
    max_new_tokens: int = Field(32, ge=1, description="Response length cap (paper: 3072).")
    temperature: float = Field(1.0, gt=0, description="Rollout temperature (Table 2 ablation changes it).")
    top_p: float = Field(1.0, gt=0, le=1, description="Rollout top-p.")
    top_k: int = Field(0, ge=0, description="Rollout top-k (0: off, i.e. true temperature sampling).")
    lr: float = Field(1e-4, gt=0, description="AdamW learning rate (paper: 1e-6).")
    lr_schedule: Literal["constant", "cosine"] = Field("constant", description="Learning-rate schedule.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    grad_clip: float = Field(1.0, gt=0, description="Gradient-norm clip.")
    ppo_epochs: int = Field(1, ge=1, description="Update passes per batch.")
    mini_batch_size: int = Field(64, ge=1, description="Samples per gradient step.")
    eps_low: float = Field(0.2, ge=0, lt=1, description="ε_low of the clip.")
    eps_high: float = Field(0.2, ge=0, description="ε_high of the clip.")
    beta: dict[str, float] = Field(default_factory=dict, description="β_k per task (KL weight, Eq. 4); default 0.")

    @field_validator("beta")
    @classmethod
    def _beta_non_negative(cls, beta: dict[str, float]) -> dict[str, float]:
        return non_negative_per_task(beta, "β", " (a KL penalty)")

    checkpoint_every: int = Field(25, ge=0, description="Steps between resumable checkpoints of every GRPO run "
                                  "(single, joint, each curriculum or validation segment; local: model, optimizer, RNG "
                                  "states; verl: trainer.save_freq, older checkpoints pruned): a cut or timed-out job "
                                  "loses at most this many steps (0: the last step only). Not part of a run's "
                                  "identity: changing it resumes the same run.")
    keep_every: int = Field(0, ge=0, description="Steps between HF snapshots kept in checkpoints/step-<n>/ for "
                            "checkpoint selection on validation (merge baseline); 0: keep_snapshots decides. A "
                            "value that leaves no snapshot before a single-task run's final step is refused.")
    keep_snapshots: int = Field(0, ge=0, description="With keep_every 0: this many snapshots evenly spaced over "
                                "each single-task run, derived from its length (every steps // (n + 1) steps); "
                                "0 and keep_every 0: the final model only.")


class VerlParams(Section):
    """The verl backend: cluster shape and engine settings of ``python -m verl.trainer.main_ppo`` (GPUs only).

    The GRPO hyperparameters themselves come from ``train.grpo`` / ``train.overrides`` (see
    :mod:`pipeline.scale.verl_config` for the mapping)."""

    n_gpus_per_node: int = Field(8, ge=1, description="trainer.n_gpus_per_node.")
    nnodes: int = Field(1, ge=1, description="trainer.nnodes: the Slurm job gets this many nodes and starts a "
                        "Ray cluster over them (docs/slurm.md).")
    ray_timeout_s: float = Field(300.0, gt=0, le=MAX_SECONDS,
                                 description="How long a Slurm job waits for every node to join its Ray cluster "
                                 "before it stops, naming the missing nodes.")
    rollout_engine: Literal["vllm", "sglang"] = Field("vllm", description="actor_rollout_ref.rollout.name.")
    tensor_parallel_size: int = Field(1, ge=1, description="Rollout tensor parallelism "
                                      "(actor_rollout_ref.rollout.tensor_model_parallel_size).")
    gpu_memory_utilization: float = Field(0.6, gt=0, le=1, description="Rollout engine's share of GPU memory.")
    max_prompt_length: int = Field(1024, ge=16, description="data.max_prompt_length in tokens (paper: 1024); "
                                   "longer prompts are filtered out by verl (data.filter_overlong_prompts).")
    micro_batch_size_per_gpu: int = Field(4, ge=1, description="Actor update, reference and rollout log-prob "
                                          "micro-batch per GPU (memory only; the maths is unchanged).")
    gradient_checkpointing: bool = Field(True, description="actor_rollout_ref.model.enable_gradient_checkpointing.")
    attn_implementation: Literal["flash_attention_2", "sdpa", "eager"] = Field(
        "flash_attention_2", description="The actor's, reference's and verl SFT's attention "
        "(model.override_config.attn_implementation; verl's own default, which needs the flash-attn package of "
        "the [gpu] extra; preflight checks it imports); sdpa: torch's, nothing to install.")
    param_offload: bool = Field(False, description="FSDP parameter offload of actor and reference.")
    reward_workers: int = Field(8, ge=1, description="reward.num_workers: verl's reward-loop worker processes; "
                                "rewards.judge.concurrency is split equally among them.")
    project: str = Field("omni-thinker", description="trainer.project_name.")
    logger: list[str] = Field(default_factory=lambda: ["console", "file"], description="trainer.logger backends; "
                              "'file' is read back into the run's log.jsonl.")
    extra_overrides: list[str] = Field(default_factory=list, description="More Hydra overrides, appended last "
                                       "(e.g. ['actor_rollout_ref.rollout.max_num_seqs=512']); verl rejects "
                                       "unknown keys unless prefixed with '+'.")


class TrainParams(Section):
    """GRPO stages (train_single@{seed}-{task}, train_joint, train_curriculum)."""

    backend: str = Field(
        "local", description="A registered training backend (pipeline/rl/backends.py): local: our MT-GRPO loop (CPU "
        "or one GPU); verl: one `verl.trainer.main_ppo` run per task segment (GPU cluster, vLLM rollouts; "
        "train.verl).")
    threads: int = Field(2, ge=1, le=1024, description="torch threads of every training process on a CPU (θ0's "
                         "warm start, GRPO, RFT's SFT), whichever tool starts it: torch splits its reductions by "
                         "thread count, so a fixed count makes `dvc repro` and Snakemake train the same weights bit "
                         "for bit. Snakemake's training rules reserve this many cores.")
    grpo: GRPOParams = Field(default_factory=GRPOParams)
    verl: VerlParams = Field(default_factory=VerlParams)
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-task overrides of grpo: a task's settings in "
        "train_single@{seed}-{task} and in its curriculum segment; its max_steps also caps its prompts in the joint "
        "run (e.g. {math: {lr: 5e-5}}); changing one reruns only that task's branch.")

    def for_single(self, task: str) -> GRPOParams:
        return GRPOParams.model_validate({**self.grpo.model_dump(), **self.overrides.get(task, {})})


class VLLMParams(Section):
    """vLLM's offline ``LLM`` (eval.backend: vllm)."""

    tensor_parallel_size: int = Field(1, ge=1, description="GPUs per model.")
    gpu_memory_utilization: float = Field(0.6, gt=0, le=1, description="vLLM's share of GPU memory; the rest holds "
                                          "the transformers copy that scores token entropy (Eq. 11).")
    dtype: str = Field("auto", description="Weights dtype (auto, bfloat16, float16).")
    max_model_len: int | None = Field(None, ge=16, description="Context cap (null: the model's).")


class EvalParams(Section):
    """Per-task evaluation: accuracy (primary reward) and token entropy (Eq. 11)."""

    samples: int = Field(4, ge=1, description="Sampled completions per prompt; accuracy = mean@k.")
    temperature: float = Field(1.0, ge=0, description="Sampling temperature (0: greedy only).")
    top_p: float = Field(1.0, gt=0, le=1, description="Sampling top-p.")
    top_k: int = Field(0, ge=0, description="Sampling top-k (0: off).")
    max_new_tokens: int = Field(32, ge=1, description="Response length cap.")
    accuracy: Literal["sampled", "greedy"] = Field(
        "sampled", description="Which accuracy feeds BWT (both are reported).")
    max_items: int | None = Field(None, ge=1, description="Cap on prompts per task and split.")
    batch_size: int = Field(64, ge=1, description="Prompts per generation batch.")
    workers: int | None = Field(None, ge=1, description="Evaluation processes on a CPU (transformers backend), one "
                                "torch thread each; null: one per core the stage may use (OMP_NUM_THREADS when set). "
                                "Results do not depend on it.")
    backend: str = Field(
        "transformers", description="Generation engine of evaluation and RFT sampling, a registered one "
        "(pipeline/eval/generators.py): transformers (CPU or GPU) or vllm (GPU; the offline LLM, "
        "`pip install -e .[gpu]`).")
    vllm: VLLMParams = Field(default_factory=VLLMParams)


class RFTParams(Section):
    """Rejection-sampling fine-tuning (the SFT baseline, Section 4)."""

    samples: int = Field(8, ge=1, description="Responses sampled from θ0 per training prompt (paper: 128).")
    temperature: float = Field(1.0, gt=0, description="Sampling temperature.")
    top_p: float = Field(1.0, gt=0, le=1, description="Sampling top-p.")
    top_k: int = Field(0, ge=0, description="Sampling top-k (0: off).")
    max_new_tokens: int = Field(32, ge=1, description="Response length cap.")
    max_prompts: int | None = Field(None, ge=1, description="Cap on training prompts per task (null: all).")
    prompts_per_batch: int = Field(8, ge=1, description="Prompts sampled together (prompts × samples responses "
                                   "per engine call: bounds memory); each finished batch is saved, so a cut job "
                                   "resumes after it.")
    max_per_prompt: int | None = Field(None, ge=1, description="Cap on distinct kept responses per prompt "
                                       "(null: all).")
    lr: float = Field(2.5e-6, gt=0, description="AdamW learning rate (paper: 2.5e-6).")
    lr_schedule: Literal["constant", "cosine"] = Field("cosine", description="Learning-rate schedule.")
    epochs: int = Field(3, ge=1, description="Passes over the kept responses (paper: 3).")
    batch_size: int = Field(16, ge=1, description="Examples per gradient step.")
    max_len: int = Field(512, ge=8, description="Token cap of prompt + response.")
    checkpoint_every: int = Field(200, ge=0, description="SFT steps between resumable checkpoints (local: model, "
                                  "optimizer, RNG states in out/work/sft; verl: trainer.save_freq, the last two kept): "
                                  "a cut or timed-out job loses at most this many steps (0: the last step only).")


class MergeParams(Section):
    """TIES merging of the selected single-task models into θ0 (mergekit's ``ties``)."""

    model_config = ConfigDict(**STRICT, populate_by_name=True)

    lam: float = Field(1.0, alias="lambda", gt=0, description="λ, the scale of the merged task vector (paper: 1).")
    density: float = Field(0.2, gt=0, le=1, description="Fraction of each task vector kept by magnitude "
                           "(TIES' trim; the TIES paper's top-20%).")
    select_split: Literal["val", "test"] = Field("val", description="Split on which each run's best checkpoint is "
                                                 "chosen.")


class BaselineParams(Section):
    """Baselines of Section 4: sft_rft and merge_ties."""

    rft: RFTParams = Field(default_factory=RFTParams)
    merge: MergeParams = Field(default_factory=MergeParams)


class PairParams(Section):
    """train_pairs: every ordered pair of tasks as a two-segment curriculum, for the pairwise predictor."""

    enabled: bool = Field(
        False, description="Train the K(K−1) curricula i → j (the first segment is i's single-task run) and "
        "evaluate them on every task, val and test: the forward and backward transfers of the pairwise predictor "
        "(docs/curriculum.md). Off: train_pairs writes an empty table and only Algorithm 1 predicts.")


class ValidateParams(Section):
    """validate_predictions: extra curricula trained to check the predictions of Algorithm 1 (Table 3) and of
    the pairwise predictor."""

    orders: list[str] = Field(
        default_factory=lambda: ["worst"], description="Curricula to train and compare with their predicted "
        "accuracies: 'worst' (the lowest predicted S; needs K ≤ 8), 'best' (train_curriculum's order, reused, "
        "never retrained: it is always reported), 'all' (every one of the K! orders; K ≤ 8) or an explicit order "
        "'math>coding>qa>writing'.")
    sample: int = Field(
        0, ge=0, description="Further orders drawn at random (seeded by `seed`) from those not listed: a sample of "
        "the K! orders as ground truth (configs/ground_truth.yaml).")
    split: Literal["val", "test"] = Field(
        "test", description="Split of the comparison: Algorithm 1 runs on this split's BWT and θ0 accuracies, and "
        "the trained curricula are evaluated on it (the paper's Table 3 uses test).")


class TemperatureAblationParams(Section):
    """ablate_temperature: Table 2 (Section 5.3), single-task GRPO at another rollout temperature."""

    runs: dict[str, float] = Field(
        default_factory=dict,
        description="Task → rollout temperature of an extra single-task run, trained as train_single (the task's "
        "train.overrides) but for the temperature, and evaluated on every task's test split beside the "
        "temperature-1.0 single-task model ({}: none; params.yaml has the paper's qa: 1.2, writing: 0.1).")

    @field_validator("runs")
    @classmethod
    def _positive(cls, runs: dict[str, float]) -> dict[str, float]:
        for task, temperature in runs.items():
            if not temperature > 0:
                raise ValueError(f"runs.{task}: a rollout temperature must be > 0, got {temperature}")
        return runs


class AnswerFormatAblationParams(Section):
    """ablate_format: Figure 3 (Appendix A.2.1), full-text answers versus letter choices."""

    task: str | None = Field(
        None, description="The multiple-choice task (its records list meta.options): a single-task run on its letter "
        "format beside train_single's full-text one, each evaluated in both formats on its test split (null: none; "
        "params.yaml has qa).")
    benchmark: str | None = Field(
        None, description="A benchmark evaluated in both formats too: <name> and <name>_letter (paper: mmlu_pro).")


class AblationParams(Section):
    """The paper's ablations, each its own stage and report section (nothing in the main results changes)."""

    temperature: TemperatureAblationParams = Field(default_factory=TemperatureAblationParams)
    answer_format: AnswerFormatAblationParams = Field(default_factory=AnswerFormatAblationParams)


class JobRequest(Section):
    """One Slurm job's CPUs, memory and time limit (unset: the class default)."""

    cpus: int | None = Field(None, ge=1, description="CPUs per node (--cpus-per-task, one task per node).")
    mem_gb: int | None = Field(None, ge=1, description="Memory per node in GB (--mem).")
    hours: float | None = Field(None, gt=0, description="Time limit in hours (--time).")


class SlurmParams(Section):
    """Requests of the Slurm jobs (``snakemake --profile slurm``; docs/slurm.md). Nodes and GPUs are not set here:
    they follow the run (:mod:`pipeline.workflow.resources`): ``train.verl`` for verl training (N nodes × GPUs),
    ``eval.vllm.tensor_parallel_size`` for vLLM evaluation, none for a stage on the CPU backends. Not read by
    any stage, so a change here reruns nothing."""

    cpu_job: JobRequest = Field(default_factory=lambda: JobRequest(cpus=1, mem_gb=4, hours=1.0),
                                description="A job without GPUs (the embedded default's stages, curation, order, "
                                "report).")
    cpus_per_gpu: int = Field(8, ge=1, description="CPUs per GPU of a GPU job (a node's CPUs: this × its GPUs).")
    mem_gb_per_gpu: int = Field(64, ge=1, description="Host memory per GPU in GB (a node's: this × its GPUs).")
    gpu_hours: dict[Literal["gpu_train", "gpu_node", "gpu_eval"], float] = Field(
        default_factory=lambda: {"gpu_train": 48.0, "gpu_node": 24.0, "gpu_eval": 12.0},
        description="Time limit of a GPU job by resource class: verl training (gpu_train), the RFT baseline on one "
                    "node (gpu_node), vLLM evaluation (gpu_eval).")
    stages: dict[str, JobRequest] = Field(default_factory=dict, description="Per-stage changes to the above, by "
                                          "stage name (e.g. {train_curriculum: {hours: 96}}; checked against the "
                                          "stage table when the workflow starts).")


class BenchmarkParams(Section):
    """evaluate_benchmarks: Table 1's benchmarks (pipeline/eval/benchmarks), generated with ``eval``'s settings."""

    names: list[str] = Field(default_factory=list, description="Benchmarks to evaluate: aime24, amc23, gaokao2023en, "
                             "math500, minerva_math, olympiadbench, bigcodebench, livecodebench, mmlu_pro, mt_bench "
                             "(empty: none, the embedded default).")
    data_dir: str | None = Field(None, description="A folder in ../shared/data's layout (aime24/test.jsonl, ...) used "
                                 "for every benchmark without a sources entry; null: their hub ids.")
    sources: dict[str, str] = Field(default_factory=dict, description="Per benchmark: a local file or folder, or a "
                                    "hub id (mt_bench: a FastChat mt_bench folder; without one its files are fetched "
                                    "and checked against their pinned SHA-256).")
    download_dir: str = Field("data/benchmarks", description="Where pinned benchmark files are fetched (once; "
                              "mt_bench's FastChat questions and GPT-4 answers): <download_dir>/<benchmark>/.")
    max_items: int | None = Field(None, ge=1, description="Cap on items per benchmark (null: all).")
    check_libraries: bool = Field(True, description="Before evaluating, import in the sandbox every library the "
                                  "selected code benchmarks' tasks list (BigCodeBench's libs) and stop with the "
                                  "missing ones named (false: go on; those tasks score 0 for every model).")

    def source(self, name: str) -> str | None:
        """Where benchmark ``name`` is read from: its ``sources`` entry, else ``data_dir`` (None: its hub id)."""
        return self.sources.get(name, self.data_dir)


class Params(Section):
    """Top level of ``params.yaml``."""

    model_config = ConfigDict(**STRICT, populate_by_name=True)

    seed: int = Field(0, ge=0, description="Global seed: curation, θ0 and `order`'s heuristic derive theirs from it.")
    seeds: list[int] = Field(
        default_factory=list,
        description="Training seeds, one replica of every training and evaluation stage per seed (run-to-run "
                    "spread, docs/seeds.md); empty or null: [seed]. The tables average over them.")
    tasks: list[str] = Field(
        default_factory=lambda: ["math", "coding", "qa", "writing"], min_length=1,
        description="Task names (K = len(tasks)); the DAG fans out over them.")
    data: DataParams = Field(default_factory=DataParams)
    rewards: RewardParams = Field(default_factory=RewardParams)
    models: ModelParams = Field(default_factory=ModelParams)
    train: TrainParams = Field(default_factory=TrainParams)
    eval: EvalParams = Field(default_factory=EvalParams)
    order: OrderParams = Field(default_factory=OrderParams)
    baselines: BaselineParams = Field(default_factory=BaselineParams)
    pairs: PairParams = Field(default_factory=PairParams)
    validate_: ValidateParams = Field(default_factory=ValidateParams, alias="validate")
    ablations: AblationParams = Field(default_factory=AblationParams)
    benchmarks: BenchmarkParams = Field(default_factory=BenchmarkParams)
    slurm: SlurmParams = Field(default_factory=SlurmParams)

    @model_validator(mode="before")
    @classmethod
    def _default_seeds(cls, data: Any) -> Any:
        """``seeds`` absent, null or empty: one replica seeded by ``seed`` (written out, so DVC's ``foreach`` sees
        a list)."""
        if isinstance(data, dict) and not data.get("seeds"):
            data = {**data, "seeds": [data.get("seed", 0)]}
        return data

    @field_validator("seeds")
    @classmethod
    def _valid_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds) or any(s < 0 for s in seeds):
            raise ValueError(f"seeds must be distinct non-negative integers, got {seeds}")
        return seeds

    def replica(self, seed: int | None) -> "Params":
        """These params as one replica's stage reads them: ``seed`` replaced by the replica's (None: unchanged)."""
        if seed is None:
            return self
        if seed not in self.seeds:
            raise UserError(f"--seed {seed} is not one of seeds {self.seeds}")
        return self.model_copy(update={"seed": seed})

    @field_validator("tasks")
    @classmethod
    def _valid_tasks(cls, tasks: list[str]) -> list[str]:
        if len(set(tasks)) != len(tasks):
            raise ValueError(f"task names must be unique, got {tasks}")
        for task in tasks:
            if task == "base" or not re.match(PLAIN_NAME, task):
                raise ValueError(f"invalid task name {task!r}: a task name becomes a folder, so it is letters, digits, "
                                 "'_', '.' and '-', not starting with '.' ('base' is reserved)")
        return tasks

    @model_validator(mode="after")
    def _weights_name_tasks(self) -> "Params":
        unknown = sorted(set(self.order.weights) - set(self.tasks))
        if unknown:
            raise ValueError(f"order.weights names unknown task(s) {unknown}; tasks are {self.tasks}")
        missing = [t for t in self.tasks if t not in self.data.tasks]
        if missing:
            raise ValueError(f"data.tasks has no entry for task(s) {missing}")
        answer_format = self.ablations.answer_format.task
        if answer_format is not None and answer_format not in self.tasks:
            raise ValueError(f"ablations.answer_format.task names unknown task '{answer_format}'; tasks are "
                             f"{self.tasks}")
        for task in self.ablations.temperature.runs:
            if task not in self.tasks:
                raise ValueError(f"ablations.temperature.runs names unknown task '{task}'; tasks are {self.tasks}")
        for task in self.train.overrides:
            if task not in self.tasks:
                raise ValueError(f"train.overrides names unknown task '{task}'")
            try:
                self.train.for_single(task)
            except ValidationError as exc:
                raise ValueError(f"train.overrides.{task}: {exc.errors()[0]['msg']}") from None
        for spec in self.validate_.orders:
            if spec in ("best", "worst", "all"):
                continue
            order = [t.strip() for t in spec.split(">")]
            if sorted(order) != sorted(self.tasks):
                raise ValueError(f"validate.orders: {spec!r} must be 'best', 'worst', 'all' or an order listing each "
                                 f"task once, separated by '>' (tasks are {self.tasks})")
        if self.order.method == "pairwise" and not self.pairs.enabled:
            raise ValueError("order.method: pairwise needs the pair runs (pairs.enabled: true)")
        if self.train.backend == "verl":
            for task in self.tasks:
                if self.data.tasks[task].max_prompt_tokens > self.train.verl.max_prompt_length:
                    raise ValueError(f"data.tasks.{task}.max_prompt_tokens ({self.data.tasks[task].max_prompt_tokens}) "
                                     f"exceeds train.verl.max_prompt_length ({self.train.verl.max_prompt_length}): "
                                     "verl would drop the longer prompts and shift the batches")
        no_reward = [t for t in self.tasks if t not in self.rewards.tasks]
        if no_reward:
            raise ValueError(f"rewards.tasks has no entry for task(s) {no_reward}")
        return self


def _format_error(source: str, exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(part) for part in err["loc"]) or "<root>"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    got = err.get("input")
    detail = "" if err["type"] in ("extra_forbidden", "missing") or isinstance(got, (dict, list)) else f" (got {got!r})"
    more = f" [+{exc.error_count() - 1} more]" if exc.error_count() > 1 else ""
    return f"{source}: {key}: {msg}{detail}{more}"


def parse_params(data: Any, source: str = "params") -> Params:
    """Validate an already-loaded mapping; errors name ``source`` and the dotted key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        raise UserError(_format_error(source, exc)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML keeps the last silently: a second
    ``train:`` block would replace the whole section)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"a {type(key).__name__} as a key (line {line}); a key must be a name",
                    key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (lines {seen[key]} and {line})", key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_UniqueKeyLoader.add_implicit_resolver(  # YAML 1.2 floats: `1e-05` (as DVC writes it and users type it) is a number
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` that refuses duplicate keys."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)


def merge_params(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """``overlay`` on ``base``: a mapping merges key by key, recursively; any other value (a list, a scalar,
    null) replaces. The semantics of Snakemake's ``--configfile`` (``update_config``), so a profile means
    the same to the CLI and to Snakemake. A profile holds only what differs from ``params.yaml``."""
    out = dict(base)
    for key, value in overlay.items():
        out[key] = merge_params(out[key], value) \
            if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def set_param_overrides(base: dict[str, Any], overlay: dict[str, Any], prefix: str = "") -> list[str]:
    """``dvc exp run --set-param`` arguments that make ``base`` (params.yaml) into ``merge_params(base, overlay)``:
    one ``++key=value`` per value the overlay sets (a mapping is descended into, as it merges; an empty one is
    set only where ``base`` lacks the key), the value as JSON, which DVC's override grammar reads back as the same
    YAML value. ``++`` sets a key whether or not params.yaml has it."""
    import json

    out: list[str] = []
    for key, value in overlay.items():
        path = f"{prefix}{key}"
        below = base.get(key) if isinstance(base, dict) else None
        if isinstance(value, dict) and (value or isinstance(below, dict)):
            out += set_param_overrides(below if isinstance(below, dict) else {}, value, f"{path}.")
        else:
            out.append(f"++{path}={json.dumps(value, ensure_ascii=False)}")
    return out


MAX_PARAMS_BYTES = 1 << 20
"""A params file is read whole; anything larger than 1 MiB is not a params file."""


def read_params_file(path: str | Path) -> dict[str, Any]:
    """One params file as a mapping (duplicate keys refused); errors name the file and line. Only a regular
    file of at most :data:`MAX_PARAMS_BYTES`, UTF-8, is read (a FIFO would block forever, ``/dev/zero`` would
    fill the memory)."""
    p = Path(path)
    try:
        info = p.stat()
    except FileNotFoundError:
        raise UserError(f"{p}: file not found") from None
    except OSError as exc:
        raise UserError(f"{p}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UserError(f"{p}: a folder, expected a params file")
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{p}: not a regular file (a pipe, device or socket); a params file is read whole")
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_PARAMS_BYTES + 1)
    except OSError as exc:
        raise UserError(f"{p}: {exc.strerror or exc}") from None
    if len(raw) > MAX_PARAMS_BYTES:
        raise UserError(f"{p}: larger than {MAX_PARAMS_BYTES >> 20} MiB, not a params file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{p}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if problem.startswith("duplicate key"):
            raise UserError(f"{p}: {problem}") from None
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{p}{where}: invalid YAML ({problem})") from None
    except RecursionError:
        raise UserError(f"{p}: nested too deeply to be a params file") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{p}: expected a mapping at the top level, got {type(data).__name__}")
    _check_keys(data, p)
    return data


def _check_keys(node: Any, path: Path, where: str = "", depth: int = 0) -> None:
    """Every key of every mapping is a string (a YAML list or number as a key names no parameter)."""
    if depth > 50:
        raise UserError(f"{path}: {where or 'the top level'} is nested too deeply to be a params file")
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                raise UserError(f"{path}: {where + '.' if where else ''}{key!r}: a key must be a name, not a "
                                f"{type(key).__name__}")
            _check_keys(value, path, f"{where}.{key}" if where else key, depth + 1)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_keys(value, path, f"{where}.{i}", depth + 1)


def read_params_files(paths: str | Path | Sequence[str | Path]) -> dict[str, Any]:
    """``params.yaml`` and the overlays after it, merged in order (:func:`merge_params`)."""
    merged: dict[str, Any] = {}
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        merged = merge_params(merged, read_params_file(path))
    return merged


def load_params(paths: str | Path | Sequence[str | Path] = DEFAULT_PARAMS) -> Params:
    """Read, merge (``params.yaml`` then each overlay) and validate; errors name the files and the key."""
    files = [paths] if isinstance(paths, (str, Path)) else list(paths)
    return parse_params(read_params_files(files), source=" + ".join(str(f) for f in files))


def dump_params(params: Params) -> str:
    """``params`` as a complete params file (every key, by its name in the file): what a profile resolves to."""
    return yaml.safe_dump(params.model_dump(mode="json", by_alias=True), sort_keys=False, allow_unicode=True)


def explain(model: type[BaseModel] = Params, prefix: str = "", values: BaseModel | None = None) -> list[str]:
    """Lines ``key (default …): description`` for every parameter, recursively; per-task sections expanded as
    ``<key>.<task>.<field>``. With ``values`` (loaded params), per-task keys name the run's tasks and a value
    that differs from the model's default is shown beside it (``here …``)."""
    lines: list[str] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{info.alias or name}"
        ann = info.annotation
        value = getattr(values, name) if values is not None else None
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            lines.append(f"{key}: {ann.__doc__.strip().splitlines()[0] if ann.__doc__ else ''}")
            lines.extend(explain(ann, prefix=f"{key}.", values=value))
            continue
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        here = f", here {_plain(value)!r}" if values is not None and _plain(value) != _plain(default) else ""
        shown = "required" if info.is_required() else f"default {_plain(default)!r}"
        lines.append(f"{key} ({shown}{here}): {info.description or ''}")
        entry = _per_task_model(ann)
        if entry is not None:
            for task, task_values in (value.items() if values is not None and value else [("<task>", None)]):
                lines.extend(explain(entry, prefix=f"{key}.{task}.", values=task_values))
    return lines


def _per_task_model(annotation: Any) -> type[BaseModel] | None:
    """The section model of a per-task mapping (``dict[str, TaskDataParams]``), else None."""
    from typing import get_args, get_origin

    args = get_args(annotation)
    if get_origin(annotation) is dict and len(args) == 2 and isinstance(args[1], type) \
            and issubclass(args[1], BaseModel):
        return args[1]
    return None


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json", by_alias=True) if isinstance(value, BaseModel) else \
        {k: _plain(v) for k, v in value.items()} if isinstance(value, dict) else value
