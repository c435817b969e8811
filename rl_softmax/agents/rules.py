"""Exploration rules: how a value-based agent turns its estimates into an action.

A *rule* is a pure function ``(key, estimates, explore) -> (action, policy_info)``
over one state's :class:`Estimates` (the values ``q``, the visit counts and the
step clock) and the swept number ``explore``. The bandit agent
(:mod:`~rl_softmax.agents.action_value`), the tabular TD agent
(:mod:`~rl_softmax.agents.td`) and DQN (:mod:`~rl_softmax.agents.dqn`) all take a
rule, so the same exploration runs on a bandit, a table or a network. Each rule is
built on :mod:`rl_softmax.policies`: it asks a policy for its probabilities and
draws with :func:`rl_softmax.policies.sample_categorical`, the one sampler.

=============================  =========================================  ===========
rule                           action                                     ``explore``
=============================  =========================================  ===========
:func:`boltzmann_rule`         ``pi ∝ exp(Q / tau_t)``, the subject       ``tau``
:func:`greedy_rule`            argmax ``Q``, ties split evenly            unused
:func:`epsilon_greedy_rule`    greedy, or uniform with prob. ``epsilon``  ``epsilon``
:func:`ucb_rule`               argmax ``Q + c sqrt(ln t / N)``            ``c``
:func:`boltzmann_gumbel_rule`  argmax ``Q + C/sqrt(N) Gumbel`` (BGE)      ``C``
:func:`target_entropy_rule`    Boltzmann at the ``tau`` whose entropy is  schedule's
                               the scheduled target                       parameter
:func:`mellowmax_rule`         Boltzmann at the ``tau`` that earns        ``omega``
                               mellowmax (a temperature per state)
=============================  =========================================  ===========

``policy_info`` holds ``"probs"`` where the rule has closed-form probabilities and
``"tau"`` where it has a temperature; :func:`rule_info` finds out which, without
running anything. The Boltzmann temperature may follow a schedule
``temperature(step, explore)`` (see :func:`rl_softmax.schedules.make_temperature`);
:func:`target_entropy_rule` instead solves, every step, for the temperature whose
policy over the current estimates has the scheduled entropy (the maximum-entropy
view, :func:`rl_softmax.schedules.target_entropy_temperature`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from rl_softmax import policies, schedules
from rl_softmax import softmax as sm

__all__ = [
    "EntropyTarget",
    "Estimates",
    "Rule",
    "boltzmann_gumbel_rule",
    "boltzmann_rule",
    "constant_temperature",
    "epsilon_greedy_rule",
    "greedy_rule",
    "mellowmax_rule",
    "rule_info",
    "target_entropy_rule",
    "ucb_rule",
]

EntropyTarget = Callable[[jax.Array, jax.Array], jax.Array]
"""``(step, explore) -> target entropy`` in nats at a 0-based step."""


class Estimates(NamedTuple):
    """What a rule sees of one state.

    Attributes:
      q: ``[num_actions]`` value estimates.
      counts: ``[num_actions]`` how often each action was taken (UCB, BGE).
      step: int32 steps so far, the clock of a schedule.
    """

    q: jax.Array
    counts: jax.Array
    step: jax.Array


Rule = Callable[[jax.Array, Estimates, jax.Array], tuple[jax.Array, dict]]
"""``(key, estimates, explore) -> (action, policy_info)``: an exploration rule."""


def constant_temperature(step: jax.Array, explore: jax.Array) -> jax.Array:
    """The default schedule: ``tau_t = explore`` at every step."""
    del step
    return explore


def _drawn(key: jax.Array, probs: jax.Array, **info: jax.Array) -> tuple:
    return policies.sample_categorical(key, probs), {"probs": probs, **info}


def boltzmann_rule(
    temperature: schedules.Temperature = constant_temperature,
) -> Rule:
    """Boltzmann (softmax) exploration ``pi ∝ exp(Q / tau_t)``, ``tau_t`` scheduled.

    Args:
      temperature: ``(step, explore) -> tau``; the default is ``tau = explore``.
    """

    def rule(key, estimates, explore):
        tau = temperature(estimates.step, explore)
        return _drawn(key, policies.boltzmann(tau).probs(estimates.q), tau=tau)

    return rule


def target_entropy_rule(entropy_target: EntropyTarget, *, num_iters: int = 32) -> Rule:
    """Boltzmann at the temperature whose policy has the scheduled entropy.

    Args:
      entropy_target: ``(step, explore) -> nats``, e.g. from
        :func:`rl_softmax.schedules.entropy_target` with the swept final entropy.
      num_iters: bisection steps of the solve (32 resolve the 45-nat bracket of
        ``log tau`` below float32 precision).
    """
    solve = schedules.target_entropy_temperature(entropy_target, num_iters=num_iters)

    def rule(key, estimates, explore):
        tau = solve(estimates.step, estimates.q, explore)
        return _drawn(key, policies.boltzmann(tau).probs(estimates.q), tau=tau)

    return rule


def greedy_rule() -> Rule:
    """Argmax ``Q`` with ties split evenly: the ``tau = 0`` limit of Boltzmann."""

    def rule(key, estimates, explore):
        del explore
        probs = policies.greedy().probs(estimates.q)
        return _drawn(key, probs, tau=jnp.zeros(()))

    return rule


def epsilon_greedy_rule() -> Rule:
    """Greedy, or a uniform action with probability ``explore`` (Sec. 2.2)."""

    def rule(key, estimates, explore):
        return _drawn(key, policies.epsilon_greedy(explore).probs(estimates.q))

    return rule


def ucb_rule() -> Rule:
    """Greedy on ``Q + c sqrt(ln t / N)``, ``c = explore`` (Sutton & Barto 2.7)."""

    def rule(key, estimates, explore):
        t = (estimates.step + 1).astype(estimates.q.dtype)
        scores = policies.ucb_scores(estimates.q, estimates.counts, t, explore)
        return _drawn(key, policies.greedy().probs(scores))

    return rule


def boltzmann_gumbel_rule() -> Rule:
    """Boltzmann-Gumbel exploration with scale ``C = explore`` (no closed-form
    probabilities, so no entropy is reported)."""

    def rule(key, estimates, explore):
        action = policies.boltzmann_gumbel_sample(
            key, estimates.q, estimates.counts, explore
        )
        return action, {}

    return rule


def mellowmax_rule(*, num_iters: int = 32) -> Rule:
    """The mellowmax policy of Asadi & Littman (2017) with ``omega = explore``.

    The maximum-entropy Boltzmann policy whose expected value is
    ``mellowmax(Q, omega)`` (:func:`rl_softmax.softmax.mellowmax_policy`): its
    temperature is solved per state, so it reports ``"tau"`` (that temperature)
    beside ``"probs"`` and ``"omega"`` (what a mellowmax backup needs).

    Args:
      num_iters: bisection steps of the temperature solve (32: below float32
        precision over the bracket, as for :func:`target_entropy_rule`).
    """

    def rule(key, estimates, explore):
        tau = sm.mellowmax_temperature(estimates.q, explore, num_iters=num_iters)
        probs = policies.boltzmann(tau).probs(estimates.q)
        omega = jnp.asarray(explore, estimates.q.dtype)
        return _drawn(key, probs, tau=tau, omega=omega)

    return rule


def rule_info(rule: Rule, num_actions: int) -> dict:
    """The shapes of what ``rule`` reports in ``policy_info``, found by tracing it once.

    Agents check it when built: SARSA needs ``"probs"``, a soft backup ``"tau"``.
    """
    estimates = Estimates(
        jnp.zeros((num_actions,), jnp.float32),
        jnp.zeros((num_actions,), jnp.float32),
        jnp.zeros((), jnp.int32),
    )
    return jax.eval_shape(rule, jax.random.key(0), estimates, jnp.float32(0.1))[1]
