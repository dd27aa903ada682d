"""The headline claims' relative gain and its paired standard error, pinned on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.analysis.headline import relative_gain


def test_the_paper_table1_averages_give_its_headline_figures():
    """Table 1's domain averages (CL, JT, MM) as constant per-prompt results: the gains are the abstract's 6.2%
    and 12.4%."""
    cl, jt, mm = [60.4, 52.2, 35.4, 84.2], [54.8, 48.8, 32.1, 83.0], [54.8, 49.8, 34.4, 67.5]

    def results(averages):
        return {d: np.full(3, v / 100) for d, v in zip("MQCW", averages)}

    gain_jt, se_jt = relative_gain(results(cl), results(jt))
    gain_mm, _ = relative_gain(results(cl), results(mm))
    assert round(100 * gain_jt, 1) == 6.2 and round(100 * gain_mm, 1) == 12.4
    assert se_jt == pytest.approx(0.0)  # no spread across prompts: no uncertainty


def test_relative_gain_and_its_paired_standard_error_on_a_hand_computed_case():
    """A = (0.5 + 0.75)/2 = 0.625, B = (0.25 + 0.5)/2 = 0.375, g = 2/3, R = 5/3. d₁ = a − R·b = (−2/3, 1, 0, 0):
    s² = 17/36; d₂ = (−2/3, −2/3, 1, 0): s² = 67/108; SE = sqrt((17/36)/4 + (67/108)/4) / (2 · 0.375)
    = sqrt(59/216) / 0.75."""
    a = {"x": np.array([1, 1, 0, 0.]), "y": np.array([1, 1, 1, 0.])}
    b = {"x": np.array([1, 0, 0, 0.]), "y": np.array([1, 1, 0, 0.])}
    gain, se = relative_gain(a, b)
    assert gain == pytest.approx(2 / 3)
    assert se == pytest.approx(np.sqrt(59 / 216) / 0.75)


def test_pairing_matters_the_same_results_shuffled_give_another_error():
    rng = np.random.default_rng(0)
    a = {"x": rng.integers(0, 2, 200).astype(float)}
    b = {"x": np.clip(a["x"] - (rng.random(200) < 0.1), 0, 1)}  # b mostly agrees with a, prompt by prompt
    paired = relative_gain(a, b)[1]
    unpaired = relative_gain(a, {"x": rng.permutation(b["x"])})[1]
    assert paired < unpaired / 2


def test_results_that_cannot_be_paired_are_refused():
    with pytest.raises(ValueError, match="different tasks"):
        relative_gain({"x": np.ones(3)}, {"y": np.ones(3)})
    with pytest.raises(ValueError, match="task x: paired results need the same prompts"):
        relative_gain({"x": np.ones(3)}, {"x": np.ones(4)})
    with pytest.raises(ValueError, match="average is 0"):
        relative_gain({"x": np.ones(3)}, {"x": np.zeros(3)})
