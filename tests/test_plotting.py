"""Tests for rl_softmax.plotting: what is drawn equals independent computations."""

from __future__ import annotations

import io
import math
import os
import warnings

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from scipy import stats as scipy_stats

from rl_softmax import plotting
from rl_softmax.engine import METRICS, MetricResult, SweepResult
from rl_softmax.plotting import anneal, sweeps

VALUES = (0.0, 0.25, 1.0, 4.0, math.inf)
REFERENCES = {"greedy (τ = 0)": 0.0, "uniform (τ = ∞)": math.inf}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BANDIT = ("reward", "optimal", "regret", "entropy", "prob_optimal", "tau")
EPISODIC = ("return", "length", "success")


def make_result(
    values=VALUES,
    num_seeds=5,
    num_windows=50,
    *,
    best=2,
    nan_metric="entropy",
    names=BANDIT,
    seed=0,
) -> SweepResult:
    """Synthetic sweep: the objective (reward or return) peaks at ``values[best]``;
    ``nan_metric`` undefined; per-episode metrics weighted by episode counts."""
    rng = np.random.default_rng(seed)
    num_values = len(values)
    peak = -np.abs(np.arange(num_values) - best)[:, None].astype(np.float64)

    def field(shape, dtype, name):
        if name in ("reward", "return"):
            x = peak + rng.normal(0, 0.05, size=shape)
        elif METRICS[name].scale == 100:  # fractions
            x = rng.uniform(size=shape)
        else:
            x = rng.normal(1.0, 0.2, size=shape)
        x = x.astype(dtype)
        if name == nan_metric:
            x[...] = np.nan
        return x

    runs = (num_values, num_seeds)
    curves = (num_values, num_windows)
    metrics = {}
    for name in names:
        weights = {}
        if METRICS[name].per_episode:
            weights = {
                k: rng.integers(1, 8, size=runs).astype(np.float32)
                for k in ("run_weight", "final_weight")
            }
        metrics[name] = MetricResult(
            run_mean=field(runs, np.float32, name),
            run_final=field(runs, np.float32, name),
            curve_mean=field(curves, np.float64, name),
            curve_sem=rng.uniform(0.05, 0.15, size=curves),
            **weights,
        )
    return SweepResult(
        values=np.asarray(values, np.float32),
        seeds=np.arange(num_seeds, dtype=np.int64),
        steps=np.arange(1, num_windows + 1, dtype=np.int64),
        final_steps=10,
        metrics=metrics,
    )


def make_episodic(**kwargs) -> SweepResult:
    """An episodic sweep: return, length, success; one run without an episode."""
    result = make_result(names=EPISODIC, nan_metric=None, **kwargs)
    for metric in result.metrics.values():
        metric.run_weight[1, 0] = 0.0
        metric.run_mean[1, 0] = np.nan
    return result


def field(result: SweepResult, metric: str, name: str) -> np.ndarray:
    return getattr(result.metrics[metric], name)


def labelled(ax) -> dict:
    return {line.get_label(): line for line in ax.lines}


def numpy_softmax(logits, tau):
    z = np.asarray(logits, np.float64)[None, :] / np.asarray(tau, np.float64)[:, None]
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def t95(n):
    """Student's t 97.5% quantile with ``n - 1`` degrees of freedom (SciPy)."""
    return scipy_stats.t.ppf(0.975, n - 1)


def seed_mean_ci(samples):
    """Per value: the mean over runs (NaN runs left out) and its t half width."""
    means, halves = [], []
    for x in np.asarray(samples, np.float64):
        x = x[~np.isnan(x)]
        means.append(x.mean())
        halves.append(t95(x.size) * x.std(ddof=1) / np.sqrt(x.size))
    return np.array(means), np.array(halves)


