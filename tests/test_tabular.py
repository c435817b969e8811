"""Tests for rl_softmax/envs/tabular.py against gymnasium's own tables and steps.

References: gymnasium's ``env.unwrapped.P`` dict (read by independent loops here,
never through our dense arrays), gymnasium's ``TimeLimit`` run step by step beside
ours, policy iteration over the ``P`` dict for ``Q*``, closed forms (CliffWalking's
shortest path: 13 steps), and Monte Carlo rollouts with a tolerance of ``NUM_SE``
standard errors. Frequency checks are chi-square tests at ``P_VALUE``; the p-value is
the chi-square survival function ``Q(df / 2, x / 2)`` (regularised upper incomplete
gamma), taken from ``jax.scipy`` so the tests need no scipy.
"""

from __future__ import annotations

import functools
import subprocess
import sys

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv
from gymnasium.wrappers import TimeLimit

from rl_softmax import policies
from rl_softmax.envs import (
    TabularEnv,
    TabularParams,
    TabularState,
    make,
    one_hot,
    tabular,
    value_iteration,
)

NUM_SE = 4.0
P_VALUE = 1e-3
CUSTOM_DESC = ["SFFHF", "FHFFF", "FFFHG"]  # 3 x 5: rows != cols on purpose
CASES = {
    "frozen_slippery": ("FrozenLake-v1", {}),
    "frozen_plain": ("FrozenLake-v1", {"is_slippery": False}),
    "frozen_8x8": ("FrozenLake8x8-v1", {}),
    "frozen_custom": (
        "FrozenLake-v1",
        {"desc": CUSTOM_DESC, "is_slippery": True, "success_rate": 0.6},
    ),
    "cliff": ("CliffWalking-v1", {}),
    "cliff_slippery": ("CliffWalking-v1", {"is_slippery": True}),
    "taxi": ("Taxi-v4", {}),
    "taxi_rainy": ("Taxi-v4", {"is_rainy": True}),
}


@functools.cache
def _pair(case: str, discount: float = 0.99):
    """``(our env, gymnasium's env)`` built from the same id and keyword arguments."""
    env_id, kwargs = CASES[case]
    env, _ = make(env_id, discount=discount, **kwargs)
    return env, gymnasium.make(env_id, **kwargs)


def _outcomes(table, s: int, a: int) -> dict[tuple[int, float, bool], float]:
    """gymnasium's ``P[s][a]`` as probability per ``(next, reward, terminated)``."""
    summed: dict[tuple[int, float, bool], float] = {}
    for prob, next_state, reward, term in table[s][a]:
        if prob > 0:
            key = (int(next_state), float(reward), bool(term))
            summed[key] = summed.get(key, 0.0) + prob
    return summed


def _chi_square_p_value(counts: np.ndarray, expected: np.ndarray) -> float:
    """p-value of Pearson's statistic with ``len(expected) - 1`` degrees of freedom."""
    statistic = np.sum((counts - expected) ** 2 / expected)
    df = len(expected) - 1
    return float(jax.scipy.special.gammaincc(df / 2, statistic / 2))


def _policy_iteration(table, num_actions: int, discount: float) -> np.ndarray:
    """``Q*`` by Howard's policy iteration written over the ``P`` dict."""
    num_states = len(table)
    policy = np.zeros(num_states, int)
    while True:
        transition, reward = np.zeros((num_states, num_states)), np.zeros(num_states)
        for s in range(num_states):
            for prob, next_state, r, term in table[s][policy[s]]:
                reward[s] += prob * r
                transition[s, next_state] += 0.0 if term else prob
        v = np.linalg.solve(np.eye(num_states) - discount * transition, reward)
        q = np.array(
            [
                [
                    sum(p * (r + (0.0 if d else discount * v[n])) for p, n, r, d in row)
                    for row in (table[s][a] for a in range(num_actions))
                ]
                for s in range(num_states)
            ]
        )
        improved = np.where(
            q[np.arange(num_states), policy] >= q.max(axis=1) - 1e-12,
            policy,
            q.argmax(axis=1),
        )
        if np.array_equal(improved, policy):
            return q
        policy = improved


