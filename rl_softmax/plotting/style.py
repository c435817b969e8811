"""Shared figure conventions: size, palette, labels, log axes, bands, saving.

The sweep figures (:mod:`rl_softmax.plotting.sweeps`) and the uniform-to-greedy
figures (:mod:`rl_softmax.plotting.anneal`) draw with these helpers, so every figure
has the same size, colours, axis labels and confidence bands.
"""

from __future__ import annotations

import math
import os
import re
import textwrap
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rl_softmax.engine.metrics import METRICS
from rl_softmax.engine.metrics import label as metrics_label
from rl_softmax.engine.sweep import SweepResult
from rl_softmax.experiment import results, stats

__all__ = ["DPI", "FIGSIZE", "PALETTE", "PLOTS_DIR", "save_figure"]


FIGSIZE = (6.5, 4.0)
DPI = 150
PLOTS_DIR = results.PLOTS_DIR
# Okabe & Ito (2008), colour-blind safe; yellow last (faint on white).
PALETTE = (
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
    "#F0E442",
)  # fmt: skip


# --------------------------------------------------------------------------- helpers


def _with_symbol(label: str, symbol: str) -> str:
    """``"UCB (c)"``; a label that already names its symbol (``"ε-greedy"``) is kept."""
    pattern = re.escape(symbol)
    if re.search(rf"(?<!\w){pattern}(?!\w)", label, flags=re.IGNORECASE):
        return label
    return f"{label} ({symbol})"


def _metric_label(metric: str, reported: Collection[str] = ()) -> str:
    """The metric's axis label; ``reported``: the names the result holds (a
    rollout study's ``greedy_return`` is labelled as the estimate it is)."""
    return metrics_label(metric, reported)


def _is_power_of_two(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    ok = np.isfinite(x) & (x > 0)
    mantissa, _ = np.frexp(np.where(ok, x, 1.0))
    return ok & (mantissa == 0.5)


def _format_value(value: float, *, fractions: bool = True) -> str:
    """``1/8``, ``4``, ``0.1``, ``∞``: short and exact for powers of two.

    ``fractions=False`` writes decimals (``0.5``), to sit among values that are not
    powers of two.
    """
    value = float(value)
    if value == 0:
        return "0"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if fractions and _is_power_of_two(value):
        return f"{value:g}" if value >= 1 else f"1/{1 / value:g}"
    return f"{value:.4g}"


def _new_figure(ncols: int = 1) -> tuple[Figure, list[Axes]]:
    # Past two panels, widen rather than squeeze: axis labels must not collide.
    width = max(FIGSIZE[0], 3.1 * ncols)
    fig = Figure(figsize=(width, FIGSIZE[1]), dpi=DPI, layout="constrained")
    axes = list(fig.subplots(1, ncols, squeeze=False)[0])
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(True, which="major", alpha=0.3, linewidth=0.6)
        # ticks read as values: never "+1e2" above ticks of -0.03 .. 0.01
        ax.yaxis.set_major_formatter(ticker.ScalarFormatter(useOffset=False))
    return fig, axes


def _set_log_x(
    ax: Axes, values: np.ndarray, *, max_ticks: int, force_base2: bool = False
) -> None:
    """Log x axis: base 2 with ``1/4``-style ticks for powers of two, else base 10."""
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    base2 = force_base2 or (values.size and _is_power_of_two(values).all())
    ax.set_xscale("log", base=2 if base2 else 10)
    if not values.size:
        return
    # Limits from the values, not from the data: an all-NaN metric has no data.
    low, high = np.log2(values.min()), np.log2(values.max())
    pad = 0.04 * (high - low) if high > low else 0.5
    ax.set_xlim(2.0 ** (low - pad), 2.0 ** (high + pad))
    if not base2:
        _plain_log_ticks(ax.xaxis, values, max_ticks=max_ticks)
        return
    exponents = np.arange(
        math.floor(np.log2(values.min())), math.ceil(np.log2(values.max())) + 1
    )
    stride = max(1, math.ceil(exponents.size / max_ticks))
    # Multiples of the stride keep 1 = 2**0 among the labelled ticks.
    ax.xaxis.set_major_locator(
        ticker.FixedLocator(2.0 ** exponents[exponents % stride == 0])
    )
    ax.xaxis.set_minor_locator(ticker.FixedLocator(2.0**exponents))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: _format_value(x)))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def _plain_log_ticks(axis, values: np.ndarray, *, max_ticks: int) -> None:
    """Base-10 log ticks as plain numbers (``0.02``, ``0.1``), no labelled minors.

    Over less than two decades matplotlib labels minor ticks too (``2×10⁻²``,
    ``3×10⁻²``, ...), which collide. A few values become the ticks themselves;
    more get ``1, 2, 5`` per decade (under 2 decades) or one tick per decade.
    """
    values = np.unique(values)
    decades = np.log10(values.max() / values.min())
    if values.size <= max_ticks:
        axis.set_major_locator(ticker.FixedLocator(values))
    elif decades < 2:
        axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    elif decades > 4:
        return  # powers of ten in scientific notation read best
    axis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:g}"))
    axis.set_minor_formatter(ticker.NullFormatter())


