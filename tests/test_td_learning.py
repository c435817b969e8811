"""TD control learns what the literature says it learns, through the whole pipeline:
Sutton & Barto (2018) Example 6.6 (cliff walking, Figure 6.4) and Figure 6.3's shape."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np

from rl_softmax.experiment import run_experiment

CONFIGS = Path(__file__).resolve().parents[1] / "rl_softmax" / "configs"


def _episode_means(result, first: int, last: int) -> np.ndarray:
    """``[S]`` each run's mean return over episodes ``first .. last - 1``."""
    returns = result.metrics["episode_returns"].run_mean[0].astype(np.float64)
    assert not np.isnan(returns[:, :last]).any()  # every run reached episode `last`
    return returns[:, first:last].mean(axis=1)


def test_cliff_walking_sarsa_takes_the_safe_path_q_learning_the_edge():
    raw = tomllib.loads((CONFIGS / "cliff_walking.toml").read_text())
    raw["studies"] = [s for s in raw["studies"] if s["name"] in ("sarsa", "q_learning")]
    raw.update(num_seeds=40, num_steps=25_000, final_steps=1000)
    results = run_experiment(raw, write=False, progress=False)
    sarsa = _episode_means(results.studies["sarsa"], 100, 500)
    q_learning = _episode_means(results.studies["q_learning"], 100, 500)
    # Figure 6.4: Sarsa's online return settles near -25, Q-learning's near -50.
    assert -30 < sarsa.mean() < -20, sarsa.mean()
    assert -57 < q_learning.mean() < -44, q_learning.mean()
    difference = sarsa.mean() - q_learning.mean()
    se = np.hypot(sarsa.std(ddof=1), q_learning.std(ddof=1)) / np.sqrt(sarsa.size)
    assert difference > 10 * se
    # Q-learning's own greedy policy is the optimal 13-step edge path in every run.
    greedy = results.studies["q_learning"].metrics["greedy_return"].run_mean
    np.testing.assert_array_equal(greedy, -13.0)
