"""The ``frozenlake`` suite of ``rl-softmax bench``
(experiments/benchmark_frozenlake.py): its quick run reports every row with
consistent rates, and its NumPy batch agrees with the engine (and with the exact
reward rate of the uniform policy)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from experiment_scripts import script

benchmark = script("benchmark_frozenlake")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The saved JSON of one quick run of the suite."""
    out = tmp_path_factory.mktemp("bench")
    # gymnax is installed for the benchmark only, never for the tests: its row is
    # left out here, as on a fresh clone.
    script("bench").run(quick=True, only=["frozenlake"], out=out, gymnax=False)
    return json.loads((out / "bench.json").read_text())


def test_quick_run_reports_every_row_with_positive_finite_rates(report):
    loop, numpy_row, ours, gymnax = report["rows"]
    details = report["details"]["frozenlake"]
    assert loop["implementation"].startswith("Python loop")
    assert numpy_row["implementation"].startswith("NumPy")
    assert ours["implementation"].startswith("rl_softmax sweep")
    assert gymnax["implementation"].startswith("gymnax")
    assert ours["work"] == 13 * details["num_seeds"] * details["num_steps"]
    assert gymnax["seconds"] == [] and gymnax["rate_median"] is None  # left out:
    assert gymnax["note"] == "unavailable: left out (gymnax=False)"  # it says why
    timed = [loop, numpy_row, ours]
    for row in timed:
        rates = [row["work"] / s for s in row["seconds"]]
        assert all(math.isfinite(r) and r > 0 for r in rates)
        np.testing.assert_allclose(row["rate_median"], np.median(rates), rtol=1e-12)
    # paired by round: NumPy against the loop, the engine against NumPy
    for row, base in ((numpy_row, loop), (ours, numpy_row)):
        assert row["baseline"] == base["name"]
        ratios = [
            (row["work"] / s) / (base["work"] / b)
            for s, b in zip(row["seconds"], base["seconds"], strict=True)
        ]
        np.testing.assert_allclose(row["ratio_median"], np.median(ratios), rtol=1e-12)
    # the engine: compiled once (0 on a persistent-cache hit), never while sweeping
    assert ours["compile_seconds"] > 0
    assert details["compiles"]["ours"]["compiles"] <= 1
    assert details["compiles"]["ours"]["while_sweeping"] == 0


def test_numpy_batch_agrees_with_the_sweep(report):
    check = report["details"]["frozenlake"]["agreement"]["NumPy vs sweep"]
    assert np.max(np.abs(check["z"])) < 4.0
    (reported,) = report["checks"]
    assert reported["name"] == "frozenlake: NumPy vs sweep" and reported["passed"]
    # ... and the check has the power to tell greedy (tau = 0) from uniform (inf).
    values = report["details"]["frozenlake"]["values"]
    greedy, uniform = values.index(0.0), values.index(math.inf)
    gap = check["ours_mean"][greedy] - check["theirs_mean"][uniform]
    assert gap / math.hypot(check["ours_sem"][greedy], check["theirs_sem"][uniform]) > 5


def _uniform_reward_rate(env) -> float:
    """Exact reward per step of the uniform policy with resets (renewal-reward):
    ``E[episode reward] / E[episode length]`` under the time limit."""
    probs = np.asarray(env.probs, np.float64) / env.num_actions
    stay = probs * ~np.asarray(env.terminated)
    moves = np.zeros((env.num_states, env.num_states))
    rows = np.broadcast_to(np.arange(env.num_states)[:, None, None], probs.shape)
    np.add.at(moves, (rows, env.next_states), stay)
    step_reward = np.sum(probs * env.rewards, axis=(1, 2))
    dist, reward, length = np.asarray(env.initial, np.float64), 0.0, 0.0
    for _ in range(env.max_steps):
        length, reward, dist = (
            length + dist.sum(),
            reward + dist @ step_reward,
            dist @ moves,
        )
    return reward / length


def test_numpy_batch_matches_the_exact_uniform_rate():
    from rl_softmax.envs import tabular

    env, _ = tabular.make("FrozenLake-v1")
    tables = {
        name: np.asarray(getattr(env, name))
        for name in ("probs", "next_states", "rewards", "terminated", "initial")
    }
    rewards = benchmark.numpy_sweep(tables, np.array([np.inf]), 2000, 1000, seed=1)
    mean, sem = rewards.mean(), rewards.std(ddof=1) / np.sqrt(rewards.size)
    assert abs(mean - _uniform_reward_rate(env)) < 4 * sem
    assert sem < 0.05 * mean  # tight enough to mean something