def pooled_mean(samples, weights):
    """Per value: the mean over all episodes of all runs (``sum w x / sum w``)."""
    means = []
    for x, w in zip(np.asarray(samples, np.float64), weights, strict=True):
        keep = np.asarray(w) > 0
        x, w = x[keep], np.asarray(w, np.float64)[keep]
        means.append(np.sum(w * x) / np.sum(w))
    return np.array(means)


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
        result, label="softmax", param="τ", param_label="temperature τ",
        references=REFERENCES, window=window,
    )  # fmt: skip
    assert len(fig.axes) == 2
    group = "run_mean" if window == "all" else "run_final"
    for ax, metric, scale in zip(
        fig.axes, ("reward", "optimal"), (1, 100), strict=True
    ):
        mean, half = seed_mean_ci(field(result, metric, group))
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
    fig = plotting.plot_sweep(
        result, label="x", param="ε", param_label="exploration probability ε",
        metrics=metrics,
    )  # fmt: skip
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
    expected = seed_mean_ci(field(result, "prob_optimal", "run_mean"))[0][1:4] * 100
    np.testing.assert_allclose(fig.axes[2].lines[0].get_ydata(), expected, rtol=1e-12)


def test_sweep_takes_a_positive_reference_off_the_curve():
    result = make_result()
    fig = plotting.plot_sweep(
        result, label="s", param="ε", references={"uniform (ε = 1)": 1.0}
    )
    for ax, scale in zip(fig.axes, (1, 100), strict=True):
        lines = labelled(ax)
        np.testing.assert_array_equal(
            lines["s (mean, 95% CI)"].get_xdata(), [0.25, 4.0]
        )
        metric = "reward" if scale == 1 else "optimal"
        mean = seed_mean_ci(field(result, metric, "run_mean"))[0][2] * scale
        np.testing.assert_allclose(lines["uniform (ε = 1)"].get_ydata(), [mean] * 2)


def test_sweep_draws_unsorted_values_in_order():
    result = make_result(values=(4.0, 0.25, 1.0, 0.5))
    fig = plotting.plot_sweep(result, label="s", param="τ", metrics=("reward",))
    curve = fig.axes[0].lines[0]
    np.testing.assert_array_equal(curve.get_xdata(), [0.25, 0.5, 1.0, 4.0])
    expected = seed_mean_ci(field(result, "reward", "run_mean"))[0][[1, 3, 2, 0]]
    np.testing.assert_allclose(curve.get_ydata(), expected, rtol=1e-12)


def test_sweep_uses_base_10_for_values_that_are_not_powers_of_two():
    result = make_result(values=(0.01, 0.03, 0.1, 0.3, 1.0))
    fig = plotting.plot_sweep(
        result, label="ucb", param="c", param_label="exploration coefficient c",
        metrics=("reward",),
    )  # fmt: skip
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
        plotting.plot_sweep(result, label="s", param="τ", references={"x": 0.5})
    with pytest.raises(ValueError, match="metric"):
        plotting.plot_sweep(result, label="s", param="τ", metrics=("rewards",))
    # A known metric this run does not define (a bandit has no episodes).
    with pytest.raises(ValueError, match="'return' is not in this result"):
        plotting.plot_sweep(result, label="s", param="τ", metrics=("return",))
    with pytest.raises(ValueError, match="metric"):
        plotting.plot_sweep(result, label="s", param="τ", metrics=())
    with pytest.raises(ValueError, match="window"):
        plotting.plot_sweep(result, label="s", param="τ", window="last")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (BANDIT, ("reward", "optimal")),
        (("reward",), ("reward",)),
        (EPISODIC, ("return", "success")),
        (("return", "length"), ("return", "length")),
        (("return",), ("return",)),
        (("reward", "optimal", *EPISODIC), ("return", "success")),
        (("reward", "optimal", "return", "length"), ("return", "optimal")),
    ],
)
def test_default_metrics_are_the_objective_and_how_often_it_does_well(names, expected):
    result = make_result(names=names, nan_metric=None)
    assert plotting.default_metrics(result) == expected
    fig = plotting.plot_sweep(result, label="s", param="τ")
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == [METRICS[name].label for name in expected]


