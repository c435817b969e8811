"""The temperature atlas script: its value scales against independent references
(NumPy value iteration on gymnasium's own table, draws of the testbed), its
half-performance temperature against a closed form, and a small end-to-end run."""

from __future__ import annotations

import csv
import importlib.util
import math

import gymnasium
import numpy as np
import pytest
from experiment_scripts import EXPERIMENTS

spec = importlib.util.spec_from_file_location(
    "temperature_atlas", EXPERIMENTS / "temperature_atlas.py"
)
atlas = importlib.util.module_from_spec(spec)
spec.loader.exec_module(atlas)


def _numpy_q_star(env_id: str, discount: float, **kwargs) -> np.ndarray:
    """Q* by value iteration on gymnasium's P table, in float64."""
    env = gymnasium.make(env_id, **kwargs).unwrapped
    num_states, num_actions = env.observation_space.n, env.action_space.n
    q = np.zeros((num_states, num_actions))
    for _ in range(100_000):
        v = q.max(axis=1)
        new = np.zeros_like(q)
        for s in range(num_states):
            for a in range(num_actions):
                for p, s2, r, done in env.P[s][a]:
                    new[s, a] += p * (r + (0.0 if done else discount * v[s2]))
        if np.abs(new - q).max() < 1e-12:
            return new
        q = new
    raise AssertionError("value iteration did not converge")


def test_spread_and_gap_are_the_mean_std_and_median_gap_over_varying_rows():
    q = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 3.0], [2.0, 2.0, -1.0]])
    spread, gap = atlas._spread_and_gap(q)
    assert spread == pytest.approx(np.mean([np.std(q[1]), np.std(q[2])]))
    assert gap == pytest.approx(np.median([2.0, 0.0]))


def test_frozenlake_scale_is_that_of_q_star_from_gymnasium():
    from rl_softmax.experiment import config as config_lib

    config = config_lib.load(atlas._CONFIGS / "frozenlake_tau_sweep.toml")
    family = next(f for f in atlas.FAMILIES if f.config == "frozenlake_tau_sweep")
    q = _numpy_q_star("FrozenLake-v1", 0.99, map_name="4x4", is_slippery=True)
    got = atlas._spread_and_gap(atlas._oracle_values(family, config))
    want = atlas._spread_and_gap(q)
    assert got == pytest.approx(want, rel=1e-5)


def test_bandit_scale_is_the_mean_std_of_ten_standard_normals():
    from rl_softmax.experiment import config as config_lib

    config = config_lib.load(atlas._CONFIGS / "bandit_tau_sweep.toml")
    family = atlas.FAMILIES[0]
    spread, gap = atlas._spread_and_gap(atlas._oracle_values(family, config))
    draws = np.random.default_rng(0).normal(size=(200_000, 10))
    ranked = np.sort(draws, axis=1)
    assert spread == pytest.approx(draws.std(axis=1).mean(), abs=0.005)
    assert gap == pytest.approx(np.median(ranked[:, -1] - ranked[:, -2]), abs=0.01)


def test_half_temperature_interpolates_log_linearly_above_the_best():
    curve = {
        "tau": np.array([0.25, 0.5, 1.0, 2.0, 4.0]),
        "score": np.array([0.2, 1.0, 0.8, 0.2, 0.0]),
    }
    # falls from 0.8 at 2^0 to 0.2 at 2^1: 0.5 halfway, at 2^0.5
    assert atlas.half_temperature(curve) == pytest.approx(2**0.5)
    curve["score"] = np.array([0.2, 1.0, 0.9, 0.8, 0.7])
    assert math.isnan(atlas.half_temperature(curve))


def test_atlas_runs_sweeps_and_reports_best_taus_with_intervals(tmp_path):
    out, figure = tmp_path / "atlas", tmp_path / "atlas.png"
    rows = atlas.main([
        "--families", "bandit_tau_sweep", "frozenlake_tau_sweep", "--set",
        "num_seeds=16", "--set", "num_steps=400", "--set", "final_steps=100",
        "--out", str(out), "--figure", str(figure),
    ])  # fmt: skip
    assert [r.family for r in rows] == ["10-armed testbed", "FrozenLake 4x4"]
    for row in rows:
        assert row.low <= row.best <= row.high
        assert row.best_relative == pytest.approx(row.best / row.scale)
        assert row.low_relative == pytest.approx(row.low / row.scale)
    with open(out / "atlas.csv", encoding="utf-8") as f:
        saved = list(csv.DictReader(f))
    assert [r["family"] for r in saved] == [r.family for r in rows]
    assert float(saved[0]["best"]) == rows[0].best
    assert figure.stat().st_size > 10_000
