"""Figures of tabular (grid-world) experiments: returns per episode and maps.

:func:`plot_episode_returns` draws the return of each episode against its number
(the ``episode_returns`` metric), as Sutton & Barto (2018) do for Sarsa and
Q-learning (Sec. 6.4-6.5, Figures 6.3-6.4). On a grid world (the experiment's
``metadata["env"]["layout"]``, see below) :func:`plot_value_map` draws ``V*`` with a
greedy policy and :func:`plot_visits` where the runs spent their steps (the
``visits`` metric). :func:`tabular_figures` gives a study's figures by name; the
figures follow :mod:`rl_softmax.plotting.style` (README size, viridis for ordered
settings, 95% t bands over runs).

A ``layout`` is a mapping with ``"shape": [rows, cols]`` (state ``s`` is cell
``(s // cols, s % cols)``), ``"cells"``: one string of letters per row or None,
``"state_values"``: ``[S]`` ``V*(s)``, ``"greedy"``: ``[S]`` an optimal action per
state, ``"moves"``: ``[A, 2]`` each action's ``(drow, dcol)`` (row down is +1),
``"action_names"`` and ``"terminal"``: ``[S]`` states without an action.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rl_softmax.engine.sweep import SweepResult
from rl_softmax.experiment import stats
from rl_softmax.plotting.style import (
    FIGSIZE,
    _band,
    _check_metric,
    _metric_label,
    _new_figure,
    _ordered_colors,
    _reference_indices,
    _selection,
    _set_panel_title,
    _setting_label,
    _undefined_note,
    _uses_fractions,
)

__all__ = ["plot_episode_returns", "plot_value_map", "plot_visits", "tabular_figures"]

_CELL_NAMES = {"S": "start", "F": "safe", "H": "hole", "C": "cliff", "G": "goal"}
_ARROW = 0.6  # arrow length in cells
_NEVER = "0.85"  # colour of a state no run visited


# ------------------------------------------------------------------ episode returns


def _moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over the last ``window`` episodes (fewer at the start), along
    the last axis; NaN where any episode in the window is NaN (not reached)."""
    if window == 1:
        return x
    valid = ~np.isnan(x)
    sums = np.cumsum(np.where(valid, x, 0.0), axis=-1)
    missing = np.cumsum(~valid, axis=-1)

    def windowed(c):
        before = np.zeros_like(c)
        before[..., window:] = c[..., :-window]
        return c - before

    count = np.minimum(np.arange(x.shape[-1]) + 1, window)
    return np.where(windowed(missing) == 0, windowed(sums) / count, np.nan)


def _reached_note(reached: dict[str, int], num_runs: int, episode: int) -> str:
    """``"3 of 5 runs reached episode 200 at τ = 1/4, 4 of 5 at τ = 4"``."""
    short = {name: k for name, k in reached.items() if k < num_runs}
    if not short:
        return ""
    counts = set(short.values())
    if len(short) == len(reached) and len(counts) == 1:
        return f"{counts.pop()} of {num_runs} runs reached episode {episode}"
    parts = [f"{k} of {num_runs} at {name}" for name, k in short.items()]
    parts[0] = parts[0].replace(" at ", f" runs reached episode {episode} at ", 1)
    return ", ".join(parts)


