"""Smoke test of ``experiments/benchmark_frozenlake.py``: its quick run reports every
row with consistent rates, and its NumPy batch agrees with the engine (and with the
exact reward rate of the uniform policy)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "benchmark_frozenlake.py"


def _benchmark():
    spec = importlib.util.spec_from_file_location("benchmark_frozenlake", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("benchmark")
    # gymnax is installed for the benchmark only, never for the tests: its row is
    # left out here, as on a fresh clone.
    returned = _benchmark().main(["--quick", "--no-gymnax", "--out", str(out)])
    saved = json.loads((out / "frozenlake.json").read_text())
    assert saved == json.loads(json.dumps(returned))
    return saved


def test_quick_run_reports_every_row_with_positive_finite_rates(report):
    loop, numpy_row, ours, gymnax = report["rows"]
    assert loop["implementation"].startswith("Python loop")
    assert numpy_row["implementation"].startswith("NumPy")
    assert ours["implementation"].startswith("rl_softmax sweep")
    assert gymnax["implementation"].startswith("gymnax")
    assert ours["env_steps"] == 13 * report["num_seeds"] * report["num_steps"]
    timed = [row for row in report["rows"] if row["seconds"] is not None]
    assert gymnax["seconds"] is None  # left out: the row says why
    assert gymnax["note"] and gymnax["env_steps_per_second"] is None
    for row in timed:
        rate = row["env_steps_per_second"]
        assert math.isfinite(rate) and rate > 0
        np.testing.assert_allclose(rate, row["env_steps"] / row["seconds"], rtol=1e-12)
        np.testing.assert_allclose(
            row["x_numpy"], rate / numpy_row["env_steps_per_second"], rtol=1e-12
        )
    for row in timed[2:]:  # the engine: compiled once (0 on a persistent-cache hit)
        assert row["compile_seconds"] > 0 and row["compiles"] <= 1
        assert row["compiles_while_sweeping"] == 0
    assert report["ratios"]["x NumPy"] == ours["x_numpy"]


def test_numpy_batch_agrees_with_the_sweep(report):
    check = report["checks"]["numpy_vs_ours"]
    assert np.max(np.abs(check["z"])) < 4.0
    # ... and the check has the power to tell greedy (tau = 0) from uniform (inf).
    greedy, uniform = report["values"].index(0.0), report["values"].index(math.inf)
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

    benchmark = _benchmark()
    env, _ = tabular.make("FrozenLake-v1")
    tables = {
        name: np.asarray(getattr(env, name))
        for name in ("probs", "next_states", "rewards", "terminated", "initial")
    }
    rewards = benchmark.numpy_sweep(tables, np.array([np.inf]), 2000, 1000, seed=1)
    mean, sem = rewards.mean(), rewards.std(ddof=1) / np.sqrt(rewards.size)
    assert abs(mean - _uniform_reward_rate(env)) < 4 * sem
    assert sem < 0.05 * mean  # tight enough to mean something
