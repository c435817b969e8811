"""Tests for rl_softmax/agents/td.py against NumPy loops and closed-form fixed points.

References: Sutton & Barto (2018), ch. 6: Q-learning (Sec. 6.5), Sarsa (Sec. 6.4,
in the book's order: choose ``A'`` from ``S'`` using ``Q``, then update
``Q(S, A)``), expected Sarsa (Sec. 6.6); soft Q-learning replaces the max by
``tau logsumexp(Q / tau)``. The NumPy references below are written from those
definitions, step by step, without the agent's deferral trick: SARSA's reference
looks ahead to the next transition's action.

Convergence on ``ChainMDP`` (deterministic, known ``Q*``) uses the engine. With
deterministic transitions and rewards, Q-learning's, expected SARSA's and soft
Q-learning's targets carry no sampling noise, so constant-step updates contract to
the exact fixed point: after 3000 steps the error is at float32 resolution
(measured <= 2e-6), so the tolerance is 1e-5. SARSA's sampled ``A'`` makes its
estimates fluctuate; its test states its tolerance.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from chain_mdp import ChainMDP, ChainParams

from rl_softmax.agents import (
    Agent,
    TDParams,
    TDState,
    Transition,
    make_td_agent,
    rules,
    td,
)
from rl_softmax.agents.base import one_step
from rl_softmax.engine import make_run


def _update(agent):
    """The agent's ``learn`` on one step of one environment, as an update
    ``(state, transition, params) -> state`` (a per-step agent ignores the key)."""
    return lambda state, transition, params: agent.learn(
        jax.random.key(0), state, one_step(transition), params
    )


S, A = 5, 3
TARGETS = ("q_learning", "sarsa", "expected_sarsa", "soft_q")
PARAMS = TDParams(explore=0.4, step_size=0.3, discount=0.9, initial_value=0.5)


# --------------------------------------------------------------------------- rules


def _annealed(step, explore):
    return explore / (step + 1)


RULES = {
    "boltzmann": rules.boltzmann_rule,
    "annealed_boltzmann": lambda: rules.boltzmann_rule(_annealed),
    "epsilon_greedy": rules.epsilon_greedy_rule,
    "greedy": rules.greedy_rule,
    "ucb": rules.ucb_rule,
}


def _np_greedy(q_row):
    top = q_row == q_row.max()
    return top / top.sum()


def _np_tau(rule, step, explore):
    if rule == "annealed_boltzmann":
        return explore / (step + 1)
    return 0.0 if rule == "greedy" else explore


def _np_probs(rule, q_row, step, explore, counts_row=None):
    """The rule's probabilities at a state, written from the definitions (UCB's
    clock ``t`` counts from 1: ``step + 1``)."""
    if rule == "ucb":
        with np.errstate(divide="ignore"):
            bonus = explore * np.sqrt(np.log(step + 1) / counts_row)
        return _np_greedy(np.where(counts_row > 0, q_row + bonus, np.inf))
    if rule == "epsilon_greedy":
        return (1 - explore) * _np_greedy(q_row) + explore / q_row.size
    tau = _np_tau(rule, step, explore)
    if tau == 0:
        return _np_greedy(q_row)
    z = np.exp((q_row - q_row.max()) / tau)
    return z / z.sum()


def _np_soft_max(q_row, tau):
    if tau == 0:
        return q_row.max()
    return q_row.max() + tau * np.log(np.exp((q_row - q_row.max()) / tau).sum())


# ----------------------------------------------------------------- NumPy reference


def _engine_like_sequence(seed, num_steps, num_states=S, num_actions=A):
    """Random transitions as the engine hands them over: the next step starts in
    ``next_obs`` unless the episode ended, then in a fresh random state."""
    rng = np.random.default_rng(seed)
    obs = int(rng.integers(num_states))
    steps = []
    for _ in range(num_steps):
        action = int(rng.integers(num_actions))
        reward = float(rng.normal())
        next_obs = int(rng.integers(num_states))
        terminated = bool(rng.random() < 0.12)
        truncated = bool(not terminated and rng.random() < 0.12)
        steps.append((obs, action, reward, next_obs, terminated, truncated))
        obs = int(rng.integers(num_states)) if terminated or truncated else next_obs
    return steps


def _np_td(steps, target, rule, params, num_states=S, num_actions=A):
    """Tabular TD control over ``steps`` in float64, in the book's order.

    The behaviour policy at ``S'`` is the rule on ``Q(S', .)`` before the step's
    update, with the step clock after it (``t + 1``). SARSA's ``A'`` is the next
    transition's action; a last step that did not end the episode has no ``A'`` yet
    and is not applied.
    """
    explore, alpha, gamma, q0 = (float(v) for v in params)
    q = np.full((num_states, num_actions), q0)
    counts = np.zeros((num_states, num_actions))
    for t, (s, a, r, s_next, terminated, truncated) in enumerate(steps):
        counts[s, a] += 1
        ended = terminated or truncated
        if target == "q_learning":
            bootstrap = q[s_next].max()
        elif target == "soft_q":
            bootstrap = _np_soft_max(q[s_next], _np_tau(rule, t + 1, explore))
        elif target == "sarsa" and not ended:
            if t + 1 == len(steps):
                break
            bootstrap = q[s_next, steps[t + 1][1]]
        else:  # expected SARSA, or SARSA after a truncation
            probs = _np_probs(rule, q[s_next], t + 1, explore, counts[s_next])
            bootstrap = probs @ q[s_next]
        value = r if terminated else r + gamma * bootstrap
        q[s, a] += alpha * (value - q[s, a])
    return q, counts


def _as_transitions(steps):
    obs, action, reward, next_obs, terminated, truncated = zip(*steps, strict=True)
    return Transition(
        jnp.array(obs, jnp.int32),
        jnp.array(action, jnp.int32),
        jnp.array(reward, jnp.float32),
        jnp.array(next_obs, jnp.int32),
        jnp.array(terminated),
        jnp.array(truncated),
    )


@functools.cache
def _agent(target, rule="boltzmann", num_states=S, num_actions=A):
    return make_td_agent(num_states, num_actions, RULES[rule](), target=target)


@functools.cache
def _fold_updates(target, rule):
    """``jit`` of the agent's updates folded over a transition sequence."""
    agent = _agent(target, rule)

    def run(transitions, params):
        state = agent.init(jax.random.key(0), params)
        step = lambda state, tr: (_update(agent)(state, tr, params), None)  # noqa: E731
        return jax.lax.scan(step, state, transitions)[0]

    return jax.jit(run)


