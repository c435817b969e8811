"""The figures of a tune (:func:`rl_softmax.experiment.tune`).

Per tuned study: the objective against each searched parameter (every trial, the
answer with its fresh-seed interval and, when compared, the grid's curve), the
objective over two parameters (the trials coloured by their value, over a
triangulated contour when there are enough of them), and the optimisation history
(each trial and the best so far).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure

from rl_softmax.plotting.style import (
    PALETTE,
    PLOTS_DIR,
    _new_figure,
    _set_log_x,
    save_figure,
)

__all__ = [
    "draw_tune",
    "plot_tune_history",
    "plot_tune_map",
    "plot_tune_params",
    "trial_points",
]


def trial_points(tuned) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """``({param: [T] values}, [T] objective, [T] complete)`` of a study's
    trials (a pruned trial's objective is its low-fidelity value)."""
    trials = tuned.trials
    params = {
        p.name: np.asarray([t["params"][p.name] for t in trials], np.float64)
        for p in tuned.search.params
    }
    value = np.asarray([t["value"] for t in trials], np.float64)
    value[~np.isfinite(value)] = np.nan  # undefined trials are told the worst value
    complete = np.asarray([t["state"] == "complete" for t in trials])
    return params, value, complete


def _scale_x(ax, param, values) -> None:
    if param.log:
        _set_log_x(ax, values, max_ticks=8)


def plot_tune_params(tuned, name: str) -> Figure:
    """The objective against each searched parameter."""
    params, value, complete = trial_points(tuned)
    fig, axes = _new_figure(len(params))
    best = tuned.best
    metric = best["metric"]
    for ax, param in zip(axes, tuned.search.params, strict=True):
        x = params[param.name]
        ax.scatter(x[complete], value[complete], s=14, color=PALETTE[0],
                   label="trials", zorder=3)  # fmt: skip
        if (~complete).any():
            ax.scatter(x[~complete], value[~complete], s=14, facecolors="none",
                       edgecolors=PALETTE[0], label="pruned (fewer seeds)")  # fmt: skip
        grid = tuned.grid
        if grid is not None and len(tuned.search.params) == 1:
            gx = np.asarray(grid["values"], np.float64).reshape(len(grid["means"]), -1)
            gx = gx[:, 0]
            finite = np.isfinite(gx) & (gx > 0 if param.log else np.isfinite(gx))
            order = np.argsort(gx[finite])
            ax.plot(gx[finite][order], np.asarray(grid["means"])[finite][order],
                    color=PALETTE[1], marker=".", label="grid")  # fmt: skip
        low, high = best["ci95"]
        bx = best["params"][param.name]
        error = [[best["mean"] - low], [high - best["mean"]]]
        ax.errorbar([bx], [best["mean"]], yerr=error, color=PALETTE[2], marker="*",
                    markersize=10, capsize=3, zorder=4,
                    label=f"answer, {best['num_seeds']} fresh seeds")  # fmt: skip
        _scale_x(ax, param, np.append(x, bx))
        ax.set_xlabel(param.name)
        ax.set_ylabel(f"{metric} ({best['window']})")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{name}: objective against each parameter", fontsize=10)
    return fig


def plot_tune_map(tuned, name: str) -> Figure:
    """The objective over the first two searched parameters."""
    params, value, _ = trial_points(tuned)
    first, second = tuned.search.params[:2]
    x, y = params[first.name], params[second.name]
    fig, (ax,) = _new_figure(1)
    tx = np.log10(x) if first.log else x
    ty = np.log10(y) if second.log else y
    defined = np.isfinite(value)
    if defined.sum() >= 6:
        contour = ax.tricontourf(tx[defined], ty[defined], value[defined], levels=12,
                                 cmap="viridis", alpha=0.6)  # fmt: skip
        fig.colorbar(contour, ax=ax, label=tuned.best["metric"])
    ax.scatter(tx, ty, c=value, cmap="viridis", edgecolors="k", s=20, zorder=3)
    best = tuned.best["params"]
    bx, by = best[first.name], best[second.name]
    ax.scatter([math.log10(bx) if first.log else bx],
               [math.log10(by) if second.log else by],
               marker="*", s=160, color=PALETTE[2], edgecolors="k", zorder=4,
               label="answer")  # fmt: skip
    for axis, param in ((ax.xaxis, first), (ax.yaxis, second)):
        if param.log:
            axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{10**v:.3g}"))
    ax.set_xlabel(first.name + (" (log scale)" if first.log else ""))
    ax.set_ylabel(second.name + (" (log scale)" if second.log else ""))
    ax.legend(fontsize=7)
    ax.set_title(f"{name}: {tuned.best['metric']} over the trials", fontsize=10)
    return fig


def plot_tune_history(tuned, name: str) -> Figure:
    """Each trial's objective by trial number, and the best so far."""
    _, value, complete = trial_points(tuned)
    numbers = np.asarray([t["number"] for t in tuned.trials])
    fig, (ax,) = _new_figure(1)
    ax.scatter(numbers, value, s=14, color=PALETTE[0], label="trial")
    maximize = tuned.search.direction == "maximize"
    scored = np.where(
        complete & np.isfinite(value), value, -np.inf if maximize else np.inf
    )
    best = np.maximum.accumulate(scored) if maximize else np.minimum.accumulate(scored)
    best[~np.isfinite(best)] = np.nan
    ax.step(numbers, best, where="post", color=PALETTE[1], label="best so far")
    batch = tuned.search.batch
    for edge in range(batch, int(numbers.max(initial=0)) + 1, batch):
        ax.axvline(edge - 0.5, color="0.8", linewidth=0.6, zorder=0)
    ax.set_xlabel(f"trial (batches of {batch}, one compiled call each)")
    ax.set_ylabel(f"{tuned.best['metric']} ({tuned.best['window']})")
    ax.legend(fontsize=7)
    ax.set_title(f"{name}: optimisation history", fontsize=10)
    return fig


def draw_tune(out_dir: str | Path, result: Any) -> list[Path]:
    """Every figure of a tune into ``out_dir/plots``; returns the paths."""
    plots = Path(out_dir) / PLOTS_DIR
    paths = []
    for name, tuned in result.studies.items():
        if not tuned.trials:
            continue
        paths.append(save_figure(plot_tune_params(tuned, name),
                                 plots / f"{name}_tune_params.png"))  # fmt: skip
        if len(tuned.search.params) >= 2:
            paths.append(save_figure(plot_tune_map(tuned, name),
                                     plots / f"{name}_tune_map.png"))  # fmt: skip
        paths.append(save_figure(plot_tune_history(tuned, name),
                                 plots / f"{name}_tune_history.png"))  # fmt: skip
    return paths
