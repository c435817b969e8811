"""Tests for rl_softmax.tour: each claim's numbers against closed forms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_softmax import softmax as sm
from rl_softmax import tour

Z = np.array([2.0, 4.0, 2.0, 1.0], np.float32)


def _entropy(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, np.float64)
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), -1)


@pytest.mark.parametrize("target", [1.0, 1.7, 2.0, 3.4, 4.0])
def test_same_expected_value_samples_lie_in_the_constraint_set(target):
    samples = np.asarray(
        tour.same_expected_value(jax.random.key(0), Z, target, 500), np.float64
    )
    assert samples.shape == (500, 4)
    assert np.all(samples >= 0)
    np.testing.assert_allclose(samples.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(samples @ Z, target, atol=1e-5)


def test_same_expected_value_with_equal_values_is_the_whole_simplex():
    samples = np.asarray(
        tour.same_expected_value(jax.random.key(1), [0.0] * 3, 0, 4000)
    )
    # flat Dirichlet: every coordinate has mean 1/3 and reaches near 0 and 1
    np.testing.assert_allclose(samples.mean(axis=0), 1 / 3, atol=0.02)
    assert samples.min() < 0.01 and samples.max() > 0.95


@pytest.mark.parametrize("target", [0.5, 4.5])
def test_same_expected_value_rejects_unreachable_targets(target):
    with pytest.raises(ValueError, match="target"):
        tour.same_expected_value(jax.random.key(0), Z, target, 10)


@pytest.mark.parametrize("tau", [0.3, 1.0, 5.0])
def test_max_entropy_softmax_beats_every_sample_and_slope_is_minus_inverse_tau(tau):
    claim = tour.max_entropy(jax.random.key(2), Z, tau, num_samples=3000)
    z = Z.astype(np.float64)
    p = np.exp(z / tau - (z / tau).max())
    p /= p.sum()
    np.testing.assert_allclose(claim.probs, p, atol=1e-6)
    np.testing.assert_allclose(claim.expected_value, p @ Z, rtol=1e-6)
    np.testing.assert_allclose(claim.entropy, _entropy(p), atol=1e-6)
    np.testing.assert_allclose(
        claim.sample_entropies, _entropy(claim.samples), atol=1e-5
    )
    # float32: samples within ~1e-6 of the softmax may round above it
    assert np.max(claim.sample_entropies) <= _entropy(p) + 1e-5
    np.testing.assert_allclose(claim.slope, -1 / tau, rtol=1e-4)
    gradient = np.asarray(claim.entropy_gradient)  # -log p - 1 + z / tau
    np.testing.assert_allclose(gradient, gradient[0], atol=1e-5)


def test_cross_entropy_gradients_are_the_closed_forms_batched():
    logits = jax.random.normal(jax.random.key(3), (2, 5, 3))
    gradients = tour.cross_entropy_gradients(logits, 1)
    p = np.asarray(sm.softmax(logits), np.float64)
    error = p - np.eye(3)[1]
    jacobian = p[..., :, None] * np.eye(3) - p[..., :, None] * p[..., None, :]
    assert gradients["cross_entropy"].shape == (2, 5, 3)
    np.testing.assert_allclose(gradients["cross_entropy"], error, atol=1e-6)
    np.testing.assert_allclose(
        gradients["squared_error"], np.einsum("...ik,...k->...i", jacobian, error),
        atol=1e-6,
    )  # fmt: skip


def test_descent_cross_entropy_escapes_a_wrong_start_long_before_squared_error():
    descent = tour.descent_on_two_classes(-5.0, num_steps=60)
    assert descent.steps.tolist() == list(range(61))
    ce, se = (np.asarray(descent.prob_correct[k]) for k in tour.LOSSES)
    np.testing.assert_allclose([ce[0], se[0]], 1 / (1 + np.exp(5.0)), rtol=1e-5)
    assert np.argmax(ce > 0.5) < 10 < 30 < np.argmax(se > 0.5)


def test_naive_softmax_overflows_where_softmax_does_not():
    assert np.isnan(tour.naive_softmax(jnp.array([1000.0, 999.0]))).all()
    assert np.isnan(tour.naive_softmax(jnp.array([89.0, 0.0]))[0])
    # exp(88) is finite but exp(88) + exp(87) is not: every quotient is 0
    assert np.all(tour.naive_softmax(jnp.array([88.0, 0.0, 87.0])) == 0)
    logits = jnp.array([80.0, 0.0, 79.0])
    np.testing.assert_allclose(
        tour.naive_softmax(logits), sm.softmax(logits), rtol=1e-5
    )


def test_report_has_eight_sections_for_other_logits():
    sections = tour.report(jax.random.key(0), [0.5, -1.0, 3.0])
    assert [title[:2] for title, _ in sections] == [f"{i}." for i in range(1, 9)]
    assert all(
        lines and all(isinstance(s, str) for s in lines) for _, lines in sections
    )
    text = "\n".join(line for _, lines in sections for line in lines)
    assert "nan" not in text.split("8. overflow")[0].replace("naive [nan, nan]", "")


@pytest.mark.parametrize("logits", [[1.0], [[1.0, 2.0]]])
def test_report_rejects_logits_that_are_not_a_vector_of_two_or_more(logits):
    with pytest.raises(ValueError, match="logits"):
        tour.report(jax.random.key(0), logits)
