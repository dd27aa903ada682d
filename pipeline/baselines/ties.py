"""TIES merging (Yadav et al., 2023) of the selected single-task models into θ0, with mergekit.

The paper merges the four single-task GRPO models with λ = 1 (Section 4, "Model Merging").
mergekit's ``ties`` method, through its Python API (``MergeConfiguration`` + ``run_merge``),
does the merge on CPU; per tensor it computes, for task vectors τ_k = θ_k − θ0:

1. trim: keep the ``density`` fraction of entries of τ_k with the largest |τ_k| (others 0);
2. elect: the sign of Σ_k τ̂_k per entry (0 counts as +);
3. disjoint mean: average the trimmed τ̂_k whose sign agrees with the elected one
   (entries where none agrees stay θ0);
4. scale: θ = θ0 + λ · mean.

The rendered mergekit YAML is saved beside the merged model, for provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def ties_config(base: str, models: dict[str, str], density: float, lam: float,
                dtype: str = "float32") -> dict[str, Any]:
    """The mergekit configuration of a TIES merge of ``models`` (task → path) into ``base``."""
    return {
        "merge_method": "ties",
        "base_model": base,
        "models": [{"model": path, "parameters": {"weight": 1.0, "density": density}} for path in models.values()],
        "parameters": {"lambda": lam, "normalize": True},
        "dtype": dtype,
    }


def run_ties_merge(config: dict[str, Any], out: Path, threads: int | None = None) -> None:
    """Run mergekit on ``config`` into ``out`` (CPU), then write ``mergekit.yaml`` beside the model."""
    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions, run_merge

    rendered = yaml.safe_dump(config, sort_keys=False)
    merge_config = MergeConfiguration.model_validate(yaml.safe_load(rendered))
    run_merge(merge_config, str(out), options=MergeOptions(cuda=False, copy_tokenizer=True, lazy_unpickle=False,
                                                            low_cpu_memory=False, write_model_card=False,
                                                            num_threads=threads, quiet=True),
              config_source=rendered)
    (out / "mergekit.yaml").write_text(rendered, encoding="utf-8")
