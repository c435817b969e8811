"""Figures of softmax policy networks (the rollout agents of classic control).

:func:`plot_policy_sweep`: what the entropy temperature does, against ``tau`` on a
log axis: the final policy's evaluation return (sampling from its softmax and taking
its most probable action), the environment steps it took to solve the task, and its
final entropy, with single-setting studies (no entropy bonus, the automatic
temperature) as horizontal references. :func:`plot_evaluation`: the softmax policy
against its greedy version, per study. :func:`plot_study_curves`: every study's
return or entropy over environment steps on one axis (the anneal from uniform,
entropy ``log K``, toward greedy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from rl_softmax.engine.sweep import SweepResult
from rl_softmax.plotting.style import (
    PALETTE,
    _band,
    _curve_stats,
    _diverged_text,
    _fig_legend,
    _metric_label,
    _new_figure,
    _num_steps,
    _reference_indices,
    _seed_stats,
    _set_log_x,
    _set_panel_title,
    _steps_axis,
    _title,
)

__all__ = [
    "is_policy_study",
    "plot_evaluation",
    "plot_policy_sweep",
    "plot_study_curves",
]

_SWEEP_PANELS = ("eval_return", "steps_to_solve", "entropy")


def is_policy_study(result: SweepResult) -> bool:
    """Whether a study's final policy was evaluated on episodes (a rollout agent)."""
    return "eval_return" in result.metrics and "greedy_return" in result.metrics


def _swept_x(result: SweepResult, skip: set[int]) -> np.ndarray:
    """Indices of the positive, finite values not in ``skip``, by value."""
    values = np.asarray(result.values, np.float64)
    keep = np.isfinite(values) & (values > 0)
    keep[list(skip)] = False
    index = np.flatnonzero(keep)
    return index[np.argsort(values[index], kind="stable")]


def plot_policy_sweep(
    result: SweepResult,
    *,
    label: str,
    param: str,
    param_label: str | None = None,
    references: Mapping[str, float] | None = None,
    others: Mapping[str, SweepResult] | None = None,
) -> Figure:
    """Final evaluation return, steps to solve and final entropy against the value.

    The return panel has two lines: the softmax policy (``eval_return``) and its
    greedy version (``greedy_return``). Steps to solve are averaged over the runs
    that solved (their count is written above each point). References (values of
    this study) and ``others`` (single-setting studies, e.g. the automatic
    temperature) are horizontal dashed lines with their 95% bands.

    Args:
      result: a study with ``eval_return`` and ``greedy_return``.
      label: the study's label.
      param: the swept parameter's symbol.
      param_label: its axis label.
      references: ``{legend label: value}`` among ``result.values``.
      others: ``{legend label: result}`` of other studies, their first value.

    Returns:
      the figure.
    """
    if not is_policy_study(result):
        raise ValueError(
            "plot_policy_sweep needs eval_return and greedy_return (a rollout "
            f"agent's study); this result has {sorted(result.metrics)}."
        )
    ref_index = _reference_indices(result, references)
    chosen = _swept_x(result, set(ref_index.values()))
    x = np.asarray(result.values, np.float64)[chosen]
    lines = [(ref_label, result, i) for ref_label, i in ref_index.items()]
    lines += [(other_label, other, 0) for other_label, other in (others or {}).items()]
    panels = [m for m in _SWEEP_PANELS if m in result.metrics]
    fig, axes = _new_figure(len(panels))
    for ax, metric in zip(axes, panels, strict=True):
        window = "final" if metric == "entropy" else "all"
        shown = (
            ("eval_return", "greedy_return") if metric == "eval_return" else (metric,)
        )
        for k, name in enumerate(shown):
            mean, half = _seed_stats(result, name, window)
            policy = (
                "greedy (argmax) policy"
                if name == "greedy_return"
                else ("softmax policy")
            )
            if x.size:
                _band(
                    ax, x, mean[chosen], half[chosen], color=PALETTE[k],
                    label=f"{label}: {policy}", marker="o", markersize=3.5,
                )  # fmt: skip
            if metric == "steps_to_solve":  # how many runs each mean is over
                for xi, yi, n in zip(x, mean[chosen], _solved_runs(result)[chosen],
                                     strict=True):  # fmt: skip
                    ax.annotate(
                        f"{n}", (xi, yi if np.isfinite(yi) else 0.0),
                        textcoords="offset points", xytext=(0, 5), ha="center",
                        fontsize=7, color="0.3",
                    )  # fmt: skip
        for j, (ref_label, source, i) in enumerate(lines):
            mean, half = _seed_stats(source, metric, window)
            color = PALETTE[(j + 2) % len(PALETTE)]
            ax.axhline(mean[i], color=color, linestyle="--", lw=1.5, label=ref_label)
            if np.isfinite(mean[i]):
                ax.axhspan(
                    mean[i] - half[i], mean[i] + half[i], color=color, alpha=0.12, lw=0
                )
        if metric == "entropy":
            ax.axhline(
                math.log(_num_actions(result)), color="0.3", linestyle=":", lw=1.0,
                label="uniform policy (log K)",
            )  # fmt: skip
            ax.set_ylim(bottom=0.0)
        if x.size:
            _set_log_x(ax, x, max_ticks=4)
        ax.set_xlabel(f"{param_label or param} (log scale)")
        ylabel = {
            "eval_return": "final evaluation return",
            "steps_to_solve": "environment steps to solve",
            "entropy": "final policy entropy (nats)",
        }[metric]
        ax.set_ylabel(ylabel)
    num_seeds = np.asarray(result.seeds).size
    details = f"{num_seeds} runs × {_num_steps(result)} environment steps"
    if "steps_to_solve" in panels:
        details += " (steps to solve: mean over the runs that solved, their number)"
    details += _diverged_text(result)
    fig.suptitle(_title(label, details, int(11 * fig.get_figwidth())))
    handles, labels = [], []
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            if text not in labels:
                handles.append(handle)
                labels.append(text)
    _fig_legend(fig, handles, labels)
    return fig