@pytest.mark.parametrize("case", CASES)
def test_tables_equal_gymnasium_p(case):
    env, gym_env = _pair(case)
    table = gym_env.unwrapped.P
    assert (env.num_states, env.num_actions) == (len(table), len(table[0]))
    for s in range(env.num_states):
        for a in range(env.num_actions):
            ours: dict[tuple[int, float, bool], float] = {}
            for k in np.flatnonzero(env.probs[s, a] > 0):
                key = (
                    int(env.next_states[s, a, k]),
                    float(env.rewards[s, a, k]),
                    bool(env.terminated[s, a, k]),
                )
                ours[key] = ours.get(key, 0.0) + float(env.probs[s, a, k])
            theirs = _outcomes(table, s, a)
            assert ours.keys() == theirs.keys(), (s, a)
            np.testing.assert_allclose(
                [ours[k] for k in theirs], list(theirs.values()), rtol=1e-6
            )
    np.testing.assert_allclose(env.initial, gym_env.unwrapped.initial_state_distrib)
    assert env.probs.dtype == np.float32 and env.next_states.dtype == np.int32
    assert env.terminated.dtype == bool and env.action_values.dtype == np.float32


@pytest.mark.parametrize("case", CASES)
def test_success_is_reaching_the_goal(case):
    env, gym_env = _pair(case)
    real = env.probs > 0
    if case.startswith("frozen"):
        letters = np.asarray(gym_env.unwrapped.desc, dtype="c").ravel()
        from_ice = np.isin(letters, [b"S", b"F"])[:, None, None]
        goal = (letters[env.next_states] == b"G") & from_ice
    elif case.startswith("cliff"):
        goal = env.next_states == 47
    else:
        goal = env.rewards == 20  # Taxi's dropoff at the destination
    np.testing.assert_array_equal(env.success, goal & real)
    assert env.success.any()


def test_shapes_and_limits_follow_gymnasium():
    assert _pair("frozen_slippery")[0].max_steps == 100
    assert _pair("frozen_8x8")[0].max_steps == 200
    assert _pair("taxi")[0].max_steps == 200
    assert _pair("cliff")[0].max_steps is None
    assert _pair("frozen_custom")[0].grid_shape == (3, 5)
    assert _pair("frozen_custom")[0].desc == tuple(CUSTOM_DESC)
    assert _pair("cliff")[0].grid_shape == (4, 12)
    assert _pair("taxi")[0].grid_shape is None
    assert make("FrozenLake-v1", max_episode_steps=7)[0].max_steps == 7
    wrapped = TimeLimit(FrozenLakeEnv(is_slippery=False), max_episode_steps=33)
    assert TabularEnv.from_gymnasium(wrapped).max_steps == 33
    assert TabularEnv.from_gymnasium(FrozenLakeEnv()).max_steps is None


@pytest.mark.parametrize(
    ("case", "pairs"),
    [
        ("frozen_slippery", [(1, 1), (0, 0), (10, 2), (14, 3)]),
        ("frozen_custom", [(2, 1), (7, 0), (9, 1)]),
        ("cliff_slippery", [(25, 2), (36, 1)]),
        ("taxi_rainy", [(123, 0), (321, 1)]),
    ],
)
def test_outcome_frequencies_match_table(case, pairs):
    env, gym_env = _pair(case)
    params = env.default_params
    num_draws = 30_000

    @jax.jit
    def next_states(key, s, a):
        state = TabularState(jnp.int32(s), jnp.int32(0))
        keys = jax.random.split(key, num_draws)
        return jax.vmap(lambda k: env.step(k, state, a, params)[0])(keys)

    for i, (s, a) in enumerate(pairs):
        drawn = np.asarray(next_states(jax.random.key(i), s, a))
        expected = np.zeros(env.num_states)
        for (next_state, _, _), prob in _outcomes(gym_env.unwrapped.P, s, a).items():
            expected[next_state] += prob
        counts = np.bincount(drawn, minlength=env.num_states)
        support = expected > 0
        assert counts[~support].sum() == 0, (s, a)
        assert support.sum() >= 2, (s, a)  # a real test: more than one outcome
        p_value = _chi_square_p_value(counts[support], num_draws * expected[support])
        assert p_value > P_VALUE, (s, a, p_value)