def _check_metric(result: SweepResult, metric: str) -> None:
    if metric not in result.metrics:
        raise ValueError(
            f"metric={metric!r} is not in this result; it has {list(result.metrics)}."
        )


def _scale(metric: str) -> float:
    return METRICS[metric].scale if metric in METRICS else 1.0


def _value_index(result: SweepResult, value: float, what: str) -> int:
    values = np.asarray(result.values)
    matches = np.flatnonzero(values == np.asarray(value, values.dtype))
    if not matches.size:
        raise ValueError(
            f"{what}={value!r} is not among the swept values {values.tolist()}."
        )
    return int(matches[0])


def _reference_indices(
    result: SweepResult, references: Mapping[str, float] | None
) -> dict[str, int]:
    return {
        ref_label: _value_index(result, value, f"references[{ref_label!r}]")
        for ref_label, value in (references or {}).items()
    }


def _seed_stats(result: SweepResult, metric: str, window: str):
    """``(mean, ci95 half width)`` over seeds, ``[V]`` each, in plotted units."""
    mean, sem, n = stats.seed_stats(result, metric, window)
    return mean * _scale(metric), stats.half_width(sem, n) * _scale(metric)


def _band(ax: Axes, x, mean, half, *, color, label, alpha=0.2, **line_kwargs):
    (line,) = ax.plot(x, mean, color=color, label=label, **line_kwargs)
    ax.fill_between(x, mean - half, mean + half, color=color, alpha=alpha, lw=0)
    return line


def _undefined_note(ax: Axes, y: np.ndarray) -> None:
    if y.size and np.isnan(y).all():
        ax.text(
            0.5, 0.5, "not defined for this agent", transform=ax.transAxes,
            ha="center", va="center", color="0.4",
        )  # fmt: skip
        ax.set_yticks([])


def _title(label: str, details: str, max_chars: int) -> str:
    """``"label: details"``, or label and details on lines of at most ``max_chars``."""
    joined = f"{label}: {details}"
    if len(joined) <= max_chars:
        return joined
    lines = textwrap.wrap(label, max_chars) + textwrap.wrap(details, max_chars)
    return "\n".join(lines)


def _set_panel_title(ax: Axes, label: str, details: str) -> None:
    """A title over one panel with a legend beside it: narrow enough not to reach
    the legend (about 44 characters at 11 pt fit the axes' width)."""
    ax.set_title(_title(label, details, 44), fontsize=11)


def _fig_legend(fig: Figure, handles, labels, *, max_cols: int = 3, **kwargs):
    """A legend below the axes with as many columns (up to ``max_cols``) as fit.

    ``loc="outside lower center"`` makes the layout engine reserve the legend's
    height, but not its width: a legend wider than the figure is cut off at both
    edges, so columns are dropped until it fits.
    """
    for ncols in range(max(min(max_cols, len(labels)), 1), 0, -1):
        legend = fig.legend(
            handles, labels, loc="outside lower center", ncols=ncols, frameon=False,
            **kwargs,
        )  # fmt: skip
        if ncols == 1 or legend.get_window_extent().width <= 0.98 * fig.bbox.width:
            return legend
        legend.remove()
    raise AssertionError("unreachable: one column always returns")


def _diverged_text(result: SweepResult) -> str:
    """``"; k of the n runs diverged (left out)"`` if any run did, else ``""``."""
    count = int(stats.num_diverged(result).sum())
    if not count:
        return ""
    total = len(result.values) * np.asarray(result.seeds).size
    return f"; {count} of the {total} runs diverged (left out)"


def _num_steps(result: SweepResult) -> int:
    return int(np.asarray(result.steps)[-1])


def _window_text(result: SweepResult, window: str) -> str:
    if window == "all":
        return f"mean over all {_num_steps(result)} steps"
    return f"mean over the last {result.final_steps} steps"


