"""Statistics over seeds, in one place: means, standard errors, 95% intervals, the
tidy summary rows and the best setting of a sweep.

Each seed is one independent replicate. Every metric's per-run values are averaged
over seeds with equal weights; for a per-episode metric, a run's value is the mean
over its own episodes, and runs without an ended episode are left out. The mean over
all episodes of all runs (weighted by each run's episode count, a ratio estimator) is
another estimand, the *pooled* episode mean: ``summary.csv`` gives it under its own
name (``return_pooled``, ...), and ``seed_stats(..., pooled=True)`` computes it.

Intervals are ``mean ± t sem`` with ``t`` the 97.5% quantile of Student's t with
``n - 1`` degrees of freedom (:func:`t_quantile`; 2.262 for 10 seeds, where the
normal 1.96 is 13% too narrow); a metric whose per-run values are 0 or 1
(``solved``) gets Wilson's score interval for a proportion
(:func:`proportion_interval`), which stays inside [0, 1]. One seed has no interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from jax.typing import ArrayLike
from scipy import special

from rl_softmax.engine.metrics import METRICS
from rl_softmax.engine.sweep import SweepResult

__all__ = [
    "Z95",
    "Best",
    "best_setting",
    "best_value_interval",
    "half_width",
    "indistinguishable",
    "mean_sem",
    "num_diverged",
    "objective",
    "POOLED",
    "proportion_interval",
    "setting",
    "setting_text",
    "summary_rows",
    "t_quantile",
]

Z95 = 1.959963984540054
"""Two-sided 95% quantile of the standard normal (Wilson's interval uses it)."""


def t_quantile(n: ArrayLike) -> np.ndarray:
    """The two-sided 95% quantile of Student's t with ``n - 1`` degrees of freedom.

    ``t(9) = 2.262`` for 10 seeds; it tends to :data:`Z95` as ``n`` grows. NaN for
    ``n < 2`` (one sample has no spread).
    """
    n = np.asarray(n, np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(n >= 2, special.stdtrit(np.maximum(n - 1, 1), 0.975), np.nan)


def half_width(sem: ArrayLike, n: ArrayLike) -> np.ndarray:
    """Half the width of the 95% t interval ``mean ± t_quantile(n) sem`` (NaN for
    ``n < 2``; 0 when ``sem`` is 0, as for a metric equal in every run)."""
    sem = np.asarray(sem, np.float64)
    t = t_quantile(n)
    with np.errstate(invalid="ignore"):
        return np.where(sem == 0, np.where(np.isnan(t), np.nan, 0.0), t * sem)


def proportion_interval(
    successes: ArrayLike, n: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's 95% score interval of a proportion ``successes / n``.

    Wilson (1927); unlike ``p ± 1.96 sqrt(p (1 - p) / n)`` it stays inside
    ``[0, 1]`` and is not empty at ``p = 0`` or ``1`` (for 10 of 10:
    ``[0.722, 1]``). NaN for ``n = 0``.

    Returns:
      ``(low, high)``, each of the broadcast shape.
    """
    k = np.asarray(successes, np.float64)
    n = np.asarray(n, np.float64)
    z2 = Z95**2
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        spread = Z95 * np.sqrt(p * (1 - p) / n + z2 / (4 * n**2)) / (1 + z2 / n)
        # exact at the ends, where the formula leaves a rounding error
        low = np.where(k == 0, 0.0, np.clip(centre - spread, 0.0, 1.0))
        high = np.where(k == n, 1.0, np.clip(centre + spread, 0.0, 1.0))
        low, high = np.where(n > 0, low, np.nan), np.where(n > 0, high, np.nan)
    return low, high


WINDOWS = ("all", "final")
"""``"all"``: per-run means over every step; ``"final"``: over the final steps."""


def mean_sem(
    samples: np.ndarray, axis: int = -1, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NaN-aware mean over seeds and its standard error, in float64, without warnings.

    NaN samples (a metric undefined for a run) are left out. Unweighted, with ``n``
    remaining samples, the standard error is ``std(ddof=1) / sqrt(n)``. Weighted,
    the mean is ``sum w x / sum w`` and the standard error the ratio estimator's
    ``sqrt(n / (n - 1) * sum w**2 (x - mean)**2) / sum w`` over the ``n`` samples with
    ``w > 0``. It is 0 when ``n == 1``; both are NaN when ``n == 0``.

    Args:
      samples: e.g. ``[V, S]`` per-run means.
      axis: the seed axis.
      weights: per-sample weights of ``samples``' shape (episode counts), or None.

    Returns:
      ``(mean, sem, n)``, each of ``samples``' shape without ``axis``.
    """
    x = np.moveaxis(np.asarray(samples, np.float64), axis, -1)
    valid = ~np.isnan(x)
    if weights is not None:
        w = np.moveaxis(np.asarray(weights, np.float64), axis, -1)
        valid &= w > 0
    n = valid.sum(axis=-1)
    safe_n = np.maximum(n, 1)
    # Infinite samples make inf - inf in the deviations: a NaN sem, not a warning.
    with np.errstate(invalid="ignore", divide="ignore"):
        if weights is None:
            mean = np.where(valid, x, 0.0).sum(axis=-1) / safe_n
            squares = np.where(valid, (x - mean[..., None]) ** 2, 0.0).sum(axis=-1)
            sem = np.sqrt(squares / np.maximum(n - 1, 1)) / np.sqrt(safe_n)
        else:
            w = np.where(valid, w, 0.0)
            total = w.sum(axis=-1)
            mean = np.where(valid, w * x, 0.0).sum(axis=-1) / total
            deviations = np.where(valid, (w * (x - mean[..., None])) ** 2, 0.0)
            factor = safe_n / np.maximum(n - 1, 1)
            sem = np.sqrt(factor * deviations.sum(axis=-1)) / total
    sem = np.where(n > 1, sem, 0.0)
    mean = np.where(n > 0, mean, np.nan)
    sem = np.where(n > 0, sem, np.nan)
    return mean, sem, n


def _samples(result: SweepResult, metric: str, window: str, pooled: bool = False):
    """``(per-run values [V, S], weights [V, S] or None)`` of a metric and window;
    the weights (episode counts) only for the pooled episode mean."""
    if window not in WINDOWS:
        raise ValueError(f"window={window!r}: expected one of {WINDOWS}.")
    if metric not in result.metrics:
        raise ValueError(
            f"metric={metric!r} is not in this result; it has {list(result.metrics)}."
        )
    m = result.metrics[metric]
    samples, weights = (
        (m.run_mean, m.run_weight) if window == "all" else (m.run_final, m.final_weight)
    )
    if pooled and weights is None:
        raise ValueError(
            f"metric={metric!r} is not a per-episode metric: it has no pooled mean."
        )
    return samples, weights if pooled else None


def run_samples(result: SweepResult, metric: str, window: str = "all") -> np.ndarray:
    """``[V, S]`` each run's value of ``metric`` over ``window`` (NaN where it is
    undefined or the run diverged), in float64: the replicates behind
    :func:`seed_stats`, e.g. for paired differences between values."""
    return np.asarray(_samples(result, metric, window)[0], np.float64)


def seed_stats(
    result: SweepResult, metric: str, window: str = "all", *, pooled: bool = False
):
    """``(mean, sem, n)`` over seeds for every value (``[V]`` each).

    Each seed is one replicate (a per-episode metric: the mean of the run's own
    episodes). ``pooled=True`` gives a per-episode metric's mean over all episodes
    of all runs instead, with the ratio estimator's standard error.
    """
    samples, weights = _samples(result, metric, window, pooled)
    return mean_sem(samples, axis=1, weights=weights)


def objective(result: SweepResult) -> str:
    """The metric a "best setting" maximises: the episode return where episodes
    end, else the reward per step."""
    return "return" if "return" in result.metrics else "reward"


def setting(result: SweepResult, index: int) -> float | tuple[float, ...]:
    """The swept value at ``index``: a number, or a tuple of one number per
    parameter for parameters swept together (``values`` ``[V, k]``)."""
    value = np.asarray(result.values)[index]
    return float(value) if np.ndim(value) == 0 else tuple(float(v) for v in value)


def setting_text(names: Sequence[str], value: float | Sequence[float]) -> str:
    """``"tau = 0.0156"``, or ``"tau = 0.0156, step_size = 0.5"`` for parameters
    swept together (4 significant digits)."""
    numbers = (value,) if np.ndim(value) == 0 else tuple(value)
    if len(numbers) != len(names):
        raise ValueError(
            f"value={value!r}: expected {len(names)} number(s), one per parameter "
            f"{list(names)}."
        )
    return ", ".join(f"{n} = {v:.4g}" for n, v in zip(names, numbers, strict=True))


class Best(NamedTuple):
    """The best swept value and its statistics.

    Attributes:
      index: its index in ``result.values``.
      value: the value (a tuple, one number per parameter, for parameters swept
        together: :func:`setting`).
      metric: the metric it maximises.
      window: ``"all"`` or ``"final"``.
      mean: its mean over seeds.
      sem: the standard error of ``mean``.
      num_seeds: the seeds behind ``mean``.
    """

    index: int
    value: float | tuple[float, ...]
    metric: str
    window: str
    mean: float
    sem: float
    num_seeds: int

    @property
    def ci95(self) -> tuple[float, float]:
        """``(low, high)`` of the 95% t interval of ``mean`` (:func:`half_width`)."""
        half = float(half_width(self.sem, self.num_seeds))
        return self.mean - half, self.mean + half


def _references(result: SweepResult, references) -> np.ndarray:
    """``[V]`` whether each swept value is a reference (a study of several
    parameters has none)."""
    values = np.asarray(result.values)
    if values.ndim != 1:
        if references:
            raise ValueError(
                f"references={dict(references)!r}: a study of several parameters "
                "has none (references are values of one parameter)."
            )
        return np.zeros(len(values), bool)
    return np.isin(values, np.asarray(list((references or {}).values()), values.dtype))


def _candidates(result: SweepResult, references, mean: np.ndarray) -> np.ndarray:
    """Indices of the swept values that may be best: defined, not a reference."""
    return np.flatnonzero(~_references(result, references) & ~np.isnan(mean))


def best_setting(
    result: SweepResult,
    *,
    metric: str | None = None,
    window: str = "all",
    references: Mapping[str, float] | None = None,
) -> Best | None:
    """The swept value with the highest mean ``metric``, references left out.

    Note the optimistic bias: the best of a sweep is chosen on the runs it is
    scored on; :func:`best_value_interval` and :func:`indistinguishable` say how
    sure the choice is.

    Args:
      result: one study's results.
      metric: the metric to maximise (default :func:`objective`).
      window: ``"all"`` or ``"final"``.
      references: ``{label: value}`` extra values that are not candidates (the
        greedy and uniform limits).

    Returns:
      a :class:`Best`, or None if no candidate has a defined mean.
    """
    metric = objective(result) if metric is None else metric
    mean, sem, n = seed_stats(result, metric, window)
    candidates = _candidates(result, references, mean)
    if not candidates.size:
        return None
    i = int(candidates[np.argmax(mean[candidates])])
    return Best(
        i, setting(result, i), metric, window, float(mean[i]), float(sem[i]), int(n[i])
    )


def indistinguishable(
    result: SweepResult,
    best: Best,
    *,
    references: Mapping[str, float] | None = None,
) -> list[float]:
    """The candidate values whose mean is not distinguishable from the best's.

    Every value ran on the same seeds (the same random numbers), so each is
    compared with the best by the paired differences of their per-run values: a
    value is indistinguishable when the 95% t interval of the mean difference
    (over the seeds where both are defined) contains 0, or fewer than two seeds
    define it. One test per value, not corrected for multiplicity: read the list
    as "these are as good, as far as these seeds can tell".

    Returns:
      the values (tuples for parameters swept together), in sweep order, the
      best left out.
    """
    samples, _ = _samples(result, best.metric, best.window)
    x = np.asarray(samples, np.float64)
    differences = x[best.index][None, :] - x  # [V, S]
    mean, sem, n = mean_sem(differences, axis=1)
    half = half_width(sem, n)
    with np.errstate(invalid="ignore"):
        tied = (n < 2) | (mean - half <= 0)
    means = seed_stats(result, best.metric, best.window)[0]
    candidates = _candidates(result, references, means)
    return [setting(result, i) for i in candidates if i != best.index and tied[i]]


def best_value_interval(
    result: SweepResult,
    *,
    metric: str | None = None,
    window: str = "all",
    references: Mapping[str, float] | None = None,
    num_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float] | None:
    """A 95% bootstrap interval of the best swept value itself.

    Seeds are resampled with replacement, the same seeds for every value (each seed
    ran every value with the same random numbers), the best value is found again on
    each resample as in :func:`best_setting` (per-run means, equal weights), and the
    interval is the 2.5% and 97.5% quantiles (lower and higher) of those best
    values.

    Only for a study of one parameter: the best of parameters swept together is a
    point, whose resampled spread is no interval (quantiles of each coordinate
    would not be a point that was ever best).

    Returns:
      ``(low, high)`` swept values, or None if no candidate has a defined mean.

    Raises:
      ValueError: ``result`` sweeps several parameters together.
    """
    if np.ndim(result.values) != 1:
        raise ValueError(
            f"values of shape {np.shape(result.values)}: the bootstrap interval of "
            "the best value is for a study of one parameter; a study of several "
            "has a best point, not an interval."
        )
    metric = objective(result) if metric is None else metric
    samples, _ = _samples(result, metric, window)
    x = np.asarray(samples, np.float64)
    if x.ndim != 2:
        raise ValueError(f"metric={metric!r} is not a scalar per run.")
    w = np.where(np.isnan(x), 0.0, 1.0)
    x = np.where(w > 0, x, 0.0)
    values = np.asarray(result.values)
    excluded = _references(result, references)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, x.shape[1], size=(num_resamples, x.shape[1]))
    # counts[r, s]: how often seed s is in resample r
    counts = np.zeros((num_resamples, x.shape[1]))
    np.add.at(counts, (np.arange(num_resamples)[:, None], picks), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (counts @ (w * x).T) / (counts @ w.T)  # [resamples, V]
    means[:, excluded] = np.nan
    defined = ~np.isnan(means).all(axis=1)
    if not defined.any():
        return None
    best = values[np.nanargmax(means[defined], axis=1)].astype(np.float64)
    low, high = np.quantile(best, [0.025, 0.975], method="inverted_cdf")
    return float(low), float(high)


def num_diverged(result: SweepResult) -> np.ndarray:
    """``[V]`` how many seeds of each value diverged (zeros if not recorded)."""
    if result.diverged is None:
        return np.zeros(len(result.values), np.int64)
    return (np.asarray(result.diverged) >= 0).sum(axis=1)


POOLED = "_pooled"
"""Suffix of a per-episode metric's pooled rows in ``summary.csv``."""


def _interval(metric: str, mean, sem, n):
    """``(low, high, method)`` of a row's 95% interval."""
    if metric in METRICS and METRICS[metric].binary:
        low, high = proportion_interval(np.round(mean * n), n)
        return float(low), float(high), "wilson"
    half = float(half_width(sem, n))
    return mean - half, mean + half, "t"


def summary_rows(
    name: str, result: SweepResult, *, label: str, param: str | Sequence[str]
) -> list[dict[str, Any]]:
    """Tidy rows, one per (value, metric, window), for ``summary.csv``.

    ``window`` is ``"all"`` (per-run means over every step) or ``"final"`` (over
    the last ``final_steps`` steps; for a per-run metric such as
    ``greedy_success``, the run's end, its only row). Over seeds, each seed one
    replicate: ``mean``, ``sem`` and the 95% interval ``ci95_low``, ``ci95_high``
    whose method ``interval`` names (``"t"``: :func:`half_width`; ``"wilson"``:
    :func:`proportion_interval`, for a metric whose runs score 0 or 1). A
    per-episode metric also has rows ``<metric>_pooled``: its mean over all
    episodes of all runs (see :func:`seed_stats`). ``steps_to_solve``'s rows are
    over the runs that solved (``num_seeds`` of them; ``solved`` gives the
    fraction). ``num_seeds`` counts the seeds with a defined value (for a
    per-episode metric, with an episode that ended); ``num_diverged`` the seeds
    whose run diverged (state or metrics not finite, see
    :attr:`SweepResult.diverged`), which are left out of ``num_seeds`` and of every
    statistic. Vector metrics (``prob_by_rank``, ``visits``) are not summarised.
    All statistics are float64.

    Parameters swept together (``param`` a sequence of names, values ``[V, k]``):
    ``param`` and ``value`` hold the first parameter and its value, and each
    further parameter has a column of its own, named after it, last.

    Args:
      name: the study's name.
      result: the study's results.
      label: human-readable study label (e.g. ``"softmax"``).
      param: name of the swept parameter (e.g. ``"tau"``), or the names of the
        parameters swept together (``("tau", "step_size")``).

    Returns:
      a list of dicts with keys study, label, param, value, metric, window,
      final_steps, num_seeds, num_diverged, mean, sem, ci95_low, ci95_high,
      interval (and the further parameters' names).
    """
    params = (param,) if isinstance(param, str) else tuple(param)
    # float32 values -> the shortest decimal that reads back as the same float32.
    grid = np.asarray(result.values).reshape(len(result.values), -1)
    if grid.shape[1] != len(params):
        raise ValueError(
            f"param={param!r}: the result sweeps {grid.shape[1]} parameter(s)."
        )
    settings = [[float(str(v)) for v in row] for row in grid]
    names = [m for m in result.metrics if np.ndim(result.metrics[m].run_mean) == 2]
    # a per-run metric (the final greedy policy's score) has one window: the end
    windows = {
        m: ("final",) if m in METRICS and METRICS[m].at_end else WINDOWS for m in names
    }
    stats = {}
    for metric in names:
        for window in windows[metric]:
            stats[metric, window] = seed_stats(result, metric, window)
        if result.metrics[metric].run_weight is not None:
            for window in windows[metric]:
                stats[metric + POOLED, window] = seed_stats(
                    result, metric, window, pooled=True
                )
    diverged = num_diverged(result)
    rows = []
    for i, (value, *further) in enumerate(settings):
        for (metric, window), columns in stats.items():
            mean, sem, n = (float(c[i]) for c in columns)
            low, high, method = _interval(metric, mean, sem, n)
            rows.append(
                {
                    "study": name,
                    "label": label,
                    "param": params[0],
                    "value": value,
                    "metric": metric,
                    "window": window,
                    "final_steps": int(result.final_steps),
                    "num_seeds": int(n),
                    "num_diverged": int(diverged[i]),
                    "mean": mean,
                    "sem": sem,
                    "ci95_low": low,
                    "ci95_high": high,
                    "interval": method,
                    **dict(zip(params[1:], further, strict=True)),
                }
            )
    return rows
