"""From uniform to greedy: every annealing mechanism on the 10-armed testbed.

Four ways to take a softmax policy from the uniform distribution (entropy ``log K``)
to nearly greedy: a gradient bandit learning its preferences (Sutton & Barto 2018,
Sec. 2.8, ``optax.sgd``), Boltzmann exploration cooled by ``tau_t = c / log(t + 2)``,
the ``target_entropy`` rule (``tau`` solved each step so that the entropy equals a
linear schedule) and the auto-temperature agent (``log tau`` learned on the discrete
SAC loss). Each starts exactly uniform at step 1 (preferences or estimates start
equal) and ends with most of its probability on the best arm. For the solved rule the
per-step entropy must equal the schedule wherever the schedule is reachable.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rl_softmax import schedules
from rl_softmax.agents import (
    make_action_value_agent,
    make_auto_temperature_agent,
    make_gradient_bandit,
    rules,
)
from rl_softmax.engine import make_run, sweep
from rl_softmax.envs import GaussianBandit

K = 10
NUM_STEPS = 300
NUM_SEEDS = 256
FINAL_STEPS = 30
FINAL_ENTROPY = 0.05
SWEEP_SETTINGS = {"curve_stride": 1, "final_steps": FINAL_STEPS}


def _entropy_schedule(final_entropy):
    return schedules.entropy_target(K, NUM_STEPS, final_entropy=final_entropy)


def _scheduled_entropy(step, final_entropy):
    return _entropy_schedule(final_entropy)(step)


def _mechanism(name):
    """``(agent, swept parameter, value)`` for each annealing mechanism."""
    if name == "gradient_bandit":
        return make_gradient_bandit(K, optax.sgd), "step_size", 0.25
    if name == "boltzmann_inverse_log":
        temperature = schedules.make_temperature(schedules.inverse_log)
        agent = make_action_value_agent(K, rules.boltzmann_rule(temperature))
        return agent, "explore", 1.0
    if name == "target_entropy":
        rule = rules.target_entropy_rule(_scheduled_entropy)
        return make_action_value_agent(K, rule), "explore", FINAL_ENTROPY
    agent = make_auto_temperature_agent(K, _entropy_schedule(FINAL_ENTROPY))
    return agent, "tau_learning_rate", 0.25


MECHANISMS = (
    "gradient_bandit",
    "boltzmann_inverse_log",
    "target_entropy",
    "auto_temperature",
)


@pytest.fixture(scope="module", params=MECHANISMS)
def result(request):
    agent, swept, value = _mechanism(request.param)
    run = make_run(GaussianBandit(K), agent, NUM_STEPS, swept=swept, track_probs=True)
    return sweep(run, [value], NUM_SEEDS, key=jax.random.key(0), **SWEEP_SETTINGS)


def test_starts_uniform(result):
    # Step 1: equal preferences / estimates give the uniform policy on every run.
    entropy = result.metrics["entropy"]
    np.testing.assert_allclose(entropy.curve_mean[0, 0], math.log(K), atol=1e-5)
    # The standard deviation over seeds (sem * sqrt(S)) is ~0: every run is uniform.
    assert entropy.curve_sem[0, 0] * math.sqrt(NUM_SEEDS) < 1e-5
    probs = result.metrics["prob_by_rank"].curve_mean
    np.testing.assert_allclose(probs[0, 0], np.full(K, 1 / K), atol=1e-6)


def test_ends_far_below_uniform_entropy(result):
    entropy = result.metrics["entropy"]
    final_entropy = entropy.run_final[0].mean()
    standard_error = entropy.run_final[0].std() / math.sqrt(NUM_SEEDS)
    assert final_entropy + 5 * standard_error < 0.35 * math.log(K), final_entropy
    # The curve falls: the last window is far below the first.
    assert entropy.curve_mean[0, -1] < 0.5 * entropy.curve_mean[0, 0]


def test_ranked_probs_are_distributions_and_favour_the_best_arm(result):
    probs = result.metrics["prob_by_rank"].curve_mean[0]
    assert probs.shape == (NUM_STEPS, K)
    assert (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
    best = probs[-FINAL_STEPS:, 0].mean()
    assert best > 5 / K, best  # five times the uniform policy's 1/K
    # The best-ranked arm is the most probable one at the end.
    assert (probs[-FINAL_STEPS:].mean(0).argmax()) == 0
    # It agrees with the prob_optimal metric (the same arm, ties aside).
    prob_optimal = result.metrics["prob_optimal"].run_final[0].mean()
    np.testing.assert_allclose(best, prob_optimal, rtol=0, atol=1e-4)


# ------------------------------------------------ solved tau: entropy == schedule


def test_target_entropy_rule_hits_the_schedule_where_reachable():
    agent, swept, value = _mechanism("target_entropy")
    run = make_run(GaussianBandit(K), agent, NUM_STEPS, swept=swept)

    def trajectory(key):
        def step(carry, t):
            q = carry.agent_state.q  # the estimates the policy acts on at step t
            carry, out = run.step(carry, t)
            return carry, (q, out.values["entropy"])

        carry = run.init(key, jnp.float32(value))
        _, (q, entropy) = jax.lax.scan(step, carry, jnp.arange(NUM_STEPS))
        return q, entropy

    keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(1), jnp.arange(64))
    q, entropy = jax.jit(jax.vmap(trajectory))(keys)
    q, entropy = np.asarray(q, np.float64), np.asarray(entropy, np.float64)
    target = np.asarray(_entropy_schedule(FINAL_ENTROPY)(np.arange(NUM_STEPS)))
    target = np.broadcast_to(target, entropy.shape)

    # Step 1: all estimates equal, the only reachable entropy is log K (uniform).
    np.testing.assert_allclose(entropy[:, 0], math.log(K), atol=1e-5)
    # Entropies reachable over q: [log(#maximal estimates), log K].
    num_top = (q == q.max(-1, keepdims=True)).sum(-1)
    reachable = target >= np.log(num_top) + 1e-6
    reachable[:, 0] = False
    assert reachable.mean() > 0.9  # the check covers most steps
    gap = np.abs(entropy - target)[reachable]
    assert gap.max() <= 1e-3, gap.max()
    # Below reach the solver gives the greedy end: uniform over the tied maxima.
    unreachable = ~reachable
    unreachable[:, 0] = False
    np.testing.assert_allclose(
        entropy[unreachable], np.log(num_top[unreachable]), atol=1e-3
    )
