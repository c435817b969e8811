"""Figures of a softmax policy moving from uniform behaviour to greedy.

A softmax over ``K`` actions starts uniform (entropy ``log K``, every arm ``1/K``)
and, as its temperature falls or its preferences grow apart, turns greedy (entropy
0, one arm with probability 1). These figures show that path as measured by a sweep
run with ``track_probs`` (the ``prob_by_rank`` metric): entropy and P(optimal
action) over time against both limits, the mean action probabilities of the arms
ranked by true value as a stack, and the temperature next to the entropy it
produces (Sutton & Barto 2018, Sec. 2.8; Haarnoja et al. 2018 for the
target-entropy view).

They follow the conventions of :mod:`rl_softmax.plotting.style` (whose helpers they
use; :func:`rl_softmax.plotting.draw_experiment` draws them): README size, viridis
for ordered settings, 95% t bands ``mean ± t curve_sem``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rl_softmax.engine.sweep import SweepResult
from rl_softmax.experiment import stats
from rl_softmax.plotting import style

__all__ = [
    "anneal_figures",
    "has_temperature_curve",
    "plot_action_probs",
    "plot_entropy_curves",
    "plot_prob_optimal_curves",
    "plot_temperature_and_entropy",
]

# Above this many arms a legend entry per arm is too long: a colour bar instead.
_MAX_ARM_LEGEND = 12
_REFERENCE_COLOR = "0.2"


# --------------------------------------------------------------------------- helpers


def _ranked(result: SweepResult) -> np.ndarray | None:
    """``[V, W, K]`` mean action probabilities by rank, or None if not recorded."""
    if "prob_by_rank" not in result.metrics:
        return None
    return np.asarray(result.metrics["prob_by_rank"].curve_mean, np.float64)


def _num_actions(result: SweepResult, num_actions: int | None) -> int | None:
    """``K``: given, from ``prob_by_rank``, or the least ``K`` the entropy allows."""
    probs = _ranked(result)
    if num_actions is not None:
        if not isinstance(num_actions, int) or num_actions < 2:
            raise ValueError(f"num_actions={num_actions!r}: expected an integer >= 2.")
        if probs is not None and probs.shape[-1] != num_actions:
            raise ValueError(
                f"num_actions={num_actions} but prob_by_rank has "
                f"{probs.shape[-1]} arms."
            )
        return num_actions
    if probs is not None:
        return int(probs.shape[-1])
    if "entropy" not in result.metrics:
        return None
    entropy = np.asarray(result.metrics["entropy"].curve_mean, np.float64)
    entropy = entropy[np.isfinite(entropy)]
    if not entropy.size:
        return None
    # Entropy never exceeds log K and a softmax starts at it (uniform): the highest
    # point gives K; the slack absorbs float32 rounding of log K.
    return max(2, math.ceil(math.exp(entropy.max()) * (1 - 1e-4)))


def _checked_probs(result: SweepResult) -> np.ndarray:
    probs = _ranked(result)
    if probs is None:
        raise ValueError(
            "the result has no prob_by_rank metric: run the study with "
            "track_probs = true."
        )
    expected = (np.size(result.values), np.size(result.steps))
    if probs.ndim != 3 or probs.shape[:2] != expected:
        raise ValueError(
            f"prob_by_rank has shape {probs.shape}: expected "
            f"[{expected[0]}, {expected[1]}, num_actions]."
        )
    return probs


def _best_index(result: SweepResult) -> int:
    """The swept value with the best objective over all steps."""
    best = stats.best_setting(result)
    return 0 if best is None else best.index


def _rank_name(rank: int, num_actions: int) -> str:
    """``"best arm"``, ``"2nd"``, ``"3rd"``, ..., ``"worst arm"`` for 0-based rank."""
    if rank == 0:
        return "best arm"
    if rank == num_actions - 1:
        return "worst arm"
    n = rank + 1
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10)
    return f"{n}{suffix or 'th'}"


def _entropy_references(ax: Axes, num_actions: int | None) -> None:
    """The uniform (``log K``) and greedy (0) limits as labelled horizontal lines."""
    if num_actions is not None:
        log_k = math.log(num_actions)
        ax.axhline(
            log_k, color=_REFERENCE_COLOR, linestyle="--", linewidth=1.2,
            label=f"uniform, log K = {log_k:.2f}", zorder=1,
        )  # fmt: skip
        ax.set_ylim(-0.04 * log_k, 1.06 * log_k)
    ax.axhline(
        0.0, color=_REFERENCE_COLOR, linestyle=":", linewidth=1.5,
        label="greedy, 0", zorder=1,
    )  # fmt: skip


def _readable_log_y(ax: Axes, low: float, high: float) -> None:
    """Log y axis labelled ``0.1, 0.2, 0.5, 1`` (``1, 10, ...`` past 3 decades)."""
    ax.set_yscale("log")
    subs = (1.0, 2.0, 5.0) if high <= 1e3 * low else (1.0,)
    ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda y, _: f"{y:g}"))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def _details(result: SweepResult, num_actions: int | None) -> str:
    arms = f"K = {num_actions} arms, " if num_actions is not None else ""
    return arms + style._curves_details(result)


def _curves_figure(result, *, label, param, values, max_lines, metric, num_actions):
    """One panel of ``metric`` curves; returns ``(fig, ax, K)`` before references."""
    chosen, best = style._selection(result, values, max_lines)
    num_actions = _num_actions(result, num_actions)
    fig, (ax,) = style._new_figure()
    colors = style._ordered_colors(len(chosen))
    style._draw_curves(ax, result, metric, chosen, best, colors, param)
    style._undefined_note(ax, style._curve_stats(result, metric)[0][chosen])
    style._steps_axis(ax, result)
    ax.set_ylabel(style._metric_label(metric))
    style._set_panel_title(ax, label, _details(result, num_actions))
    return fig, ax, num_actions


# --------------------------------------------------------------------------- figures


def plot_entropy_curves(
    result: SweepResult,
    *,
    label: str,
    param: str,
    values: Sequence[float] | None = None,
    max_lines: int = 6,
    num_actions: int | None = None,
) -> Figure:
    """Policy entropy (nats) over time, one line per setting, between its limits.

    Each line is the mean entropy with its 95% band; dashed and dotted lines
    mark the uniform policy's ``log K`` and the greedy policy's 0.

    Args:
      result: one study's results.
      label: the study's label.
      param: the swept parameter (sets the legend symbol).
      values: the swept values to draw; default up to ``max_lines`` spread over the
        sweep, always with the best setting (see
        :func:`rl_softmax.plotting.plot_learning_curves`).
      max_lines: the most default-selected values.
      num_actions: ``K``; default ``prob_by_rank``'s last axis or else the least ``K``
        whose ``log K`` reaches the highest entropy (no ``log K`` line if none).

    Returns:
      the figure.
    """
    fig, ax, num_actions = _curves_figure(
        result, label=label, param=param, values=values, max_lines=max_lines,
        metric="entropy", num_actions=num_actions,
    )  # fmt: skip
    _entropy_references(ax, num_actions)
    fig.legend(loc="outside right upper", fontsize=9, frameon=False)
    return fig


def plot_prob_optimal_curves(
    result: SweepResult,
    *,
    label: str,
    param: str,
    values: Sequence[float] | None = None,
    max_lines: int = 6,
    num_actions: int | None = None,
) -> Figure:
    """P(optimal action) (%) over time, one line per setting, between its limits.

    The probability the policy puts on the best arm, not the fraction of runs that
    pulled it: it moves smoothly from the uniform ``100/K`` % (dashed) to the greedy
    100 % (dotted). Arguments as :func:`plot_entropy_curves`.

    Returns:
      the figure.
    """
    fig, ax, num_actions = _curves_figure(
        result, label=label, param=param, values=values, max_lines=max_lines,
        metric="prob_optimal", num_actions=num_actions,
    )  # fmt: skip
    if num_actions is not None:
        ax.axhline(
            100 / num_actions, color=_REFERENCE_COLOR, linestyle="--", linewidth=1.2,
            label=f"uniform, 1/K = {100 / num_actions:.3g}%", zorder=1,
        )  # fmt: skip
    ax.axhline(
        100.0, color=_REFERENCE_COLOR, linestyle=":", linewidth=1.5,
        label="greedy, 100%", zorder=1,
    )  # fmt: skip
    ax.set_ylim(-3, 103)
    fig.legend(loc="outside right upper", fontsize=9, frameon=False)
    return fig


def plot_action_probs(
    result: SweepResult,
    *,
    label: str,
    param: str,
    value: float | None = None,
) -> Figure:
    """Mean action probabilities of one setting over time, stacked by arm rank.

    ``prob_by_rank`` of one setting (arms ordered by true value) as stacked areas:
    the best arm at the bottom in the darkest colour, the worst at the top. A
    uniform policy is ``K`` equal stripes of ``1/K``; a greedy one is the bottom
    stripe alone.

    Args:
      result: one study's results, with ``prob_by_rank`` (``track_probs``).
      label: the study's label.
      param: the swept parameter.
      value: the swept value to draw; default the best setting
        (:func:`rl_softmax.experiment.stats.best_setting`).

    Returns:
      the figure.
    """
    probs = _checked_probs(result)
    if value is None:
        index = _best_index(result)
    else:
        index = style._value_index(result, value, "value")
    steps = np.asarray(result.steps, np.float64)
    num_actions = probs.shape[-1]
    names = [_rank_name(rank, num_actions) for rank in range(num_actions)]
    colors = mpl.colormaps["viridis"](np.linspace(0.0, 0.95, num_actions))

    fig, (ax,) = style._new_figure()
    ax.grid(False)  # stripes fill the axes: a grid would only show at the edges
    # No edges: the near-empty stripes of a greedy policy would stack their edges
    # into a white band under y = 1.
    areas = ax.stackplot(
        steps, probs[index].T, colors=colors, labels=names, linewidth=0
    )
    style._undefined_note(ax, probs[index])
    ax.set_xlim(steps[0], steps[-1])
    ax.set_ylim(0, 1)
    ax.set_xlabel("steps")
    ax.set_ylabel("mean probability of action (stacked)")
    setting = style._setting_label(
        param, float(np.asarray(result.values)[index]),
        fractions=style._uses_fractions(result),
    )  # fmt: skip
    why = f" (best by mean {stats.objective(result)})" if value is None else ""
    details = f"{setting}{why}, {np.asarray(result.seeds).size} runs"
    style._set_panel_title(ax, label, details)
    if num_actions <= _MAX_ARM_LEGEND:
        # Reversed: the legend reads top to bottom like the stack.
        fig.legend(
            areas[::-1], names[::-1], loc="outside right upper", fontsize=9,
            frameon=False, title="arm by true value", title_fontsize=9,
        )  # fmt: skip
    else:
        # One colour per rank, best at the bottom as in the stack.
        norm = mpl.colors.BoundaryNorm(np.arange(num_actions + 1) + 0.5, num_actions)
        mappable = mpl.cm.ScalarMappable(norm, mpl.colors.ListedColormap(colors))
        bar = fig.colorbar(mappable, ax=ax, pad=0.02)
        bar.set_ticks([1, num_actions], labels=["best arm", "worst arm"])
        bar.set_label("arm rank by true value")
    return fig


def plot_temperature_and_entropy(
    result: SweepResult,
    *,
    label: str,
    param: str,
    values: Sequence[float] | None = None,
    max_lines: int = 6,
    num_actions: int | None = None,
) -> Figure:
    """Two panels: the mean temperature over time (log scale), and its entropy.

    Left, the mean temperature on a log axis; points that are not finite and positive
    are left out (e.g. a solved tau's first step, where equal estimates make every
    tau uniform and the solver reports ``+inf``). Right, the entropy with the
    ``log K`` and 0 limits, as :func:`plot_entropy_curves`. A setting has the same
    colour in both panels. Arguments as :func:`plot_entropy_curves`.

    Returns:
      the figure.
    """
    chosen, best = style._selection(result, values, max_lines)
    num_actions = _num_actions(result, num_actions)
    colors = style._ordered_colors(len(chosen))
    steps = np.asarray(result.steps, np.float64)
    tau, half = style._curve_stats(result, "tau")

    fig, (ax_tau, ax_entropy) = style._new_figure(2)
    drawn = []
    for color, i in zip(colors, chosen, strict=False):
        keep = np.isfinite(tau[i]) & (tau[i] > 0)
        x, y, h = steps[keep], tau[i][keep], half[i][keep]
        ax_tau.plot(x, y, color=color, linewidth=1.7 if i == best else 1.1)
        # A band reaching 0 has no place on a log axis: shade only where it does not.
        band = np.isfinite(h) & (y - h > 0)
        ax_tau.fill_between(
            x, np.where(band, y - h, y), np.where(band, y + h, y), where=band,
            color=color, alpha=0.2, linewidth=0,
        )  # fmt: skip
        drawn.append(y)
    drawn = np.concatenate(drawn) if drawn else np.zeros(0)
    if drawn.size:
        _readable_log_y(ax_tau, drawn.min(), drawn.max())
    else:
        style._undefined_note(ax_tau, np.full(1, np.nan))
    style._steps_axis(ax_tau, result)
    ax_tau.set_ylabel(f"mean {style._metric_label('tau')} (log scale)")
    ax_tau.set_title("temperature", fontsize=10)

    style._draw_curves(ax_entropy, result, "entropy", chosen, best, colors, param)
    _entropy_references(ax_entropy, num_actions)
    style._steps_axis(ax_entropy, result)
    ax_entropy.set_ylabel(style._metric_label("entropy"))
    ax_entropy.set_title("entropy it produces", fontsize=10)

    width = int(11 * fig.get_figwidth())
    fig.suptitle(style._title(label, _details(result, num_actions), width))
    style._fig_legend(
        fig, *ax_entropy.get_legend_handles_labels(), max_cols=4, fontsize=9
    )
    return fig


# ----------------------------------------------------------------------- selection


def has_temperature_curve(result: SweepResult) -> bool:
    """Whether some setting's mean temperature takes different finite values over
    time (a schedule, a solved or a learned tau), rather than staying fixed or
    being undefined (NaN, rules without a temperature)."""
    if "tau" not in result.metrics:
        return False
    tau = np.asarray(result.metrics["tau"].curve_mean, np.float64)
    tau = np.where(np.isfinite(tau), tau, np.nan).reshape(-1, np.shape(tau)[-1])
    finite = np.isfinite(tau).any(axis=-1)
    if not finite.any():
        return False
    low = np.nanmin(tau[finite], axis=-1)
    high = np.nanmax(tau[finite], axis=-1)
    return bool((high - low > 1e-6 * np.maximum(np.abs(high), 1e-30)).any())


def anneal_figures(
    result: SweepResult, *, label: str, param: str
) -> Iterator[tuple[str, Figure]]:
    """``(name, figure)`` pairs, drawn one at a time, for a study with ``prob_by_rank``.

    Names: ``"entropy"``, ``"prob_optimal"``, ``"action_probs"`` and, when
    :func:`has_temperature_curve`, ``"tau"``.

    Raises:
      ValueError: no ``prob_by_rank`` (at the call, not when iterated).
    """
    _checked_probs(result)
    return _iter_anneal_figures(result, label=label, param=param)


def _iter_anneal_figures(result, **kwargs) -> Iterator[tuple[str, Figure]]:
    yield "entropy", plot_entropy_curves(result, **kwargs)
    yield "prob_optimal", plot_prob_optimal_curves(result, **kwargs)
    yield "action_probs", plot_action_probs(result, **kwargs)
    if has_temperature_curve(result):
        yield "tau", plot_temperature_and_entropy(result, **kwargs)
