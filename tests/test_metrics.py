"""rl_softmax.engine.metrics: which metrics a run defines, and their values at one
step, against hand-computed numbers (ties included)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_softmax.engine import metrics

PROBS = jnp.array([0.1, 0.2, 0.3, 0.4])
TIED = jnp.array([1.0, 3.0, 3.0, 0.0])  # actions 1 and 2 are both optimal


def _values(action, values=TIED, probs=PROBS, **policy):
    available = metrics.available(
        {"probs": probs, **policy}, {"action_values": values}, episodic=False
    )
    return metrics.step_values(
        available, jnp.float32(0.5), jnp.int32(action), {"probs": probs, **policy},
        {"action_values": values},
    )  # fmt: skip


CASES = [(1, 1.0, 0.0), (2, 1.0, 0.0), (0, 0.0, 2.0), (3, 0.0, 3.0)]


@pytest.mark.parametrize("action, optimal, regret", CASES)
def test_every_tied_optimal_action_counts(action, optimal, regret):
    out = _values(action)
    assert float(out["optimal"]) == optimal and float(out["regret"]) == regret
    # P(optimal) is the policy's mass on all optimal actions, 0.2 + 0.3
    np.testing.assert_allclose(out["prob_optimal"], 0.5, rtol=1e-6)


def test_values_are_float32_scalars_under_jit_and_vmap():
    out = jax.jit(_values)(1)
    assert all(v.shape == () and v.dtype == jnp.float32 for v in out.values())
    batched = jax.vmap(_values)(jnp.arange(4))
    np.testing.assert_array_equal(batched["optimal"], [0.0, 1.0, 1.0, 0.0])
    entropy = -np.sum(np.asarray(PROBS, np.float64) * np.log(PROBS))
    np.testing.assert_allclose(batched["entropy"], entropy, rtol=1e-6)


def test_a_metric_exists_only_where_what_it_needs_exists():
    names = lambda policy, info, **kw: [  # noqa: E731
        m.name for m in metrics.available(policy, info, **kw)
    ]
    probs, values = {"probs": PROBS}, {"action_values": TIED}
    assert names({}, {}, episodic=False) == ["reward"]
    assert names(probs, {}, episodic=False) == ["reward", "entropy"]
    assert names({"tau": 1.0}, values, episodic=False) == [
        "reward", "optimal", "regret", "tau",
    ]  # fmt: skip
    assert names(probs, {"success": True}, episodic=True) == [
        "reward", "entropy", "return", "length", "success",
    ]  # fmt: skip
    assert names(probs, values, episodic=False, track_probs=True)[-1] == "prob_by_rank"


def test_the_exact_and_the_estimated_greedy_return_are_labelled_apart():
    exact = metrics.label("greedy_return", {"greedy_success", "greedy_return"})
    estimate = metrics.label("greedy_return", {"eval_return", "greedy_return"})
    assert "exact" in exact and "exact" not in estimate
    assert "evaluation" in estimate
    # one label for every other metric, whatever the run; unknown names stand
    assert metrics.label("eval_return", {"eval_return"}) == metrics.label("eval_return")
    assert metrics.label("no_such_metric") == "no_such_metric"
