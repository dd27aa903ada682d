"""Figures of the report: a Figure 1 style bar chart, Figure 3's bars and the training curves."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def save_bar_chart(table: pd.DataFrame, path: str | Path, title: str, errors: pd.DataFrame | None = None) -> None:
    """Grouped bars: one group per row (task, Average), one bar per column (model), values in %; ``errors``
    (the same shape, e.g. the across-seed SD): ±1 error bars where a value is a number."""
    rows, cols = list(table.index), list(table.columns)
    width = 0.8 / max(1, len(cols))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(rows) + 2), 4.2))
    x = np.arange(len(rows))
    for j, col in enumerate(cols):
        values = 100 * table[col].to_numpy(dtype=float)
        spread = None if errors is None else np.nan_to_num(100 * errors.loc[rows, col].to_numpy(dtype=float))
        bars = ax.bar(x + (j - (len(cols) - 1) / 2) * width, values, width, label=col, yerr=spread,
                      capsize=2 if spread is not None and spread.any() else 0)
        ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=1)
    ax.set_xticks(x, labels=rows)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, min(100, 100 * float(np.nanmax(table.to_numpy(dtype=float)) + 0.12) + 5))
    ax.set_title(title)
    ax.legend(ncol=min(len(cols), 6), fontsize=8, loc="upper left", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_figure3(table: pd.DataFrame | None, path: str | Path) -> None:
    """Figure 3: one group per evaluation (data, prompt format), one bar per trained format, ±1 SE (``None``: a
    figure that says there is no ablation, so the file a workflow expects exists)."""
    if table is None:
        fig, ax = plt.subplots(figsize=(5.0, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "No answer-format ablation (ablations.answer_format.task is null)", ha="center",
                va="center", fontsize=9)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return
    fig = plot_figure3(table)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_figure3(table: pd.DataFrame):
    """Figure 3's bars (see :func:`save_figure3`); the accuracy axis starts at 0, also when every bar is 0."""
    trained = [c for c in table.columns if c.startswith("trained on ")]
    rows = list(table.index)
    width = 0.8 / len(trained)
    fig, ax = plt.subplots(figsize=(max(5.0, 2.2 * len(rows) + 1), 4.0))
    x = np.arange(len(rows))
    for j, col in enumerate(trained):
        se = table[f"SE ({col.removeprefix('trained on ')})"].to_numpy(dtype=float)
        bars = ax.bar(x + (j - (len(trained) - 1) / 2) * width, 100 * table[col].to_numpy(dtype=float), width,
                      yerr=100 * np.nan_to_num(se), capsize=3, label=col.replace("trained on", "trained on the"))
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=2)
    ax.set_xticks(x, labels=[r.replace(", ", "\n") for r in rows], fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_title("Full-text answers vs letter choices (Figure 3)")
    ax.set_ylim(0, max(5.0, ax.get_ylim()[1]))  # an accuracy is never negative (all-zero bars autoscale below 0)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def read_curves(log: str | Path, smooth: int = 10) -> pd.DataFrame:
    """Per step and task: the accuracy reward of the step's samples of that task, and its moving average
    over the task's last ``smooth`` steps (wide: ``step``, then one column per task)."""
    rows = []
    for line in Path(log).read_text(encoding="utf-8").splitlines():
        m = json.loads(line)
        for task, values in m["tasks"].items():
            if values.get("reward_accuracy") is not None:
                rows.append({"step": m["step"] + 1, "task": task, "accuracy": values["reward_accuracy"]})
    long = pd.DataFrame(rows, columns=["step", "task", "accuracy"])
    long["accuracy"] = long.groupby("task")["accuracy"].transform(lambda s: s.rolling(smooth, min_periods=1).mean())
    return long.pivot(index="step", columns="task", values="accuracy").reset_index().rename_axis(columns=None)


def save_training_curves(curves: dict[str, pd.DataFrame], path: str | Path, smooth: int = 10) -> None:
    """One panel per run; one line per task (moving average of the accuracy reward)."""
    fig = plot_training_curves(curves, smooth)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_training_curves(curves: dict[str, pd.DataFrame], smooth: int = 10):
    """The figure of :func:`save_training_curves`; steps are whole numbers on the x axis."""
    from matplotlib.ticker import MaxNLocator

    n = len(curves)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.2 * rows), squeeze=False)
    for ax, (name, frame) in zip(axes.flat, curves.items()):
        for task in [c for c in frame.columns if c != "step"]:
            part = frame[["step", task]].dropna()
            ax.plot(part["step"], part[task], label=task, lw=1.4)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("GRPO step")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(f"accuracy reward (avg of {smooth})")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7, frameon=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    return fig
