"""The cells and captions of the generated results tables (experiments/tables.py):
each a mean over seeds with its 95% t interval, a count, a temperature as a
fraction, and a caption saying what the numbers rest on."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from rl_softmax.experiment import stats

SOLVED = 475.0
"""CartPole-v1's reward threshold: a final policy at or above it solves the task."""


def interval(samples, digits: int | None = 0, scale: float = 1.0) -> str:
    """``mean ± half`` of per-run values (NaN runs left out), t interval;
    ``digits=None``: decimals for two significant digits of the half width."""
    mean, sem, n = stats.mean_sem(np.asarray(samples, np.float64) * scale)
    if n == 0:
        return "n/a"
    half = stats.half_width(sem, n)
    if digits is None:
        exponent = np.floor(np.log10(half)) if half > 0 else 0.0
        digits = int(np.clip(1 - exponent, 0, 4))
    if np.isnan(half):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def count(passed, defined) -> str:
    """``k / n`` seeds."""
    return f"{int(np.sum(passed))} / {int(np.sum(defined))}"


def tau_label(value: float) -> str:
    """``1/8``, ``2``, ``0``, ``inf``: a power of two as a fraction."""
    if value == 0 or not np.isfinite(value):
        return "0" if value == 0 else "inf"
    fraction = Fraction(float(value)).limit_denominator(1 << 20)
    return str(fraction)


def caption(results, extra: str = "") -> str:
    """What a table's numbers rest on: seeds, size, interval, versions, CPU."""
    meta = results.metadata
    config = results.config
    versions = meta["versions"]
    machine = meta.get("machine", {})
    libraries = ", ".join(
        f"{name} {versions[name]}" for name in ("jax", "optax", "gymnasium", "numpy")
    )
    return (
        f"*Config `{config.name}`: {config.num_seeds} seeds x {config.num_steps:,} "
        f"steps; mean ± 95% t interval over seeds{extra}. Measured with {libraries} "
        f"on {machine.get('cpu', 'an unrecorded CPU')} "
        f"({machine.get('cores', '?')} cores).*"
    )


# -------------------------------------------------------------------------- tables


def per_run(result, metric: str, window: str = "all") -> np.ndarray:
    """``[V, S]`` float64 per-run values of a metric (all steps or the final ones)."""
    m = result.metrics[metric]
    return np.asarray(m.run_mean if window == "all" else m.run_final, np.float64)
