"""Tests for generalised value iteration (rl_softmax/planning.py).

References: :func:`rl_softmax.envs.value_iteration` (an independent NumPy loop in
float64) for the ``max`` operator on FrozenLake and CliffWalking; a NumPy linear
solve of the uniform policy's Bellman equation for ``mean`` and mellowmax at
``omega -> 0``; the closed-form bounds ``max - log(A) / omega <= mm <= max`` and
``max <= lse <= max + tau log(A)`` carried through ``1 / (1 - gamma)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_softmax import planning
from rl_softmax.envs import TabularEnv, tabular, value_iteration

ENVS = {
    "FrozenLake": ("FrozenLake-v1", {}, 0.99),
    "FrozenLake8x8": ("FrozenLake-v1", {"map_name": "8x8"}, 0.95),
    "CliffWalking": ("CliffWalking-v1", {}, 0.9),
}


@pytest.fixture(scope="module")
def toy_tables():
    return {
        name: planning.toy_text_tables(env_id, **kwargs)
        for name, (env_id, kwargs, _) in ENVS.items()
    }


def numpy_uniform_policy_q(tables, discount) -> np.ndarray:
    """``Q = r + gamma P_uniform Q`` solved as one linear system in float64."""
    probs = np.asarray(tables.probs, np.float64)
    rewards = np.asarray(tables.rewards, np.float64)
    go_on = ~np.asarray(tables.terminated)
    next_states = np.asarray(tables.next_states)
    num_states, num_actions, _ = probs.shape
    n = num_states * num_actions
    matrix = np.eye(n)
    for s in range(num_states):
        for a in range(num_actions):
            for k in range(probs.shape[2]):
                if probs[s, a, k] > 0 and go_on[s, a, k]:
                    row = s * num_actions + a
                    cols = next_states[s, a, k] * num_actions + np.arange(num_actions)
                    matrix[row, cols] -= discount * probs[s, a, k] / num_actions
    expected_rewards = np.sum(probs * rewards, axis=-1).reshape(n)
    return np.linalg.solve(matrix, expected_rewards).reshape(num_states, num_actions)


@pytest.mark.parametrize("name", sorted(ENVS))
def test_gvi_with_max_is_value_iteration(toy_tables, name):
    tables, discount = toy_tables[name], ENVS[name][2]
    expected = value_iteration(*tables, discount)
    tol = 1e-7
    result = jax.jit(planning.make_gvi("max", tol=tol))(tables, discount)
    assert bool(result.converged) and 0 < int(result.num_iters) < 10_000
    assert result.q.shape == expected.shape and result.q.dtype == jnp.float32
    assert float(result.change) <= tol
    # stopping at change <= tol leaves at most tol * gamma / (1 - gamma), plus
    # float32 rounding of the values
    bound = tol * discount / (1 - discount) + 4e-7 * np.abs(expected).max()
    np.testing.assert_allclose(result.q, expected, rtol=0, atol=bound)


@pytest.mark.parametrize("name", sorted(ENVS))
def test_mean_and_mellowmax_near_zero_evaluate_the_uniform_policy(toy_tables, name):
    """``mean`` and mellowmax at ``omega = 0`` solve the uniform policy's Bellman
    equation; at small ``omega > 0`` mellowmax exceeds the mean by at most
    ``omega * spread**2 / 8`` (Hoeffding's lemma), i.e. the values by at most
    ``gamma / (1 - gamma)`` times that."""
    tables, discount = toy_tables[name], ENVS[name][2]
    expected = numpy_uniform_policy_q(tables, discount)
    scale = np.abs(expected).max()
    slack = 1e-7 * discount / (1 - discount) + 2e-6 * scale
    for operator, param in (("mean", 0.0), ("mellowmax", 0.0)):
        result = planning.make_gvi(operator, tol=1e-7)(tables, discount, param)
        assert bool(result.converged), (operator, param)
        np.testing.assert_allclose(result.q, expected, rtol=0, atol=slack)
    spread = np.ptp(expected)
    for omega in (1e-6, 1e-4):
        result = planning.make_gvi("mellowmax", tol=1e-7)(tables, discount, omega)
        excess = np.asarray(result.q, np.float64) - expected
        bound = discount / (1 - discount) * omega * spread**2 / 8
        assert -slack <= excess.min() and excess.max() <= bound + slack, omega


@pytest.mark.parametrize("name", sorted(ENVS))
def test_soft_operators_bracket_q_star_by_their_closed_form_gaps(toy_tables, name):
    """``max - log(A)/omega <= mm <= max`` and ``max <= lse <= max + tau log A``,
    through ``1 / (1 - gamma)``; mellowmax and Boltzmann approach Q* as they
    sharpen, the mean policy's values are below them."""
    tables, discount = toy_tables[name], ENVS[name][2]
    q_star = value_iteration(*tables, discount)
    log_a = np.log(q_star.shape[1])
    slack = 1e-5 * max(np.abs(q_star).max(), 1.0)
    gaps = []
    for omega in (1.0, 10.0, 100.0, 1000.0):
        q = planning.make_gvi("mellowmax", tol=1e-7)(tables, discount, omega).q
        gap = q_star - np.asarray(q, np.float64)
        assert gap.min() >= -slack
        assert gap.max() <= log_a / (omega * (1 - discount)) + slack
        gaps.append(gap.max())
    assert gaps == sorted(gaps, reverse=True)  # sharper omega, closer to Q*
    tau = 0.01
    q = planning.make_gvi("log_sum_exp", tol=1e-7)(tables, discount, tau).q
    excess = np.asarray(q, np.float64) - q_star
    assert excess.min() >= -slack
    assert excess.max() <= tau * log_a / (1 - discount) + slack
    q_boltz = planning.make_gvi("boltzmann", tol=1e-7)(tables, discount, 1e-3).q
    assert np.max(np.asarray(q_boltz, np.float64) - q_star) <= slack


def test_epsilon_greedy_interpolates_between_max_and_mean(toy_tables):
    tables, discount = toy_tables["FrozenLake"], 0.9
    gvi = planning.make_gvi("epsilon_greedy", tol=1e-7)
    np.testing.assert_allclose(
        gvi(tables, discount, 0.0).q, value_iteration(*tables, discount), atol=1e-5
    )
    np.testing.assert_allclose(
        gvi(tables, discount, 1.0).q,
        numpy_uniform_policy_q(tables, discount),
        atol=1e-5,
    )
    middle = np.asarray(gvi(tables, discount, 0.3).q)
    assert np.all(middle <= value_iteration(*tables, discount) + 1e-5)
    assert np.all(middle >= numpy_uniform_policy_q(tables, discount) - 1e-5)


def test_jit_and_vmap_over_the_operator_parameter_match_one_by_one(toy_tables):
    tables = toy_tables["FrozenLake"]
    omegas = jnp.array([0.5, 2.0, 10.0, 100.0])
    gvi = planning.make_gvi("mellowmax", tol=1e-7)
    batched = jax.jit(jax.vmap(gvi, in_axes=(None, None, 0)))(tables, 0.95, omegas)
    assert batched.q.shape == (4, 16, 4) and batched.q.dtype == jnp.float32
    assert batched.converged.shape == (4,) and batched.converged.dtype == bool
    assert batched.num_iters.dtype == jnp.int32
    for i, omega in enumerate(omegas):
        one = gvi(tables, 0.95, omega)
        np.testing.assert_allclose(batched.q[i], one.q, rtol=1e-6, atol=1e-7)
        # each member reports its own sweeps, not the batch's
        assert int(batched.num_iters[i]) == int(one.num_iters)
        assert bool(batched.converged[i]) == bool(one.converged)
    # also the discount and the start, traced
    discounts = jnp.array([0.5, 0.9])
    starts = jnp.stack([jnp.zeros((16, 4)), jnp.ones((16, 4))])
    both = jax.vmap(gvi, in_axes=(None, 0, None, 0))(tables, discounts, 1.0, starts)
    assert bool(jnp.all(both.converged))


def test_bellman_backup_is_one_numpy_sweep():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=(4, 2))  # [S=4, A=2, K=3]
    next_states = rng.integers(0, 4, size=(4, 2, 3))
    rewards = rng.normal(size=(4, 2, 3))
    terminated = rng.random((4, 2, 3)) < 0.3
    tables = planning.MDPTables(probs, next_states, rewards, terminated)
    q = rng.normal(size=(4, 2))
    values = np.log(np.mean(np.exp(3.0 * q), axis=1)) / 3.0  # mellowmax at 3
    expected = np.sum(
        probs * (rewards + 0.9 * ~terminated * values[next_states]), axis=-1
    )
    got = planning.bellman_backup(tables, q, 0.9, 3.0, operator="mellowmax")
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_a_cycling_backup_reports_no_convergence():
    """Two states that swap values every sweep (a reward of +-1 and no discount
    contraction of the difference): the change never falls below tol."""
    probs = np.ones((2, 1, 1))
    next_states = np.array([1, 0]).reshape(2, 1, 1)
    rewards = np.zeros((2, 1, 1))
    tables = planning.MDPTables(probs, next_states, rewards, np.zeros((2, 1, 1), bool))
    result = planning.make_gvi("max", max_iters=50)(
        tables, 1.0, q_init=jnp.array([[1.0], [-1.0]])
    )
    assert not bool(result.converged)
    assert int(result.num_iters) == 50 and float(result.change) == 2.0


