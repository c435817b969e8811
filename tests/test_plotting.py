"""Tests for rl_softmax.plotting: what is drawn equals independent computations."""

from __future__ import annotations

import io
import math
import os
import warnings

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from rl_softmax import plotting
from rl_softmax.sweep import METRICS, Metrics, SweepResult

VALUES = (0.0, 0.25, 1.0, 4.0, math.inf)
REFERENCES = {"greedy (τ = 0)": 0.0, "uniform (τ = ∞)": math.inf}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_result(
    values=VALUES, num_seeds=5, num_windows=50, *, best=2, nan_metric="entropy", seed=0
) -> SweepResult:
    """Synthetic sweep: reward peaks at ``values[best]``; ``nan_metric`` undefined."""
    rng = np.random.default_rng(seed)
    num_values = len(values)
    peak = -np.abs(np.arange(num_values) - best)[:, None].astype(np.float64)

    def metrics(shape, dtype, offset):
        arrays = {m: rng.normal(1.0, 0.2, size=shape).astype(dtype) for m in METRICS}
        arrays["reward"] = (offset + rng.normal(0, 0.05, size=shape)).astype(dtype)
        arrays["optimal"] = rng.uniform(size=shape).astype(dtype)
        if nan_metric is not None:
            arrays[nan_metric][...] = np.nan
        return Metrics(**arrays)

    runs = (num_values, num_seeds)
    curves = (num_values, num_windows)
    return SweepResult(
        values=np.asarray(values, np.float32),
        seeds=np.arange(num_seeds, dtype=np.int64),
        steps=np.arange(1, num_windows + 1, dtype=np.int64),
        run_mean=metrics(runs, np.float32, peak),
        run_final=metrics(runs, np.float32, peak),
        curve_mean=metrics(curves, np.float64, peak),
        curve_std=Metrics(*(rng.uniform(0.1, 0.3, size=curves) for _ in METRICS)),
        curves=None,
        final_steps=10,
    )


def labelled(ax) -> dict:
    return {line.get_label(): line for line in ax.lines}


def numpy_softmax(logits, tau):
    z = np.asarray(logits, np.float64)[None, :] / np.asarray(tau, np.float64)[:, None]
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def seed_mean_ci(samples):
    x = np.asarray(samples, np.float64)
    return x.mean(axis=1), 1.96 * x.std(axis=1, ddof=1) / np.sqrt(x.shape[1])


def band_y_range(collection: PolyCollection) -> tuple[float, float]:
    y = collection.get_paths()[0].vertices[:, 1]
    return float(np.nanmin(y)), float(np.nanmax(y))


# ----------------------------------------------------------------- probs vs tau


