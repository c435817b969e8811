"""Tests for rl_softmax.plotting.tabular: what is drawn equals independent NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.quiver import Quiver
from scipy import stats as scipy_stats

from rl_softmax import plotting
from rl_softmax.engine import MetricResult, SweepResult

VALUES = (0.0, 0.25, 1.0, 4.0, math.inf)
REFERENCES = {"greedy (τ = 0)": 0.0, "uniform (τ = ∞)": math.inf}
CELLS = ["SFFF", "FHFH", "FFFH", "HFFG"]
MOVES = [[0, -1], [1, 0], [0, 1], [-1, 0]]  # left, down, right, up
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_layout(cells=CELLS, *, seed=0) -> dict:
    """A FrozenLake-like layout with random values and greedy actions."""
    rng = np.random.default_rng(seed)
    rows, cols = len(cells), len(cells[0])
    terminal = np.array([c in "HG" for c in "".join(cells)])
    values = np.where(terminal, 0.0, rng.uniform(0.0, 1.0, rows * cols))
    return {
        "shape": [rows, cols],
        "cells": list(cells),
        "state_values": values.tolist(),
        "greedy": rng.integers(0, 4, rows * cols).tolist(),
        "moves": MOVES,
        "action_names": ["left", "down", "right", "up"],
        "terminal": terminal.tolist(),
    }


def make_tabular(
    values=VALUES, num_seeds=5, num_episodes=40, *, short=True, visits=True, seed=0
) -> SweepResult:
    """A grid-world study: return and success per episode, ``episode_returns`` with
    some runs stopping early (``short``), ``visits`` over 16 states; the return
    peaks at ``values[2]``."""
    rng = np.random.default_rng(seed)
    num_values, num_windows = len(values), 8
    runs, curves = (num_values, num_seeds), (num_values, num_windows)
    peak = -np.abs(np.arange(num_values) - 2)[:, None].astype(np.float64)

    def per_episode(x):
        ones = np.ones(runs, np.float32)
        return MetricResult(
            run_mean=x.astype(np.float32), run_final=x.astype(np.float32),
            curve_mean=rng.normal(size=curves), curve_sem=np.full(curves, 0.1),
            run_weight=ones, final_weight=ones,
        )  # fmt: skip

    def per_run(x):
        mean = np.nanmean(x.astype(np.float64), axis=1)[:, None]
        return MetricResult(x, x, mean, np.zeros_like(mean))

    returns = rng.normal(np.linspace(0, 1, num_episodes), 0.5, (*runs, num_episodes))
    if short and num_values >= 4:
        returns[1, :2, 30:] = np.nan  # two runs at 1/4 stop after 30 episodes
        returns[3, 0, 35:] = np.nan  # one run at 4 after 35
    metrics = {
        "return": per_episode(peak + rng.normal(0, 0.05, runs)),
        "success": per_episode(rng.uniform(size=runs)),
        "episode_returns": per_run(returns.astype(np.float32)),
    }
    if visits:
        counts = rng.integers(0, 50, (*runs, 16)).astype(np.float32)
        counts[..., 5] = 0  # a hole never entered
        metrics["visits"] = per_run(counts)
    return SweepResult(
        values=np.asarray(values, np.float32),
        seeds=np.arange(num_seeds),
        steps=np.arange(1, num_windows + 1) * 25,
        final_steps=25,
        metrics=metrics,
    )


def episode_runs(result: SweepResult) -> np.ndarray:
    return np.asarray(result.metrics["episode_returns"].run_mean, np.float64)


def mean_ci_loop(runs: np.ndarray):
    """``[S, N]`` -> mean and t sem over the non-NaN runs, episode by episode (no
    interval from one run)."""
    means, halves = [], []
    for column in runs.T:
        x = column[~np.isnan(column)]
        means.append(x.mean() if x.size else np.nan)
        t = scipy_stats.t.ppf(0.975, x.size - 1) if x.size > 1 else np.nan
        halves.append(t * x.std(ddof=1) / np.sqrt(x.size) if x.size > 1 else np.nan)
    return np.array(means), np.array(halves)


def moving_average_loop(runs: np.ndarray, window: int) -> np.ndarray:
    out = np.full(runs.shape, np.nan)
    for s, run in enumerate(runs):
        for k in range(run.size):
            chunk = run[max(0, k - window + 1) : k + 1]
            if not np.isnan(chunk).any():
                out[s, k] = chunk.mean()
    return out


def labelled(ax) -> dict:
    return {line.get_label(): line for line in ax.lines}


def band_limits(collection: PolyCollection) -> tuple[np.ndarray, np.ndarray]:
    """``(x, low, high)`` of a ``fill_between`` band (one polygon, no NaN)."""
    vertices = collection.get_paths()[0].vertices
    x = np.unique(vertices[:, 0])
    low = np.array([vertices[vertices[:, 0] == xi, 1].min() for xi in x])
    high = np.array([vertices[vertices[:, 0] == xi, 1].max() for xi in x])
    return x, low, high


# ----------------------------------------------------------------- episode returns


def test_episode_lines_are_means_over_the_runs_that_reached_each_episode():
    result = make_tabular()
    fig = plotting.plot_episode_returns(
        result, label="Sarsa", param="τ", values=[0.25, 4.0]
    )
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    (ax,) = fig.axes
    lines = labelled(ax)
    assert list(lines) == ["τ = 1/4", "τ = 4"]
    runs = episode_runs(result)
    for (name, line), i, band in zip(
        lines.items(), (1, 3), ax.collections, strict=True
    ):
        mean, half = mean_ci_loop(runs[i])
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 41))
        np.testing.assert_allclose(line.get_ydata(), mean, rtol=1e-10, err_msg=name)
        x, low, high = band_limits(band)
        np.testing.assert_array_equal(x, np.arange(1, 41))
        np.testing.assert_allclose(low, mean - half, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(high, mean + half, rtol=1e-10, atol=1e-12)
    # Past episode 30 only 3 of the 5 runs at 1/4 are averaged.
    np.testing.assert_allclose(
        lines["τ = 1/4"].get_ydata()[30], runs[1, 2:, 30].mean(), rtol=1e-10
    )
    assert ax.get_xlabel() == "episode" and ax.get_ylabel() == "episode return"
    assert ax.get_xlim() == (1, 40)
    title = ax.get_title().replace("\n", " ")
    assert "3 of 5 runs reached episode 40 at τ = 1/4, 4 of 5 at τ = 4" in title


def test_episode_returns_smoothing_is_a_trailing_moving_average_per_run():
    result = make_tabular()
    fig = plotting.plot_episode_returns(
        result, label="Sarsa", param="τ", values=[0.25], smooth=4
    )
    (ax,) = fig.axes
    (line,) = ax.lines
    smoothed = moving_average_loop(episode_runs(result)[1], 4)
    mean, half = mean_ci_loop(smoothed)
    np.testing.assert_allclose(line.get_ydata(), mean, rtol=1e-10)
    _, low, high = band_limits(ax.collections[0])
    np.testing.assert_allclose(high - low, 2 * half, rtol=1e-8, atol=1e-12)
    # The first points average fewer episodes: episode 1 is each run's first return.
    np.testing.assert_allclose(
        line.get_ydata()[0], episode_runs(result)[1, :, 0].mean(), rtol=1e-10
    )
    assert "moving average over 4 episodes" in ax.get_ylabel()
    assert "3 of 5 runs reached episode 40" in ax.get_title().replace("\n", " ")


def test_episode_returns_without_missing_runs_have_no_note():
    result = make_tabular(short=False)
    fig = plotting.plot_episode_returns(result, label="Q-learning", param="τ")
    (ax,) = fig.axes
    assert "reached" not in ax.get_title()
    # Default selection: the positive finite values, the best marked.
    assert list(labelled(ax)) == ["τ = 1/4", "τ = 1 (best)", "τ = 4"]


def test_episodes_no_run_reached_are_not_drawn():
    result = make_tabular()
    runs = result.metrics["episode_returns"].run_mean
    runs[2, :, 25:] = np.nan  # every run at tau = 1 stops after 25 episodes
    runs[1, 2:, 32:] = np.nan  # and the other three at 1/4 after 32
    fig = plotting.plot_episode_returns(
        result, label="s", param="τ", values=[0.25, 1.0]
    )
    (ax,) = fig.axes
    lines = labelled(ax)
    assert np.isnan(lines["τ = 1"].get_ydata()[25:]).all()
    assert np.isfinite(lines["τ = 1"].get_ydata()[:25]).all()
    assert ax.get_xlim() == (1, 32)  # the last episode any run reached
    assert "3 of 5 runs reached episode 32 at τ = 1/4, 0 of 5 at τ = 1" in (
        ax.get_title().replace("\n", " ")
    )


def test_episode_returns_references_are_dashed_extra_lines():
    result = make_tabular()
    fig = plotting.plot_episode_returns(
        result, label="s", param="τ", values=[1.0], references=REFERENCES
    )
    (ax,) = fig.axes
    lines = labelled(ax)
    assert list(lines) == ["τ = 1", *REFERENCES]
    runs = episode_runs(result)
    mean, _ = mean_ci_loop(runs[4])
    np.testing.assert_allclose(lines["uniform (τ = ∞)"].get_ydata(), mean, rtol=1e-10)
    assert lines["greedy (τ = 0)"].get_linestyle() == "--"


def test_episode_returns_checks_its_arguments():
    result = make_tabular()
    with pytest.raises(ValueError, match="smooth=0"):
        plotting.plot_episode_returns(result, label="s", param="τ", smooth=0)
    with pytest.raises(ValueError, match="not among the swept values"):
        plotting.plot_episode_returns(result, label="s", param="τ", values=[3.0])
    metrics = {k: v for k, v in result.metrics.items() if k != "episode_returns"}
    with pytest.raises(ValueError, match="episode_returns"):
        plotting.plot_episode_returns(
            result._replace(metrics=metrics), label="s", param="τ"
        )


# -------------------------------------------------------------------------- maps


def test_value_map_image_is_v_star_with_one_greedy_arrow_per_active_state():
    layout = make_layout()
    fig = plotting.plot_value_map(layout)
    ax = fig.axes[0]
    (image,) = ax.images
    np.testing.assert_array_equal(
        image.get_array(), np.reshape(layout["state_values"], (4, 4))
    )
    (quiver,) = [c for c in ax.collections if isinstance(c, Quiver)]
    terminal = np.asarray(layout["terminal"])
    active = np.flatnonzero(~terminal)
    assert quiver.N == active.size == 11  # 16 cells, 4 holes, 1 goal
    np.testing.assert_array_equal(
        quiver.get_offsets(), np.column_stack([active % 4, active // 4])
    )
    moves = np.asarray(MOVES, np.float64)[np.asarray(layout["greedy"])[active]]
    # Arrows in data coordinates (row down = +1, as in the image): u = dcol.
    assert quiver.angles == "xy"
    np.testing.assert_allclose(np.column_stack([quiver.V, quiver.U]), 0.6 * moves)
    assert image.colorbar.ax.get_ylabel() == "V*(s)"
    letters = [t.get_text() for t in ax.texts]
    assert letters == list("".join(CELLS))
    assert ax.get_xlabel() == "S start, F safe, H hole, G goal"


def test_value_map_without_cells_and_on_a_wide_grid():
    layout = make_layout(["F" * 12] * 3 + ["S" + "C" * 10 + "G"])
    layout["cells"] = None
    fig = plotting.plot_value_map(layout, title="Cliff walking")
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape == (4, 12)
    assert not ax.texts and ax.get_title() == "Cliff walking"
    (quiver,) = [c for c in ax.collections if isinstance(c, Quiver)]
    num_arrows = quiver.N
    assert num_arrows == 48 - sum(layout["terminal"])


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("shape", [4], "shape"),
        ("cells", ["SF", "FG"], "cells"),
        ("state_values", [0.0] * 15, "state_values"),
        ("greedy", [7] * 16, "greedy"),
        ("moves", [0, 1, 2, 3], "moves"),
    ],
)
def test_value_map_rejects_a_malformed_layout(key, value, match):
    layout = make_layout()
    layout[key] = value
    with pytest.raises(ValueError, match=match):
        plotting.plot_value_map(layout)


def test_visits_are_fractions_of_steps_on_one_log_scale():
    layout = make_layout()
    rng = np.random.default_rng(3)
    few = rng.integers(1, 10, 16).astype(np.float64)
    many = rng.integers(0, 1000, 16).astype(np.float64)
    many[[5, 7]] = 0.0
    fig = plotting.plot_visits(
        layout, {"τ = 1/256": few, "τ = 4": many}, title="visits"
    )
    panels = fig.axes[:2]
    assert [ax.get_title() for ax in panels] == ["τ = 1/256", "τ = 4"]
    for ax, visits in zip(panels, (few, many), strict=True):
        (image,) = ax.images
        shown = image.get_array()
        expected = (visits / visits.sum()).reshape(4, 4)
        np.testing.assert_allclose(shown.filled(np.nan), np.where(
            expected > 0, expected, np.nan
        ))  # fmt: skip
        assert [t.get_text() for t in ax.texts] == list("".join(CELLS))
    assert panels[1].images[0].get_array().mask.sum() == 2  # never visited: grey
    norms = [ax.images[0].norm for ax in panels]
    assert norms[0] is norms[1]  # one scale for both panels
    both = np.concatenate([few / few.sum(), many / many.sum()])
    assert norms[0].vmax == pytest.approx(both.max())
    assert norms[0].vmin == pytest.approx(both[both > 0].min())
    assert "log scale" in panels[1].images[0].colorbar.ax.get_xlabel()
    assert fig.get_suptitle() == "visits"


def test_visits_check_the_number_of_states():
    with pytest.raises(ValueError, match="expected \\[16\\]"):
        plotting.plot_visits(make_layout(), {"a": np.ones(15)})
    with pytest.raises(ValueError, match="empty"):
        plotting.plot_visits(make_layout(), {})


# ---------------------------------------------------------------- draw_experiment


COMMON = ["sweep.png", "curves_return.png", "curves_success.png"]


def test_draw_experiment_adds_episode_figures_without_a_layout(
    tmp_path, recorded_figures
):
    figures = recorded_figures  # recorded, not rendered
    studies = {"sarsa": make_tabular(), "bandit_like": make_tabular(seed=1)}
    metrics = studies["bandit_like"].metrics
    del metrics["episode_returns"]
    metadata = {"studies": {}, "env": {"id": "Taxi-v4"}}
    paths = plotting.draw_experiment(tmp_path, studies, metadata)
    assert [p.name for p in paths] == (
        [f"sarsa_{kind}" for kind in [*COMMON, "episodes.png"]]
        + [f"bandit_like_{kind}" for kind in COMMON]
        + ["parameter_study.png"]
    )  # visits, but no layout: no map
    # 40 episodes: not smoothed.
    assert figures["sarsa_episodes.png"].axes[0].get_ylabel() == "episode return"


def test_draw_experiment_draws_the_maps_with_a_layout(tmp_path, recorded_figures):
    figures = recorded_figures  # recorded, not rendered
    study = make_tabular(num_episodes=200)
    layout = make_layout()
    metadata = {
        "env": {"layout": layout},
        "studies": {
            "sarsa": {"label": "Sarsa", "param_symbol": "τ", "references": REFERENCES}
        },
    }
    paths = plotting.draw_experiment(tmp_path, {"sarsa": study}, metadata)
    assert [p.name for p in paths] == ["value_map.png"] + [
        f"sarsa_{kind}" for kind in [*COMMON, "episodes.png", "visits.png"]
    ]
    episodes = figures["sarsa_episodes.png"].axes[0]
    assert "moving average over 4 episodes" in episodes.get_ylabel()  # 200 // 50
    assert set(REFERENCES) <= set(labelled(episodes))
    value_map = figures["value_map.png"].axes[0]
    np.testing.assert_array_equal(
        value_map.images[0].get_array(), np.reshape(layout["state_values"], (4, 4))
    )
    # Visits at the lowest and highest positive finite values, mean over seeds.
    visits = figures["sarsa_visits.png"]
    panels = visits.axes[:2]
    assert [ax.get_title() for ax in panels] == ["τ = 1/4", "τ = 4"]
    counts = np.asarray(study.metrics["visits"].run_mean, np.float64)
    for ax, i in zip(panels, (1, 3), strict=True):
        mean = counts[i].mean(axis=0)
        expected = (mean / mean.sum()).reshape(4, 4)
        np.testing.assert_allclose(
            ax.images[0].get_array().filled(0.0), expected, rtol=1e-6
        )
    assert visits.get_suptitle().startswith("Sarsa")


def test_draw_experiment_with_one_positive_value_draws_one_visits_panel(
    tmp_path, recorded_figures
):
    figures = recorded_figures  # recorded, not rendered
    study = make_tabular(values=(0.0, 0.5, math.inf))
    plotting.draw_experiment(
        tmp_path, {"s": study}, {"env": {"layout": make_layout()}, "studies": {}}
    )
    visits = figures["s_visits.png"]
    panels = [ax for ax in visits.axes if ax.images]
    assert [ax.get_title() for ax in panels] == ["value = 1/2"]


def test_draw_experiment_renders_the_tabular_figures(tmp_path):
    study = make_tabular(values=(0.25, 1.0), num_seeds=3, num_episodes=20)
    metadata = {"env": {"layout": make_layout()}, "studies": {}}
    paths = plotting.draw_experiment(tmp_path, {"s": study}, metadata)
    names = [p.name for p in paths]
    assert names[0] == "value_map.png" and names[-2:] == [
        "s_episodes.png",
        "s_visits.png",
    ]
    for path in (paths[0], *paths[-2:]):
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE and len(data) > 10_000


def test_first_episodes_far_below_the_rest_are_clipped_with_a_note():
    result = make_tabular(short=False)
    runs = result.metrics["episode_returns"].run_mean
    runs[:, :, :2] = -500.0  # cliff walking: the first episodes wander for hundreds
    fig = plotting.plot_episode_returns(result, label="Sarsa", param="τ")
    (ax,) = fig.axes
    low, high = ax.get_ylim()
    later = np.nanmean(runs[:, :, 4:].astype(np.float64), axis=1)
    assert -500 < low <= later.min() and high >= later.max()
    notes = [t.get_text() for t in ax.texts if "below the axis" in t.get_text()]
    assert notes == ["first episodes below the axis (lowest mean -500)"]
    unclipped = plotting.plot_episode_returns(
        make_tabular(short=False), label="Sarsa", param="τ"
    )
    assert not [t for t in unclipped.axes[0].texts if "below" in t.get_text()]


def test_visits_colour_bar_labels_never_overlap():
    """Shares within a decade had every minor tick labelled ("3x10^-2 4x10^-2" ran
    into each other); the labels are now at most 1, 2 and 5 per decade, apart."""
    layout = make_layout()
    visits = np.linspace(1.0, 5.0, 16)  # shares 1/48 to 5/48: within a decade
    fig = plotting.plot_visits(layout, {"τ = 1": visits}, title="visits")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    bar = fig.axes[0].images[0].colorbar
    low, high = bar.ax.get_xlim()
    labels = [
        t for t in bar.ax.xaxis.get_ticklabels(which="both")
        if t.get_text() and t.get_visible() and low <= t.get_position()[0] <= high
    ]  # fmt: skip
    assert len(labels) >= 2
    boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.x0)
    for left, right in zip(boxes, boxes[1:], strict=False):
        assert left.x1 < right.x0, [t.get_text() for t in labels]