def test_taxi_starts_match_initial_state_distrib():
    env, gym_env = _pair("taxi")
    num_draws = 60_000
    keys = jax.random.split(jax.random.key(7), num_draws)
    starts, states = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(
        keys, env.default_params
    )
    np.testing.assert_array_equal(starts, states.position)
    expected = num_draws * np.asarray(gym_env.unwrapped.initial_state_distrib)
    counts = np.bincount(np.asarray(starts), minlength=env.num_states)
    support = expected > 0
    assert counts[~support].sum() == 0 and support.sum() == 300
    assert _chi_square_p_value(counts[support], expected[support]) > P_VALUE


@pytest.mark.parametrize(
    "case", ["frozen_slippery", "frozen_plain", "frozen_8x8", "cliff", "taxi"]
)
def test_steps_beside_gymnasium(case):
    """Same actions, same state; deterministic envs are never re-synchronised.

    Episodes take, in turn, uniform or optimal actions (1/2 each); optimal actions
    (so some reach the goal); and, under a time limit, actions whose outcomes never
    terminate where there are any (so episodes also run into the limit).
    """
    env, gym_env = _pair(case)
    table = gym_env.unwrapped.P
    params = env.default_params
    deterministic = all(len(table[s][a]) == 1 for s in table for a in table[s])
    safe = [[a for a in table[s] if not any(t[3] for t in table[s][a])] for s in table]
    step = jax.jit(env.step)
    rng = np.random.default_rng(0)
    key = jax.random.key(0)
    obs, _ = gym_env.reset(seed=0)
    state = TabularState(jnp.int32(obs), jnp.int32(0))
    episodes = truncations = successes = 0
    for t in range(3000):
        s = int(state.position)
        assert s == obs
        mode = episodes % (3 if env.max_steps else 2)
        if mode == 2 and safe[s]:
            action = int(rng.choice(safe[s]))
        elif mode == 0 and rng.random() < 0.5:
            action = int(rng.integers(env.num_actions))
        else:
            action = int(env.action_values[s].argmax())
        stepped = jax.device_get(
            step(jax.random.fold_in(key, t), state, action, params)
        )
        our_obs, state, reward, terminated, truncated, info = stepped
        obs, gym_reward, gym_terminated, gym_truncated, _ = gym_env.step(action)
        support = _outcomes(table, s, action)
        theirs = (obs, float(gym_reward), gym_terminated)
        assert theirs in support
        ours = (int(our_obs), float(reward), bool(terminated))
        assert ours in support
        assert bool(truncated) == gym_truncated, t
        assert bool(info["success"]) == (ours in _successes(env, s, action))
        np.testing.assert_array_equal(info["action_values"], env.action_values[s])
        if deterministic:
            assert ours == theirs
        else:  # follow gymnasium's draw
            state = state._replace(position=np.int32(obs))
        if gym_terminated or gym_truncated:
            episodes += 1
            truncations += gym_truncated and not gym_terminated
            successes += theirs in _successes(env, s, action)
            obs, _ = gym_env.reset()
            our_start, state = jax.device_get(env.reset(jax.random.key(t), params))
            assert env.initial[our_start] > 0
            state = TabularState(np.int32(obs), np.int32(0))
    assert successes >= 2
    if env.max_steps is None:
        assert truncations == 0
    else:
        assert truncations >= 2


def _successes(env, s, a):
    return {
        (int(env.next_states[s, a, k]), float(env.rewards[s, a, k]), True)
        for k in np.flatnonzero(env.success[s, a])
    }