def test_sweep_of_per_episode_metrics_averages_runs_not_episodes():
    result = make_episodic()
    fig = plotting.plot_sweep(
        result, label="Q-learning", param="α", param_label="step size α"
    )
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "episode return",
        "% successful episodes",
    ]
    for ax, metric, scale in zip(
        fig.axes, ("return", "success"), (1, 100), strict=True
    ):
        runs = result.metrics[metric]
        mean, half = seed_mean_ci(runs.run_mean)
        mean, half = mean * scale, half * scale
        (curve,) = ax.lines
        np.testing.assert_array_equal(curve.get_xdata(), [0.25, 1.0, 4.0])
        np.testing.assert_allclose(curve.get_ydata(), mean[1:4], rtol=1e-12)
        low, high = band_y_range(ax.collections[0])
        assert low == pytest.approx((mean - half)[1:4].min(), rel=1e-12)
        assert high == pytest.approx((mean + half)[1:4].max(), rel=1e-12)
        assert ax.get_xlabel() == "step size α (log scale)"
    # The estimand matters here: the pooled mean over all episodes differs.
    returns = result.metrics["return"]
    pooled = pooled_mean(returns.run_mean, returns.run_weight)
    assert not np.allclose(fig.axes[0].lines[0].get_ydata(), pooled[1:4])


def test_sweep_axis_label_defaults_to_the_symbol():
    fig = plotting.plot_sweep(make_result(), label="s", param="τ")
    assert [ax.get_xlabel() for ax in fig.axes] == ["τ (log scale)"] * 2


# --------------------------------------------------------------- learning curves


def test_learning_curves_default_selection_includes_best_and_skips_limits():
    values = tuple(2.0 ** np.arange(-4, 4)) + (0.0, math.inf)  # 8 positive values
    result = make_result(values=values, best=5)  # best: tau = 2
    fig = plotting.plot_learning_curves(result, label="softmax", param="τ", max_lines=3)
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
        result, label="softmax", param="τ", metric="reward", values=[0.25, math.inf]
    )
    (ax,) = fig.axes
    lines = labelled(ax)
    assert set(lines) == {"τ = 1/4", "τ = ∞"}
    curve_mean = field(result, "reward", "curve_mean")
    for (label, line), i in zip(lines.items(), (1, 4), strict=True):
        np.testing.assert_array_equal(line.get_xdata(), result.steps)
        np.testing.assert_allclose(line.get_ydata(), curve_mean[i])
        half = t95(5) * field(result, "reward", "curve_sem")[i]
        collection = ax.collections[list(lines).index(label)]
        low, high = band_y_range(collection)
        assert low == pytest.approx((curve_mean[i] - half).min())
        assert high == pytest.approx((curve_mean[i] + half).max())
    assert ax.get_ylabel() == "average reward"


def test_learning_curves_draw_references_as_dashed_curves():
    result = make_result()
    fig = plotting.plot_learning_curves(
        result, label="softmax", param="τ", references=REFERENCES
    )
    lines = labelled(fig.axes[0])
    assert set(REFERENCES) <= set(lines)
    greedy = lines["greedy (τ = 0)"]
    assert greedy.get_linestyle() == "--"
    expected = 100 * field(result, "optimal", "curve_mean")[0]
    np.testing.assert_allclose(greedy.get_ydata(), expected)
    assert {"τ = 1/4", "τ = 1 (best)", "τ = 4"} <= set(lines)


def test_learning_curves_of_an_episodic_study_mark_the_best_return():
    result = make_episodic(best=3)  # best return at value 4
    fig = plotting.plot_learning_curves(result, label="Q", param="α", metric="success")
    (ax,) = fig.axes
    lines = labelled(ax)
    assert list(lines) == ["α = 1/4", "α = 1", "α = 4 (best)"]
    np.testing.assert_allclose(
        lines["α = 4 (best)"].get_ydata(),
        100 * field(result, "success", "curve_mean")[3],
    )
    assert ax.get_ylabel() == "% successful episodes"
    # The default metric, % optimal action, needs action values: not defined here.
    with pytest.raises(ValueError, match="'optimal' is not in this result"):
        plotting.plot_learning_curves(result, label="Q", param="α")


def test_learning_curves_reject_unknown_value():
    with pytest.raises(ValueError, match="not among the swept values"):
        plotting.plot_learning_curves(make_result(), label="s", param="τ", values=[3])


# --------------------------------------------------------------- parameter study


