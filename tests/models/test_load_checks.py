"""A model folder is loaded whole and finite, or refused in one line (issue 36): transformers only *reports* a
missing tensor (and initialises it at random), an unexpected one, and loads NaN weights without a word."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from pipeline.errors import UserError
from pipeline.models.tiny import build_tiny_model, load_causal_lm, load_model
from pipeline.models.tokenizer import build_tokenizer


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "m"
    tok = build_tokenizer(["a b c d e f g"] * 4, vocab_size=300)
    build_tiny_model(len(tok), 32, 1, 2, 1, 64, 64, 0, tok).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def _edited(folder, tmp_path, edit):
    copy = tmp_path / "edited"
    shutil.copytree(folder, copy)
    weights = load_file(copy / "model.safetensors")
    edit(weights)
    save_file(weights, copy / "model.safetensors", metadata={"format": "pt"})
    return copy


def test_a_whole_finite_model_loads(folder):
    model, _ = load_model(folder)
    assert all(torch.isfinite(w).all() for w in model.state_dict().values())


def _drop(w):
    w.pop("model.layers.0.mlp.gate_proj.weight")


def _nan(w):
    w["model.layers.0.mlp.down_proj.weight"] = torch.full_like(w["model.layers.0.mlp.down_proj.weight"], float("nan"))


def _extra(w):
    w["model.bogus.weight"] = torch.zeros(2)


def _inf(w):
    w["model.norm.weight"] = torch.full_like(w["model.norm.weight"], float("inf"))


@pytest.mark.parametrize(("edit", "message"), [
    (_drop, "1 missing tensor(s), first model.layers.0.mlp.gate_proj.weight"),
    (_extra, "1 unexpected tensor(s), first model.bogus.weight"),
    (_nan, "tensor model.layers.0.mlp.down_proj.weight holds non-finite values"),
    (_inf, "tensor model.norm.weight holds non-finite values"),
])
def test_a_broken_model_folder_is_refused_naming_the_tensor(folder, tmp_path, edit, message):
    broken = _edited(folder, tmp_path, edit)
    for load in (lambda: load_model(broken), lambda: load_causal_lm(broken)):
        with pytest.raises(UserError) as info:
            load()
        assert message in str(info.value) and str(broken) in str(info.value) and "\n" not in str(info.value)
