"""The figures of the "Why softmax?" tour (docs/why-softmax.md).

:func:`tour_figures` yields every figure of the page by file name, so the demo
command and ``experiments/readme_figures.py`` draw the same set: the probabilities
against temperature (:func:`~rl_softmax.plotting.sweeps.plot_probs_vs_tau`), the
maximum-entropy picture, linear normalisation against the softmax under a shift,
and the gradients of cross-entropy and squared error.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from matplotlib.figure import Figure

from rl_softmax import softmax as sm
from rl_softmax import tour
from rl_softmax.plotting.style import PALETTE, _fig_legend, _new_figure
from rl_softmax.plotting.sweeps import plot_probs_vs_tau

__all__ = [
    "plot_cross_entropy_gradients",
    "plot_linear_vs_softmax",
    "plot_max_entropy",
    "tour_figures",
]

_LOSS_LABELS = {"cross_entropy": "cross-entropy", "squared_error": "squared error"}


def _checked_logits(logits: ArrayLike) -> np.ndarray:
    logits = np.asarray(logits, np.float32)
    if logits.ndim != 1 or logits.size < 2 or not np.isfinite(logits).all():
        raise ValueError(
            f"logits={logits.tolist()}: expected a 1-D array of >= 2 finite values."
        )
    return logits


def _signed(x: float) -> str:
    """``-1`` with a typographic minus, like matplotlib's tick labels."""
    return f"{x:.3g}".replace("-", "−")


@jax.jit
def _frontier(logits: jax.Array, taus: jax.Array):
    """``(E, H)`` of ``softmax(z / tau)`` and of ``softmax(-z / tau)`` (``tau < 0``)."""
    batch = jnp.broadcast_to(logits, (taus.shape[0], logits.shape[0]))
    above = sm.expected_value(batch, taus), sm.entropy(batch, taus)
    below = -sm.expected_value(-batch, taus), sm.entropy(-batch, taus)
    return above, below


def plot_max_entropy(
    key: jax.Array,
    logits: ArrayLike = (2.0, 4.0, 2.0, 1.0),
    tau: float = 1.0,
    *,
    num_samples: int = 3000,
) -> Figure:
    """Entropy against expected value: the Boltzmann family is the upper edge.

    Left: random distributions over the actions (grey), those with the same expected
    value as ``softmax(logits, tau)`` (a vertical strip), the Boltzmann family
    ``softmax(logits / t)`` for ``t > 0`` and ``t < 0`` and its tangent of slope
    ``-1 / tau``. Right: the entropies of that strip against the softmax's.

    Args:
      key: PRNG key of the random distributions.
      logits: ``[K]`` action values (default the DESIGN example ``[2, 4, 2, 1]``).
      tau: temperature ``> 0`` of the marked softmax.
      num_samples: random distributions in each set (static).

    Returns:
      the figure.
    """
    logits = _checked_logits(logits)
    if not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau={tau}: expected a finite temperature > 0.")
    key_cloud, key_same = jax.random.split(key)
    cloud = tour.same_expected_value(
        key_cloud, np.zeros_like(logits), 0.0, num_samples
    )  # every distribution averages 0: uniform on the simplex
    claim = tour.max_entropy(key_same, logits, tau, num_samples=num_samples)
    taus = jnp.asarray(np.geomspace(1e-2, 1e3, 400), jnp.float32)
    above, below = (
        tuple(np.asarray(x, np.float64) for x in branch)
        for branch in _frontier(jnp.asarray(logits), taus)
    )
    mean, entropy = float(claim.expected_value), float(claim.entropy)

    fig, (ax, hist) = _new_figure(ncols=2)
    ax.scatter(
        np.asarray(cloud @ logits), np.asarray(sm.categorical_entropy(cloud)),
        s=3, color="0.7", alpha=0.5, lw=0, label="random distributions",
        rasterized=True,
    )  # fmt: skip
    same = np.asarray(claim.sample_entropies)
    ax.scatter(
        np.full(same.size, mean), same, s=3, color=PALETTE[1], alpha=0.5, lw=0,
        label=f"random, same expected value as τ = {tau:g}", rasterized=True,
    )  # fmt: skip
    ax.plot(*above, color=PALETTE[0], lw=2, label="softmax(z / τ), τ > 0")
    ax.plot(*below, color=PALETTE[0], lw=1.5, ls="--", label="softmax(z / τ), τ < 0")
    span = 0.15 * float(logits.max() - logits.min())
    x = np.array([mean - span, mean + span])
    ax.plot(
        x, entropy - (x - mean) / tau, color="black", lw=1.2, ls=":",
        label=f"slope dH/dE = −1/τ = {_signed(-1 / tau)}",
    )  # fmt: skip
    ax.plot(
        [mean], [entropy], marker="*", markersize=12, color=PALETTE[0],
        markeredgecolor="black", ls="none", label=f"softmax(z), τ = {tau:g}",
        zorder=5,
    )  # fmt: skip
    ax.set_xlabel("expected value  E = Σ p_k z_k")
    ax.set_ylabel("entropy  H (nats)")
    ax.set_ylim(0, 1.05 * math.log(logits.size))
    ax.set_title("every distribution over the actions", fontsize=11)

    hist.hist(same, bins=40, color=PALETTE[1], alpha=0.8)
    hist.axvline(entropy, color=PALETTE[0], lw=2)
    hist.annotate(
        f"softmax: H = {entropy:.4f}", xy=(entropy, 0.92),
        xycoords=("data", "axes fraction"), xytext=(-6, 0),
        textcoords="offset points", ha="right", fontsize=9,
    )  # fmt: skip
    hist.set_xlabel("entropy  H (nats)")
    hist.set_ylabel("random distributions")
    hist.set_title(f"those with E = {mean:.4g}", fontsize=11)
    legend = _fig_legend(fig, *ax.get_legend_handles_labels(), max_cols=2,
                         fontsize=9)  # fmt: skip
    for handle in legend.legend_handles[:2]:  # the scatters' dots, visible
        handle.set_sizes([30])
        handle.set_alpha(1)
    return fig


