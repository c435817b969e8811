"""Statistics over seeds, in one place: means, standard errors, 95% intervals, the
tidy summary rows and the best setting of a sweep.

A per-step metric's per-run values are averaged over seeds with equal weights; a
per-episode metric's are weighted by the number of episodes behind each (the mean
over all episodes that ended, a ratio estimator). Intervals are ``mean ± 1.96 sem``
(the normal approximation, fine for the tens of seeds a sweep runs; slightly narrow
for very few).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from rl_softmax.engine.metrics import METRICS
from rl_softmax.engine.sweep import SweepResult

__all__ = [
    "Z95",
    "Best",
    "best_setting",
    "best_value_interval",
    "mean_sem",
    "num_diverged",
    "objective",
    "summary_rows",
]

Z95 = 1.96
"""Two-sided 95% quantile of the standard normal."""

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


def _samples(result: SweepResult, metric: str, window: str):
    """``(per-run values [V, S], weights [V, S] or None)`` of a metric and window."""
    if window not in WINDOWS:
        raise ValueError(f"window={window!r}: expected one of {WINDOWS}.")
    if metric not in result.metrics:
        raise ValueError(
            f"metric={metric!r} is not in this result; it has {list(result.metrics)}."
        )
    m = result.metrics[metric]
    if window == "all":
        return m.run_mean, m.run_weight
    return m.run_final, m.final_weight


def seed_stats(result: SweepResult, metric: str, window: str = "all"):
    """``(mean, sem, n)`` over seeds for every value (``[V]`` each)."""
    samples, weights = _samples(result, metric, window)
    return mean_sem(samples, axis=1, weights=weights)


def objective(result: SweepResult) -> str:
    """The metric a "best setting" maximises: the episode return where episodes
    end, else the reward per step."""
    return "return" if "return" in result.metrics else "reward"


class Best(NamedTuple):
    """The best swept value and its statistics.

    Attributes:
      index: its index in ``result.values``.
      value: the value.
      metric: the metric it maximises.
      window: ``"all"`` or ``"final"``.
      mean: its mean over seeds.
      sem: the standard error of ``mean``.
    """

    index: int
    value: float
    metric: str
    window: str
    mean: float
    sem: float

    @property
    def ci95(self) -> tuple[float, float]:
        """``(low, high)`` of the 95% interval ``mean ± 1.96 sem``."""
        return self.mean - Z95 * self.sem, self.mean + Z95 * self.sem


def best_setting(
    result: SweepResult,
    *,
    metric: str | None = None,
    window: str = "all",
    references: Mapping[str, float] | None = None,
) -> Best | None:
    """The swept value with the highest mean ``metric``, references left out.

    Note the optimistic bias: the best of a sweep is chosen on the runs it is
    scored on.

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
    mean, sem, _ = seed_stats(result, metric, window)
    values = np.asarray(result.values)
    excluded = np.isin(
        values, np.asarray(list((references or {}).values()), values.dtype)
    )
    candidates = np.flatnonzero(~excluded & ~np.isnan(mean))
    if not candidates.size:
        return None
    i = int(candidates[np.argmax(mean[candidates])])
    return Best(i, float(values[i]), metric, window, float(mean[i]), float(sem[i]))


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
    each resample as in :func:`best_setting`, and the interval is the 2.5% and 97.5%
    quantiles (lower and higher) of those best values.

    Returns:
      ``(low, high)`` swept values, or None if no candidate has a defined mean.
    """
    metric = objective(result) if metric is None else metric
    samples, weights = _samples(result, metric, window)
    x = np.asarray(samples, np.float64)
    if x.ndim != 2:
        raise ValueError(f"metric={metric!r} is not a scalar per run.")
    w = np.ones_like(x) if weights is None else np.asarray(weights, np.float64)
    w = np.where(np.isnan(x), 0.0, w)
    x = np.where(w > 0, x, 0.0)
    values = np.asarray(result.values)
    excluded = np.isin(
        values, np.asarray(list((references or {}).values()), values.dtype)
    )
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
        return np.zeros(np.size(result.values), np.int64)
    return (np.asarray(result.diverged) >= 0).sum(axis=1)


def summary_rows(
    name: str, result: SweepResult, *, label: str, param: str
) -> list[dict[str, Any]]:
    """Tidy rows, one per (value, metric, window), for ``summary.csv``.

    ``window`` is ``"all"`` (per-run means over every step) or ``"final"`` (over
    the last ``final_steps`` steps; for a per-run metric such as
    ``greedy_success``, the run's end, its only row). Over seeds: ``mean``,
    ``sem`` and the 95% interval (see :func:`mean_sem`). ``num_seeds`` counts the
    seeds with a defined value (for a per-episode metric, with an episode that
    ended); ``num_diverged`` the seeds whose run diverged (state or metrics not
    finite, see :attr:`SweepResult.diverged`), which are left out of
    ``num_seeds`` and of every statistic. Vector metrics (``prob_by_rank``,
    ``visits``) are not summarised.
    All statistics are float64.

    Args:
      name: the study's name.
      result: the study's results.
      label: human-readable study label (e.g. ``"softmax"``).
      param: name of the swept parameter (e.g. ``"tau"``).

    Returns:
      a list of dicts with keys study, label, param, value, metric, window,
      final_steps, num_seeds, num_diverged, mean, sem, ci95_low, ci95_high.
    """
    # float32 values -> the shortest decimal that reads back as the same float32.
    values = [float(str(v)) for v in np.asarray(result.values)]
    names = [m for m in result.metrics if np.ndim(result.metrics[m].run_mean) == 2]
    # a per-run metric (the final greedy policy's score) has one window: the end
    windows = {
        m: ("final",) if m in METRICS and METRICS[m].at_end else WINDOWS for m in names
    }
    stats = {
        (metric, window): seed_stats(result, metric, window)
        for metric in names
        for window in windows[metric]
    }
    diverged = num_diverged(result)
    rows = []
    for i, value in enumerate(values):
        for metric in names:
            for window in windows[metric]:
                mean, sem, n = (float(s[i]) for s in stats[metric, window])
                rows.append(
                    {
                        "study": name,
                        "label": label,
                        "param": param,
                        "value": value,
                        "metric": metric,
                        "window": window,
                        "final_steps": int(result.final_steps),
                        "num_seeds": int(n),
                        "num_diverged": int(diverged[i]),
                        "mean": mean,
                        "sem": sem,
                        "ci95_low": mean - Z95 * sem,
                        "ci95_high": mean + Z95 * sem,
                    }
                )
    return rows
