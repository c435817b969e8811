"""The host executor (engine.host, envs.host): gymnasium's own environments stepped on
the host with the agent jitted agree with the JAX path in distribution, repeat bit
for bit, and refuse what they cannot run with a clear message."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import jax
import numpy as np
import pytest
from same_results import assert_same_sweeps

from rl_softmax import envs
from rl_softmax.agents import make_actor_critic_agent, make_td_agent, rules
from rl_softmax.engine import host_vector, make_rollout_run, make_run, sweep
from rl_softmax.engine.host import host_sweep
from rl_softmax.envs.host import make_host
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import run_experiment, stats

TAUS = [0.05, 0.5, 4.0]


def _within(host, jax_result, name, sigmas=4.0):
    """Per value: the two runs' means over seeds differ by at most ``sigmas``
    combined standard errors."""
    a = host.metrics[name].run_mean.astype(np.float64)
    b = jax_result.metrics[name].run_mean.astype(np.float64)
    se = np.sqrt(
        a.var(axis=1, ddof=1) / a.shape[1] + b.var(axis=1, ddof=1) / b.shape[1]
    )
    gap = np.abs(a.mean(axis=1) - b.mean(axis=1))
    assert np.all(gap <= sigmas * se + 1e-9), (name, a.mean(axis=1), b.mean(axis=1), se)


def test_frozenlake_host_and_jax_agree_at_every_tau():
    """Boltzmann Q-learning on FrozenLake 4x4, 60 runs x 4000 steps per tau: reward
    per step, episode return and length, entropy and the final greedy policy's exact
    success and return agree within 4 standard errors."""
    agent = make_td_agent(16, 4, rules.boltzmann_rule(), target="q_learning")
    agent_params = agent.default_params._replace(step_size=0.5)
    kwargs = dict(key=jax.random.key(0), agent_params=agent_params, swept="explore")
    host = host_sweep(make_host("FrozenLake-v1"), agent, 4000, TAUS, 60, **kwargs)
    jax_env, _ = envs.make("FrozenLake-v1")
    run = make_run(jax_env, agent, 4000, agent_params=agent_params, swept="explore")
    on_device = sweep(run, TAUS, 60, key=jax.random.key(0))
    assert set(host.metrics) == {
        "reward", "entropy", "tau", "return", "length", "greedy_success",
        "greedy_return",
    }  # fmt: skip
    assert set(host.metrics) <= set(on_device.metrics)
    for name in ("reward", "return", "length", "entropy", "greedy_success"):
        _within(host, on_device, name)
    # learning happened: the cold policy collects more than the hot one
    returns = host.metrics["return"].run_mean.mean(axis=1)
    assert returns[0] > returns[2]
    np.testing.assert_array_equal(host.steps, on_device.steps)


def test_a_host_run_repeats_bit_for_bit_and_values_share_environments():
    agent = make_td_agent(16, 4, rules.boltzmann_rule(), target="sarsa")
    host_env = make_host("FrozenLake-v1", is_slippery=True)
    kwargs = dict(key=jax.random.key(3), swept="explore", env_seeds=[11, 12, 13])
    first = host_sweep(host_env, agent, 300, [0.5, 0.5], 3, **kwargs)
    second = host_sweep(host_env, agent, 300, [0.5, 0.5], 3, **kwargs)
    for name, metric in first.metrics.items():
        np.testing.assert_array_equal(metric.run_mean, second.metrics[name].run_mean)
        np.testing.assert_array_equal(
            metric.curve_mean, second.metrics[name].curve_mean
        )
    # the same value twice: same agent keys, same environment seeds, same numbers
    np.testing.assert_array_equal(
        first.metrics["return"].run_mean[0], first.metrics["return"].run_mean[1]
    )


def test_cartpole_policy_gradient_on_the_host_overlaps_the_jax_path():
    """PPO on gymnasium's CartPole-v1 and on the JAX port, 6 seeds x 20 updates:
    the return and entropy of the last updates agree within 4 standard errors,
    both learn (return well above a uniform policy's ~22), and the final policies'
    evaluation (16 episodes per run, sampling and greedy) agrees within the 95%
    interval of the difference, as ``solved`` does."""
    agent = make_actor_critic_agent(4, 2, anneal_steps=20 * 512)
    params = agent.default_params._replace(learning_rate=1e-3)
    kwargs = dict(key=jax.random.key(0), agent_params=params, swept="tau")
    host = host_sweep(
        make_host("CartPole-v1"), agent, 20, [0.01], 6, rollout_shape=(4, 128),
        final_steps=5, num_eval_episodes=16, **kwargs,
    )  # fmt: skip
    run = make_rollout_run(
        envs.CartPole(), agent, 20, num_envs=4, rollout_steps=128, agent_params=params,
        swept="tau", num_eval_episodes=16,
    )  # fmt: skip
    on_device = sweep(run, [0.01], 6, key=jax.random.key(0), final_steps=5)
    np.testing.assert_array_equal(host.steps, on_device.steps)
    assert host.final_steps == on_device.final_steps == 5 * 512
    for name, sigmas in (
        ("return", 4.0), ("entropy", 4.0),
        ("eval_return", stats.Z95), ("greedy_return", stats.Z95),
    ):  # fmt: skip
        field = "run_final" if name in ("return", "entropy") else "run_mean"
        a = getattr(host.metrics[name], field).astype(np.float64)[0]
        b = getattr(on_device.metrics[name], field).astype(np.float64)[0]
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        assert abs(a.mean() - b.mean()) <= sigmas * se, (name, a, b)
    assert host.metrics["return"].run_final.mean() > 60
    # the evaluation measures a learnt policy, on both backends
    assert host.metrics["greedy_return"].run_mean.mean() > 60
    np.testing.assert_array_equal(
        host.metrics["solved"].run_mean, on_device.metrics["solved"].run_mean
    )


@pytest.mark.parametrize(
    "env_id, kwargs, message",
    [
        ("Pendulum-v1", {}, "action space Box"),
        ("FrozenLak-v1", {}, "Close: FrozenLake-v1"),
        ("FrozenLake-v1", {"map_size": 3}, "FrozenLake-v1: "),
        ("Blackjack-v1", {}, "observation space Tuple"),
    ],
)
def test_what_the_host_loop_cannot_run_is_refused_by_name(env_id, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make_host(env_id, **kwargs)


def test_a_missing_dependency_names_the_extra(monkeypatch):
    def missing(*args, **kwargs):
        raise gym.error.DependencyNotInstalled("Box2D is not installed")

    monkeypatch.setattr(gym, "make", missing)
    with pytest.raises(ValueError, match=r"pip install 'rl_softmax\[box2d\]'"):
        make_host("LunarLander-v3")


def _config(env: dict, **study) -> dict:
    return {
        "name": "h", "num_seeds": 2, "num_steps": 200,
        "env": env,
        "studies": [{"name": "s", "agent": "q_learning", "rule": "boltzmann",
                     "values": [0.5], **study}],
    }  # fmt: skip


def test_backend_is_chosen_forced_and_recorded(tmp_path):
    auto = config_lib.from_dict(_config({"name": "FrozenLake-v1"}))
    assert auto.env.backend == "jax"  # a JAX port exists
    forced = config_lib.from_dict(
        _config({"name": "FrozenLake-v1", "backend": "host", "discount": 0.9})
    )
    assert forced.env.backend == "host"
    assert forced.env.options == {}  # discount sets the JAX port's exact values only
    raw = _config({"name": "CartPole-v0"})
    raw["studies"][0] = {"name": "s", "agent": "ppo", "values": [0.01]}
    raw["num_steps"] = 512
    only_host = config_lib.from_dict(raw)
    assert only_host.env.backend == "host"  # no JAX port of the 200-step CartPole
    lines = []
    results = run_experiment(
        _config({"name": "FrozenLake-v1", "backend": "host", "is_slippery": False}),
        tmp_path / "out", progress=False, log=lines.append, cache_dir=False,
    )  # fmt: skip
    assert results.metadata["env"]["backend"] == "host"
    assert "gymnasium on the host" in lines[0]
    assert results.studies["s"].metrics["return"].run_mean.shape == (1, 2)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"name": "FrozenLake-v1", "backend": "gpu"}, "env.backend: got 'gpu'"),
        ({"name": "NoSuchEnv-v0"}, "env.name: got 'NoSuchEnv-v0'"),
        ({"name": "Acrobot-v1", "backend": "host", "gravity": 9.8}, "gravity"),
        ({"name": "Pendulum-v1", "backend": "host"}, "action space Box"),
        ({"name": "LunarLander-v3", "backend": "jax"}, "backend 'jax'"),
        (
            {"name": "FrozenLake-v1", "backend": "host", "vector": "threads"},
            r"env.vector: got 'threads'; expected one of \['auto', 'sync', 'async'\]",
        ),
        ({"name": "FrozenLake-v1", "vector": "async"}, "only the host backend"),
    ],
)
def test_bad_backends_and_ids_are_refused_with_the_field(env, message):
    with pytest.raises(config_lib.ConfigError, match=message):
        config_lib.from_dict(_config(env))


def _ppo_config(**env) -> dict:
    return {
        "name": "h", "num_seeds": 2, "num_steps": 320, "final_steps": 128,
        "env": {"name": "CartPole-v1", "backend": "host", **env},
        "studies": [{"name": "s", "agent": "ppo", "values": [0.01, 0.1],
                     "num_envs": 4, "rollout_steps": 16, "num_minibatches": 2}],
    }  # fmt: skip


@pytest.fixture(scope="module")
def ppo_sync():
    """The in-process run of ``_ppo_config``, shared by the tests that read it."""
    return run_experiment(
        _ppo_config(vector="sync"), write=False, progress=False, cache_dir=False
    )


@pytest.mark.parametrize("make_config", ["frozenlake_q_learning", "cartpole_ppo"])
def test_async_workers_give_the_sync_vector_envs_numbers_bit_for_bit(
    make_config, request
):
    """The same study stepped in this process and by worker processes: every array
    of the SweepResult is equal, and metadata.json records which ran."""
    out = {}
    if make_config == "cartpole_ppo":
        configs = {"async": _ppo_config(vector="async")}
        out["sync"] = request.getfixturevalue("ppo_sync")
    else:
        configs = {
            mode: _config(
                {"name": "FrozenLake-v1", "backend": "host", "vector": mode},
                values=[0.1, 1.0],
            )
            for mode in ("sync", "async")
        }
    for mode, config in configs.items():
        out[mode] = run_experiment(config, write=False, progress=False, cache_dir=False)
    assert_same_sweeps(out["sync"].studies["s"], out["async"].studies["s"])
    recorded = {mode: r.metadata["studies"]["s"]["vector"] for mode, r in out.items()}
    assert recorded["sync"] == {"vector": "sync", "requested": "sync", "processes": 0}
    assert recorded["async"]["vector"] == "async"
    assert recorded["async"]["processes"] >= 1


def test_auto_times_a_step_and_keeps_cheap_environments_in_process(monkeypatch):
    # the rule, on given step costs (a wall-clock threshold would make the test
    # depend on the machine's load)
    env = make_host("FrozenLake-v1")
    assert host_vector.step_seconds(env) > 0
    for cost, processes in ((10e-6, 0), (100e-6, 2)):
        monkeypatch.setattr(host_vector, "step_seconds", lambda env, c=cost: c)
        choice = host_vector.choose_vector(env, "auto", 8, cores=2)
        assert choice.processes == processes and choice.step_seconds == cost
    cheap = dataclasses.replace(choice, processes=0, step_seconds=10e-6)
    info = cheap.as_info()
    assert info["vector"] == "sync" and info["requested"] == "auto"
    assert info["step_microseconds"] > 0
    # one core, or one environment: nothing to share out, whatever a step costs
    slow = make_host("FrozenLake-v1")
    assert host_vector.choose_vector(slow, "async", 8, cores=1).processes == 1
    assert host_vector.choose_vector(slow, "async", 8, cores=4).processes == 4
    assert host_vector.choose_vector(slow, "async", 3, cores=4).processes == 3


def test_a_rollout_agent_on_the_host_reports_its_final_policy_like_the_jax_path(
    ppo_sync,
):
    """PPO on gymnasium's CartPole: evaluation episodes of the final policy,
    sampling and greedy, and whether it solved (the JAX path's end metrics)."""
    result = ppo_sync.studies["s"]
    end = {"eval_return", "greedy_return", "solved", "steps_to_solve"}
    assert end <= set(result.metrics)
    for name in end:
        assert result.metrics[name].run_mean.shape == (2, 2)
    for name in ("eval_return", "greedy_return"):
        returns = result.metrics[name].run_mean
        assert np.all((returns >= 8) & (returns <= 500)), (name, returns)
    # 320 steps: nobody averages 475 over 100 episodes
    np.testing.assert_array_equal(result.metrics["solved"].run_mean, 0.0)
    assert np.isnan(result.metrics["steps_to_solve"].run_mean).all()


def _numpy_greedy_success(table, policy, horizon):
    """Success probability and expected return of ``policy`` within ``horizon``
    steps, by a loop over gymnasium's ``P[s][a]`` lists (independent of
    TabularEnv)."""
    num_states = len(table)
    dist = np.zeros(num_states)
    dist[0] = 1.0  # FrozenLake starts at S, state 0
    success = total = 0.0
    for _ in range(horizon):
        nxt = np.zeros(num_states)
        for s in range(num_states):
            for a, p_a in enumerate(policy[s]):
                for p, s_next, reward, terminated in table[s][a]:
                    weight = dist[s] * p_a * p
                    total += weight * reward
                    if terminated:
                        success += weight * (reward == 1.0)
                    else:
                        nxt[s_next] += weight
        dist = nxt
    return success, total


def test_a_tabular_agent_on_the_host_gets_its_greedy_policy_scored_exactly():
    """The host reports greedy_success/greedy_return of the agent's final greedy
    policy from gymnasium's P table: here a policy set by the swept value, checked
    against a NumPy loop over P."""
    agent = make_td_agent(16, 4, rules.boltzmann_rule(), target="q_learning")
    logits = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)

    def summary(state, params):
        return {"greedy_policy": jax.nn.softmax(logits / params.explore, axis=-1)}

    agent = agent._replace(summary=summary)
    taus = [0.3, 3.0]
    result = host_sweep(
        make_host("FrozenLake-v1"), agent, 50, taus, 2, key=jax.random.key(0),
        swept="explore",
    )  # fmt: skip
    table = gym.make("FrozenLake-v1").unwrapped.P
    for v, tau in enumerate(taus):
        policy = np.exp(logits / tau) / np.exp(logits / tau).sum(-1, keepdims=True)
        success, total = _numpy_greedy_success(table, policy, horizon=100)
        for name, expected in (("greedy_success", success), ("greedy_return", total)):
            np.testing.assert_allclose(
                result.metrics[name].run_mean[v], expected, rtol=1e-4
            )
