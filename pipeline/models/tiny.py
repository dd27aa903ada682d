"""The embedded default's model: a tiny ``Qwen2ForCausalLM`` built from params, and model loading.

Any HF model path or hub id can replace it (``models.base``); at paper scale that is
Qwen2.5-7B-Instruct. Everything downstream loads models with :func:`load_model`, which
takes a local path (always) or a hub id (when the hub is reachable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase, Qwen2Config, Qwen2ForCausalLM

from ..errors import UserError
from .attention import use_sdpa_gqa


def build_tiny_model(vocab_size: int, hidden: int, layers: int, heads: int, kv_heads: int, intermediate: int,
                     max_positions: int, seed: int, tokenizer: PreTrainedTokenizerBase) -> Qwen2ForCausalLM:
    """A freshly initialised Qwen2 decoder with tied embeddings (about 1.1M parameters at 128×4)."""
    torch.manual_seed(seed)
    config = Qwen2Config(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=kv_heads, intermediate_size=intermediate,
                         max_position_embeddings=max_positions, tie_word_embeddings=True,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, use_cache=True)
    model = Qwen2ForCausalLM(config)
    use_sdpa_gqa(model)
    return model


def compute_device() -> torch.device:
    """Where the local backend trains and generates: the GPU when there is one (the first), else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


def check_model_folder(name_or_path: str | Path) -> None:
    """A local model folder must hold a config, a tokenizer and weights that open, or a one-line error naming
    what is missing or broken (a hub id is left to the loader)."""
    folder = Path(name_or_path)
    if not folder.exists():
        if str(name_or_path).startswith((".", "/", "~")) or str(name_or_path).count("/") != 1:
            raise UserError(f"model {folder}: not found")
        return  # a hub id
    if not folder.is_dir():
        raise UserError(f"model {folder}: not a folder (a model is a folder in Hugging Face format)")
    if not (folder / "config.json").is_file():
        raise UserError(f"model {folder}: no config.json")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise UserError(f"model {folder}: no tokenizer ({' or '.join(TOKENIZER_FILES)})")
    weights = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not weights:
        raise UserError(f"model {folder}: no weights ({' or '.join(WEIGHT_FILES[:2])})")
    if weights[0].name == "model.safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(weights[0]), framework="pt") as f:
                f.keys()
        except Exception as exc:  # noqa: BLE001  (truncated, empty or not safetensors)
            raise UserError(f"{weights[0]}: not a readable safetensors file ({str(exc).splitlines()[0]})") from None


def check_finite_weights(name_or_path: str | Path) -> None:
    """Refuse a local model folder whose safetensors weights hold NaN or inf (a diverged run's): one line naming
    the file and the tensor. For engines that load the folder themselves (vLLM); it reads one tensor at a time,
    so its memory is the largest tensor's (a 7B model's 15 GB are read once, before the engine reads them)."""
    folder = Path(name_or_path)
    if not folder.is_dir():
        return  # a hub id: the engine's own download
    from safetensors import safe_open

    for file in sorted(folder.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as f:
            for name in f.keys():
                tensor = f.get_tensor(name)
                if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                    raise UserError(f"model {folder}: tensor {name} in {file.name} holds non-finite values "
                                    "(a diverged run?); refused")


def load_causal_lm(path: str | Path, dtype: Any = torch.float32):
    """``AutoModelForCausalLM.from_pretrained`` that refuses what transformers only reports: a tensor missing from
    the folder (it would be initialised at random), an unexpected or mis-shaped one, and weights that are not
    finite (a diverged run's). Each is one line naming the folder and the tensor."""
    model, info = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype, output_loading_info=True)
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        names = sorted(str(k if isinstance(k, str) else k[0]) for k in info.get(kind) or ())
        if names:
            what = kind.replace("_keys", "").replace("_", " ")
            raise UserError(f"model {path}: {len(names)} {what} tensor(s), first {names[0]} (the folder does not "
                            "hold this model's weights)")
    if info.get("error_msgs"):
        raise UserError(f"model {path}: {str(info['error_msgs'][0]).splitlines()[0]}")
    weights = model.state_dict().items()
    bad = next((name for name, w in weights if w.is_floating_point() and not torch.isfinite(w).all()), None)
    if bad is not None:
        raise UserError(f"model {path}: tensor {bad} holds non-finite values (a diverged run?); refused")
    return model


def load_model(name_or_path: str | Path, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None):
    """(model, tokenizer) from a local folder in HF format or a hub id, with pad/eos set for generation, on
    ``device`` (default :func:`compute_device`); on a CPU with ``sdpa_gqa`` attention (the same forward pass,
    without copying KV heads; :mod:`pipeline.models.attention`)."""
    check_model_folder(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(name_or_path))
        model = load_causal_lm(name_or_path, dtype)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001  (safetensors, json, OSError, …: one line naming the model)
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise UserError(f"model {name_or_path}: cannot be loaded ({type(exc).__name__}: {first})") from None
    if not getattr(tokenizer, "chat_template", None):  # every prompt is a chat: no template, no prompt
        raise UserError(f"model {name_or_path}: its tokenizer has no chat template (chat_template.jinja, or "
                        "chat_template in tokenizer_config.json); every prompt is rendered with it")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model = model.to(device or compute_device())
    use_sdpa_gqa(model)  # same attention, without copying KV heads (pipeline/models/attention.py)
    return model, tokenizer


def save_tokenizer(tokenizer, folder: str | Path) -> None:
    """Save ``tokenizer`` without the padding and truncation a fast tokenizer keeps from its last batch call (HF
    applies its own on every call): the saved files then depend on the tokenizer only, not on whether a training
    step ran before the save (a run resumed at its end writes the same bytes as one that ran through)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        backend.no_padding()
        backend.no_truncation()
    tokenizer.save_pretrained(folder)