# ------------------------------------------------------------- against NumPy loops

CASES = [
    ("q_learning", "boltzmann"),
    ("sarsa", "boltzmann"),
    ("sarsa", "epsilon_greedy"),
    ("sarsa", "ucb"),
    ("expected_sarsa", "boltzmann"),
    ("expected_sarsa", "epsilon_greedy"),
    ("expected_sarsa", "annealed_boltzmann"),
    ("expected_sarsa", "ucb"),
    ("soft_q", "boltzmann"),
    ("soft_q", "annealed_boltzmann"),
]


@pytest.mark.parametrize(("target", "rule"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_update_matches_numpy_loop(target, rule, seed):
    steps = _engine_like_sequence(seed, 80)
    assert any(s[4] for s in steps) and any(s[5] for s in steps)
    state = _fold_updates(target, rule)(_as_transitions(steps), PARAMS)
    q, counts = _np_td(steps, target, rule, PARAMS)
    np.testing.assert_allclose(state.q, q, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(state.counts, counts)
    assert int(state.step) == len(steps)
    last = steps[-1]
    assert bool(state.has_pending) == (target == "sarsa" and not (last[4] or last[5]))


def test_soft_q_at_zero_temperature_is_q_learning():
    steps = _as_transitions(_engine_like_sequence(2, 80))
    params = PARAMS._replace(explore=0.0)
    soft = _fold_updates("soft_q", "boltzmann")(steps, params)
    greedy = _fold_updates("soft_q", "greedy")(steps, params)
    q_learning = _fold_updates("q_learning", "boltzmann")(steps, params)
    np.testing.assert_array_equal(soft.q, q_learning.q)
    np.testing.assert_array_equal(greedy.q, q_learning.q)


def test_soft_q_bootstrap_is_tau_logsumexp():
    # One step from a known row: the bootstrap is tau * log sum exp(Q(S', .) / tau),
    # written out here directly rather than through the stable form used above.
    agent, tau = _agent("soft_q"), 0.7
    params = PARAMS._replace(explore=tau, step_size=1.0, discount=1.0)
    row = jnp.array([0.3, -1.2, 2.0])
    state = agent.init(jax.random.key(0), params)
    state = state._replace(q=state.q.at[4].set(row))
    state = _update(agent)(state, _one(0, 1, 0.25, 4, False, False), params)
    expected = 0.25 + tau * np.log(np.sum(np.exp(np.asarray(row, np.float64) / tau)))
    np.testing.assert_allclose(state.q[0, 1], expected, rtol=1e-6)


# ------------------------------------------------- termination and truncation


def _one(obs, action, reward, next_obs, terminated, truncated):
    return Transition(
        jnp.int32(obs), jnp.int32(action), jnp.float32(reward), jnp.int32(next_obs),
        jnp.bool_(terminated), jnp.bool_(truncated),
    )  # fmt: skip


NEXT_ROW = np.array([1.0, 3.0, -2.0])
TAU = 0.5


def _expected_bootstrap(target):
    """``bootstrap(S')`` for ``Q(S', .) = NEXT_ROW`` under Boltzmann at ``TAU``."""
    if target == "q_learning":
        return NEXT_ROW.max()
    if target == "soft_q":
        return _np_soft_max(NEXT_ROW, TAU)
    return _np_probs("boltzmann", NEXT_ROW, 1, TAU) @ NEXT_ROW  # sarsa truncated too


def _from_known_table(target, transition):
    agent = _agent(target)
    params = TDParams(explore=TAU, step_size=0.5, discount=0.9, initial_value=1.0)
    state = agent.init(jax.random.key(0), params)
    state = state._replace(q=state.q.at[3].set(jnp.asarray(NEXT_ROW, jnp.float32)))
    return _update(agent)(state, transition, params), params


@pytest.mark.parametrize("target", TARGETS)
def test_terminated_step_does_not_bootstrap(target):
    state, params = _from_known_table(target, _one(0, 2, 4.0, 3, True, False))
    np.testing.assert_allclose(state.q[0, 2], 1.0 + 0.5 * (4.0 - 1.0), rtol=1e-6)
    assert not bool(state.has_pending)


@pytest.mark.parametrize("target", TARGETS)
def test_truncated_step_bootstraps(target):
    state, params = _from_known_table(target, _one(0, 2, 4.0, 3, False, True))
    value = 4.0 + 0.9 * _expected_bootstrap(target)
    np.testing.assert_allclose(state.q[0, 2], 1.0 + 0.5 * (value - 1.0), rtol=1e-6)
    assert not bool(state.has_pending)


def test_sarsa_defers_until_the_next_action():
    state, params = _from_known_table("sarsa", _one(0, 2, 4.0, 3, False, False))
    np.testing.assert_array_equal(state.q[0], [1.0, 1.0, 1.0])
    assert bool(state.has_pending)
    assert (int(state.pending_obs), int(state.pending_action)) == (0, 2)
    # The next step is taken in S' = 3 with A' = 1: Q(0, 2) uses Q(3, 1) = 3.
    state = _update(_agent("sarsa"))(state, _one(3, 1, 0.0, 4, False, False), params)
    np.testing.assert_allclose(
        state.q[0, 2], 1.0 + 0.5 * (4.0 + 0.9 * 3.0 - 1.0), rtol=1e-6
    )
    np.testing.assert_array_equal(state.q[3], NEXT_ROW)  # now pending itself
    assert bool(state.has_pending)


def test_sarsa_acts_on_q_in_the_books_order():
    """Act and update alternate as in the engine; the probabilities each act
    reports equal those of the book's loop, which chooses ``A'`` with ``Q`` before
    the update of ``(S, A)``."""
    agent, num_steps = _agent("sarsa"), 120
    params = PARAMS._replace(explore=0.5, step_size=0.5)
    act, update = jax.jit(agent.act), jax.jit(_update(agent))
    rng = np.random.default_rng(3)
    state = agent.init(jax.random.key(0), params)
    obs, steps, reported = 0, [], []
    for t in range(num_steps):
        action, info = act(jax.random.key(t), state, jnp.int32(obs), params)
        reported.append(np.asarray(info["probs"]))
        next_obs, reward = int(rng.integers(S)), float(rng.normal())
        terminated = bool(rng.random() < 0.1)
        truncated = bool(not terminated and rng.random() < 0.1)
        steps.append((obs, int(action), reward, next_obs, terminated, truncated))
        state = update(state, _one(*steps[-1]), params)
        obs = 0 if terminated or truncated else next_obs
    # The book's loop over the recorded steps.
    explore, alpha, gamma, q0 = (float(v) for v in params)
    q = np.full((S, A), q0)
    chosen = [_np_probs("boltzmann", q[0], 0, explore)]
    for t, (s, a, r, s_next, terminated, truncated) in enumerate(steps[:-1]):
        if terminated:
            q[s, a] += alpha * (r - q[s, a])
        elif truncated:
            expected = _np_probs("boltzmann", q[s_next], t + 1, explore) @ q[s_next]
            q[s, a] += alpha * (r + gamma * expected - q[s, a])
        # Choose the next action (in S' or after a reset) with Q as it is now.
        chosen.append(_np_probs("boltzmann", q[steps[t + 1][0]], t + 1, explore))
        if not (terminated or truncated):
            q[s, a] += alpha * (r + gamma * q[s_next, steps[t + 1][1]] - q[s, a])
    np.testing.assert_allclose(np.stack(reported), np.stack(chosen), atol=1e-5)


# ------------------------------------------------------------ learning on a chain

LENGTH = 3
CHAIN = ChainMDP(length=LENGTH, max_steps=20)
GAMMA = float(ChainParams().gamma)


def _learned_q(target, rule, explore, num_steps, step_size=0.5, num_seeds=4):
    """Final ``Q[:LENGTH]`` of ``num_seeds`` engine runs on the chain."""
    agent = make_td_agent(LENGTH + 1, 2, RULES[rule](), target=target)  # + terminal
    params = TDParams(explore, step_size, GAMMA, 0.0)
    run = make_run(CHAIN, agent, num_steps, agent_params=params, swept="explore")

    def final_state(key):
        carry = run.init(key, jnp.float32(explore))
        carry, _ = jax.lax.scan(run.step, carry, jnp.arange(num_steps))
        return carry.agent_state

    keys = jax.random.split(jax.random.key(7), num_seeds)
    states = jax.jit(jax.vmap(final_state))(keys)
    return np.asarray(states.q[:, :LENGTH], np.float64)


def _chain_fixed_point(backup):
    """Iterates ``Q(s, a) = r + gamma * backup(Q(s', .))`` on the chain to its
    fixed point (terminal: no bootstrap); a contraction with modulus ``gamma``."""
    q = np.zeros((LENGTH, 2))
    for _ in range(2000):
        new = np.empty_like(q)
        for s in range(LENGTH):
            new[s, 0] = GAMMA * backup(q[max(s - 1, 0)])
            new[s, 1] = 1.0 if s == LENGTH - 1 else GAMMA * backup(q[s + 1])
        q = new
    return q


@pytest.mark.parametrize(
    ("rule", "explore"), [("epsilon_greedy", 0.1), ("boltzmann", 0.25)]
)
def test_q_learning_converges_to_q_star(rule, explore):
    q_star = np.asarray(CHAIN.q_star(CHAIN.default_params), np.float64)
    np.testing.assert_allclose(q_star, _chain_fixed_point(np.max), atol=1e-6)
    q = _learned_q("q_learning", rule, explore, 3000)
    np.testing.assert_allclose(q, np.broadcast_to(q_star, q.shape), atol=1e-5)


def test_expected_sarsa_converges_to_q_of_its_epsilon_greedy_policy():
    epsilon = 0.2
    fixed = _chain_fixed_point(
        lambda row: _np_probs("epsilon_greedy", row, 0, epsilon) @ row
    )
    assert np.all(fixed[:, 1] > fixed[:, 0])  # right stays greedy: a true fixed point
    q = _learned_q("expected_sarsa", "epsilon_greedy", epsilon, 3000)
    np.testing.assert_allclose(q, np.broadcast_to(fixed, q.shape), atol=1e-5)


def test_soft_q_converges_to_the_soft_bellman_fixed_point():
    tau = 0.2
    fixed = _chain_fixed_point(lambda row: _np_soft_max(row, tau))
    q = _learned_q("soft_q", "boltzmann", tau, 3000)
    np.testing.assert_allclose(q, np.broadcast_to(fixed, q.shape), atol=1e-5)


def test_sarsa_learns_the_value_of_its_epsilon_greedy_policy():
    # SARSA's target samples A', so constant-step estimates fluctuate, and the
    # Markovian order of the samples biases their mean by O(alpha) (measured: the
    # worst entry's seed mean is off by 0.016 at alpha = 0.05 and 0.007 at 0.02,
    # with standard errors <= 0.002). The tolerance is 0.02 at alpha = 0.02.
    epsilon, num_seeds = 0.2, 16
    fixed = _chain_fixed_point(
        lambda row: _np_probs("epsilon_greedy", row, 0, epsilon) @ row
    )
    q = _learned_q("sarsa", "epsilon_greedy", epsilon, 20_000, 0.02, num_seeds)
    assert np.all(q[:, :, 1] > q[:, :, 0])  # every run's greedy policy is optimal
    np.testing.assert_allclose(q.mean(axis=0), fixed, atol=0.02)


# ------------------------------------------------------- plain, jit and vmap


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("transform", ["plain", "jit", "vmap"])
def test_init_act_update_shapes_and_dtypes(target, transform):
    agent = _agent(target)
    transition = _one(1, 2, 0.5, 4, False, False)
    key, params = jax.random.key(0), PARAMS
    init, act, update = agent.init, agent.act, _update(agent)
    batch = ()
    if transform == "jit":
        init, act, update = jax.jit(init), jax.jit(act), jax.jit(update)
    elif transform == "vmap":
        batch = (4,)
        key = jax.random.split(key, 4)
        transition = jax.tree.map(lambda x: jnp.broadcast_to(x, batch), transition)
        params = PARAMS._replace(explore=jnp.linspace(0.1, 1.0, 4))
        axes = TDParams(0, None, None, None)
        init = jax.vmap(init, (0, axes))
        act = jax.vmap(act, (0, 0, 0, axes))
        update = jax.vmap(update, (0, 0, axes))
    state = init(key, params)
    assert isinstance(state, TDState)
    for field, shape, dtype in [
        ("q", (S, A), jnp.float32), ("counts", (S, A), jnp.float32),
        ("step", (), jnp.int32), ("pending_obs", (), jnp.int32),
        ("pending_action", (), jnp.int32), ("pending_reward", (), jnp.float32),
        ("has_pending", (), jnp.bool_),
    ]:  # fmt: skip
        value = getattr(state, field)
        assert value.shape == batch + shape and value.dtype == dtype, field
    np.testing.assert_array_equal(state.q, PARAMS.initial_value)
    action, info = act(key, state, transition.obs, params)
    assert action.shape == batch and action.dtype == jnp.int32
    assert info["probs"].shape == batch + (A,) and info["probs"].dtype == jnp.float32
    new = update(state, transition, params)
    assert jax.tree.map(lambda x: (x.shape, x.dtype), new) == jax.tree.map(
        lambda x: (x.shape, x.dtype), state
    )
    np.testing.assert_array_equal(new.step, np.ones(batch, np.int32))
    np.testing.assert_array_equal(new.counts[..., 1, 2], np.ones(batch))
    assert float(jnp.sum(new.counts)) == np.prod(batch, dtype=int)


def test_summary_reports_greedy_policy_and_visits():
    agent = _agent("q_learning")
    state = agent.init(jax.random.key(0), PARAMS)
    q = jnp.array([[1.0, 2.0, 2.0], [0.0, -1.0, -3.0]] + [[0.0, 0.0, 0.0]] * 3)
    counts = jnp.zeros((S, A)).at[1].set(jnp.array([2.0, 0.0, 3.0]))
    state = state._replace(q=q, counts=counts)
    summary = agent.summary(state, PARAMS)
    assert set(summary) == {"greedy_policy", "visits"}
    np.testing.assert_array_equal(summary["greedy_policy"][0], [0.0, 0.5, 0.5])
    np.testing.assert_array_equal(summary["greedy_policy"][1], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(summary["greedy_policy"][2], np.full(3, 1 / 3))
    np.testing.assert_array_equal(summary["visits"], [0.0, 5.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(td.greedy_policy(state), summary["greedy_policy"])
    np.testing.assert_array_equal(td.state_visits(state), summary["visits"])


def test_engine_reports_visits_summing_to_steps():
    agent = make_td_agent(LENGTH + 1, 2, target="sarsa")
    run = make_run(CHAIN, agent, 50, agent_params=TDParams(discount=GAMMA))
    _, at_end = jax.jit(run.run_with_end)(jax.random.key(0), 0.5)
    assert at_end["visits"].shape == (LENGTH + 1,)
    assert float(at_end["visits"].sum()) == 50.0
    assert (
        float(at_end["visits"][LENGTH]) == 0.0
    )  # the terminal state is never acted in


def test_same_key_same_action():
    agent = _agent("expected_sarsa")
    state = agent.init(jax.random.key(0), PARAMS)
    first = agent.act(jax.random.key(5), state, jnp.int32(2), PARAMS)
    second = agent.act(jax.random.key(5), state, jnp.int32(2), PARAMS)
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(second), strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ bad arguments


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_states": 0}, "num_states=0"),
        ({"num_states": 2.0}, "num_states=2.0"),
        ({"num_actions": 1}, "num_actions=1"),
        ({"target": "double_q"}, "target='double_q'.*q_learning"),
        ({"rule": "boltzmann"}, "rule='boltzmann'"),
        ({"rule": rules.boltzmann_gumbel_rule(), "target": "expected_sarsa"},
         "no 'probs'.*target='expected_sarsa'"),
        ({"rule": rules.boltzmann_gumbel_rule(), "target": "sarsa"},
         "no 'probs'.*target='sarsa'"),
        ({"rule": rules.epsilon_greedy_rule(), "target": "soft_q"},
         "no 'tau'.*target='soft_q'"),
        ({"rule": rules.ucb_rule(), "target": "soft_q"}, "no 'tau'"),
    ],
)  # fmt: skip
def test_bad_arguments_raise_value_error_naming_them(kwargs, match):
    arguments = {"num_states": S, "num_actions": A} | kwargs
    with pytest.raises(ValueError, match=match):
        make_td_agent(**arguments)


def test_q_learning_accepts_rules_without_probs():
    agent = make_td_agent(S, A, rules.boltzmann_gumbel_rule())
    assert isinstance(agent, Agent) and agent.num_actions == A


def test_mellowmax_target_bootstraps_from_log_mean_exp():
    """Asadi & Littman (2017): ``R + gamma * log(mean(exp(omega Q(S', .)))) /
    omega``, from NumPy in float64, with the rule's omega; the mellowmax policy
    that acts earns that same value at S' (expected Sarsa under it agrees)."""
    omega = 2.0
    params = TDParams(explore=omega, step_size=0.5, discount=0.9, initial_value=1.0)
    mellow = make_td_agent(S, A, rules.mellowmax_rule(), target="mellowmax")
    expected_sarsa = make_td_agent(
        S, A, rules.mellowmax_rule(), target="expected_sarsa"
    )
    results = []
    for agent in (mellow, expected_sarsa):
        state = agent.init(jax.random.key(0), params)
        state = state._replace(q=state.q.at[3].set(jnp.asarray(NEXT_ROW, jnp.float32)))
        state = _update(agent)(state, _one(0, 2, 4.0, 3, False, False), params)
        results.append(float(state.q[0, 2]))
    row = NEXT_ROW.astype(np.float64)
    mm = (np.logaddexp.reduce(omega * row) - np.log(row.size)) / omega
    np.testing.assert_allclose(
        results[0], 1.0 + 0.5 * (4.0 + 0.9 * mm - 1.0), rtol=1e-6
    )
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5)
    # a rule that reports no omega is refused in one line
    with pytest.raises(ValueError, match="reports no 'omega'"):
        make_td_agent(S, A, rules.boltzmann_rule(), target="mellowmax")
