"""The RFT baseline on verl's SFT trainer (pipeline/scale/verl_sft.py), checked on CPU where verl allows it:
baselines.rft mapped key by key onto sft_trainer_engine.yaml, the composed config turned into verl's own config
dataclasses (the model config and tokenizer loaded from a tiny local model), and the kept responses read back
by verl's MultiTurnSFTDataset with that tokenizer."""

from __future__ import annotations

import sys

import pytest
import torch

verl = pytest.importorskip("verl")

from omegaconf import OmegaConf  # noqa: E402

from pipeline.config import load_params  # noqa: E402
from pipeline.data.prompts import chat  # noqa: E402
from pipeline.models.tiny import build_tiny_model  # noqa: E402
from pipeline.models.tokenizer import build_tokenizer  # noqa: E402
from pipeline.scale.verl_sft import (compose_sft_config, sft_hf_checkpoint, sft_overrides, sft_steps,  # noqa: E402
                                     torchrun_command, write_sft_parquet)

from ..conftest import REPO  # noqa: E402

PAPER = load_params([REPO / "params.yaml", REPO / "configs" / "paper.yaml"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "model"
    texts = [f"what is {i} + 1 <think>add</think> <answer>{i + 1}</answer>" for i in range(50)]
    tokenizer = build_tokenizer(texts, vocab_size=300)
    torch.manual_seed(0)
    build_tiny_model(len(tokenizer), 32, 1, 2, 1, 64, 256, 0, tokenizer).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def examples(n: int) -> list[dict]:
    return [{"prompt": chat(f"what is {i} + 1"), "completion": f"<think>add</think> <answer>{i + 1}</answer>"}
            for i in range(n)]


def test_baselines_rft_maps_onto_verls_sft_config(tiny, tmp_path):
    rft, train_verl = PAPER.baselines.rft, PAPER.train.verl
    cfg = compose_sft_config(sft_overrides(rft, train_verl, str(tiny), tmp_path / "sft.parquet", tmp_path / "ckpt",
                                           PAPER.seed))
    assert (cfg.optim.lr, cfg.optim.lr_scheduler_type, cfg.trainer.total_epochs) == (2.5e-6, "cosine", 3)  # Sec. 4
    assert cfg.data.train_batch_size == 128 and cfg.data.max_length == rft.max_len == 4096
    assert cfg.data.pad_mode == "no_padding" and cfg.model.use_remove_padding and cfg.data.use_dynamic_bsz
    assert (cfg.engine.model_dtype, cfg.engine.dtype, cfg.engine.strategy) == ("fp32", "bfloat16", "fsdp")
    assert (cfg.trainer.nnodes, cfg.trainer.n_gpus_per_node) == (1, train_verl.n_gpus_per_node)
    assert "hf_model" in cfg.checkpoint.save_contents and cfg.trainer.resume_mode == "auto"
    assert cfg.data.val_files is None and cfg.data.messages_key == "messages"
    assert cfg.trainer.save_freq == rft.checkpoint_every == 100 and cfg.trainer.max_ckpt_to_keep == 2


def test_the_save_settings_are_what_verls_sft_trainer_reads(tiny, tmp_path):
    """0.9.1's SFT trainer saves when ``global_step % trainer.save_freq == 0`` (and at the last step) and hands
    ``trainer.max_ckpt_to_keep`` to its checkpoint handler; 0 renders as verl's "last step only" (-1)."""
    import inspect

    from verl.trainer import sft_trainer

    code = inspect.getsource(sft_trainer)
    assert "self.config.trainer.save_freq" in code and "global_step % self.save_freq == 0" in code
    assert 'getattr(self.config.trainer, "max_ckpt_to_keep", None)' in code
    rft = PAPER.baselines.rft.model_copy(update={"checkpoint_every": 0})
    cfg = compose_sft_config(sft_overrides(rft, PAPER.train.verl, str(tiny), tmp_path / "s.parquet", tmp_path / "c", 0))
    assert cfg.trainer.save_freq == -1


def test_the_composed_config_builds_verls_dataclasses(tiny, tmp_path):
    """What SFTTrainer._build_config does: omega_conf_to_dataclass on each section (the model's config and
    tokenizer are loaded from the path, so a wrong key or value fails here, not on the cluster)."""
    from verl.utils.config import omega_conf_to_dataclass

    cfg = compose_sft_config(sft_overrides(PAPER.baselines.rft, PAPER.train.verl, str(tiny), tmp_path / "t.parquet",
                                           tmp_path / "ckpt", 0))
    model = omega_conf_to_dataclass(cfg.model)
    optim = omega_conf_to_dataclass(cfg.optim)
    engine = omega_conf_to_dataclass(cfg.engine)
    checkpoint = omega_conf_to_dataclass(cfg.checkpoint)
    assert model.tokenizer.eos_token_id is not None and model.hf_config.num_hidden_layers == 1
    assert optim.lr == 2.5e-6 and optim.lr_scheduler_type == "cosine" and optim.lr_warmup_steps_ratio == 0.05
    assert engine.param_offload is PAPER.train.verl.param_offload
    assert "hf_model" in checkpoint.save_contents
    assert OmegaConf.select(cfg, "trainer.default_local_dir") == str(tmp_path / "ckpt")


def test_verls_sft_dataset_reads_the_kept_responses_with_loss_on_the_response_only(tiny, tmp_path):
    from transformers import AutoTokenizer
    from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset

    path = write_sft_parquet(examples(6), tmp_path / "sft.parquet")
    cfg = compose_sft_config(sft_overrides(PAPER.baselines.rft.model_copy(update={"max_len": 1024}), PAPER.train.verl,
                                           str(tiny), path, tmp_path / "ckpt", 0))
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    dataset = MultiTurnSFTDataset(parquet_files=str(path), tokenizer=tokenizer, config=cfg.data)
    assert len(dataset) == 6
    item = dataset[3]
    ids, mask = item["input_ids"], item["loss_mask"]
    trained = tokenizer.decode(ids[mask.bool()])
    assert "<answer>4</answer>" in trained and "what is 3" not in trained  # the prompt is context only
    assert "what is 3" in tokenizer.decode(ids)


def test_the_launch_is_one_torchrun_process_per_gpu_and_the_model_comes_from_the_last_checkpoint(tmp_path):
    cmd = torchrun_command(sys.executable, 8, ["trainer.total_epochs=3"])
    assert cmd[1:7] == ["-m", "torch.distributed.run", "--standalone", "--nnodes=1", "--nproc_per_node=8", "-m"]
    assert cmd[7:] == ["verl.trainer.sft_trainer", "trainer.total_epochs=3"]
    assert sft_steps(300, 128, 3) == 6  # 2 full batches of 128 per epoch (verl drops the partial one)
    assert sft_hf_checkpoint(tmp_path, 6) == tmp_path / "global_step_6" / "huggingface"


def test_the_sft_model_folder_is_copied_as_it_is_with_the_tokenizer_of_theta0(tiny, tmp_path):
    """At 7B the stage copies verl's HF folder (no fp32 load and re-save); a folder without a tokenizer gets θ0's."""
    import shutil

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pipeline.commands.sft_rft import copy_model_folder
    from pipeline.errors import UserError

    hf = tmp_path / "global_step_6" / "huggingface"
    shutil.copytree(tiny, hf, ignore=shutil.ignore_patterns("tokenizer*", "special_tokens_map.json", "vocab*"))
    assert not (hf / "tokenizer_config.json").exists()
    copy_model_folder(hf, tmp_path / "out" / "model", tokenizer_from=tiny)
    out = tmp_path / "out" / "model"
    for f in hf.iterdir():
        assert (out / f.name).read_bytes() == f.read_bytes()  # byte for byte
    assert AutoTokenizer.from_pretrained(out).get_vocab() == AutoTokenizer.from_pretrained(tiny).get_vocab()
    AutoModelForCausalLM.from_pretrained(out)
    with pytest.raises(UserError, match="no config.json"):
        copy_model_folder(tmp_path / "empty", tmp_path / "out2", tokenizer_from=tiny)
