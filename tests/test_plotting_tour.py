"""Tests for rl_softmax.plotting.tour: what the tour's figures draw equals NumPy."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from matplotlib.figure import Figure

from rl_softmax import plotting, tour

Z = np.array([2.0, 4.0, 2.0, 1.0])


def _boltzmann(z, tau):
    """``[T, K]`` softmax of ``z`` at each ``tau`` (negative ``tau`` allowed)."""
    scaled = np.asarray(z, np.float64)[None, :] / np.asarray(tau)[:, None]
    e = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _lines(ax) -> dict:
    return {line.get_label(): line for line in ax.lines}


def test_max_entropy_frontier_is_the_boltzmann_family_and_tops_every_sample():
    fig = plotting.plot_max_entropy(jax.random.key(0), Z, 1.0, num_samples=500)
    assert isinstance(fig, Figure)
    cloud_ax, hist_ax = fig.axes[:2]
    lines = _lines(cloud_ax)
    for label, sign in (("softmax(z / τ), τ > 0", 1), ("softmax(z / τ), τ < 0", -1)):
        expected_value, entropy = lines[label].get_data()
        taus = np.geomspace(1e-2, 1e3, 400).astype(np.float32) * sign
        p = _boltzmann(Z, taus)
        np.testing.assert_allclose(expected_value, p @ Z, atol=1e-5)
        np.testing.assert_allclose(entropy, -(p * np.log(p)).sum(axis=1), atol=1e-5)
    (mean,), (entropy,) = lines["softmax(z), τ = 1"].get_data()
    p = _boltzmann(Z, [1.0])[0]
    assert mean == pytest.approx(p @ Z, abs=1e-5)
    assert entropy == pytest.approx(-(p * np.log(p)).sum(), abs=1e-6)
    slope_x, slope_y = lines["slope dH/dE = −1/τ = −1"].get_data()
    assert np.diff(slope_y) / np.diff(slope_x) == pytest.approx(-1.0)
    cloud, same = cloud_ax.collections[:2]
    assert len(cloud.get_offsets()) == len(same.get_offsets()) == 500
    np.testing.assert_allclose(same.get_offsets()[:, 0], mean, rtol=1e-6)
    assert same.get_offsets()[:, 1].max() <= entropy + 1e-5
    assert cloud.get_offsets()[:, 1].max() <= math.log(4) + 1e-6
    assert sum(patch.get_height() for patch in hist_ax.patches) == 500


@pytest.mark.parametrize("tau", [0.0, -1.0, math.inf])
def test_max_entropy_rejects_a_temperature_that_is_not_positive_and_finite(tau):
    with pytest.raises(ValueError, match="tau"):
        plotting.plot_max_entropy(jax.random.key(0), Z, tau)


def test_linear_vs_softmax_lines_equal_numpy_with_a_gap_at_the_pole():
    fig = plotting.plot_linear_vs_softmax(Z)
    (ax,) = fig.axes
    lines = _lines(ax)
    p = _boltzmann(Z, [1.0])[0]
    for value, action, times in ((4.0, 1, ""), (2.0, 0, " (×2)"), (1.0, 3, "")):
        shift, linear = lines[f"z = {value:g}{times}: (z + c) / Σ(z + c)"].get_data()
        drawn = np.isfinite(linear)
        expected = (value + shift) / (Z.sum() + 4 * np.where(drawn, shift, 0.0))
        np.testing.assert_allclose(linear[drawn], expected[drawn], rtol=1e-4)
        assert shift[~drawn].tolist() == [-2.25]  # the lines break at the pole
        _, soft = lines[f"z = {value:g}{times}: softmax(z + c)"].get_data()
        np.testing.assert_allclose(soft, p[action], atol=1e-6)
    assert len(ax.lines) == 2 * 3 + 1  # one pair per distinct value, and the pole
    assert (-2.25, -2.25) in {tuple(line.get_xdata()) for line in ax.lines}


def test_cross_entropy_gradients_equal_the_two_class_closed_forms():
    margins = np.linspace(-8.0, 8.0, 17)
    fig = plotting.plot_cross_entropy_gradients(margins, start=-4.0, num_steps=20)
    size_ax, curve_ax = fig.axes[:2]
    s = 1 / (1 + np.exp(-margins))  # probability of the correct class
    lines = _lines(size_ax)
    np.testing.assert_allclose(
        lines["cross-entropy"].get_ydata(), math.sqrt(2) * (1 - s), rtol=1e-4
    )
    np.testing.assert_allclose(
        lines["squared error"].get_ydata(), 2 * math.sqrt(2) * s * (1 - s) ** 2,
        rtol=1e-3, atol=1e-12,
    )  # fmt: skip
    assert size_ax.get_yscale() == "log"
    descent = tour.descent_on_two_classes(-4.0, num_steps=20)
    for line, name in zip(curve_ax.lines, tour.LOSSES, strict=True):
        np.testing.assert_array_equal(line.get_xdata(), descent.steps)
        np.testing.assert_allclose(line.get_ydata(), descent.prob_correct[name])


def test_tour_figures_are_the_pages_four():
    names = [name for name, _ in plotting.tour_figures(jax.random.key(0), Z)]
    assert names == [
        "probs_vs_tau.png", "max_entropy.png", "linear_vs_softmax.png",
        "cross_entropy_gradients.png",
    ]  # fmt: skip


@pytest.mark.parametrize("logits", [[1.0], [[1.0, 2.0]], [1.0, math.inf]])
def test_tour_figures_reject_logits_that_are_not_a_finite_vector(logits):
    with pytest.raises(ValueError, match="logits"):
        next(plotting.tour_figures(jax.random.key(0), logits))