def plot_linear_vs_softmax(
    logits: ArrayLike = (2.0, 4.0, 2.0, 1.0), shifts: ArrayLike | None = None
) -> Figure:
    """Each action's probability under ``z + c`` against the shift ``c``.

    The softmax lines are flat (shift invariance); linear normalisation
    ``(z + c) / sum(z + c)`` drifts to uniform, goes negative, and divides by zero
    at ``c = -mean(z)``.

    Args:
      logits: ``[K]`` action preferences (default ``[2, 4, 2, 1]``).
      shifts: ``[C]`` values of ``c`` (default 801 points around ``-mean(z)``
        and ``0``).

    Returns:
      the figure.
    """
    logits = _checked_logits(logits)
    pole = -float(logits.mean())
    if shifts is None:
        shifts = np.linspace(min(pole, 0.0) - 5.0, max(pole, 0.0) + 5.0, 801)
    shifts = np.sort(np.asarray(shifts, np.float32))
    pole = np.float32(pole)
    if shifts[0] < pole < shifts[-1]:  # a point at the pole, to break the lines
        shifts = np.insert(shifts, np.searchsorted(shifts, pole), pole)
    batch = jnp.asarray(logits)[None, :] + jnp.asarray(shifts)[:, None]
    linear = np.asarray(sm.linear_normalize(batch), np.float64)
    linear[shifts == pole] = np.nan  # no line from +inf to -inf through the pole
    soft = np.asarray(sm.softmax(batch), np.float64)
    limit = 2.5

    fig, (ax,) = _new_figure()
    ax.axhspan(-limit, 0, color="0.92", lw=0)
    ax.text(
        shifts[-1], -0.08 * limit, "negative “probabilities”", ha="right",
        va="top", fontsize=9, color="0.35",
    )  # fmt: skip
    pole = float(pole)
    ax.axvline(pole, color="0.35", lw=1, ls=":")
    ax.annotate(
        "Σ(z + c) = 0:\ndivision by zero", xy=(pole, 0.75 * limit),
        xytext=(pole + 1.2, 0.75 * limit), va="center", fontsize=9, color="0.35",
        arrowprops={"arrowstyle": "->", "color": "0.35"},
    )  # fmt: skip
    x = shifts.astype(np.float64)
    for j, value in enumerate(np.unique(logits)[::-1]):
        action = int(np.flatnonzero(logits == value)[0])
        count = int(np.sum(logits == value))
        times = f" (×{count})" if count > 1 else ""
        color = PALETTE[j % len(PALETTE)]
        ax.plot(x, linear[:, action], color=color, lw=2,
                label=f"z = {value:g}{times}: (z + c) / Σ(z + c)")  # fmt: skip
        ax.plot(x, soft[:, action], color=color, lw=2, ls="--",
                label=f"z = {value:g}{times}: softmax(z + c)")  # fmt: skip
    ax.set_ylim(-limit, limit)
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel("shift c added to every logit")
    ax.set_ylabel("probability of the action")
    shown = ", ".join(f"{z:g}" for z in logits)
    ax.set_title(f"z = [{shown}] + c: linear normalisation against the softmax")
    _fig_legend(fig, *ax.get_legend_handles_labels(), max_cols=2, fontsize=9)
    return fig


