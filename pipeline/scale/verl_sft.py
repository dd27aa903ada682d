"""The RFT baseline's fine-tuning at paper scale: verl's own SFT trainer (``verl.trainer.sft_trainer``, config
``sft_trainer_engine.yaml``) on the rejection-sampled responses, launched by ``torchrun`` over one node's GPUs.

What it brings over the local trainer, which cannot hold 7B: FSDP sharding, sequence packing
(``data.pad_mode=no_padding`` with ``model.use_remove_padding``: no padding tokens computed), token-budget
micro-batches with gradient accumulation up to the global batch (``use_dynamic_bsz``), bf16 compute over fp32
master weights. ``baselines.rft`` maps onto it one key at a time (:func:`sft_overrides`); ``train.verl`` gives
the node's GPUs and the memory knobs. The kept responses are written as verl's multi-turn SFT parquet
(:func:`write_sft_parquet`: the prompt's messages then the response as the assistant turn; loss on the
assistant turn only, as the local trainer). The result is the HF folder verl saves with the last checkpoint
(``hf_model``: the fp32 master weights), :func:`sft_hf_checkpoint`.

``tests/scale/test_verl_sft.py`` composes the config with Hydra as the trainer does, builds verl's config
dataclasses from it (the model's config and tokenizer loaded from the tiny model) and reads the parquet with
verl's own ``MultiTurnSFTDataset``. Training itself needs a GPU: verl 0.9.1 picks the collective backend of its
accelerator platform, and with none it falls back to NCCL, which a CPU build of torch does not have.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import RFTParams, VerlParams
from .verl_config import compose_verl_config, hydra_value

SFT_CONFIG = "sft_trainer_engine"
PROJECT_RUN = "rft-sft"


def sft_rows(examples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """verl multi-turn SFT rows: ``messages`` = the prompt's messages + the kept response as the assistant turn."""
    return [{"messages": [*e["prompt"], {"role": "assistant", "content": e["completion"]}]} for e in examples]


def write_sft_parquet(examples: list[dict[str, Any]], path: Path) -> Path:
    """The kept responses as verl's SFT parquet (written whole, then renamed)."""
    import pandas as pd

    from ..io import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        pd.DataFrame(sft_rows(examples)).to_parquet(tmp, index=False)
    return path


def sft_steps(examples: int, batch_size: int, epochs: int) -> int:
    """Optimizer steps of verl's SFT run: its sampler and loader drop a last partial batch."""
    return (examples // batch_size) * epochs


def sft_overrides(rft: RFTParams, verl: VerlParams, model: str, train_file: Path, out_dir: Path,
                  seed: int) -> list[str]:
    """Hydra overrides of ``sft_trainer_engine.yaml`` from ``baselines.rft`` and ``train.verl`` (one node)."""
    token_budget = max(rft.max_len, 8192)  # tokens per GPU micro-batch when packing; ≥ one whole example
    values: dict[str, Any] = {
        "model.path": model,
        "model.use_remove_padding": True,                                  # sequence packing
        "model.enable_gradient_checkpointing": verl.gradient_checkpointing,
        "+model.override_config.attn_implementation": verl.attn_implementation,
        "data.train_files": str(train_file),
        "data.val_files": None,
        "data.messages_key": "messages",
        "data.train_batch_size": rft.batch_size,                          # paper: 128
        "data.micro_batch_size_per_gpu": verl.micro_batch_size_per_gpu,
        "data.max_length": rft.max_len,
        "data.truncation": "right",                                       # as the local trainer: keep the prompt
        "data.pad_mode": "no_padding",
        "data.use_dynamic_bsz": True,                                     # token budgets; accumulate to the batch
        "data.max_token_len_per_gpu": token_budget,
        "data.num_workers": 2,
        "optim.lr": rft.lr,                                               # paper: 2.5e-6
        "optim.lr_scheduler_type": rft.lr_schedule,                       # paper: cosine
        "optim.lr_warmup_steps_ratio": 0.05,                              # the local trainer's 5 % warm-up
        "optim.weight_decay": 0.0,
        "optim.clip_grad": 1.0,
        "engine.param_offload": verl.param_offload,
        "engine.optimizer_offload": verl.param_offload,
        "engine.model_dtype": "fp32",                                     # master weights
        "engine.dtype": "bfloat16",                                       # compute
        "engine.seed": seed,
        "trainer.total_epochs": rft.epochs,                               # paper: 3
        "trainer.nnodes": 1,
        "trainer.n_gpus_per_node": verl.n_gpus_per_node,
        "trainer.default_local_dir": str(out_dir),
        "trainer.project_name": verl.project,
        "trainer.experiment_name": PROJECT_RUN,
        "trainer.logger": ["console", "file"],
        "trainer.save_freq": rft.checkpoint_every or -1,                  # and the last step (always saved)
        "trainer.max_ckpt_to_keep": 2,                                    # the newest stays until the next is whole
        "trainer.test_freq": -1,
        "trainer.seed": seed,
        "trainer.resume_mode": "auto",                                    # a cut job resumes from its checkpoint
        "checkpoint.save_contents": ["model", "optimizer", "extra", "hf_model"],
    }
    return [f"{key}={hydra_value(value)}" for key, value in values.items()]


def compose_sft_config(overrides: list[str]):
    """verl's ``sft_trainer_engine.yaml`` composed with ``overrides`` (what ``verl.trainer.sft_trainer`` sees)."""
    return compose_verl_config(SFT_CONFIG, overrides)


def torchrun_command(python: str, gpus: int, overrides: list[str]) -> list[str]:
    """One node, one process per GPU: ``torchrun --standalone --nproc_per_node=G -m verl.trainer.sft_trainer``."""
    return [python, "-m", "torch.distributed.run", "--standalone", "--nnodes=1", f"--nproc_per_node={gpus}",
            "-m", "verl.trainer.sft_trainer", *overrides]


def sft_hf_checkpoint(out_dir: Path, step: int) -> Path:
    """The HF folder of the SFT run's last checkpoint (``save_contents`` ``hf_model``)."""
    return out_dir / f"global_step_{step}" / "huggingface"
