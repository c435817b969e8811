"""Studies of two parameters swept together: a heat map of a product grid (the
classic parameter-study figure, e.g. temperature x step size), a scatter of a list
of pairs that is not one.

The colour is the headline metric (:func:`rl_softmax.experiment.stats.objective`,
as in the sweep figures) averaged over seeds, over the final steps by default; the
best setting (:func:`rl_softmax.experiment.stats.best_setting` on the same metric
and window) is marked. An axis whose values are positive and span more than a
decade is logarithmic (cells log-spaced), else linear; values that cannot sit on
either (``inf``) get equal cells labelled with their values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from rl_softmax.engine.sweep import SweepResult
from rl_softmax.experiment import stats
from rl_softmax.plotting.style import (
    _check_metric,
    _diverged_text,
    _format_value,
    _is_power_of_two,
    _metric_label,
    _new_figure,
    _num_steps,
    _scale,
    _title,
    _window_text,
)

__all__ = ["HeatmapCells", "heatmap_cells", "plot_joint_study"]

# Past this many cells a heat map's numbers would not fit in them.
MAX_ANNOTATED_CELLS = 64
# An axis spanning more than this ratio is logarithmic.
_LOG_SPAN = 10.0
_MAX_TICKS = 8
_COLORMAP = "viridis"


class HeatmapCells(NamedTuple):
    """A two-parameter study's seed means on its product grid.

    Attributes:
      x: ``[nx]`` the first parameter's values, ascending.
      y: ``[ny]`` the second parameter's values, ascending.
      mean: ``[ny, nx]`` the metric's mean over seeds at ``(x[j], y[i])`` (as in
        ``summary.csv``, unscaled; NaN where undefined).
      index: ``[ny, nx]`` the index of each cell's setting in ``result.values``.
      metric: the metric.
      window: ``"all"`` or ``"final"``.
    """

    x: np.ndarray
    y: np.ndarray
    mean: np.ndarray
    index: np.ndarray
    metric: str
    window: str


def _product_grid(values: np.ndarray):
    """``(x, y, index [ny, nx])`` if the pairs ``values`` ``[V, 2]`` are each
    combination of their distinct firsts and seconds exactly once, else None."""
    if values.ndim != 2 or values.shape[1] != 2:
        return None
    x, col = np.unique(values[:, 0], return_inverse=True)
    y, row = np.unique(values[:, 1], return_inverse=True)
    if x.size * y.size != len(values):
        return None
    index = np.full((y.size, x.size), -1)
    index[row, col] = np.arange(len(values))
    return (x, y, index) if (index >= 0).all() else None


def heatmap_cells(
    result: SweepResult, *, metric: str | None = None, window: str = "final"
) -> HeatmapCells | None:
    """The cells of a two-parameter study's heat map.

    Args:
      result: a study sweeping two parameters together (values ``[V, 2]``).
      metric: the metric (default :func:`rl_softmax.experiment.stats.objective`).
      window: ``"final"`` (the final steps) or ``"all"``.

    Returns:
      the :class:`HeatmapCells`, or None if the values are not a product grid.
    """
    metric = stats.objective(result) if metric is None else metric
    _check_metric(result, metric)
    grid = _product_grid(np.asarray(result.values, np.float64))
    if grid is None:
        return None
    x, y, index = grid
    mean = stats.seed_stats(result, metric, window)[0]
    return HeatmapCells(x, y, mean[index], index, metric, window)


def _axis_kind(values: np.ndarray) -> str:
    """``"log"``, ``"linear"`` or ``"index"`` (equal cells, for ``inf``)."""
    if not np.isfinite(values).all():
        return "index"
    if (values > 0).all() and values.max() / values.min() > _LOG_SPAN:
        return "log"
    return "linear"


def _edges(values: np.ndarray, kind: str) -> np.ndarray:
    """``[n + 1]`` cell edges around ``values`` (ascending): midpoints, in log
    space on a log axis; the end cells as wide as their neighbours."""
    if kind == "index":
        return np.arange(values.size + 1) - 0.5
    points = np.log(values) if kind == "log" else values.astype(np.float64)
    if points.size == 1:
        half = 0.5 if kind == "log" else max(abs(points[0]) * 0.5, 0.5)
        edges = np.array([points[0] - half, points[0] + half])
    else:
        middle = (points[1:] + points[:-1]) / 2
        first = points[0] - (middle[0] - points[0])
        last = points[-1] + (points[-1] - middle[-1])
        edges = np.concatenate([[first], middle, [last]])
    return np.exp(edges) if kind == "log" else edges


def _positions(values: np.ndarray, kind: str) -> np.ndarray:
    return np.arange(values.size, dtype=np.float64) if kind == "index" else values


def _set_axis(ax: Axes, which: str, values: np.ndarray, kind: str, label: str):
    """Scale, ticks at the values (at most :data:`_MAX_TICKS` labelled), label."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    if kind == "log":
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    fractions = bool(_is_power_of_two(values).all())
    stride = max(1, -(-values.size // _MAX_TICKS))
    shown = np.arange(values.size)[::stride]
    axis.set_major_locator(ticker.FixedLocator(_positions(values, kind)[shown]))
    axis.set_major_formatter(
        ticker.FixedFormatter(
            [_format_value(v, fractions=fractions) for v in values[shown]]
        )
    )
    axis.set_minor_locator(ticker.NullLocator())
    scale = " (log scale)" if kind == "log" else ""
    (ax.set_xlabel if which == "x" else ax.set_ylabel)(f"{label}{scale}")


def _annotate(ax: Axes, cells: HeatmapCells, shown: np.ndarray, mesh, kinds) -> None:
    """Each cell's mean, in black or white as its colour is light or dark."""
    cmap, norm = mesh.get_cmap(), mesh.norm
    xs, ys = _positions(cells.x, kinds[0]), _positions(cells.y, kinds[1])
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            value = shown[i, j]
            if not np.isfinite(value):
                continue
            r, g, b, _ = cmap(norm(value))
            light = 0.299 * r + 0.587 * g + 0.114 * b > 0.5
            ax.text(
                x, y, f"{value:.3g}", ha="center", va="center", fontsize=7,
                color="black" if light else "white",
            )  # fmt: skip


def _best_text(best, symbols, axes_values) -> str:
    if best is None:
        return "no defined mean"
    setting = ", ".join(
        f"{s} = {_format_value(v, fractions=bool(_is_power_of_two(a).all()))}"
        for s, v, a in zip(symbols, best.value, axes_values, strict=True)
    )
    return f"best {setting} (outlined)"


def plot_joint_study(
    result: SweepResult,
    *,
    label: str,
    symbols: Sequence[str],
    axis_labels: Sequence[str] | None = None,
    metric: str | None = None,
    window: str = "final",
) -> Figure:
    """A two-parameter study: a heat map of a product grid, else a scatter.

    The heat map has the first parameter on x, the second on y, one cell per
    setting coloured by the seed mean of ``metric`` (annotated with it when there
    are at most :data:`MAX_ANNOTATED_CELLS` cells); a scatter of pairs that are not
    a product grid has one point per pair, coloured the same way. The best
    setting is outlined (its cell, or a ring around its point). The drawn array
    is the figure's ``QuadMesh`` (``fig.axes[0].collections[0].get_array()``,
    rows the second parameter) or the scatter's colours, in plotted units
    (``%`` for a percentage).

    Args:
      result: a study sweeping two parameters together (values ``[V, 2]``).
      label: the study's label.
      symbols: the two parameters' symbols (``("τ", "α")``).
      axis_labels: their axis labels (default ``symbols``).
      metric: the metric (default :func:`rl_softmax.experiment.stats.objective`).
      window: ``"final"`` (the final steps) or ``"all"``.

    Returns:
      the figure.
    """
    values = np.asarray(result.values, np.float64)
    if values.ndim != 2 or values.shape[1] != 2 or len(symbols) != 2:
        raise ValueError(
            f"values of shape {values.shape} and symbols {list(symbols)}: expected a "
            "study of two parameters swept together (values [V, 2], two symbols)."
        )
    if window not in stats.WINDOWS:
        raise ValueError(f"window={window!r}: expected one of {stats.WINDOWS}.")
    axis_labels = tuple(axis_labels or symbols)
    metric = stats.objective(result) if metric is None else metric
    cells = heatmap_cells(result, metric=metric, window=window)
    best = stats.best_setting(result, metric=metric, window=window)
    scale = _scale(metric)
    fig, (ax,) = _new_figure()
    ax.grid(False)
    if cells is not None:
        kinds = (_axis_kind(cells.x), _axis_kind(cells.y))
        shown = cells.mean * scale
        mesh = ax.pcolormesh(
            _edges(cells.x, kinds[0]), _edges(cells.y, kinds[1]),
            np.ma.masked_invalid(shown), cmap=_COLORMAP, shading="flat",
        )  # fmt: skip
        if shown.size <= MAX_ANNOTATED_CELLS:
            _annotate(ax, cells, shown, mesh, kinds)
        axes_values = (cells.x, cells.y)
        if best is not None:  # its cell outlined, its number left readable
            i, j = np.argwhere(cells.index == best.index)[0]
            x_edges, y_edges = _edges(cells.x, kinds[0]), _edges(cells.y, kinds[1])
            ax.add_patch(
                Rectangle(
                    (x_edges[j], y_edges[i]), x_edges[j + 1] - x_edges[j],
                    y_edges[i + 1] - y_edges[i], fill=False, edgecolor="#D55E00",
                    linewidth=2.5, zorder=4, label="best",
                )
            )  # fmt: skip
    else:
        kinds = (
            _axis_kind(np.unique(values[:, 0])),
            _axis_kind(np.unique(values[:, 1])),
        )
        axes_values = (np.unique(values[:, 0]), np.unique(values[:, 1]))
        points = [
            np.searchsorted(v, values[:, k]) if kind == "index" else values[:, k]
            for k, (v, kind) in enumerate(zip(axes_values, kinds, strict=True))
        ]
        mean = stats.seed_stats(result, metric, window)[0] * scale
        mesh = ax.scatter(
            *points, c=mean, cmap=_COLORMAP, s=60, edgecolors="0.3", linewidths=0.5,
            plotnonfinite=True,
        )  # fmt: skip
        ax.margins(0.08)  # points at the ends stay clear of the axes
        if best is not None:
            ax.plot(
                points[0][best.index], points[1][best.index], marker="o",
                markersize=13, fillstyle="none", markeredgecolor="#D55E00",
                markeredgewidth=2.5, linestyle="none", zorder=5, label="best",
            )  # fmt: skip
    for which, v, kind, text in zip("xy", axes_values, kinds, axis_labels, strict=True):
        _set_axis(ax, which, v, kind, text)
    reported = result.metrics
    window_text = _window_text(result, window)
    fig.colorbar(mesh, ax=ax, label=f"{_metric_label(metric, reported)}")
    details = (
        f"{np.asarray(result.seeds).size} runs × {_num_steps(result)} steps, "
        f"{window_text}; {_best_text(best, symbols, axes_values)}"
        f"{_diverged_text(result)}"
    )
    fig.suptitle(_title(label, details, int(11 * fig.get_figwidth())))
    return fig
