"""Tests for rl_softmax/agents/action_value.py against NumPy loops and closed forms.

References: Sutton & Barto (2018), Sec. 2.4 (sample average
``Q(A) += (R - Q(A)) / N(A)``), Sec. 2.5 (constant step, Eq. 2.6:
``Q_{n+1} = (1 - alpha)^n Q_1 + sum_i alpha (1 - alpha)^(n - i) R_i``), Sec. 2.7
(UCB, Eq. 2.10, untried arms maximal) and Cesa-Bianchi et al. (2017) for
Boltzmann-Gumbel exploration, which with equal counts is Boltzmann sampling at
``tau = C / sqrt(N)`` by the Gumbel-max trick.

Rules are functions (``rules.boltzmann_rule()``, ...) handed to
``make_action_value_agent``; ``act`` returns ``(action, policy_info)`` with
``"probs"`` where the rule has closed-form probabilities and ``"tau"`` where it has a
temperature. Each rule is compiled once (``jit(vmap(act))`` over ``NUM_KEYS`` rows:
keys, states and ``explore`` all batched) and reused; frequency checks allow
``NUM_SE`` standard errors.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_softmax.agents import (
    ActionValueParams,
    Transition,
    make_action_value_agent,
    rules,
)
from rl_softmax.agents.base import one_step


def _update(agent):
    """The agent's ``learn`` on one step of one environment, as an update
    ``(state, transition, params) -> state`` (a per-step agent ignores the key)."""
    return lambda state, transition, params: agent.learn(
        jax.random.key(0), state, one_step(transition), params
    )


K = 4
NUM_KEYS = 20_000
NUM_SE = 5.0
_BATCHED = ActionValueParams(explore=0, step_size=None, initial_value=None)
_OBS = jnp.zeros(())  # the bandit's one observation; the agent ignores it


def _annealed(step, explore):
    return explore / (step + 1)


def _entropy_is_explore(step, explore):
    del step
    return explore


def _rule(name: str, schedule: bool = False) -> rules.Rule:
    if name == "boltzmann":
        if schedule:
            return rules.boltzmann_rule(_annealed)
        return rules.boltzmann_rule()
    if name == "target_entropy":
        return rules.target_entropy_rule(_entropy_is_explore)
    return getattr(rules, f"{name}_rule")()


@functools.cache
def _agent(rule: str, schedule: bool = False):
    return make_action_value_agent(K, _rule(rule, schedule))


@functools.cache
def _batched_act(rule: str, schedule: bool = False):
    return jax.jit(jax.vmap(_agent(rule, schedule).act, (0, 0, None, _BATCHED)))


# The policy_info keys each rule reports: probs where they have a closed form, tau
# where the rule has a temperature (0 for greedy).
INFO_KEYS = {
    "boltzmann": {"probs", "tau"},
    "target_entropy": {"probs", "tau"},
    "greedy": {"probs", "tau"},
    "epsilon_greedy": {"probs"},
    "ucb": {"probs"},
    "boltzmann_gumbel": set(),
}


def _act_info(rule, q, counts, step, explore, *, schedule=False, seed=0):
    """Acts on NUM_KEYS rows; ``q``/``counts`` ``[K]`` or ``[N, K]``, others scalar
    or ``[N]``. Returns NumPy ``(actions [N], policy_info)`` (``probs [N, K]``,
    ``tau [N]``, as the rule reports them)."""
    n = NUM_KEYS
    state = rules.Estimates(
        q=jnp.asarray(np.broadcast_to(q, (n, K)), jnp.float32),
        counts=jnp.asarray(np.broadcast_to(counts, (n, K)), jnp.float32),
        step=jnp.asarray(np.broadcast_to(step, (n,)), jnp.int32),
    )
    params = ActionValueParams(
        explore=jnp.asarray(np.broadcast_to(explore, (n,)), jnp.float32)
    )
    keys = jax.random.split(jax.random.key(seed), n)
    actions, info = _batched_act(rule, schedule)(keys, state, _OBS, params)
    assert actions.shape == (n,) and actions.dtype == jnp.int32
    assert set(info) == INFO_KEYS[rule], (rule, set(info))
    if "probs" in info:
        assert info["probs"].shape == (n, K) and info["probs"].dtype == jnp.float32
    if "tau" in info:
        assert info["tau"].shape == (n,) and info["tau"].dtype == jnp.float32
    return np.asarray(actions), {k: np.asarray(v, np.float64) for k, v in info.items()}


def _act(rule, q, counts, step, explore, *, schedule=False, seed=0):
    """:func:`_act_info` for a rule with probabilities: ``(actions, probs)``."""
    actions, info = _act_info(
        rule, q, counts, step, explore, schedule=schedule, seed=seed
    )
    return actions, info["probs"]


# ---------------------------------------------------------------- NumPy references


def _np_greedy(q: np.ndarray) -> np.ndarray:
    best = q == q.max(-1, keepdims=True)
    return best / best.sum(-1, keepdims=True)


def _np_softmax(q: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """``exp(q / tau) / sum exp(q / tau)`` in float64, rows of ``q`` with ``tau``."""
    q = np.asarray(q, np.float64)
    tau = np.broadcast_to(np.asarray(tau, np.float64), q.shape[:-1])[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.exp((q - q.max(-1, keepdims=True)) / tau)
    probs = z / z.sum(-1, keepdims=True)
    probs = np.where(tau == 0, _np_greedy(q), probs)
    return np.where(np.isinf(tau), 1.0 / q.shape[-1], probs)


def _np_ucb_probs(q, counts, c):
    """Greedy on ``Q + c sqrt(ln t / N)`` with ``t = 1 + sum N``; untried arms first."""
    probs = np.zeros_like(q, dtype=np.float64)
    for i in range(q.shape[0]):
        untried = counts[i] == 0
        if untried.any():
            probs[i] = untried / untried.sum()
            continue
        t = counts[i].sum() + 1
        score = q[i] + c[i] * np.sqrt(np.log(t) / counts[i])
        probs[i, np.argmax(score)] = 1.0
    return probs


def _assert_frequencies(actions: np.ndarray, probs: np.ndarray) -> None:
    """Action counts over ``actions`` match ``probs: [K]`` within NUM_SE SEs."""
    n = actions.size
    freq = np.bincount(actions, minlength=K) / n
    for a in range(K):
        p = probs[a]
        if p == 0.0:
            assert freq[a] == 0.0, (a, freq)
        else:
            assert abs(freq[a] - p) <= NUM_SE * np.sqrt(p * (1 - p) / n), (freq, probs)


def _random_q(seed: int, decimals: int | None = None) -> np.ndarray:
    q = np.random.default_rng(seed).normal(size=(NUM_KEYS, K))
    return q.round(decimals) if decimals is not None else q


# ------------------------------------------------------------------- init, update


def test_init_sets_every_estimate_to_initial_value():
    agent = _agent("boltzmann")
    state = agent.init(jax.random.key(0), ActionValueParams(initial_value=5.0))
    np.testing.assert_array_equal(np.asarray(state.q), np.full(K, 5.0))
    np.testing.assert_array_equal(np.asarray(state.counts), np.zeros(K))
    assert state.q.dtype == jnp.float32 and state.step.dtype == jnp.int32
    assert state.counts.shape == (K,) and int(state.step) == 0
    values = jnp.asarray([-1.0, 0.0, 2.5])
    params = ActionValueParams(initial_value=values)
    batched = jax.jit(jax.vmap(agent.init, (None, ActionValueParams(None, None, 0))))(
        jax.random.key(0), params
    )
    assert batched.q.shape == (3, K) and batched.step.shape == (3,)
    np.testing.assert_array_equal(
        np.asarray(batched.q), np.repeat(np.asarray(values)[:, None], K, 1)
    )


_SEQUENCE_LENGTH = 60


def _sequence(seed=1):
    """Actions on arms 0..K-2 only (arm K-1 stays untried) and Gaussian rewards."""
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, K - 1, size=_SEQUENCE_LENGTH).astype(np.int32)
    rewards = rng.normal(actions.astype(float), 1.0).astype(np.float32)
    return actions, rewards


def _transition(action, reward):
    done = jnp.zeros((), bool)
    return Transition(_OBS, action, reward, _OBS, done, done)


def _jax_updates(agent, params_batch, actions, rewards):
    """Folds ``update`` over the sequence under ``jit(vmap)`` over params rows."""

    def run(params):
        state = agent.init(jax.random.key(0), params)

        def body(state, inputs):
            action, reward = inputs
            return _update(agent)(state, _transition(action, reward), params), None

        state, _ = jax.lax.scan(body, state, (actions, rewards))
        return state

    return jax.jit(jax.vmap(run))(params_batch)


def test_sample_average_update_matches_numpy():
    actions, rewards = _sequence()
    initial_values = np.array([0.0, 2.0, -3.0], np.float32)
    params = ActionValueParams(
        explore=jnp.zeros(3), step_size=jnp.full(3, 0.9), initial_value=initial_values
    )
    state = _jax_updates(_agent("greedy"), params, actions, rewards)
    for row, q0 in enumerate(initial_values):
        q, counts = np.full(K, q0, np.float64), np.zeros(K)
        for a, r in zip(actions, rewards, strict=True):
            counts[a] += 1
            q[a] += (r - q[a]) / counts[a]
        np.testing.assert_allclose(np.asarray(state.q[row]), q, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(np.asarray(state.counts[row]), counts)
        # Closed form: the mean of each arm's rewards; Q0 survives on untried arms.
        for a in range(K - 1):
            assert abs(float(state.q[row, a]) - rewards[actions == a].mean()) < 1e-5
        assert float(state.q[row, K - 1]) == q0
    np.testing.assert_array_equal(np.asarray(state.step), _SEQUENCE_LENGTH)


def test_constant_step_size_update_matches_numpy():
    actions, rewards = _sequence(seed=2)
    agent = make_action_value_agent(K, rules.greedy_rule(), sample_average=False)
    alphas = np.array([0.1, 0.5, 1.0], np.float32)
    params = ActionValueParams(
        explore=jnp.zeros(3), step_size=alphas, initial_value=jnp.full(3, 5.0)
    )
    state = _jax_updates(agent, params, actions, rewards)
    for row, alpha in enumerate(alphas.astype(np.float64)):
        q = np.full(K, 5.0)
        for a, r in zip(actions, rewards, strict=True):
            q[a] += alpha * (r - q[a])
        np.testing.assert_allclose(np.asarray(state.q[row]), q, rtol=1e-5, atol=1e-5)
        # Sutton & Barto (2018), Eq. 2.6: exponential recency-weighted average.
        for a in range(K):
            r_a = rewards[actions == a].astype(np.float64)
            n = r_a.size
            weights = alpha * (1 - alpha) ** (n - 1 - np.arange(n))
            closed = (1 - alpha) ** n * 5.0 + np.sum(weights * r_a)
            assert abs(float(state.q[row, a]) - closed) < 1e-4
    np.testing.assert_array_equal(
        np.asarray(state.counts[0]), np.bincount(actions, minlength=K)
    )


# ------------------------------------------------------------------ action probs


def test_boltzmann_probs_equal_numpy_softmax_over_traced_tau():
    q = _random_q(seed=3)
    taus = np.array([0.0, 0.01, 0.2, 1.0, 3.0, np.inf])[np.arange(NUM_KEYS) % 6]
    actions, info = _act_info("boltzmann", q, np.ones(K), 4, taus)
    probs = info["probs"]
    expected = _np_softmax(q.astype(np.float32), taus.astype(np.float32))
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-6)
    assert np.all(probs[np.arange(NUM_KEYS), actions] > 0)
    np.testing.assert_array_equal(info["tau"], taus.astype(np.float32))
    # The unbatched, unjitted call of the default rule (boltzmann(), tau = explore)
    # agrees with its row of the batch, and ignores the observation.
    agent = make_action_value_agent(K)
    state = rules.Estimates(jnp.asarray(q[2], jnp.float32), jnp.ones(K), jnp.int32(4))
    params = ActionValueParams(explore=taus[2])
    key = jax.random.split(jax.random.key(0), NUM_KEYS)[2]
    action, plain = agent.act(key, state, _OBS, params)
    np.testing.assert_allclose(np.asarray(plain["probs"]), probs[2], rtol=1e-6)
    assert float(plain["tau"]) == np.float32(taus[2])
    assert int(action) == actions[2]
    other_obs, _ = agent.act(key, state, jnp.ones(()), params)
    assert int(other_obs) == int(action)


def test_boltzmann_sampled_actions_match_probs():
    q = np.array([0.5, 1.0, -0.5, 0.9])
    actions, probs = _act("boltzmann", q, np.ones(K), 4, 0.5)
    expected = _np_softmax(q[None].astype(np.float32), 0.5)[0]
    np.testing.assert_allclose(probs[0], expected, rtol=1e-5)
    _assert_frequencies(actions, expected)


def test_greedy_splits_ties_evenly():
    q = np.array([1.0, 3.0, 3.0, 0.0])
    actions, info = _act_info("greedy", q, np.ones(K), 4, 0.7)
    probs = info["probs"]
    np.testing.assert_array_equal(
        probs, np.broadcast_to([0.0, 0.5, 0.5, 0.0], probs.shape)
    )
    np.testing.assert_array_equal(info["tau"], 0.0)  # the tau = 0 limit, any explore
    _assert_frequencies(actions, np.array([0.0, 0.5, 0.5, 0.0]))
    # Random values rounded to one decimal have many ties.
    q = _random_q(seed=4, decimals=1)
    _, probs = _act("greedy", q, np.ones(K), 4, 0.0)
    np.testing.assert_allclose(probs, _np_greedy(q), rtol=1e-6)


def test_epsilon_greedy_mixes_greedy_and_uniform():
    q = _random_q(seed=5, decimals=1)
    epsilons = np.array([0.0, 0.01, 0.1, 0.5, 1.0])[np.arange(NUM_KEYS) % 5]
    _, probs = _act("epsilon_greedy", q, np.ones(K), 4, epsilons)
    expected = (1 - epsilons[:, None]) * _np_greedy(q) + epsilons[:, None] / K
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-7)
    q = np.array([2.0, 0.0, 2.0, 1.0])
    actions, _ = _act("epsilon_greedy", q, np.ones(K), 4, 0.3)
    _assert_frequencies(actions, 0.7 * np.array([0.5, 0, 0.5, 0]) + 0.3 / K)


def test_ucb_is_greedy_on_upper_confidence_bound():
    rng = np.random.default_rng(6)
    q = _random_q(seed=6)
    counts = rng.integers(1, 30, size=(NUM_KEYS, K)).astype(np.float64)
    counts[::7, rng.integers(0, K)] = 0  # some states with an untried arm
    counts[::11] = 0  # and some with no arm tried yet
    c = np.array([0.0, 0.5, 1.0, 2.0, 4.0])[np.arange(NUM_KEYS) % 5]
    step = counts.sum(-1).astype(np.int32)  # steps taken so far
    actions, probs = _act("ucb", q, counts, step, c)
    expected = _np_ucb_probs(q.astype(np.float32), counts, c.astype(np.float32))
    np.testing.assert_allclose(probs, expected, atol=1e-6)
    assert np.all(expected[np.arange(NUM_KEYS), actions] > 0)
    # The bonus matters: for c > 0 it often overrules the greedy choice.
    overruled = expected.argmax(-1) != q.argmax(-1)
    assert overruled[(c > 0) & (counts > 0).all(-1)].mean() > 0.1


def test_ucb_takes_untried_arms_first():
    q = np.array([5.0, 0.0, 1.0, -2.0])
    counts = np.array([3.0, 0.0, 2.0, 0.0])
    actions, probs = _act("ucb", q, counts, 5, 1.0)
    np.testing.assert_array_equal(probs, np.broadcast_to([0, 0.5, 0, 0.5], probs.shape))
    _assert_frequencies(actions, np.array([0.0, 0.5, 0.0, 0.5]))


def test_boltzmann_gumbel_reports_no_probs_and_takes_untried_arms_first():
    # No closed-form probabilities: policy_info is empty (checked in _act_info).
    q = np.array([5.0, 0.0, 1.0, -2.0])
    counts = np.array([2.0, 0.0, 5.0, 0.0])
    actions, info = _act_info("boltzmann_gumbel", q, counts, 7, 1.0)
    assert info == {}
    _assert_frequencies(actions, np.array([0.0, 0.5, 0.0, 0.5]))


def test_boltzmann_gumbel_with_equal_counts_is_softmax_at_c_over_sqrt_n():
    # Gumbel-max trick: argmax Q + beta Z with one beta samples softmax(Q / beta).
    q = np.array([0.5, 1.0, -0.5, 0.9])
    actions, _ = _act_info("boltzmann_gumbel", q, np.full(K, 4.0), 16, 1.0)
    _assert_frequencies(actions, _np_softmax(q[None], 1.0 / np.sqrt(4.0))[0])


def test_temperature_schedule_sets_tau_at_each_step():
    q = np.array([0.5, 1.0, -0.5, 0.9])
    step = np.array([0, 9])[np.arange(NUM_KEYS) % 2]
    _, info = _act_info("boltzmann", q, np.ones(K), step, 2.0, schedule=True)
    probs = info["probs"]
    tau = 2.0 / (step + 1)  # the schedule, evaluated by hand
    expected = _np_softmax(np.broadcast_to(q, (NUM_KEYS, K)), tau)
    np.testing.assert_allclose(probs, expected, rtol=1e-5)
    np.testing.assert_allclose(info["tau"], tau, rtol=1e-6)  # the tau reported
    assert np.abs(probs[0] - probs[1]).max() > 0.1  # step 0 and step 9 differ


def test_target_entropy_policy_is_boltzmann_with_the_target_entropy():
    q = _random_q(seed=7)
    targets = np.array([0.05, 0.3, 0.7, 1.0, 1.3])[np.arange(NUM_KEYS) % 5]
    _, info = _act_info("target_entropy", q, np.ones(K), 3, targets)
    probs = info["probs"]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.sum(np.where(probs > 0, probs * np.log(probs), 0.0), axis=-1)
    np.testing.assert_allclose(entropy, targets, atol=1e-5)
    # ... and Boltzmann: log-probabilities are affine in Q with a positive slope.
    slope = np.polyfit(q[0], np.log(probs[0]), 1)[0]
    np.testing.assert_allclose(
        np.log(probs[0]), np.log(_np_softmax(q[:1], 1.0 / slope)[0]), atol=1e-3
    )
    # The reported tau is the one the probabilities were computed at.
    np.testing.assert_allclose(
        probs, _np_softmax(q.astype(np.float32), info["tau"]), rtol=1e-4, atol=1e-6
    )


# ------------------------------------------------------------------------- errors


@pytest.mark.parametrize("rule", ["thompson", "boltzmann", 0.1])
def test_non_callable_rule_raises_value_error_naming_it(rule):
    # Rules are functions now: a name (even a valid one) or a number is refused.
    with pytest.raises(ValueError, match="rule=") as info:
        make_action_value_agent(K, rule)
    assert repr(rule) in str(info.value)
    assert "boltzmann_rule()" in str(info.value)  # the message shows what to pass


@pytest.mark.parametrize("num_actions", [1, 0, 4.0, "4"])
def test_bad_num_actions_raises_value_error(num_actions):
    with pytest.raises(ValueError, match="num_actions"):
        make_action_value_agent(num_actions, rules.boltzmann_rule())