def _clip_first_episodes(ax, means: np.ndarray) -> None:
    """Keeps the first episodes' returns (often 10-100 times the later ones, as on
    cliff walking) from flattening the curves: the y axis starts just below what
    the curves reach after their first tenth, and a note gives the lowest mean."""
    later = means[:, max(1, means.shape[1] // 10) :]
    if not np.isfinite(later).any() or not np.isfinite(means).any():
        return
    low, high = np.nanmin(later), np.nanmax(later)
    pad = 0.15 * max(high - low, abs(high) * 0.1, 1e-6)
    lowest = np.nanmin(means)
    if lowest < low - 2 * pad:
        ax.set_ylim(low - pad, high + pad)  # the margins would follow the outliers
        ax.text(
            0.99, 0.02, f"first episodes below the axis (lowest mean {lowest:.4g})",
            transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="0.35",
        )  # fmt: skip


def plot_episode_returns(
    result: SweepResult,
    *,
    label: str,
    param: str,
    values: Sequence[float] | None = None,
    references: Mapping[str, float] | None = None,
    max_lines: int = 6,
    smooth: int = 1,
) -> Figure:
    """Mean return of each episode against the episode number, one line per value.

    Each line is the mean over the runs that reached the episode, with its 95% t
    band over those runs; an episode no run reached is not drawn. When
    some runs stopped short of the last episode drawn, the title says how many
    reached it. Values are chosen as in
    :func:`~rl_softmax.plotting.plot_learning_curves`.

    Args:
      result: one study's results with the ``episode_returns`` metric.
      label: the study's label.
      param: the swept parameter's symbol (the legend reads ``τ = 1/4``).
      values: the swept values to draw; default up to ``max_lines`` positive,
        finite values spread over the sweep, with the best.
      references: ``{legend label: value}`` drawn as extra dashed lines.
      max_lines: the most default-selected values.
      smooth: each run's returns are first averaged over a trailing window of this
        many episodes (fewer for the first ones); 1 draws them as they are.

    Returns:
      the figure.
    """
    _check_metric(result, "episode_returns")
    if not isinstance(smooth, int) or isinstance(smooth, bool) or smooth < 1:
        raise ValueError(f"smooth={smooth!r}: expected an integer >= 1.")
    runs = np.asarray(result.metrics["episode_returns"].run_mean, np.float64)
    if runs.ndim != 3:
        raise ValueError(
            f"episode_returns has shape {runs.shape}: expected [values, seeds, N]."
        )
    ref_index = _reference_indices(result, references)
    chosen, best = _selection(result, values, max_lines, skip=set(ref_index.values()))
    mean, sem, n = stats.mean_sem(_moving_average(runs, smooth), axis=1)
    half = stats.half_width(sem, n)
    episodes = np.arange(1, runs.shape[-1] + 1, dtype=np.float64)
    swept = np.asarray(result.values, np.float64)
    fractions = _uses_fractions(result)
    drawn = {_setting_label(param, swept[i], fractions=fractions): i for i in chosen}
    fig, (ax,) = _new_figure()
    for color, i in zip(_ordered_colors(len(chosen)), chosen, strict=True):
        _band(
            ax, episodes, mean[i], half[i], color=color,
            label=_setting_label(param, swept[i], i == best, fractions=fractions),
            linewidth=1.7 if i == best else 1.1, zorder=3 if i == best else 2,
        )  # fmt: skip
    for j, (ref_label, i) in enumerate(ref_index.items()):
        drawn[ref_label] = i
        _band(
            ax, episodes, mean[i], half[i], color=("black", "0.45", "#D55E00")[j % 3],
            label=ref_label, linestyle="--", linewidth=1.1, alpha=0.12,
        )  # fmt: skip
    rows = list(drawn.values())
    _undefined_note(ax, mean[rows])
    defined = np.flatnonzero(np.isfinite(mean[rows]).any(axis=0))
    last = int(defined[-1]) + 1 if defined.size else runs.shape[-1]
    ax.set_xlim(1, max(last, 2))
    _clip_first_episodes(ax, mean[rows][:, :last])
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_xlabel("episode")
    ylabel = _metric_label("episode_returns")
    if smooth > 1:
        ylabel += f"\n(moving average over {smooth} episodes)"
    ax.set_ylabel(ylabel)
    num_runs = runs.shape[1]
    reached = {
        name: int((~np.isnan(runs[i, :, last - 1])).sum()) for name, i in drawn.items()
    }
    _set_panel_title(ax, label, f"{num_runs} runs, mean ± 95% CI")
    note = _reached_note(reached, num_runs, last)
    if note:
        note += " (each point averages the runs that reached it)"
        # No break inside "τ = 1/4": wrap with non-breaking spaces there.
        lines = textwrap.wrap(note.replace(" = ", "\xa0=\xa0"), 44)
        title = "\n".join([ax.get_title(), *lines]).replace("\xa0", " ")
        ax.set_title(title, fontsize=11)
    fig.legend(loc="outside right upper", fontsize=9, frameon=False)
    return fig


# ---------------------------------------------------------------------------- maps


def _grid(layout: Mapping) -> tuple[int, int, list[str] | None]:
    """``(rows, cols, cells)`` of a layout, checked."""
    shape = layout.get("shape")
    if (
        shape is None
        or len(shape) != 2
        or not all(int(n) == n and n >= 1 for n in shape)
    ):
        raise ValueError(f"layout['shape']={shape!r}: expected [rows, cols] >= 1.")
    rows, cols = int(shape[0]), int(shape[1])
    cells = layout.get("cells")
    if cells is not None and (
        len(cells) != rows or any(len(line) != cols for line in cells)
    ):
        raise ValueError(
            f"layout['cells']={cells!r}: expected {rows} strings of {cols} letters."
        )
    return rows, cols, cells


def _state_array(layout: Mapping, key: str, size: int, dtype) -> np.ndarray:
    x = np.asarray(layout.get(key), dtype)
    if x.shape != (size,):
        raise ValueError(
            f"layout[{key!r}] has shape {x.shape}: expected [{size}] (one per state)."
        )
    return x


def _map_figure(
    num_panels: int, rows: int, cols: int, *, colorbar: str
) -> tuple[Figure, list[Axes]]:
    """Panels of a grid and a colour bar (``"right"`` or ``"bottom"``), the figure
    sized to the grid's shape: titles, captions and the colour bar take fixed
    margins (inches) and the panels the rest."""
    fig, axes = _new_figure(num_panels)
    side, below = (1.2, 1.3) if colorbar == "right" else (0.3, 2.0)
    width = min(
        fig.get_figwidth(), num_panels * (FIGSIZE[1] - below) * cols / rows + side
    )
    width = max(width, 5.5)  # room for the title
    panel = (width - side) / num_panels
    height = min(max(panel * rows / cols + below, 2.6), FIGSIZE[1])
    fig.set_size_inches(width, height)
    return fig, axes


def _colorbar(fig: Figure, image, axes: list[Axes], label: str, location: str):
    """Right: as tall as the grid (not the taller box of an equal-aspect image),
    beside the last panel. Bottom: under all panels, where a long label fits."""
    if location == "right":
        cax = axes[-1].inset_axes([1.04, 0.0, 0.05, 1.0])
        return fig.colorbar(image, cax=cax, label=label)
    return fig.colorbar(
        image, ax=axes, location="bottom", shrink=0.7, aspect=30, label=label
    )


def _wrapped(fig: Figure, title: str) -> str:
    """``title`` on lines that fit the figure's width (about 10 characters an inch)."""
    return "\n".join(textwrap.wrap(title, int(10 * fig.get_figwidth())))


def _map_axes(ax: Axes, rows: int, cols: int) -> None:
    """No ticks; thin white lines between cells."""
    ax.spines[:].set_visible(False)
    ax.grid(False, which="major")
    ax.set_xticks(np.arange(cols + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(rows + 1) - 0.5, minor=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(True, which="minor", color="white", linewidth=0.8, alpha=1.0)
    ax.tick_params(which="both", length=0)


def _contrast(image) -> np.ndarray:
    """``[rows, cols]`` ``"white"`` on dark cells, ``"black"`` on light ones."""
    rgba = image.to_rgba(image.get_array())
    luminance = rgba[..., :3] @ np.array([0.2126, 0.7152, 0.0722])
    return np.where(luminance < 0.5, "white", "black")


def _draw_letters(ax: Axes, cells: list[str] | None, text_colors) -> None:
    """Each cell's letter, small, in its top left corner."""
    for r, line in enumerate(cells or ()):
        for c, letter in enumerate(line):
            ax.text(
                c - 0.42, r - 0.42, letter, ha="left", va="top", fontsize=7,
                color=text_colors[r, c], fontweight="bold",
            )  # fmt: skip


def _letters_caption(cells: list[str] | None) -> str:
    """``"S start, F safe, H hole, G goal"`` for the letters present."""
    letters = set("".join(cells or ()))
    return ", ".join(f"{k} {name}" for k, name in _CELL_NAMES.items() if k in letters)


def plot_value_map(
    layout: Mapping, *, title: str = "Optimal values V*(s) and a greedy policy"
) -> Figure:
    """``V*`` as a heat map over the grid, a greedy action as an arrow in each cell.

    Terminal cells get no arrow; with ``layout["cells"]`` each cell's letter is
    drawn small in its top left corner.

    Args:
      layout: the grid world's layout (see the module docstring).
      title: the figure's title.

    Returns:
      the figure.
    """
    rows, cols, cells = _grid(layout)
    size = rows * cols
    state_values = _state_array(layout, "state_values", size, np.float64)
    greedy = _state_array(layout, "greedy", size, np.int64)
    terminal = _state_array(layout, "terminal", size, bool)
    moves = np.asarray(layout.get("moves"), np.float64)
    if moves.ndim != 2 or moves.shape[1] != 2:
        raise ValueError(f"layout['moves'] has shape {moves.shape}: expected [A, 2].")
    if ((greedy < 0) | (greedy >= moves.shape[0])).any():
        raise ValueError(
            f"layout['greedy'] has actions outside [0, {moves.shape[0]}) (moves)."
        )
    fig, (ax,) = _map_figure(1, rows, cols, colorbar="right")
    image = ax.imshow(state_values.reshape(rows, cols), cmap="viridis")
    _colorbar(fig, image, [ax], "V*(s)", "right")
    _map_axes(ax, rows, cols)
    text_colors = _contrast(image)
    active = np.flatnonzero(~terminal)
    row, col = np.divmod(active, cols)
    move = _ARROW * moves[greedy[active]]
    ax.quiver(
        col, row, move[:, 1], move[:, 0], angles="xy", scale_units="xy", scale=1,
        units="xy", width=0.07, headwidth=3.5, headlength=3.5, headaxislength=3,
        pivot="middle", color=text_colors[row, col],
    )  # fmt: skip
    _draw_letters(ax, cells, text_colors)
    ax.set_xlabel(_letters_caption(cells))
    ax.set_title(_wrapped(fig, title), fontsize=11)
    return fig


def plot_visits(
    layout: Mapping,
    visits_by_label: Mapping[str, np.ndarray],
    *,
    title: str = "Where the runs spent their steps",
) -> Figure:
    """One heat map per entry of the fraction of steps spent in each state.

    Every panel shares one logarithmic colour scale (visits concentrate on a few
    states by orders of magnitude); states no step was taken in (terminal cells,
    the cliff) are grey.

    Args:
      layout: the grid world's layout (see the module docstring).
      visits_by_label: ``{panel title: [S] steps spent in each state}`` (e.g. the
        mean over seeds at ``τ = 1/256`` and ``τ = 4``).
      title: the figure's title.

    Returns:
      the figure.
    """
    rows, cols, cells = _grid(layout)
    if not visits_by_label:
        raise ValueError("visits_by_label is empty: expected at least one entry.")
    fractions = {}
    for name, visits in visits_by_label.items():
        visits = np.asarray(visits, np.float64)
        if visits.shape != (rows * cols,):
            raise ValueError(
                f"visits_by_label[{name!r}] has shape {visits.shape}: expected "
                f"[{rows * cols}] (one per state)."
            )
        total = np.nansum(visits)
        share = visits / total if total > 0 else np.zeros_like(visits)
        fractions[name] = np.ma.masked_where(~(share > 0), share).reshape(rows, cols)
    positive = np.concatenate([f.compressed() for f in fractions.values()])
    if positive.size:
        # At least a decade, so that near-uniform visits do not span the whole map.
        high = positive.max()
        norm = mcolors.LogNorm(min(positive.min(), high / 10), high)
    else:
        norm = mcolors.Normalize(0.0, 1.0)
    cmap = mpl.colormaps["viridis"].with_extremes(bad=_NEVER)
    fig, axes = _map_figure(len(fractions), rows, cols, colorbar="bottom")
    for ax, (name, share) in zip(axes, fractions.items(), strict=True):
        image = ax.imshow(share, cmap=cmap, norm=norm)
        _map_axes(ax, rows, cols)
        _draw_letters(ax, cells, _contrast(image))
        ax.set_title(name, fontsize=11)
        ax.set_xlabel(_letters_caption(cells))
    scale = "log scale" if isinstance(norm, mcolors.LogNorm) else "linear scale"
    label = f"share of steps in the state ({scale}; grey: never visited)"
    bar = _colorbar(fig, image, axes, label, "bottom")
    if isinstance(norm, mcolors.LogNorm):
        # 1, 2 and 5 per decade, labelled; the other minor ticks unlabelled (their
        # labels, "3x10^-2 4x10^-2 ...", ran into each other)
        bar.ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        bar.ax.xaxis.set_major_formatter(
            ticker.LogFormatterSciNotation(labelOnlyBase=False)
        )
        bar.ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    fig.suptitle(_wrapped(fig, title))
    return fig


# ------------------------------------------------------------------ one study's set


def _episode_smoothing(num_episodes: int) -> int:
    """About 50 points per curve: a window of ``N // 50`` episodes (1 below 100)."""
    return max(1, num_episodes // 50)


def tabular_figures(
    result: SweepResult,
    layout: Mapping | None,
    *,
    label: str,
    param: str,
    references: Mapping[str, float] | None = None,
) -> Iterator[tuple[str, Figure]]:
    """``(name, figure)`` pairs of a study's tabular figures, drawn one at a time.

    ``"episodes"``: :func:`plot_episode_returns` (smoothed over ``N // 50``
    episodes, none below 100) when the study has ``episode_returns``;
    ``"visits"``: :func:`plot_visits` of the mean over seeds at the lowest and the
    highest positive, finite swept value when it has ``visits`` and ``layout`` is
    given.
    """
    if "episode_returns" in result.metrics:
        num_episodes = np.shape(result.metrics["episode_returns"].run_mean)[-1]
        yield "episodes", plot_episode_returns(
            result, label=label, param=param, references=references,
            smooth=_episode_smoothing(num_episodes),
        )  # fmt: skip
    if layout is None or "visits" not in result.metrics:
        return
    values = np.asarray(result.values, np.float64)
    candidates = np.flatnonzero(np.isfinite(values) & (values > 0))
    if not candidates.size:
        return
    order = candidates[np.argsort(values[candidates], kind="stable")]
    ends = dict.fromkeys([int(order[0]), int(order[-1])])  # one panel if equal
    runs = np.asarray(result.metrics["visits"].run_mean, np.float64)
    fractions = _uses_fractions(result)
    panels = {
        _setting_label(param, values[i], fractions=fractions): np.nanmean(runs[i], 0)
        for i in ends
    }
    num_runs = runs.shape[1]
    title = f"{label}: share of steps per state, mean of {num_runs} runs"
    yield "visits", plot_visits(layout, panels, title=title)