def test_probs_vs_tau_lines_equal_numpy_softmax():
    fig = plotting.plot_probs_vs_tau()
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    (ax,) = fig.axes
    logits = [2.0, 4.0, 2.0, 1.0]
    prob_lines = [line for line in ax.lines if line.get_label().startswith("z = ")]
    assert len(prob_lines) == 4
    for k, line in enumerate(prob_lines):
        taus = np.asarray(line.get_xdata())
        assert taus.size == 400 and taus.min() == pytest.approx(1e-2, rel=1e-6)
        assert taus.max() == pytest.approx(1e2, rel=1e-6)
        expected = numpy_softmax(logits, taus)[:, k]
        np.testing.assert_allclose(line.get_ydata(), expected, atol=2e-6)
    lines = labelled(ax)
    np.testing.assert_array_equal(
        lines["uniform limit (τ → ∞)"].get_ydata(), [0.25] * 2
    )
    greedy = lines["greedy limit (τ = 0)"]
    np.testing.assert_array_equal(greedy.get_ydata(), [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(greedy.get_xdata(), 1e-2, rtol=1e-6)
    assert ax.get_xscale() == "log"
    assert "τ" in ax.get_xlabel() and "probability" in ax.get_ylabel()
    # The two z = 2 curves coincide: they must differ in style and in label.
    tied = [line for line in prob_lines if line.get_label().startswith("z = 2 ")]
    assert len(tied) == 2
    assert tied[0].get_linestyle() != tied[1].get_linestyle()
    assert tied[0].get_label() != tied[1].get_label()
    assert ax.get_legend() is not None


def test_probs_vs_tau_custom_logits_and_ties_in_greedy_limit():
    fig = plotting.plot_probs_vs_tau([0.0, 3.0, 3.0], taus=[10.0, 0.1, 1.0])
    (ax,) = fig.axes
    lines = labelled(ax)
    prob_lines = [line for line in ax.lines if line.get_label().startswith("z = ")]
    assert len(prob_lines) == 3
    # Sorted, and exactly the (float32) temperatures the probabilities were taken at.
    taus = np.float32([0.1, 1.0, 10.0]).astype(np.float64)
    np.testing.assert_array_equal(prob_lines[0].get_xdata(), taus)
    expected = numpy_softmax([0.0, 3.0, 3.0], taus)
    for k, line in enumerate(prob_lines):
        np.testing.assert_allclose(line.get_ydata(), expected[:, k], atol=2e-6)
    np.testing.assert_allclose(lines["uniform limit (τ → ∞)"].get_ydata(), 1 / 3)
    np.testing.assert_array_equal(
        lines["greedy limit (τ = 0)"].get_ydata(), [0.0, 0.5, 0.5]
    )


@pytest.mark.parametrize("taus", [[0.0, 1.0], [1.0], [1.0, math.inf]])
def test_probs_vs_tau_rejects_taus_off_a_log_axis(taus):
    with pytest.raises(ValueError, match="taus"):
        plotting.plot_probs_vs_tau(taus=taus)


# ------------------------------------------------------------------------ sweep


@pytest.mark.parametrize("window", ["all", "final"])
def test_sweep_curve_and_references_equal_seed_statistics(window):
    result = make_result()
    fig = plotting.plot_sweep(
        result, label="softmax", param="tau", references=REFERENCES, window=window
    )
    assert len(fig.axes) == 2
    group = result.run_mean if window == "all" else result.run_final
    for ax, metric, scale in zip(
        fig.axes, ("reward", "optimal"), (1, 100), strict=True
    ):
        mean, half = seed_mean_ci(getattr(group, metric))
        mean, half = mean * scale, half * scale
        lines = labelled(ax)
        curve = lines["softmax (mean, 95% CI)"]
        # 0 and inf are references: off the log axis, drawn as horizontal lines.
        np.testing.assert_array_equal(curve.get_xdata(), [0.25, 1.0, 4.0])
        np.testing.assert_allclose(curve.get_ydata(), mean[1:4], rtol=1e-12)
        low, high = band_y_range(ax.collections[0])
        assert low == pytest.approx((mean - half)[1:4].min(), rel=1e-12)
        assert high == pytest.approx((mean + half)[1:4].max(), rel=1e-12)
        for ref_label, index in (("greedy (τ = 0)", 0), ("uniform (τ = ∞)", 4)):
            ref = lines[ref_label]
            assert ref.get_linestyle() == "--"
            np.testing.assert_allclose(ref.get_ydata(), [mean[index]] * 2, rtol=1e-12)
        assert ax.get_xscale() == "log"
        assert ax.xaxis.get_transform().base == 2
        assert ax.xaxis.get_major_formatter()(0.25, 0) == "1/4"
        assert ax.get_xlabel() == "temperature τ (log scale)"
    assert fig.axes[0].get_ylabel() == "average reward"
    assert fig.axes[1].get_ylabel() == "% optimal action"
    title = fig.get_suptitle()
    assert "softmax" in title and "5 runs × 50 steps" in title
    assert ("last 10 steps" in title) == (window == "final")
    assert len(fig.legends) == 1
    legend_labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_labels == ["softmax (mean, 95% CI)", *REFERENCES]


def test_sweep_drops_unreferenced_zero_and_inf_and_labels_each_metric():
    result = make_result(nan_metric=None)
    metrics = ("regret", "entropy", "prob_optimal")
    fig = plotting.plot_sweep(result, label="x", param="epsilon", metrics=metrics)
    assert len(fig.axes) == 3
    ylabels = [ax.get_ylabel() for ax in fig.axes]
    assert ylabels == [
        "regret per step",
        "policy entropy (nats)",
        "P(optimal action) (%)",
    ]
    for ax in fig.axes:
        (curve,) = ax.lines  # no references: one line per panel
        np.testing.assert_array_equal(curve.get_xdata(), [0.25, 1.0, 4.0])
        assert ax.get_xlabel() == "exploration probability ε (log scale)"
    expected = seed_mean_ci(result.run_mean.prob_optimal)[0][1:4] * 100
    np.testing.assert_allclose(fig.axes[2].lines[0].get_ydata(), expected, rtol=1e-12)


def test_sweep_takes_a_positive_reference_off_the_curve():
    result = make_result()
    fig = plotting.plot_sweep(
        result, label="s", param="epsilon", references={"uniform (ε = 1)": 1.0}
    )
    for ax, scale in zip(fig.axes, (1, 100), strict=True):
        lines = labelled(ax)
        np.testing.assert_array_equal(
            lines["s (mean, 95% CI)"].get_xdata(), [0.25, 4.0]
        )
        metric = "reward" if scale == 1 else "optimal"
        mean = seed_mean_ci(getattr(result.run_mean, metric))[0][2] * scale
        np.testing.assert_allclose(lines["uniform (ε = 1)"].get_ydata(), [mean] * 2)


def test_sweep_draws_unsorted_values_in_order():
    result = make_result(values=(4.0, 0.25, 1.0, 0.5))
    fig = plotting.plot_sweep(result, label="s", param="tau", metrics=("reward",))
    curve = fig.axes[0].lines[0]
    np.testing.assert_array_equal(curve.get_xdata(), [0.25, 0.5, 1.0, 4.0])
    expected = seed_mean_ci(result.run_mean.reward)[0][[1, 3, 2, 0]]
    np.testing.assert_allclose(curve.get_ydata(), expected, rtol=1e-12)


def test_sweep_uses_base_10_for_values_that_are_not_powers_of_two():
    result = make_result(values=(0.01, 0.03, 0.1, 0.3, 1.0))
    fig = plotting.plot_sweep(result, label="ucb", param="c", metrics=("reward",))
    (ax,) = fig.axes
    assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 10
    assert ax.get_xlabel() == "exploration coefficient c (log scale)"


@pytest.mark.parametrize("values", [VALUES, (0.0, 0.01, 0.1, 0.3, math.inf)])
def test_sweep_of_undefined_metric_draws_no_warnings_and_says_so(values):
    result = make_result(values=values, nan_metric="entropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plotting.plot_sweep(
            result, label="ucb", param="c", references=REFERENCES, metrics=["entropy"]
        )
        fig.savefig(io.BytesIO(), format="png")  # renders: locators, limits, text
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["not defined for this agent"]
    assert list(fig.axes[0].get_yticks()) == []


def test_sweep_rejects_unknown_reference_metric_and_window():
    result = make_result()
    with pytest.raises(ValueError, match="not among the swept values"):
        plotting.plot_sweep(result, label="s", param="tau", references={"x": 0.5})
    with pytest.raises(ValueError, match="metric"):
        plotting.plot_sweep(result, label="s", param="tau", metrics=("rewards",))
    with pytest.raises(ValueError, match="window"):
        plotting.plot_sweep(result, label="s", param="tau", window="last")


# --------------------------------------------------------------- learning curves


def test_learning_curves_default_selection_includes_best_and_skips_limits():
    values = tuple(2.0 ** np.arange(-4, 4)) + (0.0, math.inf)  # 8 positive values
    result = make_result(values=values, best=5)  # best: tau = 2
    fig = plotting.plot_learning_curves(
        result, label="softmax", param="tau", max_lines=3
    )
    assert len(fig.axes) == 1
    (ax,) = fig.axes
    labels = [line.get_label() for line in ax.lines]
    assert len(labels) == 3
    assert "τ = 2 (best)" in labels
    assert not any("∞" in label or label == "τ = 0" for label in labels)
    assert "τ = 1/16" in labels  # the spread starts at the smallest value
    assert ax.get_xlabel() == "steps" and ax.get_ylabel() == "% optimal action"


def test_learning_curves_lines_and_bands_equal_curve_statistics():
    result = make_result()
    fig = plotting.plot_learning_curves(
        result, label="softmax", param="tau", metric="reward", values=[0.25, math.inf]
    )
    (ax,) = fig.axes
    lines = labelled(ax)
    assert set(lines) == {"τ = 1/4", "τ = ∞"}
    for (label, line), i in zip(lines.items(), (1, 4), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), result.steps)
        np.testing.assert_allclose(line.get_ydata(), result.curve_mean.reward[i])
        half = 1.96 * result.curve_std.reward[i] / np.sqrt(5)
        collection = ax.collections[list(lines).index(label)]
        low, high = band_y_range(collection)
        assert low == pytest.approx((result.curve_mean.reward[i] - half).min())
        assert high == pytest.approx((result.curve_mean.reward[i] + half).max())
    assert ax.get_ylabel() == "average reward"


def test_learning_curves_draw_references_as_dashed_curves():
    result = make_result()
    fig = plotting.plot_learning_curves(
        result, label="softmax", param="tau", references=REFERENCES
    )
    lines = labelled(fig.axes[0])
    assert set(REFERENCES) <= set(lines)
    greedy = lines["greedy (τ = 0)"]
    assert greedy.get_linestyle() == "--"
    np.testing.assert_allclose(greedy.get_ydata(), 100 * result.curve_mean.optimal[0])
    assert {"τ = 1/4", "τ = 1 (best)", "τ = 4"} <= set(lines)


def test_learning_curves_reject_unknown_value():
    with pytest.raises(ValueError, match="not among the swept values"):
        plotting.plot_learning_curves(make_result(), label="s", param="tau", values=[3])


# --------------------------------------------------------------- parameter study


def test_parameter_study_puts_every_study_on_one_log2_axis():
    soft = make_result()
    eps = make_result(values=(0.0, 1 / 128, 1 / 16, 0.1), best=2, seed=1)
    fig = plotting.plot_parameter_study(
        {"softmax": (soft, "softmax", "tau"), "eps": (eps, "ε-greedy", "epsilon")}
    )
    assert len(fig.axes) == 1
    (ax,) = fig.axes
    lines = labelled(ax)
    assert list(lines) == ["softmax (τ)", "ε-greedy"]  # the label names its ε
    np.testing.assert_array_equal(lines["softmax (τ)"].get_xdata(), [0.25, 1.0, 4.0])
    np.testing.assert_allclose(
        lines["ε-greedy"].get_xdata(), np.float32([1 / 128, 1 / 16, 0.1])
    )
    expected = seed_mean_ci(eps.run_mean.reward)[0][1:]
    np.testing.assert_allclose(lines["ε-greedy"].get_ydata(), expected, rtol=1e-12)
    assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2
    ticks = [ax.xaxis.get_major_formatter()(t, 0) for t in ax.get_xticks()]
    assert ticks[:3] == ["1/128", "1/64", "1/32"] and ticks[-1] == "4"
    assert ax.get_xlabel() == "parameter value (τ, ε)"
    assert ax.get_ylabel() == "average reward over first 50 steps"


# ------------------------------------------------------------------------ on disk


def test_draw_experiment_writes_valid_pngs(tmp_path):
    studies = {"softmax": make_result(), "eps": make_result(seed=1, nan_metric=None)}
    metadata = {
        "config": {},
        "studies": {
            "softmax": {"label": "softmax", "param": "tau", "references": REFERENCES},
            "eps": {"label": "ε-greedy", "param": "epsilon", "references": {}},
        },
    }
    paths = plotting.draw_experiment(tmp_path, studies, metadata)
    names = sorted(path.name for path in paths)
    assert names == sorted(
        [
            f"{s}_{kind}.png"
            for s in studies
            for kind in ("sweep", "curves", "curves_reward")
        ]
        + ["parameter_study.png"]
    )
    for path in paths:
        assert path.parent == tmp_path / "plots"
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE
        assert len(data) > 10_000
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == names


def test_draw_experiment_with_one_study_has_no_parameter_study(tmp_path, monkeypatch):
    monkeypatch.setattr(plotting, "save_figure", lambda fig, path: path)  # no render
    paths = plotting.draw_experiment(tmp_path, {"s": make_result()}, {"studies": {}})
    assert [p.name for p in paths] == [
        "s_sweep.png",
        "s_curves.png",
        "s_curves_reward.png",
    ]


def small_figure(y) -> Figure:
    fig = Figure(figsize=(2, 2), dpi=50)
    fig.subplots().plot([0, 1], y)
    return fig


def test_save_figure_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "fig.png"
    plotting.save_figure(small_figure([0, 1]), path)
    before = path.read_bytes()
    assert before[:8] == PNG_SIGNATURE

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        plotting.save_figure(small_figure([1, 0]), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]
