"""Tests for mellowmax and its maximum-entropy policy (rl_softmax/softmax.py).

Asadi & Littman (2017), "An Alternative Softmax Operator for Reinforcement Learning":
mellowmax ``log(mean(exp(omega v))) / omega`` is a non-expansion in the max norm,
the Boltzmann operator ``sum softmax(v / tau) v`` (``softmax.expected_value``) is
not. References: the float64 log-sum-exp of NumPy, the closed-form limits, a pair
of value vectors the Boltzmann operator pulls apart, and random distributions with
the same expected value as the mellowmax policy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_softmax import softmax as sm

OMEGAS = (1e-6, 1e-3, 0.1, 1.0, 10.0, 1e3, 1e6, -1e-3, -1.0, -1e3)


def numpy_mellowmax(values, omega) -> float:
    """``(logsumexp(omega v) - log K) / omega`` in float64 (NumPy's logaddexp)."""
    v = np.asarray(values, np.float64)
    return float((np.logaddexp.reduce(omega * v) - np.log(v.size)) / omega)


CASES = {
    "spread": [1.0, 2.0, -0.5, 3.0],
    "huge": [1e30, 0.0, -1e30],
    "masked": [0.5, -np.inf, 2.0, -np.inf],
    "tied": [0.7, 0.7, 0.7],
    "tiny gaps": [1.0, 1.0 + 1e-6, 1.0 - 1e-6],
}


@pytest.mark.parametrize("omega", OMEGAS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_mellowmax_matches_a_float64_reference(case, omega):
    values = np.asarray(CASES[case], np.float32)
    got = float(sm.mellowmax(jnp.asarray(values), omega))
    expected = numpy_mellowmax(values, omega)
    if case == "masked" and omega < 0:  # a -inf value is the minimum: -inf
        assert got == expected == -np.inf
        return
    assert np.isfinite(got)
    # float32: a few ulps of the values' scale and of the result (-inf entries put
    # log(share of finite values) / omega into it, -693 at omega = 1e-3)
    scale = np.max(np.abs(values[np.isfinite(values)]))
    assert abs(got - expected) <= 2e-6 * max(scale, 1e-30) + 4e-7 * abs(expected)


def test_mellowmax_limits_are_exact():
    v = jnp.array([1.0, 2.0, -0.5, 3.0])
    assert float(sm.mellowmax(v, 0.0)) == float(jnp.mean(v))
    assert float(sm.mellowmax(v, jnp.inf)) == 3.0
    assert float(sm.mellowmax(v, -jnp.inf)) == -0.5
    assert float(sm.mellowmax(jnp.array([1.0, jnp.inf]), 1.0)) == jnp.inf
    assert float(sm.mellowmax(jnp.full(3, -jnp.inf), 1.0)) == -jnp.inf
    # between mean and max for omega > 0, below the mean for omega < 0
    for omega in (1e-3, 1.0, 1e3):
        assert 1.375 < float(sm.mellowmax(v, omega)) <= 3.0
        assert -0.5 <= float(sm.mellowmax(v, -omega)) < 1.375


def test_mellowmax_under_jit_vmap_and_grad():
    v = jnp.array([0.3, -1.2, 2.0, 0.5])
    omegas = jnp.array([0.0, 0.5, 2.0, 8.0])
    batched = jax.jit(jax.vmap(sm.mellowmax, (None, 0)))(v, omegas)
    one_by_one = [float(sm.mellowmax(v, w)) for w in omegas]
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-6)
    # d mm / dv = softmax(omega v): the weights of the log-mean-exp
    for omega in (0.5, 2.0, 8.0):
        grad = jax.grad(sm.mellowmax)(v, omega)
        weights = np.exp(omega * np.asarray(v, np.float64))
        np.testing.assert_allclose(grad, weights / weights.sum(), rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(jax.grad(sm.mellowmax)(v, 0.0), 0.25)  # the mean
    # a batch of value vectors along any axis
    grid = jnp.stack([v, v[::-1], 2 * v])
    np.testing.assert_allclose(
        sm.mellowmax(grid.T, 2.0, axis=0), [sm.mellowmax(row, 2.0) for row in grid],
        rtol=1e-6,
    )  # fmt: skip


@pytest.mark.parametrize("num_actions", [2, 3, 5, 10])
def test_mellowmax_is_a_non_expansion_on_random_pairs(num_actions):
    """|mm(x) - mm(y)| <= max |x - y| on 10^5 pairs per size, over six omegas."""
    rng = np.random.default_rng(num_actions)
    for omega in (0.1, 1.0, 5.0, 30.0, 300.0, -3.0):
        scale = rng.choice([0.1, 1.0, 10.0], size=(100_000, 1))
        x = rng.normal(size=(100_000, num_actions)) * scale
        y = x + rng.normal(size=x.shape) * scale * rng.uniform(0.001, 1, (100_000, 1))
        x, y = x.astype(np.float32), y.astype(np.float32)
        mx = np.asarray(sm.mellowmax(jnp.asarray(x), omega), np.float64)
        my = np.asarray(sm.mellowmax(jnp.asarray(y), omega), np.float64)
        distance = np.max(np.abs(x.astype(np.float64) - y), axis=1)
        slack = 4e-7 * np.maximum(np.max(np.abs(x), axis=1), np.max(np.abs(y), axis=1))
        assert np.all(np.abs(mx - my) <= distance + slack), omega


def test_the_boltzmann_operator_expands_where_mellowmax_does_not():
    """Two actions at tau = 1, values 2.3994 apart: the Boltzmann operator moves
    1.2 times as far as the values do (the largest factor for two actions, found by
    maximising its derivative); mellowmax at omega = 1 moves less than they do."""
    x = np.array([1.1997, -1.1997], np.float32)
    y = x + np.array([0.01, -0.01], np.float32)
    distance = float(np.max(np.abs(y - x)))

    def numpy_boltzmann(v):
        p = np.exp(v - v.max())
        return float(np.sum(p / p.sum() * v))

    factor = (numpy_boltzmann(y.astype(np.float64)) - numpy_boltzmann(x)) / distance
    ours = float(sm.expected_value(jnp.asarray(y), 1.0) - sm.expected_value(x, 1.0))
    assert factor > 1.19 and ours / distance > 1.19
    mellow = float(sm.mellowmax(jnp.asarray(y), 1.0) - sm.mellowmax(x, 1.0))
    assert abs(mellow) < distance


@pytest.mark.parametrize("omega", [0.1, 1.0, 4.0, 50.0])
def test_mellowmax_policy_earns_mellowmax_with_the_most_entropy(omega):
    rng = np.random.default_rng(7)
    for _ in range(20):
        v = rng.normal(size=5).astype(np.float32)
        probs = np.asarray(sm.mellowmax_policy(jnp.asarray(v), omega), np.float64)
        target = float(sm.mellowmax(jnp.asarray(v), omega))
        earned = float(probs @ v)
        assert abs(earned - target) <= 1e-6 * max(abs(target), 1.0)
        # distributions with the same expected value: p + t d, d orthogonal to 1, v
        basis = np.stack([np.ones(5), v.astype(np.float64)])
        for _ in range(50):
            d = rng.normal(size=5)
            d -= basis.T @ np.linalg.lstsq(basis.T, d, rcond=None)[0]
            t = 0.9 * np.min(np.where(d < 0, probs / -d, np.inf))
            other = probs + rng.uniform(0, 1) * t * d
            assert abs(other @ v - earned) < 1e-9
            entropy = -np.sum(probs * np.log(probs))
            other_entropy = -np.sum(other * np.log(other))
            assert other_entropy <= entropy + 1e-9


def test_mellowmax_policy_limits_and_refusal():
    v = jnp.array([1.0, 3.0, 2.0])
    np.testing.assert_allclose(sm.mellowmax_policy(v, 0.0), 1 / 3)
    np.testing.assert_array_equal(sm.mellowmax_policy(v, jnp.inf), [0.0, 1.0, 0.0])
    np.testing.assert_allclose(sm.mellowmax_policy(jnp.full(4, 2.5), 3.0), 0.25)
    hot = jax.jit(sm.mellowmax_policy)(v, 1e-3)  # a tiny omega: nearly uniform
    assert float(jnp.max(hot) - jnp.min(hot)) < 1e-2
    with pytest.raises(ValueError, match="omega=-1.0 is not allowed"):
        sm.mellowmax_policy(v, -1.0)
