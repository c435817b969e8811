"""The ``cartpole`` suite of ``rl-softmax bench`` (experiments/benchmark_cartpole.py):
its quick run (without gymnax, which rl_softmax does not depend on) reports every row
with consistent rates, and its episode counting agrees with gymnasium's vector
environment and with NumPy."""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from experiment_scripts import script


@pytest.fixture(scope="module")
def benchmark():
    return script("benchmark_cartpole")


@pytest.fixture(scope="module")
def report(benchmark, tmp_path_factory):
    """The saved JSON of one quick run of the suite."""
    out = tmp_path_factory.mktemp("bench")
    script("bench").run(quick=True, only=["cartpole"], out=out, gymnax=False)
    return json.loads((out / "bench.json").read_text())


def test_quick_run_reports_every_row_with_positive_finite_rates(report):
    gymnasium, gymnax, ours, ours_random, gymnax_split, alone = report["rows"]
    details = report["details"]["cartpole"]
    assert gymnasium["implementation"].startswith("gymnasium vector env")
    assert ours["implementation"].startswith("rl_softmax, softmax MLP")
    assert ours_random["implementation"].startswith("rl_softmax, random actions")
    assert alone["implementation"].startswith("softmax MLP alone")
    for skipped in (gymnax, gymnax_split):  # left out: the row says why
        assert skipped["implementation"].startswith("gymnax")
        assert skipped["seconds"] == [] and skipped["rate_median"] is None
        assert skipped["note"] == "unavailable: left out (gymnax=False)"
    env_steps = details["num_envs"] * details["num_steps"]
    for row in (gymnasium, ours, ours_random, alone):
        rates = [env_steps / s for s in row["seconds"]]
        assert row["work"] == env_steps and row["rounds"] == 1
        assert all(math.isfinite(r) and r > 0 for r in rates)
        np.testing.assert_allclose(row["rate_median"], np.median(rates), rtol=1e-12)
    for row in (ours, ours_random, alone):  # compiled apart, against gymnasium
        assert row["compile_seconds"] > 0 and row["baseline"] == gymnasium["name"]
        pairs = zip(row["seconds"], gymnasium["seconds"], strict=True)
        ratios = [b / s for s, b in pairs]
        np.testing.assert_allclose(row["ratio_median"], np.median(ratios), rtol=1e-12)
    assert gymnasium["compile_seconds"] is None and gymnasium["baseline"] is None
    assert details["dtype"] == "float32"
    assert details["gymnax_split_identical"] is None


def test_mean_episode_length_agrees_with_gymnasium(report):
    agreement = report["details"]["cartpole"]["agreement"]
    (name,) = agreement  # gymnax's check needs gymnax
    check = agreement[name]
    assert name == "random: ours vs gymnasium"
    assert abs(check["z"]) < 4.0 and check["agree"]
    (reported,) = report["checks"]
    assert reported["name"] == f"cartpole: {name}" and reported["passed"]
    for side in (check["ours"], check["theirs"]):
        # uniform random CartPole-v1 episodes last about 22 steps
        assert side["episodes"] > 1000 and 18 < side["mean"] < 26
        assert 0 < side["sem"] < 0.5


def test_episode_lengths_match_numpy(benchmark):
    rng = np.random.default_rng(0)
    lengths = [rng.integers(8, 60, size=rng.integers(1, 6)) for _ in range(5)]
    stats = benchmark.EpisodeStats(
        *(
            np.array([f(x) for x in lengths])
            for f in (len, np.sum, lambda x: np.sum(x * x))
        )
    )
    pooled = np.concatenate(lengths)
    summary = benchmark.episode_lengths(stats)
    assert summary["episodes"] == pooled.size
    np.testing.assert_allclose(summary["mean"], pooled.mean(), rtol=1e-12)
    expected_sem = pooled.std(ddof=1) / np.sqrt(pooled.size)
    np.testing.assert_allclose(summary["sem"], expected_sem, rtol=1e-10)


def test_autoreset_step_starts_an_episode_on_the_step_the_last_ends(benchmark):
    env = benchmark.CartPole()
    params = env.default_params
    step = jax.jit(benchmark.autoreset_step(env, params))
    key = jax.random.key(1)
    _, state = env.reset(key, params)
    falling = state._replace(x=jnp.float32(2.39), x_dot=jnp.float32(3.0))
    obs, next_state, terminated, truncated = step(key, falling, 1)
    assert bool(terminated) and not bool(truncated)
    assert int(next_state.time) == 0 and float(jnp.max(jnp.abs(obs))) <= 0.05
    obs, next_state, terminated, _ = step(key, state, 1)  # an ordinary step
    expected_obs, *_ = env.step(key, state, 1, params)
    assert not bool(terminated) and int(next_state.time) == 1
    np.testing.assert_allclose(obs, expected_obs, rtol=1e-6)  # jit may fuse an FMA


def test_rollouts_count_no_more_steps_than_they_take(benchmark):
    num_envs, num_steps = 8, 300
    rollout = benchmark.make_rollout(
        *benchmark.ours(), benchmark.random_action,
        num_envs=num_envs, num_steps=num_steps,
    )  # fmt: skip
    stats = jax.jit(rollout)(jax.random.key(0), None)
    assert stats.count.shape == (num_envs,) and stats.count.dtype == jnp.int32
    assert np.all(stats.count >= 1) and np.all(stats.length_sum <= num_steps)
    assert np.all(stats.length_sq_sum >= stats.length_sum)
    env = benchmark.gymnasium_vector_env(num_envs)
    counted = benchmark.gymnasium_random(env, num_steps, seed=0, count=True)
    env.close()
    # each finished episode but the last one is followed by a reset call
    assert np.all(counted.count >= 1)
    assert np.all(counted.length_sum + counted.count <= num_steps + 1)