@pytest.mark.parametrize("case", ["frozen_slippery", "frozen_8x8", "cliff", "taxi"])
def test_action_values_equal_policy_iteration_over_p(case):
    env_id, kwargs = CASES[case]
    env, _ = make(env_id, discount=0.95, **kwargs)
    table = _pair(case)[1].unwrapped.P
    reference = _policy_iteration(table, env.num_actions, 0.95)
    np.testing.assert_allclose(env.action_values, reference, rtol=1e-6, atol=1e-6)
    q = value_iteration(env.probs, env.next_states, env.rewards, env.terminated, 0.95)
    assert q.dtype == np.float64 and q.shape == (env.num_states, env.num_actions)
    np.testing.assert_allclose(q, reference, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", ["frozen_slippery", "frozen_8x8", "cliff", "taxi"])
def test_undiscounted_action_values_satisfy_bellman_optimality(case):
    env, gym_env = _pair(case, discount=1.0)
    table, q = gym_env.unwrapped.P, env.action_values.astype(np.float64)
    v = q.max(axis=1)
    backup = np.array(
        [
            [
                sum(p * (r + (0.0 if d else v[n])) for p, n, r, d in table[s][a])
                for a in range(env.num_actions)
            ]
            for s in range(env.num_states)
        ]
    )
    np.testing.assert_allclose(q, backup, atol=1e-4)


def test_cliff_walking_shortest_path_is_13_steps():
    env, _ = _pair("cliff", discount=1.0)
    start = 36
    np.testing.assert_allclose(env.action_values[start], [-13, -113, -14, -14])
    greedy = np.eye(env.num_actions)[env.action_values.argmax(axis=1)]
    result = env.evaluate(greedy, env.default_params)
    np.testing.assert_allclose([result["success"], result["return"]], [1.0, -13.0])


def test_value_iteration_names_the_env_when_it_diverges():
    class Treadmill:  # reward 1 forever, never terminates
        P = {0: {0: [(1.0, 0, 1.0, False)]}}
        initial_state_distrib = np.ones(1)

    with pytest.raises(ValueError, match="Treadmill"):
        TabularEnv.from_gymnasium(Treadmill(), discount=1.0)
    env = TabularEnv.from_gymnasium(Treadmill(), discount=0.5)
    np.testing.assert_allclose(env.action_values, [[2.0]])
    assert env.name == "Treadmill" and env.max_steps is None


def _monte_carlo(env, policy_batch, num_episodes: int, seed: int):
    """``[P, N]`` success and return of each policy's episodes, run with ``step``.

    The scan runs past the time limit, so ``truncated`` must end the episode.
    """
    params = env.default_params

    def episode(key, policy):
        key_reset, key_steps = jax.random.split(key)
        _, state = env.reset(key_reset, params)

        def body(carry, key):
            state, done, success, total = carry
            key_act, key_env = jax.random.split(key)
            action = policies.sample_categorical(key_act, policy[state.position])
            _, state, reward, term, trunc, info = env.step(
                key_env, state, action, params
            )
            success = success | (~done & info["success"])
            total = total + jnp.where(done, 0.0, reward)
            return (state, done | term | trunc, success, total), None

        init = (state, jnp.zeros((), bool), jnp.zeros((), bool), jnp.zeros(()))
        keys = jax.random.split(key_steps, env.max_steps + 3)
        (_, _, success, total), _ = jax.lax.scan(body, init, keys)
        return success, total

    episodes = jax.vmap(jax.vmap(episode, in_axes=(0, None)), in_axes=(None, 0))
    keys = jax.random.split(jax.random.key(seed), num_episodes)
    return jax.device_get(jax.jit(episodes)(keys, policy_batch))


@pytest.mark.parametrize("case", ["frozen_slippery", "taxi"])
def test_evaluate_matches_monte_carlo(case):
    """Optimal (greedy in Q*) and uniform policies, within NUM_SE standard errors."""
    env, _ = _pair(case)
    greedy = np.eye(env.num_actions)[env.action_values.argmax(axis=1)]
    uniform = np.full((env.num_states, env.num_actions), 1 / env.num_actions)
    policy_batch = jnp.asarray(np.stack([greedy, uniform]), jnp.float32)
    exact = jax.vmap(env.evaluate, in_axes=(0, None))(policy_batch, TabularParams())
    success, total = _monte_carlo(env, policy_batch, 10_000, seed=3)
    for name, sample in [("success", success.astype(float)), ("return", total)]:
        standard_error = sample.std(axis=1) / np.sqrt(sample.shape[1])
        # the floor is for Taxi's optimal policy, which always succeeds (SE = 0)
        tolerance = NUM_SE * standard_error + 1e-5
        np.testing.assert_array_less(abs(sample.mean(axis=1) - exact[name]), tolerance)
    assert np.ptp(total.mean(axis=1)) > 0.1  # the two policies differ


def test_evaluate_non_slippery_optimal_policy_exactly():
    env, _ = _pair("frozen_plain")
    greedy = np.eye(env.num_actions)[env.action_values.argmax(axis=1)]
    for horizon, expected in [(None, 1.0), (6, 1.0), (5, 0.0)]:  # goal is 6 steps
        result = env.evaluate(greedy, env.default_params, horizon=horizon)
        np.testing.assert_allclose(result["success"], expected, atol=1e-6)
        np.testing.assert_allclose(result["return"], expected, atol=1e-6)


def test_reset_step_evaluate_plain_jit_vmap():
    env, _ = _pair("frozen_slippery")
    params = env.default_params
    assert isinstance(params, TabularParams) and params._replace() == params
    key = jax.random.key(0)
    uniform = jnp.full((env.num_states, env.num_actions), 0.25)
    for reset in (env.reset, jax.jit(env.reset)):
        obs, state = reset(key, params)
        assert obs.shape == () and obs.dtype == jnp.int32
        assert state.time.dtype == jnp.int32 and int(state.time) == 0
    for step in (env.step, jax.jit(env.step)):
        obs, new_state, reward, term, trunc, info = step(key, state, 2, params)
        assert [x.dtype for x in (obs, reward, term, trunc)] == [
            jnp.int32,
            jnp.float32,
            jnp.bool_,
            jnp.bool_,
        ]
        assert info["action_values"].shape == (4,) and info["success"].dtype == bool
        assert int(new_state.time) == 1
    for evaluate in (env.evaluate, jax.jit(env.evaluate, static_argnames="horizon")):
        result = evaluate(uniform, params, horizon=10)
        assert all(v.shape == () and v.dtype == jnp.float32 for v in result.values())

    keys = jax.random.split(key, 5)
    obs, states = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    assert obs.shape == (5,) and states.time.shape == (5,)
    actions = jnp.arange(5) % 4
    stepped = jax.vmap(env.step, in_axes=(0, 0, 0, None))(keys, states, actions, params)
    assert stepped[2].shape == (5,) and stepped[5]["action_values"].shape == (5, 4)
    policies_batch = jnp.stack(
        [uniform, jnp.asarray(np.eye(4)[env.action_values.argmax(1)])]
    )
    batch = jax.vmap(env.evaluate, in_axes=(0, None))(policies_batch, params)
    single = env.evaluate(policies_batch[1], params)
    assert batch["success"].shape == (2,)
    np.testing.assert_allclose(batch["success"][1], single["success"], rtol=1e-6)

    features = jax.vmap(one_hot, in_axes=(0, None))(obs, env.num_states)
    assert features.shape == (5, 16) and features.dtype == jnp.float32
    np.testing.assert_array_equal(features.argmax(1), obs)
    for plain_or_jit in (one_hot, jax.jit(one_hot, static_argnums=1)):
        np.testing.assert_array_equal(plain_or_jit(3, 16), np.eye(16)[3])


def test_make_rejects_unsupported_ids():
    with pytest.raises(ValueError, match="only toy-text environments with a P table"):
        tabular.make("CartPole-v1")
    with pytest.raises(ValueError, match="P table.*Classic control in JAX: Acrobot"):
        make("Blackjack-v1", backend="jax")  # toy text, but no table
    with pytest.raises(ValueError, match="observation space Tuple"):
        make("Blackjack-v1")  # nor can the host loop run it
    with pytest.raises(ValueError, match="unknown environment id.*FrozenLake-v1"):
        make("NoSuchLake-v0")
    with pytest.raises(ValueError, match="fickle_passenger"):
        make("Taxi-v4", fickle_passenger=True)
    with pytest.raises(ValueError, match="policy has shape"):
        _pair("frozen_plain")[0].evaluate(jnp.ones((4, 16)), TabularParams())


def test_importing_envs_does_not_import_gymnasium():
    code = "import sys, rl_softmax.envs; assert 'gymnasium' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
