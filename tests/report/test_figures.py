"""The report's figures read right when a run carries little: Figure 3's accuracy axis never goes below 0, and
training curves of a few steps are labelled with whole steps."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from pipeline.report.figures import plot_figure3, plot_training_curves  # noqa: E402


def test_figure3_with_all_zero_accuracies_has_no_negative_axis():
    table = pd.DataFrame({"trained on text": [0.0, 0.0], "SE (text)": [0.0, 0.0],
                          "trained on letter": [0.0, 0.0], "SE (letter)": [0.0, 0.0]},
                         index=["mmlu_pro, text", "mmlu_pro, letter"])
    fig = plot_figure3(table)
    bottom, top = fig.axes[0].get_ylim()
    plt.close(fig)
    assert bottom == 0 and top >= 5


def test_training_curves_of_three_steps_are_labelled_with_whole_steps():
    curves = {"joint": pd.DataFrame({"step": [1, 2, 3], "math": [0.0, 0.5, 1.0]})}
    fig = plot_training_curves(curves)
    fig.canvas.draw()
    ticks = fig.axes[0].get_xticks()
    plt.close(fig)
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
