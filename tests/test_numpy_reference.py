"""Checks experiments/numpy_reference.py against published Sutton & Barto numbers.

The published numbers are Sutton & Barto (2018), Figs. 2.2, 2.5 and 2.6, as
reproduced by public code with 2000 runs x 1000 steps (see shared REFERENCES.md).

Tolerance. Each check reduces every run to one number ``x_i`` (e.g. the fraction of
optimal actions over its last 100 steps), so the estimate is a mean over independent
runs with standard error ``sd(x) / sqrt(num_runs)``. A published number is itself one
2000-run realisation, read off a figure, so we accept

    |mean(x) - published| <= 4 * sqrt(se_ours**2 + se_published**2) + reading,

where ``se_published`` is the same statistic's SE at 2000 runs and ``reading`` is
half the width of the published range (or the precision a "~X" value was read to).
Average reward (Fig. 2.6) uses the control variate ``E[max_a q*(a)] - mean regret``,
which has the same expectation as the mean reward but ~4x smaller SE because it
removes the reward noise and the spread of ``max q*`` across tasks.

Full-size (2000-run) checks are marked ``slow``; the default run uses 500 runs, whose
tolerance is correspondingly wider.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "numpy_reference.py"


def _load_reference():
    spec = importlib.util.spec_from_file_location("numpy_reference", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


numpy_reference = _load_reference()
run_bandit = numpy_reference.run_bandit

PUBLISHED_NUM_RUNS = 2000
FAST_NUM_RUNS = 500
NUM_SIGMAS = 4.0
# SE of a 1000-step average reward over 2000 runs (REFERENCES.md), i.e. of the
# published Fig. 2.6 values, which are raw reward averages.
FIG_2_6_PUBLISHED_SE = 0.013


@functools.cache
def _expected_max_of_normals(num_arms: int) -> float:
    """``E[max of num_arms iid N(0, 1)]`` by quadrature (1.5388 for 10 arms)."""
    x = np.linspace(-12.0, 12.0, 240_001)
    pdf = np.exp(-0.5 * x**2) / math.sqrt(2.0 * math.pi)
    cdf = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in x]))
    density = num_arms * pdf * cdf ** (num_arms - 1)
    return float(np.sum(x * density) * (x[1] - x[0]))


class Published(NamedTuple):
    """One published number: a run configuration, a statistic and its range."""

    rule: str
    param: float
    options: dict
    statistic: str  # "optimal_last_100" | "optimal_last_10" | "average_reward"
    low: float
    high: float


PUBLISHED = {
    # Fig. 2.2: % optimal action; "~X%" values read to +-1 point.
    "fig2.2-greedy": Published("greedy", 0.0, {}, "optimal_last_100", 0.35, 0.37),
    "fig2.2-eps0.1": Published(
        "epsilon_greedy", 0.1, {}, "optimal_last_100", 0.78, 0.80
    ),
    # Still rising at step 1000, so the last-100 mean sits below the end of the
    # curve: read to +-2 points.
    "fig2.2-eps0.01": Published(
        "epsilon_greedy", 0.01, {}, "optimal_last_100", 0.58, 0.62
    ),
    # Fig. 2.6: average reward over the first 1000 steps.
    "fig2.6-eps1/16": Published(
        "epsilon_greedy", 1 / 16, {}, "average_reward", 1.31, 1.32
    ),
    "fig2.6-ucb-c1": Published("ucb", 1.0, {}, "average_reward", 1.47, 1.50),
    "fig2.6-gradient-alpha1/4": Published(
        "gradient_bandit", 0.25, {}, "average_reward", 1.39, 1.41
    ),
    "fig2.6-optimistic-q0=1": Published(
        "greedy",
        0.0,
        {"initial_value": 1.0, "step_size": 0.1},
        "average_reward",
        1.44,
        1.46,
    ),
    # Fig. 2.5 (q* ~ N(4, 1)): % optimal at step 1000, estimated by steps 991-1000.
    "fig2.5-alpha0.1-baseline": Published(
        "gradient_bandit", 0.1, {"q_star_mean": 4.0}, "optimal_last_10", 0.85, 0.87
    ),
    "fig2.5-alpha0.4-baseline": Published(
        "gradient_bandit", 0.4, {"q_star_mean": 4.0}, "optimal_last_10", 0.73, 0.75
    ),
    "fig2.5-alpha0.1-no-baseline": Published(
        "gradient_bandit",
        0.1,
        {"q_star_mean": 4.0, "baseline": False},
        "optimal_last_10",
        0.48,
        0.49,
    ),
    "fig2.5-alpha0.4-no-baseline": Published(
        "gradient_bandit",
        0.4,
        {"q_star_mean": 4.0, "baseline": False},
        "optimal_last_10",
        0.27,
        0.28,
    ),
}


def _per_run_statistic(out: dict[str, np.ndarray], statistic: str) -> np.ndarray:
    """Reduces ``[num_runs, num_steps]`` outputs to one float64 number per run."""
    if statistic == "optimal_last_100":
        return out["optimal"][:, -100:].mean(axis=1, dtype=np.float64)
    if statistic == "optimal_last_10":
        return out["optimal"][:, -10:].mean(axis=1, dtype=np.float64)
    if statistic == "average_reward":
        # The Fig. 2.6 cases use the default testbed: 10 arms, q* ~ N(0, 1).
        regret = out["regret"].mean(axis=1, dtype=np.float64)
        return _expected_max_of_normals(10) - regret
    raise ValueError(f"statistic={statistic!r}")


def _check_published(case: Published, num_runs: int) -> None:
    if case.statistic == "average_reward":
        assert not {"num_arms", "q_star_mean", "q_star_std"} & set(case.options)
    out = run_bandit(case.rule, case.param, num_runs=num_runs, **case.options)
    per_run = _per_run_statistic(out, case.statistic)
    sd = per_run.std(ddof=1)
    se_ours = sd / math.sqrt(num_runs)
    if case.statistic == "average_reward":
        se_published = FIG_2_6_PUBLISHED_SE
    else:
        se_published = sd / math.sqrt(PUBLISHED_NUM_RUNS)
    slack = NUM_SIGMAS * math.hypot(se_ours, se_published)
    mean = per_run.mean()
    print(
        f"{case.rule}({case.param:.4g}, {case.options}) {case.statistic}: "
        f"{mean:.4f} (SE {se_ours:.4f}); published [{case.low}, {case.high}] "
        f"+- {slack:.4f}"
    )
    assert case.low - slack <= mean <= case.high + slack


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_matches_published_figure_fast(name: str) -> None:
    _check_published(PUBLISHED[name], FAST_NUM_RUNS)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PUBLISHED))
def test_matches_published_figure_full_size(name: str) -> None:
    _check_published(PUBLISHED[name], PUBLISHED_NUM_RUNS)


def test_expected_max_of_ten_normals() -> None:
    # Known value for the 10-armed testbed's optimal average reward.
    assert _expected_max_of_normals(10) == pytest.approx(1.5387527, abs=1e-6)


@pytest.mark.parametrize("rule", numpy_reference.RULES)
def test_outputs_have_run_by_step_shape(rule: str) -> None:
    out = run_bandit(rule, 0.5, num_runs=7, num_steps=13, num_arms=4)
    assert set(out) == {"reward", "optimal", "regret", "entropy", "prob_optimal"}
    for name, array in out.items():
        assert array.shape == (7, 13), name
        assert array.dtype == np.float32, name
    assert np.all(np.isfinite(out["reward"]))
    assert np.all(out["regret"] >= 0)
    # Regret is zero exactly when the optimal arm was taken.
    np.testing.assert_array_equal(out["regret"] == 0, out["optimal"] == 1)


@pytest.mark.parametrize("rule", numpy_reference.RULES)
def test_same_seed_same_output(rule: str) -> None:
    first = run_bandit(rule, 0.3, num_runs=50, num_steps=40, seed=3)
    second = run_bandit(rule, 0.3, num_runs=50, num_steps=40, seed=3)
    other = run_bandit(rule, 0.3, num_runs=50, num_steps=40, seed=4)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    assert not np.array_equal(first["reward"], other["reward"])


@pytest.mark.parametrize(
    ("rule", "param"),
    [
        ("boltzmann", 0.2),
        ("boltzmann", 0.0),
        ("greedy", 0.0),
        ("epsilon_greedy", 0.1),
        ("ucb", 2.0),
        ("gradient_bandit", 0.1),
    ],
)
def test_entropy_and_prob_optimal_in_range(rule: str, param: float) -> None:
    num_arms = 6
    out = run_bandit(rule, param, num_runs=200, num_steps=100, num_arms=num_arms)
    entropy, prob_optimal = out["entropy"], out["prob_optimal"]
    assert np.all(entropy >= -1e-6)
    assert np.all(entropy <= math.log(num_arms) + 1e-5)
    assert np.all((prob_optimal >= 0) & (prob_optimal <= 1 + 1e-6))


def test_boltzmann_gumbel_has_no_distribution() -> None:
    out = run_bandit("boltzmann_gumbel", 1.0, num_runs=10, num_steps=20)
    assert np.all(np.isnan(out["entropy"]))
    assert np.all(np.isnan(out["prob_optimal"]))


@pytest.mark.parametrize("rule", ["boltzmann", "gradient_bandit"])
def test_sample_frequencies_match_probs(rule: str) -> None:
    # E[optimal_t | past] = prob_optimal_t, so their mean difference is a martingale
    # average with variance <= sum p(1 - p) / n^2.
    out = run_bandit(rule, 0.3, num_runs=2000, num_steps=200, num_arms=5)
    p = out["prob_optimal"].astype(np.float64)
    diff = out["optimal"].mean(dtype=np.float64) - p.mean()
    se = math.sqrt(np.sum(p * (1 - p))) / p.size
    assert abs(diff) <= NUM_SIGMAS * se


def test_first_step_is_uniform_over_tied_arms() -> None:
    # With Q0 = 0 every arm ties at t = 1: log K nats and 1 / K on the optimal arm.
    num_arms = 8
    for rule in ("greedy", "boltzmann", "ucb", "gradient_bandit"):
        out = run_bandit(rule, 0.0, num_runs=30, num_steps=1, num_arms=num_arms)
        np.testing.assert_allclose(out["entropy"], math.log(num_arms), rtol=1e-6)
        np.testing.assert_allclose(out["prob_optimal"], 1 / num_arms, rtol=1e-6)


def test_ucb_tries_untried_arms_first() -> None:
    # An untried arm is maximal, so step t (1-based) splits evenly over K - t + 1.
    num_arms = 5
    out = run_bandit("ucb", 1.0, num_runs=40, num_steps=num_arms, num_arms=num_arms)
    expected = np.log(num_arms - np.arange(num_arms))
    np.testing.assert_allclose(out["entropy"], np.broadcast_to(expected, (40, 5)))
    # Every run has taken the optimal arm exactly once in its first K steps.
    np.testing.assert_array_equal(out["optimal"].sum(axis=1), 1.0)


def test_epsilon_one_is_uniform() -> None:
    num_arms, num_runs, num_steps = 10, 1000, 50
    out = run_bandit(
        "epsilon_greedy",
        1.0,
        num_runs=num_runs,
        num_steps=num_steps,
        num_arms=num_arms,
    )
    np.testing.assert_allclose(out["entropy"], math.log(num_arms), rtol=1e-6)
    np.testing.assert_allclose(out["prob_optimal"], 1 / num_arms, rtol=1e-6)
    p = 1 / num_arms
    se = math.sqrt(p * (1 - p) / (num_runs * num_steps))
    assert abs(out["optimal"].mean() - p) <= NUM_SIGMAS * se


def test_tau_zero_is_greedy() -> None:
    greedy = run_bandit("greedy", 0.0, num_runs=100, num_steps=50)
    boltzmann = run_bandit("boltzmann", 0.0, num_runs=100, num_steps=50)
    for name in greedy:
        np.testing.assert_array_equal(greedy[name], boltzmann[name])


@pytest.mark.parametrize(
    ("rule", "param", "options"),
    [
        ("softmax", 1.0, {}),
        ("boltzmann", -0.1, {}),
        ("epsilon_greedy", 1.5, {}),
        ("ucb", float("nan"), {}),
        ("greedy", 0.0, {"num_runs": 0}),
        ("greedy", 0.0, {"step_size": 0.0}),
        ("greedy", 0.0, {"noise_std": -1.0}),
    ],
)
def test_invalid_config_raises(rule: str, param: float, options: dict) -> None:
    with pytest.raises(ValueError):
        run_bandit(rule, param, num_steps=2, **options)


def test_script_runs_on_tiny_override() -> None:
    result = subprocess.run(
        [sys.executable, str(_SCRIPT), "--num-runs", "20", "--num-steps", "20"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    header, *rows = result.stdout.strip().splitlines()
    assert header.split()[:2] == ["rule", "param"] and header.endswith("%opt end")
    assert len(rows) >= 5
    for row in rows:  # an average reward and a % optimal action, both finite
        reward, optimal = row.split()[-2:]
        assert math.isfinite(float(reward)) and 0 <= float(optimal.rstrip("%")) <= 100