def plot_cross_entropy_gradients(
    margins: ArrayLike | None = None, *, start: float = -5.0, num_steps: int = 60
) -> Figure:
    """Gradient size of cross-entropy and squared error on a two-class softmax.

    Left: ``|d loss / d z|`` at ``z = [m, 0]`` with class 0 correct, against the
    margin ``m`` (negative: wrong; far from 0: confident). Right: the probability of
    the correct class during gradient descent from ``m = start``.

    Args:
      margins: ``[M]`` margins (default ``linspace(-12, 12, 241)``).
      start: the starting margin of the descent.
      num_steps: descent steps (static).

    Returns:
      the figure.
    """
    margins = np.linspace(-12.0, 12.0, 241) if margins is None else margins
    margins = np.sort(np.asarray(margins, np.float32))
    logits = jnp.stack([jnp.asarray(margins), jnp.zeros(margins.shape)], axis=-1)
    gradients = tour.cross_entropy_gradients(logits, 0)
    descent = tour.descent_on_two_classes(start, num_steps=num_steps)

    fig, (ax, curve) = _new_figure(ncols=2)
    for j, (name, label) in enumerate(_LOSS_LABELS.items()):
        size = np.linalg.norm(np.asarray(gradients[name], np.float64), axis=-1)
        ax.plot(margins, size, color=PALETTE[j], lw=2, label=label)
        curve.plot(
            descent.steps, np.asarray(descent.prob_correct[name], np.float64),
            color=PALETTE[j], lw=2,
        )  # fmt: skip
    ax.set_yscale("log")
    ax.set_ylim(1e-8, 10)
    ax.axvline(0, color="0.35", lw=1, ls=":")
    ax.text(0.02, 0.04, "← wrong, more confident", ha="left", fontsize=9,
            color="0.35", transform=ax.transAxes)  # fmt: skip
    ax.text(0.98, 0.96, "right, more confident →", ha="right", va="top",
            fontsize=9, color="0.35", transform=ax.transAxes)  # fmt: skip
    ax.set_xlabel("margin  z_correct − z_other")
    ax.set_ylabel("gradient size  |d loss / d z|")
    ax.set_title("gradient at z = [m, 0], class 0", fontsize=11)
    curve.set_ylim(0, 1.02)
    curve.set_xlim(0, num_steps)
    curve.set_xlabel("gradient-descent step (step size 1)")
    curve.set_ylabel("probability of the correct class")
    curve.set_title(f"learning from m = {_signed(start)}", fontsize=11)
    _fig_legend(fig, *ax.get_legend_handles_labels(), fontsize=9)
    return fig


def tour_figures(
    key: jax.Array, logits: ArrayLike = (2.0, 4.0, 2.0, 1.0)
) -> Iterator[tuple[str, Figure]]:
    """``(file name, figure)`` of every figure of the tour, drawn one at a time.

    Args:
      key: PRNG key (the random distributions of the maximum-entropy figure).
      logits: ``[K]`` the example logits.
    """
    logits = _checked_logits(logits)
    yield "probs_vs_tau.png", plot_probs_vs_tau(logits)
    yield "max_entropy.png", plot_max_entropy(key, logits)
    yield "linear_vs_softmax.png", plot_linear_vs_softmax(logits)
    yield "cross_entropy_gradients.png", plot_cross_entropy_gradients()
