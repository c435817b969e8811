"""Temperature sweeps: probabilities against tau, sweeps, learning curves, studies.

:func:`draw_experiment` draws every figure of a results directory, these, the
uniform-to-greedy figures of :mod:`rl_softmax.plotting.anneal` and the episode and
grid-world figures of :mod:`rl_softmax.plotting.tabular`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from matplotlib.figure import Figure

from rl_softmax import softmax as sm
from rl_softmax.engine.metrics import METRICS
from rl_softmax.engine.sweep import SweepResult
from rl_softmax.experiment import stats
from rl_softmax.plotting import anneal, joint, policy, tabular
from rl_softmax.plotting.style import (
    PALETTE,
    PLOTS_DIR,
    _band,
    _check_metric,
    _curve_stats,
    _curves_details,
    _diverged_text,
    _draw_curves,
    _fig_legend,
    _metric_label,
    _new_figure,
    _num_steps,
    _ordered_colors,
    _reference_indices,
    _scale,
    _seed_stats,
    _selection,
    _set_log_x,
    _set_panel_title,
    _steps_axis,
    _title,
    _undefined_note,
    _window_text,
    _with_symbol,
    save_figure,
)

__all__ = [
    "default_metrics",
    "draw_experiment",
    "plot_learning_curves",
    "plot_parameter_study",
    "plot_probs_vs_tau",
    "plot_sweep",
]


def _probs_and_greedy(logits: jax.Array, taus: jax.Array):
    # One compiled program: op-by-op dispatch would compile every primitive anew.
    batch = jnp.broadcast_to(logits, (taus.shape[0], logits.shape[0]))
    return sm.softmax(batch, taus), sm.softmax(logits, 0.0)


def plot_probs_vs_tau(
    logits: ArrayLike = (2.0, 4.0, 2.0, 1.0), taus: ArrayLike | None = None
) -> Figure:
    """The "why softmax?" picture: each action's probability against temperature.

    One line per action of ``softmax(logits, tau)`` over ``taus`` on a log axis, the
    uniform limit ``1/K`` (``tau -> inf``) as a dotted line, and the greedy limit
    ``softmax(logits, 0)`` (ties split) as markers on the left edge. Tied logits
    have identical curves: later ones are dashed so both stay visible.

    Args:
      logits: ``[K]`` action preferences (default the DESIGN example ``[2, 4, 2, 1]``).
      taus: ``[T]`` positive temperatures (default ``geomspace(1e-2, 1e2, 400)``).

    Returns:
      the figure.
    """
    logits = np.asarray(logits, np.float32)
    if logits.ndim != 1 or logits.size < 2:
        raise ValueError(f"logits={logits.tolist()}: expected a 1-D array of >= 2.")
    taus = np.geomspace(1e-2, 1e2, 400) if taus is None else np.asarray(taus)
    taus = np.sort(np.asarray(taus, np.float32))
    if taus.ndim != 1 or taus.size < 2 or not (np.isfinite(taus) & (taus > 0)).all():
        raise ValueError("taus: expected a 1-D array of >= 2 positive, finite values.")
    num_actions = logits.size
    probs, greedy = (np.asarray(p, np.float64) for p in _probs_and_greedy(logits, taus))
    x = taus.astype(np.float64)  # exactly the temperatures used

    fig, (ax,) = _new_figure()
    for action, z in enumerate(logits):
        tied = np.flatnonzero(logits == z)
        label = f"z = {z:g}"
        linestyle = "-"
        if tied.size > 1:
            label += f" (action {action + 1})"
            if action != tied[0]:
                linestyle = (0, (4, 3))
        ax.plot(
            x, probs[:, action], color=PALETTE[action % len(PALETTE)],
            linestyle=linestyle, linewidth=2, label=label,
        )  # fmt: skip
    ax.axhline(
        1 / num_actions, color="0.35", linestyle=":", linewidth=1.6,
        label="uniform limit (τ → ∞)",
    )  # fmt: skip
    ax.plot(
        np.full(num_actions, x[0]), greedy, linestyle="none", marker="<",
        markersize=8, color="black", clip_on=False, zorder=5,
        label="greedy limit (τ = 0)",
    )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("temperature τ (log scale)")
    ax.set_ylabel("probability of action  π(a)")
    shown = ", ".join(f"{z:g}" for z in logits)
    ax.set_title(f"Softmax probabilities exp(z/τ) / Σ exp(z/τ) for z = [{shown}]")
    ax.legend(loc="upper right", fontsize=9, framealpha=0.9)
    return fig


def _same_runs(result: SweepResult, a: str, b: str) -> bool:
    """Whether two metrics hold the same per-run values (FrozenLake's return is its
    success: a second panel of it would say nothing new)."""
    return a == b or np.array_equal(
        result.metrics[a].run_mean, result.metrics[b].run_mean, equal_nan=True
    )


def default_metrics(result: SweepResult, window: str = "all") -> tuple[str, ...]:
    """The two panels a sweep figure shows: what a setting maximises (reward, or
    the episode return where episodes end) and how often it does well (% optimal
    action for a bandit; % successful episodes, else % optimal action, else the
    episode length where episodes end), and, where the run scored it, the success
    of the final greedy policy. A metric identical to the first, or the same at
    every swept value (:func:`constant_metrics`), says nothing and is skipped."""
    return _panels(result, window)[0]


def constant_metrics(result: SweepResult, window: str = "all") -> tuple[str, ...]:
    """The metrics :func:`default_metrics` would show but leaves out because their
    seed mean is the same at every swept value (to plotting precision), e.g. the
    % successful episodes of CliffWalking, where every episode reaches the goal."""
    return _panels(result, window)[1]


def _panels(result: SweepResult, window: str) -> tuple[tuple, tuple]:
    """``(shown, left out as constant)`` of :func:`default_metrics`."""
    objective = stats.objective(result)
    if objective == "return":
        others = ("success", "optimal", "length")
    else:
        others = ("optimal", "success", "length")
    chosen, constant = (objective,), ()
    for other in others:
        if other not in result.metrics or _same_runs(result, objective, other):
            continue
        if _is_constant(result, other, window):
            constant += (other,)
            continue
        chosen = (objective, other)
        break
    if "greedy_success" in result.metrics:  # what the learning left behind
        if _is_constant(result, "greedy_success", window):
            constant += ("greedy_success",)
        else:
            chosen += ("greedy_success",)
    return chosen, constant


def _is_constant(result: SweepResult, metric: str, window: str) -> bool:
    """The seed means over every value agree to 1e-6 of their scale (and at least
    one is a number)."""
    mean = stats.seed_stats(result, metric, window)[0]
    mean = mean[np.isfinite(mean)]
    if mean.size == 0:
        return False
    spread = np.max(mean) - np.min(mean)
    return bool(spread <= 1e-6 * max(1.0, float(np.max(np.abs(mean)))))


def _constant_note(result: SweepResult, metrics, window: str, param: str) -> str:
    """``"; left out: % successful episodes (100 at every τ)"`` or ``""``."""
    parts = []
    for metric in metrics:
        mean = stats.seed_stats(result, metric, window)[0]
        value = np.nanmean(mean) * _scale(metric)
        parts.append(f"{_metric_label(metric)} ({value:.4g} at every {param})")
    return f"; left out: {', '.join(parts)}" if parts else ""


def plot_sweep(
    result: SweepResult,
    *,
    label: str,
    param: str,
    param_label: str | None = None,
    references: Mapping[str, float] | None = None,
    metrics: Sequence[str] | None = None,
    window: str = "all",
) -> Figure:
    """Metrics against the swept value, one panel per metric, with 95% CI bands.

    Reference values (e.g. ``{"greedy (τ = 0)": 0.0, "uniform (τ = ∞)": inf}``)
    cannot sit on a log axis: each is drawn as a horizontal dashed line with its CI
    as a light band. Other non-positive or non-finite values are left out.

    Args:
      result: one study's results.
      label: the study's label (e.g. ``"softmax"``).
      param: the swept parameter's symbol (``"τ"``, ``"ε"``, ``"c"``, ...).
      param_label: its axis label (default ``param``).
      references: ``{legend label: value}`` with values among ``result.values``.
      metrics: metric names, one panel each (default :func:`default_metrics`; the
        title names those left out as constant).
      window: ``"all"`` (per-run means over all steps) or ``"final"``.

    Returns:
      the figure.
    """
    if window not in stats.WINDOWS:
        raise ValueError(f"window={window!r}: expected 'all' or 'final'.")
    left_out = ()
    if metrics is None:
        metrics, left_out = _panels(result, window)
    metrics = tuple(metrics)
    if not metrics:
        raise ValueError("metrics is empty: expected at least one metric name.")
    for metric in metrics:
        _check_metric(result, metric)
    ref_index = _reference_indices(result, references)
    values = np.asarray(result.values, np.float64)
    on_curve = np.isfinite(values) & (values > 0)
    on_curve[list(ref_index.values())] = False
    on_curve = np.flatnonzero(on_curve)
    on_curve = on_curve[np.argsort(values[on_curve], kind="stable")]  # x ascending
    x = values[on_curve]

    fig, axes = _new_figure(len(metrics))
    for ax, metric in zip(axes, metrics, strict=True):
        mean, half = _seed_stats(result, metric, window)
        if x.size:
            _band(
                ax, x, mean[on_curve], half[on_curve], color=PALETTE[0],
                label=f"{label} (mean, 95% CI)", marker="o", markersize=3.5,
            )  # fmt: skip
        for j, (ref_label, i) in enumerate(ref_index.items()):
            color = PALETTE[(j + 1) % len(PALETTE)]
            ax.axhline(mean[i], color=color, linestyle="--", lw=1.5, label=ref_label)
            if np.isfinite(mean[i]):
                ax.axhspan(
                    mean[i] - half[i], mean[i] + half[i], color=color, alpha=0.12, lw=0
                )
        _undefined_note(ax, mean)
        _set_log_x(ax, x, max_ticks=6)
        ax.set_xlabel(f"{param_label or param} (log scale)")
        ax.set_ylabel(_metric_label(metric, result.metrics))
    num_seeds = np.asarray(result.seeds).size
    details = (
        f"{num_seeds} runs × {_num_steps(result)} steps "
        f"({_window_text(result, window)}){_diverged_text(result)}"
        f"{_constant_note(result, left_out, window, param)}"
    )
    fig.suptitle(_title(label, details, int(11 * fig.get_figwidth())))
    _fig_legend(fig, *axes[0].get_legend_handles_labels())
    return fig


def plot_learning_curves(
    result: SweepResult,
    *,
    label: str,
    param: str,
    values: Sequence[float] | None = None,
    metric: str = "optimal",
    max_lines: int = 6,
    references: Mapping[str, float] | None = None,
) -> Figure:
    """A metric over time (``curve_mean`` against ``result.steps``) for a few values.

    Each curve has a 95% t band ``± t curve_sem`` (``t`` for the window's seeds).
    By default up to ``max_lines`` positive, finite values spread over the sweep
    are drawn, always including the best by
    :func:`rl_softmax.experiment.stats.objective` over all steps (marked in the
    legend).

    Args:
      result: one study's results.
      label: the study's label.
      param: the swept parameter's symbol (the legend reads ``τ = 1/4``).
      values: the swept values to draw (any, including 0 or inf); default as above.
      metric: a metric name of ``result``.
      max_lines: the most default-selected values.
      references: ``{legend label: value}`` drawn as extra dashed curves (e.g. the
        greedy and uniform limits) and skipped by the default selection.

    Returns:
      the figure.
    """
    _check_metric(result, metric)
    ref_index = _reference_indices(result, references)
    chosen, best = _selection(result, values, max_lines, skip=set(ref_index.values()))
    fig, (ax,) = _new_figure()
    _draw_curves(ax, result, metric, chosen, best, _ordered_colors(len(chosen)), param)
    steps = np.asarray(result.steps, np.float64)
    mean, half = _curve_stats(result, metric)
    for j, (ref_label, i) in enumerate(ref_index.items()):
        _band(
            ax, steps, mean[i], half[i], color=("black", "0.45", PALETTE[1])[j % 3],
            label=ref_label, linestyle="--", linewidth=1.1, alpha=0.12,
        )  # fmt: skip
    _undefined_note(ax, mean[chosen + list(ref_index.values())])
    _steps_axis(ax, result)
    ax.set_ylabel(_metric_label(metric, result.metrics))
    _set_panel_title(ax, label, _curves_details(result))
    fig.legend(loc="outside right upper", fontsize=9, frameon=False)
    return fig


def plot_parameter_study(
    studies: Mapping[str, tuple[SweepResult, str, str]],
    *,
    metric: str = "reward",
    window: str = "all",
) -> Figure:
    """Sutton & Barto (2018) Figure 2.6 style: every study on one log2 x axis.

    Each study is a line with its 95% CI band over its positive, finite values
    (0 and inf, e.g. greedy and uniform references, cannot sit on a log axis).

    Args:
      studies: ``{name: (result, label, param symbol)}``.
      metric: a metric name every result has.
      window: ``"all"`` (per-run means over all steps) or ``"final"``.

    Returns:
      the figure.
    """
    if not studies:
        raise ValueError("studies is empty: expected at least one study.")
    fig, (ax,) = _new_figure()
    all_x, symbols, num_steps, final_steps, num_seeds = [], [], set(), set(), set()
    markers = ("o", "s", "^", "D", "v", "P", "X", "*")
    for j, (result, label, param) in enumerate(studies.values()):
        _check_metric(result, metric)
        mean, half = _seed_stats(result, metric, window)
        values = np.asarray(result.values, np.float64)
        on_curve = np.flatnonzero(np.isfinite(values) & (values > 0))
        on_curve = on_curve[np.argsort(values[on_curve], kind="stable")]
        x = values[on_curve]
        _band(
            ax, x, mean[on_curve], half[on_curve],
            color=PALETTE[j % len(PALETTE)], label=_with_symbol(label, param),
            marker=markers[j % len(markers)], markersize=4,
        )  # fmt: skip
        all_x.append(x)
        if param not in symbols:
            symbols.append(param)
        num_steps.add(_num_steps(result))
        final_steps.add(result.final_steps)
        num_seeds.add(np.asarray(result.seeds).size)
    _set_log_x(ax, np.concatenate(all_x), max_ticks=12, force_base2=True)
    ax.set_xlabel(f"parameter value ({', '.join(symbols)})")
    if window == "all":
        span = f"first {num_steps.pop()}" if len(num_steps) == 1 else "all"
    else:
        span = f"last {final_steps.pop()}" if len(final_steps) == 1 else "final"
    reported = {n for result, _, _ in studies.values() for n in result.metrics}
    ax.set_ylabel(f"{_metric_label(metric, reported)} over {span} steps")
    runs = f", {num_seeds.pop()} runs each" if len(num_seeds) == 1 else ""
    ax.set_title(f"Parameter study{runs} (mean ± 95% CI)")
    _fig_legend(fig, *ax.get_legend_handles_labels())
    return fig


def draw_experiment(
    out_dir: str | os.PathLike,
    studies: Mapping[str, SweepResult],
    metadata: Mapping,
) -> list[Path]:
    """Draws every figure that fits the experiment into ``out_dir/plots/``.

    Per study (label, parameter symbol and axis label, references from
    ``metadata["studies"][name]``): ``<name>_sweep.png`` (:func:`default_metrics`
    against the value) and one ``<name>_curves_<metric>.png`` per metric of the
    sweep figure, over time. A study with ``prob_by_rank`` (``track_probs``) also
    gets the uniform-to-greedy figures of :mod:`rl_softmax.plotting.anneal`:
    ``<name>_entropy.png``, ``<name>_prob_optimal.png``, ``<name>_action_probs.png``
    and, when its temperature changes over time, ``<name>_tau.png``. With more
    than one study, also ``parameter_study.png`` (every study's objective on one
    axis). The tabular figures of :mod:`rl_softmax.plotting.tabular`: a study with
    ``episode_returns`` gets ``<name>_episodes.png`` (return against episode
    number); on a grid world (``metadata["env"]["layout"]``), also ``value_map.png``
    once (``V*`` and a greedy policy) and, per study with ``visits``,
    ``<name>_visits.png`` (share of steps per state at the lowest and the highest
    positive, finite swept value). An experiment of softmax policy networks
    (studies with ``eval_return``, the rollout agents) gets the figures of
    :mod:`rl_softmax.plotting.policy` instead: ``<name>_sweep.png`` for a sweep
    (:func:`~rl_softmax.plotting.policy.plot_policy_sweep`),
    ``<name>_curves_return.png`` and ``<name>_entropy.png`` per study,
    ``evaluation.png`` and, with several studies, ``studies_return.png``,
    ``studies_entropy.png`` and ``studies_tau.png``. A study of two parameters
    swept together gets ``<name>_heatmap.png`` only
    (:func:`~rl_softmax.plotting.joint.plot_joint_study`; three or more parameters,
    no figure), and is left out of the figures of several studies.

    Args:
      out_dir: the experiment's results directory.
      studies: ``{name: result}``, e.g. from
        :func:`rl_softmax.experiment.results.load_study`.
      metadata: the experiment's metadata, as
        :func:`rl_softmax.experiment.results.load_metadata` returns it.

    Returns:
      the paths written.
    """
    plots_dir = Path(out_dir) / PLOTS_DIR
    study_info = metadata.get("studies", {})
    paths = []
    env = metadata.get("env")
    layout = env.get("layout") if isinstance(env, Mapping) else None
    if layout is not None:
        fig = tabular.plot_value_map(layout)
        paths.append(save_figure(fig, plots_dir / "value_map.png"))
    described = {}
    for name, result in studies.items():
        info = study_info.get(name, {})
        if np.ndim(result.values) == 2:  # parameters swept together
            paths += _joint_figures(plots_dir, name, result, info)
            continue
        described[name] = (result, info.get("label", name), _symbol(info))
    if not described:
        return paths
    if any(policy.is_policy_study(r) for r, _, _ in described.values()):
        return paths + _policy_figures(plots_dir, described, study_info)
    for name, (result, label, symbol) in described.items():
        info = study_info.get(name, {})
        axis = info.get("param_label", symbol)
        references = info.get("references") or {}
        fig = plot_sweep(
            result, label=label, param=symbol, param_label=axis, references=references
        )
        paths.append(save_figure(fig, plots_dir / f"{name}_sweep.png"))
        for metric in default_metrics(result):
            if METRICS[metric].at_end:  # one number per run: no curve over time
                continue
            fig = plot_learning_curves(
                result, label=label, param=symbol, metric=metric, references=references
            )
            paths.append(save_figure(fig, plots_dir / f"{name}_curves_{metric}.png"))
        if "prob_by_rank" in result.metrics:
            figures = anneal.anneal_figures(result, label=label, param=symbol)
            for suffix, fig in figures:
                paths.append(save_figure(fig, plots_dir / f"{name}_{suffix}.png"))
        figures = tabular.tabular_figures(
            result, layout, label=label, param=symbol, references=references
        )
        for suffix, fig in figures:
            paths.append(save_figure(fig, plots_dir / f"{name}_{suffix}.png"))
    objectives = {stats.objective(r) for r, _, _ in described.values()}
    if len(described) > 1 and len(objectives) == 1:
        fig = plot_parameter_study(described, metric=objectives.pop())
        paths.append(save_figure(fig, plots_dir / "parameter_study.png"))
    return paths


def _symbol(info: Mapping) -> str:
    return info.get("param_symbol", info.get("param", "value"))


def _joint_figures(plots_dir: Path, name: str, result: SweepResult, info) -> list:
    """A study of parameters swept together: for two, ``<name>_heatmap.png``
    (:func:`~rl_softmax.plotting.joint.plot_joint_study`, a scatter if the pairs
    are not a product grid); the figures of one parameter do not apply."""
    names = info.get("params") or [
        f"value {k}" for k in range(np.shape(result.values)[1])
    ]
    if len(names) != 2:
        return []
    fig = joint.plot_joint_study(
        result, label=info.get("label", name),
        symbols=info.get("param_symbols", names),
        axis_labels=info.get("param_labels", names),
    )  # fmt: skip
    return [save_figure(fig, plots_dir / f"{name}_heatmap.png")]


def _policy_figures(plots_dir: Path, described, study_info) -> list[Path]:
    """The figures of softmax policy networks (:mod:`rl_softmax.plotting.policy`):
    per study its return and entropy curves and, for a sweep, the policy sweep
    against the value (single-setting studies as references); across studies the
    evaluation of the final policies and the return, entropy and temperature
    curves on one axis each."""
    paths = []
    single = {
        label: result for result, label, _ in described.values()
        if len(result.values) == 1
    }  # fmt: skip
    for name, (result, label, symbol) in described.items():
        info = study_info.get(name, {})
        references = info.get("references") or {}
        positive = np.asarray(result.values, np.float64)
        if (
            policy.is_policy_study(result)
            and np.sum(np.isfinite(positive) & (positive > 0)) - len(references) >= 2
        ):
            fig = policy.plot_policy_sweep(
                result, label=label, param=symbol,
                param_label=info.get("param_label", symbol), references=references,
                others={k: v for k, v in single.items() if k != label},
            )  # fmt: skip
            paths.append(save_figure(fig, plots_dir / f"{name}_sweep.png"))
        fig = plot_learning_curves(
            result, label=label, param=symbol, metric="return", references=references
        )
        paths.append(save_figure(fig, plots_dir / f"{name}_curves_return.png"))
        if "entropy" in result.metrics:
            fig = anneal.plot_entropy_curves(result, label=label, param=symbol)
            paths.append(save_figure(fig, plots_dir / f"{name}_entropy.png"))
    paths.append(
        save_figure(policy.plot_evaluation(described), plots_dir / "evaluation.png")
    )
    if len(described) > 1:
        for metric in ("return", "entropy", "tau"):
            if all(metric in r.metrics for r, _, _ in described.values()):
                fig = policy.plot_study_curves(described, metric=metric)
                paths.append(save_figure(fig, plots_dir / f"studies_{metric}.png"))
    return paths
