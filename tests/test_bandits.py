"""Tests for rl_softmax/envs/bandits.py against closed forms and NumPy statistics.

References: Sutton & Barto (2018), Sec. 2.3 (testbed: ``q*(a) ~ N(mean, std)``,
``R ~ N(q*(A), noise_std)``) and Exercise 2.5 (non-stationary testbed: all ``q*``
start equal and take independent ``N(0, walk_std)`` steps). Every statistical check
allows ``NUM_SE`` standard errors of the statistic it estimates. ``info`` carries only
``"action_values"`` (``q*`` as pulled); the engine's ``optimal`` and ``regret``
metrics, computed from it, are checked here against NumPy on the same trajectories.

XLA compilation dominates the cost on a small CPU, so each environment is rolled
out once (``jit(vmap(scan))`` over many keys, cached) and the tests read that trace.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_softmax.agents import make_action_value_agent, rules
from rl_softmax.engine import make_run
from rl_softmax.envs import (
    BernoulliBandit,
    BernoulliParams,
    Environment,
    GaussianBandit,
    GaussianParams,
)

NUM_SE = 5.0
NUM_KEYS = 4000
NUM_STEPS = 5

GAUSSIAN = GaussianBandit(num_arms=8)
GAUSSIAN_PARAMS = GaussianParams(mean=1.5, std=2.0, noise_std=0.5)
WALK = GaussianBandit(num_arms=4, random_walk=True)
WALK_PARAMS = GaussianParams(mean=0.0, std=1.0, noise_std=1.0, walk_std=0.3)
BERNOULLI = BernoulliBandit(num_arms=5)
BERNOULLI_PARAMS = BernoulliParams(low=0.2, high=0.7)


def _keys(n: int, seed: int = 0) -> jax.Array:
    return jax.random.split(jax.random.key(seed), n)


def _actions(num_keys: int, num_steps: int, num_arms: int) -> np.ndarray:
    """Every arm in turn, shifted per run: ``[num_keys, num_steps]`` int32."""
    return (
        (np.arange(num_keys)[:, None] + np.arange(num_steps)[None, :]) % num_arms
    ).astype(np.int32)


@functools.cache
def _trace(env, params, num_keys: int = NUM_KEYS, num_steps: int = NUM_STEPS):
    """Resets and steps ``env`` with :func:`_actions` for each of ``num_keys`` keys.

    Returns NumPy arrays: ``q`` ``[N, T + 1, K]`` (q* before every step and after the
    last), ``time`` ``[N, T + 1]``, and per step ``[N, T]``: ``action``, ``reward``,
    ``terminated``, ``truncated``, ``obs``, and ``values`` ``[N, T, K]`` (the info's
    ``action_values``); plus the jax dtypes of the raw outputs and the info's keys.
    """

    def run(key, actions):
        key_reset, key_steps = jax.random.split(key)
        obs0, state = env.reset(key_reset, params)

        def body(state, inputs):
            t, action = inputs
            key_t = jax.random.fold_in(key_steps, t)
            obs, new_state, reward, term, trunc, info = env.step(
                key_t, state, action, params
            )
            per_step = (state.q_star, state.time, reward, info, term, trunc, obs)
            return new_state, per_step

        final, per_step = jax.lax.scan(body, state, (jnp.arange(num_steps), actions))
        return obs0, final, per_step

    actions = _actions(num_keys, num_steps, env.num_arms)
    obs0, final, per_step = jax.jit(jax.vmap(run))(_keys(num_keys), actions)
    q, time, reward, info, term, trunc, obs = per_step
    dtypes = {
        "q": final.q_star.dtype,
        "time": final.time.dtype,
        "reward": reward.dtype,
        "values": info["action_values"].dtype,
        "terminated": term.dtype,
        "obs": obs.dtype,
    }
    return {
        "q": np.concatenate([np.asarray(q), np.asarray(final.q_star)[:, None]], 1),
        "time": np.concatenate([np.asarray(time), np.asarray(final.time)[:, None]], 1),
        "action": actions,
        "reward": np.asarray(reward),
        "values": np.asarray(info["action_values"]),
        "info_keys": set(info),
        "terminated": np.asarray(term),
        "truncated": np.asarray(trunc),
        "obs": np.asarray(obs),
        "obs0": np.asarray(obs0),
        "dtypes": dtypes,
    }


def _assert_mean_std(x: np.ndarray, mean: float, std: float) -> None:
    """Sample mean and std of ``x`` agree with ``mean``/``std`` within NUM_SE SEs."""
    x = np.asarray(x, np.float64).ravel()
    n = x.size
    assert abs(x.mean() - mean) <= NUM_SE * std / np.sqrt(n), (x.mean(), mean)
    # SE of a normal sample's standard deviation is std / sqrt(2 (n - 1)).
    assert abs(x.std(ddof=1) - std) <= NUM_SE * std / np.sqrt(2 * (n - 1)), (
        x.std(ddof=1),
        std,
    )


def _assert_frequency(count: float, n: int, p: float) -> None:
    se = np.sqrt(p * (1 - p) / n)
    assert abs(count / n - p) <= NUM_SE * se, (count / n, p)


def _assert_uncorrelated(samples: np.ndarray) -> None:
    """Every off-diagonal correlation of the columns of ``samples`` is ~0."""
    corr = np.corrcoef(np.asarray(samples, np.float64).T)
    off_diagonal = corr[~np.eye(corr.shape[0], dtype=bool)]
    assert np.abs(off_diagonal).max() <= NUM_SE / np.sqrt(samples.shape[0])


# ------------------------------------------------------------------ Gaussian reset


def test_reset_draws_q_star_from_normal():
    trace = _trace(GAUSSIAN, GAUSSIAN_PARAMS)
    q0 = trace["q"][:, 0]  # [N, K] as drawn by reset
    assert q0.shape == (NUM_KEYS, 8) and trace["dtypes"]["q"] == jnp.float32
    assert trace["obs0"].shape == (NUM_KEYS,)
    np.testing.assert_array_equal(trace["time"][:, 0], 0)
    _assert_mean_std(q0, 1.5, 2.0)
    for arm in range(8):
        _assert_mean_std(q0[:, arm], 1.5, 2.0)
    _assert_uncorrelated(q0)  # arms are drawn independently


def test_nonstationary_default_params_start_all_arms_equal():
    # Sutton & Barto (2018), Exercise 2.5: "all the q*(a) start out equal".
    assert WALK.default_params.std == 0.0
    params = WALK.default_params._replace(mean=0.75)
    _, state = WALK.reset(jax.random.key(3), params)
    np.testing.assert_array_equal(np.asarray(state.q_star), np.full(4, 0.75))


# ------------------------------------------------------------------- Gaussian step


def test_rewards_are_normal_around_q_star_of_the_action():
    trace = _trace(GAUSSIAN, GAUSSIAN_PARAMS)
    q_pulled = np.take_along_axis(
        trace["q"][:, :-1], trace["action"][..., None], axis=-1
    )[..., 0]
    noise = trace["reward"].astype(np.float64) - q_pulled
    assert trace["reward"].shape == (NUM_KEYS, NUM_STEPS)
    assert trace["dtypes"]["reward"] == jnp.float32
    _assert_mean_std(noise, 0.0, 0.5)
    for arm in range(8):
        _assert_mean_std(noise[trace["action"] == arm], 0.0, 0.5)
    # Normal, not only the first two moments: P(|Z| < 1) = erf(1 / sqrt 2).
    inside = np.abs(noise) < 0.5
    _assert_frequency(inside.sum(), inside.size, 0.6826894921370859)
    _assert_uncorrelated(noise)  # fresh noise at every step


def test_info_reports_true_action_values_only():
    trace = _trace(GAUSSIAN, GAUSSIAN_PARAMS)
    assert trace["info_keys"] == {"action_values"}
    q = trace["q"][:, :-1]  # q* at the time of each pull
    assert trace["values"].shape == (NUM_KEYS, NUM_STEPS, 8)
    assert trace["dtypes"]["values"] == jnp.float32
    # Reset and step fuse into one XLA program, which may round q* differently in
    # two places.
    np.testing.assert_allclose(trace["values"], q, rtol=1e-6, atol=1e-7)


def test_episode_never_ends_and_time_counts_steps():
    trace = _trace(GAUSSIAN, GAUSSIAN_PARAMS)
    assert trace["dtypes"]["terminated"] == jnp.bool_
    assert not trace["terminated"].any() and not trace["truncated"].any()
    assert trace["dtypes"]["time"] == jnp.int32
    np.testing.assert_array_equal(
        trace["time"], np.broadcast_to(np.arange(NUM_STEPS + 1), trace["time"].shape)
    )
    assert trace["obs"].shape == (NUM_KEYS, NUM_STEPS)


def test_stationary_q_star_stays_fixed():
    q = _trace(GAUSSIAN, GAUSSIAN_PARAMS)["q"]
    np.testing.assert_array_equal(q, np.broadcast_to(q[:, :1], q.shape))


def test_random_walk_increments_have_walk_std_and_are_independent():
    trace = _trace(WALK, WALK_PARAMS)
    q = trace["q"].astype(np.float64)  # [N, T + 1, K]
    increments = np.diff(q, axis=1)  # [N, T, K]
    _assert_mean_std(increments, 0.0, 0.3)
    for arm in range(4):
        _assert_mean_std(increments[..., arm], 0.0, 0.3)
    # Independent across arms and across steps.
    _assert_uncorrelated(increments.reshape(NUM_KEYS, -1))
    # Reward noise is its own draw (not the walk's) around q* before the walk, and
    # the action values reported are those before the walk too.
    q_before = q[:, :-1]
    action = trace["action"]
    q_pulled = np.take_along_axis(q_before, action[..., None], axis=-1)[..., 0]
    noise = trace["reward"] - q_pulled
    _assert_mean_std(noise, 0.0, 1.0)
    pulled_increment = np.take_along_axis(increments, action[..., None], -1)[..., 0]
    _assert_uncorrelated(np.stack([noise[:, 0], pulled_increment[:, 0]], 1))
    assert trace["info_keys"] == {"action_values"}
    np.testing.assert_allclose(trace["values"], q_before, rtol=1e-6, atol=1e-6)
    assert np.abs(trace["values"] - q[:, 1:]).max() > 0.1  # not the walked values


# ----------------------------------------------------------------------- Bernoulli


def test_bernoulli_probs_are_uniform_between_low_and_high():
    trace = _trace(BERNOULLI, BERNOULLI_PARAMS)
    p = trace["q"][:, 0].astype(np.float64)  # [N, K]
    assert p.shape == (NUM_KEYS, 5) and trace["dtypes"]["q"] == jnp.float32
    assert p.min() >= 0.2 and p.max() <= 0.7
    # Uniform on [low, high]: each quarter of the interval holds a quarter of draws.
    quarter = np.clip(np.floor((p - 0.2) / 0.125), 0, 3)
    for k in range(4):
        _assert_frequency((quarter == k).sum(), p.size, 0.25)
    _assert_uncorrelated(p)
    q = trace["q"]
    np.testing.assert_array_equal(q, np.broadcast_to(q[:, :1], q.shape))  # fixed p


def test_bernoulli_reward_frequencies_match_probs():
    trace = _trace(BERNOULLI, BERNOULLI_PARAMS)
    p = trace["q"][:, :-1].astype(np.float64)
    action = trace["action"]
    p_pulled = np.take_along_axis(p, action[..., None], axis=-1)[..., 0]
    reward = trace["reward"]
    assert trace["dtypes"]["reward"] == jnp.float32
    assert set(np.unique(reward).tolist()) <= {0.0, 1.0}
    # Rewards are independent Bernoulli(p_pulled): the standardised sum is ~N(0, 1).
    z = (reward.sum() - p_pulled.sum()) / np.sqrt((p_pulled * (1 - p_pulled)).sum())
    assert abs(z) <= NUM_SE
    # Frequencies per band of p follow the band's mean p.
    for low in np.arange(0.2, 0.7, 0.1):
        band = (p_pulled >= low) & (p_pulled < low + 0.1)
        expected = p_pulled[band].sum()
        se = np.sqrt((p_pulled[band] * (1 - p_pulled[band])).sum())
        assert abs(reward[band].sum() - expected) <= NUM_SE * se
    assert trace["info_keys"] == {"action_values"}
    np.testing.assert_allclose(trace["values"], p, rtol=1e-6, atol=1e-7)
    assert not trace["terminated"].any() and not trace["truncated"].any()


# ------------------------------------------------- the contract and engine metrics

ENVIRONMENTS = [
    (GAUSSIAN, GAUSSIAN_PARAMS),
    (WALK, WALK_PARAMS),
    (BERNOULLI, BERNOULLI_PARAMS),
]
ENV_IDS = ["gaussian", "nonstationary", "bernoulli"]
ENGINE_KEYS = 500
ENGINE_STEPS = 20


@pytest.mark.parametrize(("env", "params"), ENVIRONMENTS, ids=ENV_IDS)
def test_bandits_are_continuing_one_state_environments(env, params):
    assert isinstance(env, Environment)
    assert env.num_actions == env.num_arms and env.episodic is False
    assert isinstance(env.default_params, type(params))
    space = env.action_space  # gymnasium's Discrete(num_arms)
    assert space.n == env.num_arms and space.contains(env.num_arms - 1)
    assert not space.contains(env.num_arms)


@pytest.mark.parametrize(("env", "params"), ENVIRONMENTS, ids=ENV_IDS)
def test_engine_optimal_and_regret_come_from_the_action_values(env, params):
    # A uniformly random agent (epsilon-greedy, epsilon = 1) pulls every arm. The
    # run's `optimal` and `regret` must be [q*(A) == max q*] and max q* - q*(A) with
    # q* read from the environment's state before the step (before any walk) and A
    # from the agent's counts.
    agent = make_action_value_agent(env.num_arms, rules.epsilon_greedy_rule())
    run = make_run(env, agent, ENGINE_STEPS, env_params=params)
    names = [m.name for m in run.metrics]
    assert "optimal" in names and "regret" in names

    def trajectory(key):
        def step(carry, t):
            q_star, counts = carry.env_state.q_star, carry.agent_state.counts
            carry, out = run.step(carry, t)
            action = jnp.argmax(carry.agent_state.counts - counts)
            return carry, (q_star, action, out.values)

        carry = run.init(key, jnp.float32(1.0))
        return jax.lax.scan(step, carry, jnp.arange(ENGINE_STEPS))[1]

    keys = _keys(ENGINE_KEYS, seed=5)
    q, action, values = jax.jit(jax.vmap(trajectory))(keys)
    q, action = np.asarray(q, np.float64), np.asarray(action)
    q_pulled = np.take_along_axis(q, action[..., None], axis=-1)[..., 0]
    optimal, regret = np.asarray(values["optimal"]), np.asarray(values["regret"])
    assert optimal.dtype == np.float32 and regret.dtype == np.float32
    np.testing.assert_array_equal(optimal, q_pulled == q.max(-1))
    np.testing.assert_allclose(regret, q.max(-1) - q_pulled, rtol=1e-6, atol=1e-6)
    assert 0 < optimal.mean() < 0.5 and (regret > 0).mean() > 0.5  # not trivial
    # The plain run reports the same per-step metrics for a key.
    plain = run(keys[7], 1.0)
    np.testing.assert_allclose(plain.values["regret"], regret[7], rtol=1e-6)
    np.testing.assert_array_equal(plain.values["optimal"], optimal[7])
    assert plain.ended is None  # continuing: no episodes end


# ------------------------------------------------------------------- jit and vmap


@pytest.mark.parametrize(("env", "params"), ENVIRONMENTS, ids=ENV_IDS)
def test_plain_call_equals_its_row_of_the_jit_vmap_trace(env, params):
    trace = _trace(env, params)  # jit(vmap(scan)) over keys
    row, num_arms = 3, env.num_arms
    key_reset, key_steps = jax.random.split(_keys(NUM_KEYS)[row])
    action = int(trace["action"][row, 0])

    def reset_and_step():
        obs, state = env.reset(key_reset, params)
        key = jax.random.fold_in(key_steps, 0)
        return obs, state, env.step(key, state, action, params)

    plain = reset_and_step()
    obs, state, (obs1, state1, reward, term, trunc, info) = plain
    assert obs.shape == () and obs1.shape == ()
    assert state.q_star.shape == (num_arms,) and state.q_star.dtype == jnp.float32
    assert state.time.shape == () and state.time.dtype == jnp.int32
    assert reward.shape == () and reward.dtype == jnp.float32
    assert term.shape == () and trunc.shape == () and term.dtype == jnp.bool_
    assert set(info) == {"action_values"}
    values = info["action_values"]
    assert values.shape == (num_arms,) and values.dtype == jnp.float32
    assert int(state1.time) == 1

    np.testing.assert_allclose(np.asarray(state.q_star), trace["q"][row, 0], rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(state1.q_star), trace["q"][row, 1], rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(float(reward), trace["reward"][row, 0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(values), trace["values"][row, 0], rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(values), np.asarray(state.q_star))
    # The same key gives a bit-identical pytree; other keys give other draws.
    again = reset_and_step()
    for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(again), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(trace["q"][row, 0], trace["q"][row + 1, 0])


@pytest.mark.parametrize("env_class", [GaussianBandit, BernoulliBandit])
@pytest.mark.parametrize("num_arms", [0, 1, -3, 2.0, "10", None])
def test_bad_num_arms_raises_value_error(env_class, num_arms):
    with pytest.raises(ValueError, match="num_arms"):
        env_class(num_arms=num_arms)