def test_tables_of_reads_the_tabular_env_without_copying_its_builder():
    env, _ = tabular.make("FrozenLake-v1")
    assert isinstance(env, TabularEnv)
    tables = planning.tables_of(env)
    for field in planning.MDPTables._fields:
        np.testing.assert_array_equal(tables._asdict()[field], getattr(env, field))
    assert tables.next_states.dtype == jnp.int32 and tables.terminated.dtype == bool


@pytest.mark.parametrize("bad", ["softmax", "Max", "", "boltz"])
def test_unknown_operators_are_refused_naming_the_field(bad):
    message = f"operator={bad!r} is not a backup operator: expected one of"
    with pytest.raises(ValueError, match=message) as error:
        planning.make_gvi(bad)
    assert all(name in str(error.value) for name in planning.BACKUPS)
    with pytest.raises(ValueError, match=message):
        planning.backup(jnp.zeros(3), operator=bad)


def test_bad_settings_and_shapes_are_refused(toy_tables):
    with pytest.raises(ValueError, match="tol=0: expected a number > 0"):
        planning.make_gvi("max", tol=0)
    with pytest.raises(ValueError, match="max_iters=0: expected an integer >= 1"):
        planning.make_gvi("max", max_iters=0)
    tables = toy_tables["FrozenLake"]
    with pytest.raises(ValueError, match=r"q_init has shape \(3, 4\)"):
        planning.make_gvi("max")(tables, 0.9, q_init=jnp.zeros((3, 4)))
    short = tables._replace(rewards=tables.rewards[:, :, :1])
    with pytest.raises(ValueError, match="tables.rewards has shape"):
        planning.make_gvi("max")(short, 0.9)


def test_backup_names_and_parameters():
    assert planning.BACKUPS == {
        "max": None, "mean": None, "epsilon_greedy": "epsilon", "boltzmann": "tau",
        "mellowmax": "omega", "log_sum_exp": "tau",
    }  # fmt: skip
    v = jnp.array([[1.0, 2.0, 4.0]])
    assert planning.backup(v, operator="max").shape == (1,)
    np.testing.assert_allclose(
        planning.backup(v, 0.5, operator="log_sum_exp"),
        0.5 * np.log(np.sum(np.exp(np.array([1.0, 2.0, 4.0]) / 0.5))),
        rtol=1e-6,
    )