def _default_selection(
    result: SweepResult, skip: set[int], max_lines: int
) -> tuple[list[int], int | None]:
    """Up to ``max_lines`` indices spread over the sweep, always with the best."""
    values = np.asarray(result.values, np.float64)
    candidates = [
        i
        for i in np.argsort(values, kind="stable")
        if i not in skip and np.isfinite(values[i]) and values[i] > 0
    ]
    if not candidates:
        candidates = [i for i in np.argsort(values, kind="stable") if i not in skip]
    if not candidates:
        return [], None
    scores, _, _ = stats.seed_stats(result, stats.objective(result))
    scores = scores[candidates]
    best = None if np.isnan(scores).all() else candidates[int(np.nanargmax(scores))]
    if len(candidates) <= max_lines:
        return candidates, best
    ranks = np.unique(np.round(np.linspace(0, len(candidates) - 1, max_lines)))
    chosen = [candidates[int(r)] for r in ranks]
    if best is not None and best not in chosen:
        best_rank = candidates.index(best)
        nearest = min(chosen, key=lambda i: abs(candidates.index(i) - best_rank))
        chosen[chosen.index(nearest)] = best
    return sorted(chosen, key=lambda i: values[i]), best


def _selection(
    result: SweepResult,
    values: Sequence[float] | None,
    max_lines: int,
    skip: set[int] = frozenset(),
) -> tuple[list[int], int | None]:
    """``(indices to draw in ascending value order, index of the best or None)``."""
    if not isinstance(max_lines, int) or max_lines < 1:
        raise ValueError(f"max_lines={max_lines!r}: expected an integer >= 1.")
    if values is None:
        return _default_selection(result, set(skip), max_lines)
    chosen = [_value_index(result, v, "values entry") for v in values]
    return sorted(set(chosen), key=lambda i: result.values[i]), None  # viridis order


def _ordered_colors(n: int) -> np.ndarray:
    """``[n, 4]`` viridis colours for ordered values (stopping short of pale yellow)."""
    return mpl.colormaps["viridis"](np.linspace(0.0, 0.88, max(n, 1)))


def _curve_stats(result: SweepResult, metric: str):
    """``(mean, ci95 half width)`` of the curves, ``[V, W]`` each, in plotted units."""
    curves = result.metrics[metric]
    scale = _scale(metric)
    mean = np.asarray(curves.curve_mean, np.float64) * scale
    count = curves.curve_count
    if count is None:  # a study saved before counts were kept: its seeds
        finite = np.isfinite(np.asarray(curves.run_mean, np.float64))
        count = finite.reshape(finite.shape[:2] + (-1,)).all(axis=-1).sum(axis=1)
        count = np.broadcast_to(count[:, None], mean.shape[:2])
    count = np.reshape(count, np.shape(count) + (1,) * (mean.ndim - np.ndim(count)))
    half = stats.half_width(np.asarray(curves.curve_sem, np.float64), count)
    return mean, half * scale


def _uses_fractions(result: SweepResult) -> bool:
    """Whether the swept values read best as ``1/4`` (all powers of two) or not."""
    values = np.asarray(result.values, np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    return bool(values.size) and bool(_is_power_of_two(values).all())


def _setting_label(
    symbol: str, value: float, is_best: bool = False, *, fractions: bool = True
) -> str:
    text = f"{symbol} = {_format_value(value, fractions=fractions)}"
    return f"{text} (best)" if is_best else text


def _draw_curves(ax: Axes, result, metric, chosen, best, colors, symbol) -> None:
    """One line with its 95% band per chosen value; the best one drawn heavier."""
    steps = np.asarray(result.steps, np.float64)
    mean, half = _curve_stats(result, metric)
    swept = np.asarray(result.values, np.float64)
    fractions = _uses_fractions(result)
    for color, i in zip(colors, chosen, strict=False):
        is_best = i == best
        _band(
            ax, steps, mean[i], half[i], color=color,
            label=_setting_label(symbol, swept[i], is_best, fractions=fractions),
            linewidth=1.7 if is_best else 1.1, zorder=3 if is_best else 2,
        )  # fmt: skip


def _steps_axis(ax: Axes, result: SweepResult) -> None:
    last = float(np.asarray(result.steps)[-1])
    ax.set_xlim(0, last)
    ax.set_xlabel("steps")
    if last >= 10_000:  # 50k, 1.5M: long runs' tick labels would run together
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(_short_count))


def _short_count(x: float, _position=None) -> str:
    """``50000 -> "50k"``, ``1500000 -> "1.5M"``."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:g}{suffix}"
    return f"{x:g}"


def _curves_details(result: SweepResult) -> str:
    """``"200 runs, mean ± 95% CI"`` and, with windows, what a point averages."""
    stride = int(np.asarray(result.steps)[0])
    per_point = f", points average {stride}-step windows" if stride > 1 else ""
    return f"{np.asarray(result.seeds).size} runs, mean ± 95% CI{per_point}"


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = DPI) -> Path:
    """Writes ``fig`` atomically (temporary file, then ``os.replace``).

    The format follows the suffix (``.png`` unless another is given).

    Returns:
      the path written.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    with results.atomic_write(path, "wb") as f:
        fig.savefig(f, format=fmt, dpi=dpi)
    return path