def test_parameter_study_puts_every_study_on_one_log2_axis():
    soft = make_result()
    eps = make_result(values=(0.0, 1 / 128, 1 / 16, 0.1), best=2, seed=1)
    fig = plotting.plot_parameter_study(
        {"softmax": (soft, "softmax", "τ"), "eps": (eps, "ε-greedy", "ε")}
    )
    assert len(fig.axes) == 1
    (ax,) = fig.axes
    lines = labelled(ax)
    assert list(lines) == ["softmax (τ)", "ε-greedy"]  # the label names its ε
    np.testing.assert_array_equal(lines["softmax (τ)"].get_xdata(), [0.25, 1.0, 4.0])
    np.testing.assert_allclose(
        lines["ε-greedy"].get_xdata(), np.float32([1 / 128, 1 / 16, 0.1])
    )
    expected = seed_mean_ci(field(eps, "reward", "run_mean"))[0][1:]
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
            "softmax": {
                "label": "softmax",
                "param": "tau",
                "param_symbol": "τ",
                "param_label": "temperature τ",
                "references": REFERENCES,
            },
            "eps": {
                "label": "ε-greedy",
                "param": "epsilon",
                "param_symbol": "ε",
                "param_label": "exploration probability ε",
                "references": {},
            },
        },
    }
    paths = plotting.draw_experiment(tmp_path, studies, metadata)
    names = sorted(path.name for path in paths)
    assert names == sorted(
        [
            f"{s}_{kind}.png"
            for s in studies
            for kind in ("sweep", "curves_reward", "curves_optimal")
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
    monkeypatch.setattr(sweeps, "save_figure", lambda fig, path: path)  # no render
    paths = plotting.draw_experiment(tmp_path, {"s": make_result()}, {"studies": {}})
    assert [p.name for p in paths] == [
        "s_sweep.png",
        "s_curves_reward.png",
        "s_curves_optimal.png",
    ]
    assert not (tmp_path / "plots").exists()  # nothing rendered


def test_draw_experiment_labels_figures_from_the_metadata(tmp_path, recorded_figures):
    figures = recorded_figures  # recorded, not rendered
    studies = {"soft": make_result(), "eps": make_result(seed=1, nan_metric=None)}
    metadata = {
        "studies": {
            "soft": {
                "label": "softmax", "param": "tau", "param_symbol": "τ",
                "param_label": "temperature τ", "references": REFERENCES,
            },
            "eps": {"label": "ε-greedy", "param": "epsilon", "param_symbol": "ε"},
        },
    }  # fmt: skip
    plotting.draw_experiment(tmp_path, studies, metadata)
    sweep = figures["soft_sweep.png"]
    assert sweep.axes[0].get_xlabel() == "temperature τ (log scale)"
    assert "softmax" in sweep.get_suptitle()
    legend = [t.get_text() for t in sweep.legends[0].get_texts()]
    assert legend == ["softmax (mean, 95% CI)", *REFERENCES]
    curves = labelled(figures["soft_curves_optimal.png"].axes[0])
    assert {"τ = 1/4", "τ = 1 (best)", "τ = 4", *REFERENCES} == set(curves)
    # Without param_label the axis shows the symbol.
    assert figures["eps_sweep.png"].axes[0].get_xlabel() == "ε (log scale)"
    study = figures["parameter_study.png"].axes[0]
    assert list(labelled(study)) == ["softmax (τ)", "ε-greedy"]
    assert study.get_xlabel() == "parameter value (τ, ε)"
    assert study.get_ylabel() == "average reward over first 50 steps"


def test_draw_experiment_compares_studies_only_on_a_shared_objective(
    tmp_path, recorded_figures
):
    figures = recorded_figures  # recorded, not rendered
    mixed = {"bandit": make_result(), "maze": make_episodic()}
    paths = plotting.draw_experiment(tmp_path, mixed, {"studies": {}})
    assert [p.name for p in paths] == [
        "bandit_sweep.png",
        "bandit_curves_reward.png",
        "bandit_curves_optimal.png",
        "maze_sweep.png",
        "maze_curves_return.png",
        "maze_curves_success.png",
    ]  # reward and return are not on one axis: no parameter study
    figures.clear()
    episodic = {"a": make_episodic(), "b": make_episodic(seed=1)}
    paths = plotting.draw_experiment(tmp_path, episodic, {"studies": {}})
    assert paths[-1].name == "parameter_study.png" and len(paths) == 7
    study = figures["parameter_study.png"].axes[0]
    assert study.get_ylabel() == "episode return over first 50 steps"
    expected = seed_mean_ci(field(episodic["b"], "return", "run_mean"))[0]
    np.testing.assert_allclose(study.lines[1].get_ydata(), expected[1:4], rtol=1e-12)


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


def test_sweep_legend_fits_the_figure_width():
    # Three long entries do not fit in three columns: they must wrap, not be cut.
    result = make_result()
    fig = plotting.plot_sweep(
        result, label="Boltzmann, sample average", param="τ", references=REFERENCES
    )
    fig.draw_without_rendering()
    (legend,) = fig.legends
    box = legend.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width
    assert legend._ncols < 3


def test_sweep_labels_few_decimal_values_with_plain_ticks():
    result = make_result(values=(0.02, 0.05, 0.1, 0.2, 0.5))
    fig = plotting.plot_sweep(result, label="s", param="H")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.get_xticks(), np.float32([0.02, 0.05, 0.1, 0.2, 0.5]))
    formatter = ax.xaxis.get_major_formatter()
    assert [formatter(t, 0) for t in (0.05, 0.1)] == ["0.05", "0.1"]
    assert ax.xaxis.get_minor_formatter()(0.03, 0) == ""  # minor ticks unlabelled


# -------------------------------------------------------------- uniform to greedy

ANNEAL_VALUES = (0.125, 0.5, 2.0)


def make_anneal_result(
    num_actions=5, *, tau="schedule", with_probs=True, num_windows=30, num_seeds=4
) -> SweepResult:
    """Softmax over preferences that grow from 0 (uniform) with the arm's rank.

    Arms are ranked best first; ``tau`` is ``"schedule"`` (decaying, with the
    points a log axis cannot show: +inf, NaN, 0), ``"constant"`` or ``"nan"``.
    """
    base = make_result(
        values=ANNEAL_VALUES, num_seeds=num_seeds, num_windows=num_windows,
        best=1, nan_metric=None,
    )  # fmt: skip
    values = np.asarray(ANNEAL_VALUES)
    time = np.linspace(0.0, 1.0, num_windows)
    gaps = np.arange(num_actions, 0, -1, dtype=np.float64)  # best arm first
    logits = 4 * values[:, None, None] * time[None, :, None] * gaps
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    entropy = -(probs * np.log(probs)).sum(axis=-1)
    if tau == "schedule":
        tau_mean = values[:, None] * 0.01 ** time[None, :]
        tau_mean[0, 0] = np.inf  # a solved tau's first step: any tau is uniform
        tau_mean[1, 3], tau_mean[1, 4] = np.nan, 0.0
    elif tau == "constant":
        tau_mean = np.broadcast_to(values[:, None], entropy.shape).copy()
    else:
        tau_mean = np.full(entropy.shape, np.nan)
    metrics = dict(base.metrics)
    for name, curve in (
        ("entropy", entropy), ("prob_optimal", probs[..., 0]), ("tau", tau_mean),
    ):  # fmt: skip
        metrics[name] = metrics[name]._replace(curve_mean=curve)
    if with_probs:
        runs = np.repeat(probs.mean(axis=1)[:, None], num_seeds, axis=1)
        metrics["prob_by_rank"] = MetricResult(
            run_mean=runs.astype(np.float32),
            run_final=runs.astype(np.float32),
            curve_mean=probs,
            curve_sem=np.full(probs.shape, 0.01),
        )
    return base._replace(metrics=metrics)


def stack_top(collection) -> tuple[np.ndarray, np.ndarray]:
    """``(x, top)`` of a stacked area: the highest vertex at each x."""
    vertices = collection.get_paths()[0].vertices
    x = np.unique(vertices[:, 0])
    top = np.array([vertices[vertices[:, 0] == xi, 1].max() for xi in x])
    return x, top


def luminance(color) -> float:
    r, g, b = np.asarray(color)[..., :3].reshape(3)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_entropy_curves_draw_each_setting_between_log_k_and_zero():
    result = make_anneal_result(num_actions=5)
    fig = anneal.plot_entropy_curves(result, label="solved τ", param="τ")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    (ax,) = fig.axes
    lines = labelled(ax)
    assert list(lines) == [
        "τ = 1/8",
        "τ = 1/2 (best)",
        "τ = 2",
        "uniform, log K = 1.61",
        "greedy, 0",
    ]
    entropy = field(result, "entropy", "curve_mean")
    for i, name in enumerate(["τ = 1/8", "τ = 1/2 (best)", "τ = 2"]):
        np.testing.assert_array_equal(lines[name].get_xdata(), result.steps)
        np.testing.assert_allclose(lines[name].get_ydata(), entropy[i])
    # The band of the last setting: mean ± t sem, t for its 4 seeds.
    half = t95(4) * field(result, "entropy", "curve_sem")[2]
    low, high = band_y_range(ax.collections[2])
    assert low == pytest.approx((entropy[2] - half).min())
    assert high == pytest.approx((entropy[2] + half).max())
    np.testing.assert_allclose(lines["uniform, log K = 1.61"].get_ydata(), math.log(5))
    np.testing.assert_array_equal(lines["greedy, 0"].get_ydata(), [0.0, 0.0])
    low, high = ax.get_ylim()
    assert low < 0 and high > math.log(5)  # both limits inside the axes
    assert ax.get_ylabel() == "policy entropy (nats)" and ax.get_xlabel() == "steps"
    assert "K = 5 arms" in ax.get_title()
    assert len(fig.legends) == 1


def test_entropy_curves_infer_k_without_probs_and_check_a_given_k():
    result = make_anneal_result(num_actions=7, with_probs=False)
    fig = anneal.plot_entropy_curves(result, label="s", param="τ")
    uniform = [line for line in fig.axes[0].lines if line.get_label().startswith("u")]
    (line,) = uniform
    np.testing.assert_allclose(line.get_ydata(), math.log(7))
    fig = anneal.plot_entropy_curves(
        result, label="s", param="τ", values=[2.0], num_actions=9
    )
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["τ = 2", f"uniform, log K = {math.log(9):.2f}", "greedy, 0"]
    with pytest.raises(ValueError, match="num_actions=4 but"):
        anneal.plot_entropy_curves(
            make_anneal_result(num_actions=5), label="s", param="τ", num_actions=4
        )


def test_prob_optimal_curves_are_percent_between_one_over_k_and_100():
    result = make_anneal_result(num_actions=4)
    fig = anneal.plot_prob_optimal_curves(result, label="s", param="τ")
    (ax,) = fig.axes
    lines = labelled(ax)
    np.testing.assert_allclose(
        lines["τ = 1/2 (best)"].get_ydata(),
        100 * field(result, "prob_by_rank", "curve_mean")[1, :, 0],
    )
    np.testing.assert_allclose(lines["uniform, 1/K = 25%"].get_ydata(), 25.0)
    np.testing.assert_allclose(lines["greedy, 100%"].get_ydata(), 100.0)
    assert ax.get_ylabel() == "P(optimal action) (%)"
    assert ax.get_ylim() == (-3, 103)


def test_action_probs_stack_to_one_with_the_best_arm_darkest_at_the_bottom():
    result = make_anneal_result(num_actions=12)
    fig = anneal.plot_action_probs(result, label="s", param="τ")
    (ax,) = fig.axes
    areas = ax.collections
    assert len(areas) == 12
    probs = field(result, "prob_by_rank", "curve_mean")[1]  # default: the best
    for k, area in enumerate(areas):
        x, top = stack_top(area)
        np.testing.assert_array_equal(x, result.steps)
        np.testing.assert_allclose(top, probs[:, : k + 1].sum(axis=1), atol=1e-12)
    _, top = stack_top(areas[-1])
    np.testing.assert_allclose(top, 1.0, atol=1e-12)  # uniform at step 1 to greedy
    np.testing.assert_allclose(stack_top(areas[0])[1][0], 1 / 12)
    colors = [area.get_facecolor()[0] for area in areas]
    assert luminance(colors[0]) < luminance(colors[5]) < luminance(colors[-1])
    assert ax.get_ylim() == (0, 1) and ax.get_xlim() == (1, 30)
    assert "τ = 1/2 (best by mean reward)" in ax.get_title()
    (legend,) = fig.legends
    names = [t.get_text() for t in legend.get_texts()]
    assert names[0] == "worst arm" and names[-1] == "best arm"  # reads like the stack
    assert names[-4:] == ["4th", "3rd", "2nd", "best arm"]
    assert "11th" in names and len(names) == 12


def test_action_probs_of_a_chosen_value_many_arms_and_missing_probs():
    result = make_anneal_result(num_actions=20)
    fig = anneal.plot_action_probs(result, label="s", param="τ", value=2.0)
    ax = fig.axes[0]
    _, top = stack_top(ax.collections[0])
    np.testing.assert_allclose(
        top, field(result, "prob_by_rank", "curve_mean")[2, :, 0]
    )
    assert "(best" not in ax.get_title()
    # 20 arms: a colour bar (a second axes) instead of 20 legend entries.
    assert len(fig.axes) == 2 and not fig.legends
    with pytest.raises(ValueError, match="not among the swept values"):
        anneal.plot_action_probs(result, label="s", param="τ", value=3.0)
    with pytest.raises(ValueError, match="track_probs"):
        anneal.plot_action_probs(
            make_anneal_result(with_probs=False), label="s", param="τ"
        )


def test_temperature_panel_is_log_scale_without_non_finite_points():
    result = make_anneal_result(num_actions=5)
    fig = anneal.plot_temperature_and_entropy(result, label="s", param="τ")
    assert len(fig.axes) == 2
    ax_tau, ax_entropy = fig.axes
    assert ax_tau.get_yscale() == "log" and ax_entropy.get_yscale() == "linear"
    assert len(ax_tau.lines) == 3
    steps, tau = result.steps, field(result, "tau", "curve_mean")
    dropped = {0: [0], 1: [3, 4], 2: []}  # +inf; NaN and 0
    for i, line in enumerate(ax_tau.lines):
        keep = np.setdiff1d(np.arange(steps.size), dropped[i])
        np.testing.assert_array_equal(line.get_xdata(), steps[keep])
        np.testing.assert_allclose(line.get_ydata(), tau[i, keep])
        assert np.all(np.isfinite(line.get_ydata()) & (line.get_ydata() > 0))
    entropy_lines = labelled(ax_entropy)
    names = ["τ = 1/8", "τ = 1/2 (best)", "τ = 2"]
    for line, name in zip(ax_tau.lines, names, strict=True):  # one colour each
        np.testing.assert_array_equal(line.get_color(), entropy_lines[name].get_color())
    np.testing.assert_allclose(
        entropy_lines["uniform, log K = 1.61"].get_ydata(), math.log(5)
    )
    assert "greedy, 0" in entropy_lines
    assert "temperature τ" in ax_tau.get_ylabel() and "log" in ax_tau.get_ylabel()
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == list(entropy_lines)


def test_temperature_panel_without_a_temperature_says_so():
    result = make_anneal_result(tau="nan")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = anneal.plot_temperature_and_entropy(result, label="s", param="τ")
        fig.savefig(io.BytesIO(), format="png")
    ax_tau = fig.axes[0]
    assert ax_tau.get_yscale() == "linear"
    assert [t.get_text() for t in ax_tau.texts] == ["not defined for this agent"]


@pytest.mark.parametrize(
    ("tau", "expected"), [("schedule", True), ("constant", False), ("nan", False)]
)
def test_has_temperature_curve_only_for_a_changing_tau(tau, expected):
    result = make_anneal_result(tau=tau)
    assert anneal.has_temperature_curve(result) is expected


def test_without_tau_or_prob_by_rank_there_is_nothing_to_anneal():
    result = make_anneal_result(with_probs=False)
    metrics = {k: v for k, v in result.metrics.items() if k != "tau"}
    assert not anneal.has_temperature_curve(result._replace(metrics=metrics))
    with pytest.raises(ValueError, match="no prob_by_rank metric"):
        anneal.anneal_figures(result, label="s", param="τ")  # at the call


def test_has_temperature_curve_ignores_an_infinite_first_step():
    result = make_anneal_result(tau="constant")
    field(result, "tau", "curve_mean")[:, 0] = np.inf
    assert not anneal.has_temperature_curve(result)


def test_draw_experiment_adds_anneal_figures_only_with_prob_by_rank(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(sweeps, "save_figure", lambda fig, path: path)  # no render
    studies = {
        "solved": make_anneal_result(tau="schedule"),
        "fixed": make_anneal_result(tau="constant"),
        "plain": make_anneal_result(with_probs=False),
    }
    paths = plotting.draw_experiment(tmp_path, studies, {"studies": {}})
    names = [p.name for p in paths]
    common = ("sweep", "curves_reward", "curves_optimal")
    anneal = ("entropy", "prob_optimal", "action_probs")
    assert names == (
        [f"solved_{kind}.png" for kind in common + anneal + ("tau",)]
        + [f"fixed_{kind}.png" for kind in common + anneal]
        + [f"plain_{kind}.png" for kind in common]
        + ["parameter_study.png"]
    )


def test_draw_experiment_renders_the_anneal_figures(tmp_path):
    studies = {"solved": make_anneal_result()}
    metadata = {"studies": {"solved": {"label": "solved τ", "param_symbol": "τ"}}}
    paths = plotting.draw_experiment(tmp_path, studies, metadata)
    kinds = ["sweep", "curves_reward", "curves_optimal", "entropy", "prob_optimal"]
    kinds += ["action_probs", "tau"]
    assert [p.name for p in paths] == [f"solved_{kind}.png" for kind in kinds]
    for path in paths:
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 10_000


def test_default_metrics_skip_a_copy_of_the_objective_and_add_the_greedy_score():
    names = ("reward", "optimal", "return", "success", "length")
    result = make_result(names=names, nan_metric=None)
    metrics = dict(result.metrics)
    metrics["success"] = metrics["return"]  # FrozenLake: return 1 exactly on success
    metrics["greedy_success"] = metrics["reward"]
    result = result._replace(metrics=metrics)
    assert plotting.default_metrics(result) == ("return", "optimal", "greedy_success")


def _constant(result: SweepResult, metric: str, value: float) -> SweepResult:
    """``result`` with ``metric`` equal to ``value`` in every run."""
    old = result.metrics[metric]
    const = old._replace(
        run_mean=np.full_like(old.run_mean, value),
        run_final=np.full_like(old.run_final, value),
    )
    return result._replace(metrics={**result.metrics, metric: const})


def test_a_metric_constant_over_every_value_gets_no_panel_and_is_named():
    """A slippery CliffWalking sweep drew a flat 100% line of successful episodes
    (every episode reaches the goal) and a greedy-success axis of one value."""
    result = _constant(make_episodic(), "success", 1.0)
    greedy = result.metrics["return"]._replace(
        run_mean=np.ones_like(result.metrics["return"].run_mean),
        run_weight=None, final_weight=None,
    )  # fmt: skip
    result = result._replace(metrics={**result.metrics, "greedy_success": greedy})
    assert plotting.default_metrics(result) == ("return", "length")
    assert sweeps.constant_metrics(result) == ("success", "greedy_success")
    fig = plotting.plot_sweep(result, label="s", param="τ")
    assert [ax.get_ylabel() for ax in fig.axes] == [
        METRICS["return"].label, METRICS["length"].label,
    ]  # fmt: skip
    title = fig.get_suptitle().replace("\n", " ")
    assert "left out: % successful episodes (100 at every τ)" in title
    assert "% success of the final greedy policy (100 at every τ)" in title
    # a metric that moves, however little, keeps its panel
    moving = _constant(make_episodic(), "success", 1.0)
    moving.metrics["success"].run_mean[0, :] = 0.999
    assert plotting.default_metrics(moving) == ("return", "success")


def test_percent_axes_never_use_an_offset():
    """A greedy success of 100% less a hair read "+1e2" above ticks of -0.03 to
    0.01; the ticks are percentages."""
    result = make_episodic()
    runs = np.ones(result.metrics["success"].run_mean.shape, np.float32)
    runs[1, :] = 1.0 - 1e-4  # one value a hair below 100%, one of its seeds two
    runs[1, 0] = 1.0 - 2e-4
    near = result.metrics["success"]._replace(
        run_mean=runs, run_weight=None, final_weight=None
    )
    result = result._replace(metrics={**result.metrics, "greedy_success": near})
    fig = plotting.plot_sweep(
        result, label="s", param="τ", metrics=("return", "greedy_success")
    )
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[1]
    assert ax.yaxis.get_offset_text().get_text() == ""
    ticks = [float(t.get_text().replace("−", "-")) for t in ax.get_yticklabels()]
    low, high = ax.get_ylim()
    shown = [t for t in ticks if low <= t <= high]
    assert len(shown) >= 2 and all(99.9 < t < 100.1 for t in shown)  # percentages
