"""Annotated heatmaps for square task matrices (BWT, entropy change)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def save_heatmap(matrix: np.ndarray, rows: Sequence[str], cols: Sequence[str], path: str | Path, *,
                 title: str, row_label: str, col_label: str, fmt: str = "{:+.3f}") -> None:
    """Write a diverging, zero-centred, annotated heatmap to ``path`` (PNG)."""
    m = np.asarray(matrix, dtype=float)
    k = max(len(rows), len(cols))
    size = min(2.0 + 0.9 * k, 16.0)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    vmax = float(np.max(np.abs(m))) or 1.0
    im = ax.imshow(m, cmap="RdBu", vmin=-vmax, vmax=vmax)
    ax.set_xticks(range(len(cols)), labels=list(cols), rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), labels=list(rows))
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    ax.set_title(title)
    if k <= 16:
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                colour = "white" if abs(m[i, j]) > 0.6 * vmax else "black"
                ax.text(j, i, fmt.format(m[i, j]), ha="center", va="center", color=colour, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
