"""params.yaml → Hydra overrides of ``python -m verl.trainer.main_ppo`` (the verl backend).

A pure mapping, checked on CPU by composing verl's own ``ppo_trainer.yaml`` with it
(tests/scale/test_verl_backend.py: an unknown key fails, verl's ``validate_config``
and config dataclasses accept the result). What maps to what:

================================  ==============================================================
ours (train.grpo / train.verl)    verl
================================  ==============================================================
Eq. 2–3 group-normalised adv.     algorithm.adv_estimator=omni_grpo (Eq. 3 over the defined rewards:
                                  pipeline/scale/verl_advantage.py, registered in every Ray worker by
                                  ray_init.runtime_env.worker_process_setup_hook), norm_adv_by_std_in_grpo=true
group_size G                      actor_rollout_ref.rollout.n
temperature, top_p, top_k         rollout.temperature, top_p, top_k (our 0 = off → verl's −1)
ε_low, ε_high (Eq. 4)             actor.clip_ratio_low, clip_ratio_high
no dual clip in Eq. 4             actor.clip_ratio_c=1e9 (verl's dual clip disabled)
1/|o| then group mean (Eq. 4)     actor.loss_agg_mode=seq-mean-token-mean
β_k and Eq. 5's k3 estimator      actor.use_kl_loss=(β>0), kl_loss_coef=β, kl_loss_type=low_var_kl
lr, lr_schedule, weight_decay     actor.optim.lr, lr_scheduler_type, weight_decay
grad_clip                         actor.optim.clip_grad (what 0.9.1's engines read; actor.grad_clip is unread)
ppo_epochs                        actor.ppo_epochs
batch_size (prompts)              data.train_batch_size
mini_batch_size (samples)         actor.ppo_mini_batch_size (prompts: mini_batch_size / G)
max_new_tokens                    data.max_response_length
epochs                            unrolled into the pre-ordered file (trainer.total_epochs=1)
pre-ordered schedule              data.shuffle=false, trainer.total_training_steps=#batches
reward registry                   reward.custom_reward_function → pipeline/rewards/verl_entry.py
reward workers                    reward.num_workers (train.verl.reward_workers)
API judge                         verl's default (naive) reward manager: every sample is scored at once;
                                  the judge alone bounds its requests (rewards.judge.concurrency /
                                  reward workers per process) and its deadline (a late verdict is
                                  undefined, never zeroed by verl); math, code and QA never wait for it
segment chaining                  actor.checkpoint.save_contents += hf_model: every checkpoint holds
                                  an HF folder of the fp32 master weights (no bf16 merge in between)
checkpoint_every, snapshots       trainer.save_freq (gcd of the two), checkpoint_callback_class: older
                                  checkpoints pruned after each save, snapshots' HF folders kept
================================  ==============================================================

**Epochs.** Our schedules reshuffle each epoch (and a curriculum runs a task's epochs back to
back), so the run's file holds the whole schedule, epochs unrolled, in batch order; verl then
reads it once, sequentially. The batches are exactly those of the local backend.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import GRPOParams, JudgeParams, VerlParams
from ..rewards.judge import share_of_concurrency
from .verl_advantage import ESTIMATOR, SETUP_HOOK

VERL_ENTRY_MODULE = "pipeline.rewards.verl_entry"  # loaded by verl from its file: a code dependency of training
VERL_ENTRY = Path(__file__).resolve().parents[2].joinpath(*VERL_ENTRY_MODULE.split(".")).with_suffix(".py")
NO_DUAL_CLIP = 1e9  # verl applies dual clip with this lower bound; Eq. 4 has none


@dataclass(frozen=True)
class VerlRun:
    """One ``verl.trainer.main_ppo`` run: a single-task run, the joint run, or one curriculum segment."""

    name: str             # experiment name, e.g. "curriculum-2-math"
    model: str            # HF folder or hub id it starts from
    train_file: Path      # pre-ordered verl parquet of the schedule (epochs unrolled)
    val_file: Path        # verl parquet of the val split (verl needs one; validation itself is off)
    steps: int            # trainer.total_training_steps: full batches of the file
    checkpoint_dir: Path  # trainer.default_local_dir
    grpo: GRPOParams      # the run's settings (train.grpo, or the task's train.overrides)
    beta: float           # β of the run's task(s) (Eq. 5)
    judge_log: Path | None = None  # where reward workers append judge timeouts
    snapshots: tuple[int, ...] = ()  # steps whose HF model is kept for checkpoint selection (single-task runs)


_PLAIN = re.compile(r"^[A-Za-z0-9_./~+@\-]+$")


def hydra_value(value: Any) -> str:
    """A Python value as a Hydra override value (strings quoted unless plainly safe)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in ("true", "false", "null"):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def mini_batch_prompts(grpo: GRPOParams) -> int:
    """verl counts ``ppo_mini_batch_size`` in prompts (×G inside); ours counts samples."""
    if grpo.mini_batch_size % grpo.group_size:
        raise ValueError(f"train.grpo.mini_batch_size ({grpo.mini_batch_size}) must be a multiple of group_size "
                         f"({grpo.group_size}) for the verl backend (verl counts mini-batches in prompts)")
    return max(1, min(grpo.batch_size, grpo.mini_batch_size // grpo.group_size))


CHECKPOINT_MODULE = "pipeline.scale.verl_checkpoints"  # imported by verl's driver: a code dependency of training
CHECKPOINT_CALLBACK = f"{CHECKPOINT_MODULE}.PruneCheckpoints"
"""``trainer.checkpoint_callback_class``: after each save, verl's driver removes the older checkpoints but the
snapshot steps' HF folders (:func:`~.verl_checkpoints.prune_checkpoints`)."""


def save_frequency(run: VerlRun) -> int:
    """``trainer.save_freq``: the largest interval of at most ``checkpoint_every`` steps that lands on every
    snapshot step, so that each is saved (``checkpoint_every`` 0: the snapshots only; none either: the run's
    length). verl's V1 trainer also saves the last step whatever this is (``is_last_step``); the run checks it
    did."""
    return math.gcd(run.grpo.checkpoint_every, *run.snapshots) or run.steps


def grpo_overrides(run: VerlRun, verl: VerlParams, judge: JudgeParams | None, params_file: Path,
                   seed: int) -> list[str]:
    """The Hydra overrides of one run (``key=value`` strings, in a stable order; ``+key`` adds a key verl's
    schema lacks). ``judge`` is the judge settings when the run's rewards call an LLM judge, else None."""
    g = run.grpo
    micro = verl.micro_batch_size_per_gpu
    values: dict[str, Any] = {
        "algorithm.adv_estimator": ESTIMATOR,
        "algorithm.norm_adv_by_std_in_grpo": True,
        "algorithm.use_kl_in_reward": False,
        "data.train_files": str(run.train_file),
        "data.val_files": str(run.val_file),
        "data.train_batch_size": g.batch_size,
        "data.max_prompt_length": verl.max_prompt_length,
        "data.max_response_length": g.max_new_tokens,
        "data.filter_overlong_prompts": True,
        "data.truncation": "error",
        "data.shuffle": False,
        "data.seed": seed,
        "actor_rollout_ref.model.path": run.model,
        "actor_rollout_ref.model.enable_gradient_checkpointing": verl.gradient_checkpointing,
        "+actor_rollout_ref.model.override_config.attn_implementation": verl.attn_implementation,
        "actor_rollout_ref.actor.optim.lr": g.lr,
        "actor_rollout_ref.actor.optim.lr_scheduler_type": g.lr_schedule,
        "actor_rollout_ref.actor.optim.weight_decay": g.weight_decay,
        "actor_rollout_ref.actor.optim.clip_grad": g.grad_clip,
        "actor_rollout_ref.actor.ppo_epochs": g.ppo_epochs,
        "actor_rollout_ref.actor.ppo_mini_batch_size": mini_batch_prompts(g),
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu": micro,
        "actor_rollout_ref.actor.clip_ratio_low": g.eps_low,
        "actor_rollout_ref.actor.clip_ratio_high": g.eps_high,
        "actor_rollout_ref.actor.clip_ratio_c": NO_DUAL_CLIP,
        "actor_rollout_ref.actor.loss_agg_mode": "seq-mean-token-mean",
        "actor_rollout_ref.actor.entropy_coeff": 0.0,
        "actor_rollout_ref.actor.use_kl_loss": run.beta > 0,
        "actor_rollout_ref.actor.kl_loss_coef": run.beta,
        "actor_rollout_ref.actor.kl_loss_type": "low_var_kl",
        "actor_rollout_ref.actor.checkpoint.save_contents": ["model", "optimizer", "extra", "hf_model"],
        "actor_rollout_ref.actor.checkpoint.load_contents": ["model", "optimizer", "extra"],
        "actor_rollout_ref.actor.fsdp_config.param_offload": verl.param_offload,
        "actor_rollout_ref.ref.fsdp_config.param_offload": verl.param_offload,
        "actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu": micro,
        "actor_rollout_ref.rollout.name": verl.rollout_engine,
        "actor_rollout_ref.rollout.n": g.group_size,
        "actor_rollout_ref.rollout.temperature": g.temperature,
        "actor_rollout_ref.rollout.top_p": g.top_p,
        "actor_rollout_ref.rollout.top_k": g.top_k if g.top_k > 0 else -1,
        "actor_rollout_ref.rollout.tensor_model_parallel_size": verl.tensor_parallel_size,
        "actor_rollout_ref.rollout.gpu_memory_utilization": verl.gpu_memory_utilization,
        "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu": micro,
        "actor_rollout_ref.rollout.seed": seed,
        "reward.custom_reward_function.path": str(VERL_ENTRY),
        "reward.custom_reward_function.name": "compute_score",
        "reward.num_workers": verl.reward_workers,
        "+reward.custom_reward_function.reward_kwargs.params": str(params_file),
        "+reward.custom_reward_function.reward_kwargs.judge_processes": verl.reward_workers,
        "trainer.n_gpus_per_node": verl.n_gpus_per_node,
        "trainer.nnodes": verl.nnodes,
        "trainer.total_epochs": 1,
        "trainer.total_training_steps": run.steps,
        "trainer.save_freq": save_frequency(run),
        "trainer.checkpoint_callback_class": CHECKPOINT_CALLBACK,
        "+trainer.omni_keep_hf_steps": list(run.snapshots),
        "trainer.test_freq": -1,
        "trainer.val_before_train": False,
        "trainer.critic_warmup": 0,
        "trainer.resume_mode": "auto",  # a preempted Slurm job resumes from its last checkpoint
        "trainer.default_local_dir": str(run.checkpoint_dir),
        "trainer.project_name": verl.project,
        "trainer.experiment_name": run.name,
        "trainer.logger": list(verl.logger),
        "+ray_kwargs.ray_init.runtime_env.worker_process_setup_hook": SETUP_HOOK,
    }
    if run.judge_log is not None:
        values["+reward.custom_reward_function.reward_kwargs.judge_log"] = str(run.judge_log)
    if judge is not None:  # each reward worker's judge takes its share of the run's concurrency (at least one)
        share_of_concurrency(judge.concurrency, verl.reward_workers)
    return [f"{key}={hydra_value(value)}" for key, value in values.items()] + list(verl.extra_overrides)


def worker_env_overrides(env: dict[str, str]) -> list[str]:
    """Overrides that put ``env`` into the Ray runtime env of every verl worker (``ray_kwargs.ray_init.runtime_env``,
    merged by verl's ``run_ppo`` with its own), also on a cluster started before the stage. Not for secrets: verl
    prints its config."""
    return [f"+ray_kwargs.ray_init.runtime_env.env_vars.{key}={hydra_value(value)}" for key, value in env.items()]


RESUME_NEUTRAL = ("trainer.save_freq=",)


def resume_identity(overrides: list[str]) -> list[str]:
    """The overrides that make a run's identity (its work key): all but :data:`RESUME_NEUTRAL`. How often a run
    saves changes nothing it computes, so a job resubmitted with another interval resumes its checkpoint."""
    return [o for o in overrides if not o.startswith(RESUME_NEUTRAL)]


def compose_verl_config(config_name: str, overrides: list[str]):
    """verl's trainer config ``config_name`` (``verl/trainer/config/<name>.yaml``) composed with ``overrides``
    through Hydra's compose API: what the trainer's ``@hydra.main`` sees."""
    import verl
    from hydra import compose, initialize_config_dir

    config_dir = Path(verl.__file__).resolve().parent / "trainer" / "config"
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        return compose(config_name=config_name, overrides=overrides)


def main_ppo_command(python: str, overrides: list[str]) -> list[str]:
    """The argv of one verl run."""
    return [python, "-m", "verl.trainer.main_ppo", *overrides]


def hf_checkpoint(checkpoint_dir: Path, step: int) -> Path:
    """The HF folder verl writes into a checkpoint with ``save_contents`` ``hf_model``: the actor's fp32 master
    weights (``get_fsdp_full_state_dict``), its config and tokenizer. Segments are chained through it."""
    return checkpoint_dir / f"global_step_{step}" / "actor" / "huggingface"
