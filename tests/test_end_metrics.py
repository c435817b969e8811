"""Per-run metrics (``Metric.at_end``): the first episodes' returns, the exact score
of the final greedy policy and the state visits, from one run to the sweep's
statistics, against hand-computed values, the per-step outputs and NumPy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from chain_mdp import ChainMDP, fixed_boltzmann

from rl_softmax import envs
from rl_softmax.agents import action_value, td
from rl_softmax.engine import METRICS, make_run, sweep


def test_greedy_episodes_fill_the_first_slots_and_leave_the_rest_nan():
    # tau = 0 walks right: every episode is 3 steps with return 1; 20 steps end 6.
    run = make_run(ChainMDP(3), fixed_boltzmann(), 20, swept="tau", num_episodes=10)
    _, end = run.run_with_end(jax.random.key(0), 0.0)
    returns = np.asarray(end["episode_returns"])
    np.testing.assert_array_equal(returns[:6], np.ones(6))
    assert np.isnan(returns[6:]).all()


@pytest.mark.parametrize("num_episodes", [1, 7, 500])
def test_episode_returns_are_the_returns_of_the_episodes_that_ended(num_episodes):
    # An independent path: the per-step outputs flag each ended episode and its return.
    env = ChainMDP(4, max_steps=6)
    run = make_run(env, fixed_boltzmann(), 300, swept="tau", num_episodes=num_episodes)
    out, end = jax.jit(run.run_with_end)(jax.random.key(3), 1.0)
    ended = np.asarray(out.ended) > 0
    expected = np.asarray(out.values["return"])[ended][:num_episodes]
    got = np.asarray(end["episode_returns"])
    assert got.shape == (num_episodes,) and got.dtype == np.float32
    np.testing.assert_array_equal(got[: expected.size], expected)
    assert np.isnan(got[expected.size :]).all()
    assert expected.size > 0  # the chain ends episodes within 300 steps


def test_num_episodes_is_refused_where_episodes_never_end():
    bandit = envs.GaussianBandit(4)
    agent = action_value.make_action_value_agent(4)
    with pytest.raises(ValueError, match="num_episodes=5: this environment"):
        make_run(bandit, agent, 10, num_episodes=5)
    with pytest.raises(ValueError, match="num_episodes=-1"):
        make_run(ChainMDP(3), fixed_boltzmann(), 10, swept="tau", num_episodes=-1)


def test_runs_report_per_run_metrics_only_when_they_are_defined():
    plain = make_run(ChainMDP(3), fixed_boltzmann(), 10, swept="tau")
    assert not [m for m in plain.metrics if m.at_end]
    lake, _ = envs.make("FrozenLake-v1", is_slippery=False)
    agent = td.make_td_agent(lake.num_states, lake.num_actions)
    run = make_run(lake, agent, 10, num_episodes=3)
    names = [m.name for m in run.metrics if m.at_end]
    assert names == ["greedy_success", "greedy_return", "visits", "episode_returns"]
    assert all(METRICS[name].at_end for name in names)
    assert run.step_metrics == tuple(m for m in run.metrics if not m.at_end)


def _lake_run(num_steps, **kwargs):
    lake, params = envs.make("FrozenLake-v1", **kwargs)
    agent = td.make_td_agent(lake.num_states, lake.num_actions)
    return lake, params, make_run(lake, agent, num_steps, num_episodes=20)


def test_final_greedy_score_is_the_exact_evaluation_of_the_final_q_table():
    lake, params, run = _lake_run(400)
    carry = run.init(jax.random.key(1), jnp.float32(0.05))
    carry, _ = jax.lax.scan(run.step, carry, jnp.arange(run.num_steps))
    end = run.end(carry)
    q = np.asarray(carry.agent_state.q)
    greedy = (q == q.max(axis=1, keepdims=True)).astype(np.float32)
    greedy /= greedy.sum(axis=1, keepdims=True)  # ties split evenly
    score = lake.evaluate(jnp.asarray(greedy), params)
    np.testing.assert_allclose(end["greedy_success"], score["success"], rtol=1e-6)
    np.testing.assert_allclose(end["greedy_return"], score["return"], rtol=1e-6)
    visits = np.asarray(end["visits"])
    assert visits.shape == (lake.num_states,) and visits.sum() == run.num_steps


def test_q_learning_solves_the_non_slippery_lake_at_a_small_temperature():
    _, _, run = _lake_run(3000, is_slippery=False)
    result = sweep(run, [0.05], 32, key=jax.random.key(0))
    success = result.metrics["greedy_success"].run_mean
    assert success.shape == (1, 32)
    np.testing.assert_array_equal(success, 1.0)  # every run's greedy policy is exact
    # the optimal path is 6 steps long: return 1 within the 100-step limit
    np.testing.assert_array_equal(result.metrics["greedy_return"].run_mean, 1.0)


def test_sweep_statistics_of_per_run_metrics_match_numpy_and_ignore_block_shape():
    _, _, run = _lake_run(300)
    key = jax.random.key(7)
    whole = sweep(run, [0.1, 1.0, np.inf], 24, key=key)
    blocked = sweep(run, [0.1, 1.0, np.inf], 24, key=key, max_block_runs=8)
    for name in ("greedy_success", "greedy_return", "visits", "episode_returns"):
        a, b = whole.metrics[name], blocked.metrics[name]
        for field in ("run_mean", "curve_mean", "curve_sem"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    returns = whole.metrics["episode_returns"]
    runs = returns.run_mean.astype(np.float64)  # [V, S, N], NaN past a run's last
    assert runs.shape == (3, 24, 20)
    n = (~np.isnan(runs)).sum(axis=1)
    mean = np.nanmean(runs, axis=1)
    sem = np.nanstd(runs, axis=1, ddof=1) / np.sqrt(n)
    np.testing.assert_allclose(returns.curve_mean[:, 0], mean, rtol=1e-12)
    np.testing.assert_allclose(returns.curve_sem[:, 0], sem, rtol=1e-9)
    success = whole.metrics["greedy_success"]
    assert success.curve_mean.shape == (3, 1)
    np.testing.assert_allclose(
        success.curve_mean[:, 0], success.run_mean.astype(np.float64).mean(axis=1)
    )
