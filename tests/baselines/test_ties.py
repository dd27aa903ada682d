"""mergekit's TIES merge against an independent implementation written for this test."""

from __future__ import annotations

import pytest
import torch
import yaml

from pipeline.baselines.ties import run_ties_merge, ties_config
from pipeline.models.tiny import build_tiny_model, load_model


def reference_ties(base: torch.Tensor, finetuned: list[torch.Tensor], density: float, lam: float) -> torch.Tensor:
    """TIES (Yadav et al., 2023) with unit weights: trim, elect sign, disjoint mean, scale."""
    trimmed = []
    for theta in finetuned:
        tau = theta - base
        keep = max(1, int(density * tau.numel())) if density < 1 else tau.numel()
        flat = torch.zeros(tau.numel(), dtype=tau.dtype)
        flat[torch.topk(tau.abs().reshape(-1), keep).indices] = 1
        trimmed.append(tau * flat.reshape(tau.shape))
    stacked = torch.stack(trimmed)
    elected = torch.where(stacked.sum(0) >= 0, 1.0, -1.0).to(base.dtype)
    agree = (stacked.sign() == elected).to(base.dtype)
    count = agree.sum(0)
    count[count == 0] = 1
    mean = (stacked * agree).sum(0) / count
    return base + lam * mean if lam != 1 else base + mean


@pytest.fixture(scope="module")
def models(tmp_path_factory, tokenizer_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    root = tmp_path_factory.mktemp("ties")
    base = build_tiny_model(len(tokenizer), 32, 2, 2, 1, 64, 128, 0, tokenizer)
    base.save_pretrained(root / "base")
    tokenizer.save_pretrained(root / "base")
    gen = torch.Generator().manual_seed(1)
    paths = {}
    for i, task in enumerate(["math", "coding", "qa"]):
        model = build_tiny_model(len(tokenizer), 32, 2, 2, 1, 64, 128, 0, tokenizer)
        with torch.no_grad():
            for p in model.parameters():  # task vectors of different scales and signs
                p.add_(torch.randn(p.shape, generator=gen) * 0.01 * (i + 1))
        model.save_pretrained(root / task)
        tokenizer.save_pretrained(root / task)
        paths[task] = str(root / task)
    return root, paths


@pytest.mark.parametrize("density,lam", [(0.2, 1.0), (0.5, 0.7), (1.0, 1.0)])
def test_mergekit_ties_matches_independent_implementation(models, tmp_path, density, lam):
    root, paths = models
    out = tmp_path / "merged"
    run_ties_merge(ties_config(str(root / "base"), paths, density, lam), out)
    merged = load_model(out)[0].state_dict()
    base = load_model(root / "base")[0].state_dict()
    tuned = [load_model(p)[0].state_dict() for p in paths.values()]
    for name, theta0 in base.items():
        expected = reference_ties(theta0, [t[name] for t in tuned], density, lam)
        assert torch.equal(merged[name], expected), name
    # the merge changed θ0 and kept the rendered configuration beside the model
    assert any(not torch.equal(merged[n], base[n]) for n in base)
    saved = yaml.safe_load((out / "mergekit.yaml").read_text())
    assert saved["merge_method"] == "ties" and saved["parameters"]["lambda"] == lam
    assert [m["parameters"]["density"] for m in saved["models"]] == [density] * 3


def test_reference_ties_on_a_hand_computed_case():
    base = torch.zeros(4)
    tuned = [torch.tensor([0.3, -0.1, 0.2, 0.0]), torch.tensor([-0.5, 0.4, 0.1, 0.0])]
    # density 0.5 keeps 2 entries each: τ1 → [.3, 0, .2, 0], τ2 → [-.5, .4, 0, 0]
    # elected signs of the sums [-.2, .4, .2, 0] → [-, +, +, +]; agreeing means → [-.5, .4, .2, 0]
    assert torch.allclose(reference_ties(base, tuned, 0.5, 1.0), torch.tensor([-0.5, 0.4, 0.2, 0.0]))