def _solved_runs(result: SweepResult) -> np.ndarray:
    """``[V]`` how many runs of each value solved."""
    solved = np.asarray(result.metrics["solved"].run_mean, np.float64)
    return np.nansum(solved, axis=1).astype(int)


def _num_actions(result: SweepResult) -> int:
    """``K`` as the smallest number of actions whose ``log K`` bounds the entropy."""
    entropy = np.asarray(result.metrics["entropy"].curve_mean, np.float64)
    highest = np.nanmax(entropy) if np.isfinite(entropy).any() else 0.0
    return max(2, math.ceil(math.exp(highest) * (1 - 1e-4)))


def plot_evaluation(studies: Mapping[str, tuple[SweepResult, str, str]]) -> Figure:
    """The final softmax policy against its greedy version, study by study.

    For each study and swept value, a pair of bars: the mean evaluation return of
    the policy sampling from its softmax and of the policy taking its most probable
    action, with 95% error bars over seeds. The gap is what sampling costs (or
    gains) once learning stops.

    Args:
      studies: ``{name: (result, label, param symbol)}`` with evaluation metrics.

    Returns:
      the figure.
    """
    rows = []
    for result, label, symbol in studies.values():
        if not is_policy_study(result):
            continue
        for i, value in enumerate(np.asarray(result.values, np.float64)):
            setting = (
                label if len(result.values) == 1 else f"{label}, {symbol} = {value:g}"
            )
            rows.append((setting, result, i))
    if not rows:
        raise ValueError("no study has eval_return and greedy_return.")
    fig, (ax,) = _new_figure()
    y = np.arange(len(rows))
    height = 0.38
    for k, (metric, text) in enumerate(
        (("eval_return", "softmax policy"), ("greedy_return", "greedy (argmax)"))
    ):
        means, halves = [], []
        for _, result, i in rows:
            mean, half = _seed_stats(result, metric, "all")
            means.append(mean[i])
            halves.append(half[i])
        ax.barh(
            y + (k - 0.5) * height, means, height, xerr=halves, color=PALETTE[k],
            label=text, capsize=2,
        )  # fmt: skip
    ax.set_yticks(y, [setting for setting, _, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("final evaluation return (mean, 95% CI)")
    result = rows[0][1]
    _set_panel_title(
        ax,
        "softmax vs greedy policy",
        f"{np.asarray(result.seeds).size} runs, evaluation after training",
    )
    _fig_legend(fig, *ax.get_legend_handles_labels())
    return fig


def plot_study_curves(
    studies: Mapping[str, tuple[SweepResult, str, str]], *, metric: str = "return"
) -> Figure:
    """One metric over environment steps, every study (its first value) on one axis.

    Args:
      studies: ``{name: (result, label, param symbol)}``.
      metric: a metric every study has (``"return"``, ``"entropy"``, ``"tau"``).

    Returns:
      the figure.
    """
    chosen = {k: v for k, v in studies.items() if metric in v[0].metrics}
    if not chosen:
        raise ValueError(f"no study has the metric {metric!r}.")
    fig, (ax,) = _new_figure()
    for j, (result, label, symbol) in enumerate(chosen.values()):
        mean, half = _curve_stats(result, metric)
        value = float(np.asarray(result.values)[0])
        text = label if len(result.values) == 1 else f"{label}, {symbol} = {value:g}"
        _band(
            ax, np.asarray(result.steps, np.float64), mean[0], half[0],
            color=PALETTE[j % len(PALETTE)], label=text,
        )  # fmt: skip
    if metric == "entropy":
        first = next(iter(chosen.values()))[0]
        ax.axhline(
            math.log(_num_actions(first)), color="0.3", linestyle=":", lw=1.0,
            label="uniform policy (log K)",
        )  # fmt: skip
        ax.set_ylim(bottom=0.0)
    _steps_axis(ax, next(iter(chosen.values()))[0])
    first = next(iter(chosen.values()))[0]
    ax.set_ylabel(_metric_label(metric, first.metrics))
    _set_panel_title(
        ax,
        _metric_label(metric, first.metrics),
        f"{np.asarray(first.seeds).size} runs, mean and 95% CI",
    )
    fig.legend(loc="outside right upper", fontsize=9, frameon=False)
    return fig
