"""The JAX sweep against published figures and the independent NumPy reference.

Published numbers: Sutton & Barto (2018) Figs. 2.2 and 2.6 as reproduced by public
code (2000 runs x 1000 steps). Tolerances come from standard errors: our estimate's
SE across runs combined with the published value's own SE at 2000 runs, times 4,
plus half the width of the published range. The default suite uses 500 runs; the
full 2000-run checks are marked ``slow`` (``pytest -m slow``).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import jax
import pytest

from rl_softmax.agents import make_action_value_agent, rules
from rl_softmax.engine import SweepResult, make_run, sweep
from rl_softmax.envs import GaussianBandit

_SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "numpy_reference.py"
_spec = importlib.util.spec_from_file_location("numpy_reference", _SCRIPT)
numpy_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(numpy_reference)

NUM_STEPS = 1000
SIGMAS = 4.0
FIG_2_6_PUBLISHED_SE = 0.013  # SE of a 1000-step average reward at 2000 runs

# (rule, parameter, statistic, published low, published high)
PUBLISHED = {
    "fig2.2 greedy, % optimal (last 100)": ("greedy", 0.0, "optimal", 0.35, 0.37),
    "fig2.2 eps=0.1, % optimal (last 100)": (
        "epsilon_greedy",
        0.1,
        "optimal",
        0.78,
        0.80,
    ),
    "fig2.6 eps=1/16, average reward": ("epsilon_greedy", 1 / 16, "reward", 1.31, 1.32),
    "fig2.6 UCB c=1, average reward": ("ucb", 1.0, "reward", 1.47, 1.50),
}


def _sweep(rule: str, values, num_runs: int, seed: int = 0) -> SweepResult:
    agent = make_action_value_agent(10, getattr(rules, f"{rule}_rule")())
    run = make_run(GaussianBandit(10), agent, NUM_STEPS)
    return sweep(run, values, num_runs, key=jax.random.key(seed))


def _check_published(name: str, num_runs: int) -> None:
    rule, param, statistic, low, high = PUBLISHED[name]
    result = _sweep(rule, [param], num_runs)
    if statistic == "optimal":
        per_run = result.metrics["optimal"].run_final[0]  # the last 100 steps
        published_se = math.sqrt(high * (1 - high) / 100 / 2000 + 0.02**2 / 2000)
    else:
        per_run = result.metrics["reward"].run_mean[0]
        published_se = FIG_2_6_PUBLISHED_SE
    mean = per_run.mean()
    se = per_run.std(ddof=1) / math.sqrt(num_runs)
    tolerance = SIGMAS * math.hypot(se, published_se)
    assert low - tolerance <= mean <= high + tolerance, (name, mean, tolerance)


@pytest.mark.parametrize("name", PUBLISHED)
def test_matches_published_figure_fast(name):
    _check_published(name, num_runs=500)


@pytest.mark.slow
@pytest.mark.parametrize("name", PUBLISHED)
def test_matches_published_figure_full_size(name):
    _check_published(name, num_runs=2000)


def test_boltzmann_sweep_matches_numpy_reference():
    """Mean reward and % optimal per tau agree with the NumPy loop within 4 SE."""
    taus = [0.05, 0.25, 1.0]
    num_runs = 400
    result = _sweep("boltzmann", taus, num_runs)
    for i, tau in enumerate(taus):
        reference = numpy_reference.run_bandit(
            "boltzmann", tau, num_runs=num_runs, num_steps=NUM_STEPS, seed=1
        )
        for name in ("reward", "optimal", "entropy", "prob_optimal"):
            ours = result.metrics[name].run_mean[i]
            theirs = reference[name].mean(axis=1)
            se = math.hypot(ours.std(ddof=1), theirs.std(ddof=1)) / math.sqrt(num_runs)
            assert abs(ours.mean() - theirs.mean()) <= SIGMAS * se, (tau, name)
