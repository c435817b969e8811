"""Action-value bandit agents: estimates ``Q(a)`` with an exploration rule on top.

Sutton & Barto (2018), Sec. 2.2-2.7. The estimate is the sample average
``Q(A) += (R - Q(A)) / N(A)`` or uses a constant step ``Q(A) += alpha (R - Q(A))``;
``Q`` starts at ``initial_value`` (optimistic when large). The agent ignores the
observation: it is the one-state learner. A *rule* turns ``Q`` into an action:

============================  ========================================  ===========
rule                          action                                    ``explore``
============================  ========================================  ===========
:func:`boltzmann`             ``pi ∝ exp(Q / tau_t)``, the subject      ``tau``
:func:`greedy`                argmax ``Q``, ties split evenly           unused
:func:`epsilon_greedy`        greedy, or uniform with prob. ``epsilon``  ``epsilon``
:func:`ucb`                   argmax ``Q + c sqrt(ln t / N)``           ``c``
:func:`boltzmann_gumbel`      argmax ``Q + C/sqrt(N) Gumbel`` (BGE)     ``C``
:func:`target_entropy`        Boltzmann at the ``tau`` whose entropy is  schedule's
                              ``entropy_target(step, explore)``         parameter
============================  ========================================  ===========

The Boltzmann temperature may follow a schedule ``temperature(step, explore)`` (see
:func:`rl_softmax.schedules.make_temperature`); :func:`target_entropy` instead solves,
every step, for the temperature whose policy over the current estimates has the
scheduled entropy (the maximum-entropy view,
:func:`rl_softmax.schedules.target_entropy_temperature`).

Everything a sweep may vary (``explore``, ``step_size``, ``initial_value``) is in
:class:`ActionValueParams` as arrays, so sweeping it never recompiles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rl_softmax import policies, schedules
from rl_softmax import softmax as sm
from rl_softmax.agents.base import Agent, Transition

__all__ = [
    "ActionValueParams",
    "ActionValueState",
    "Rule",
    "boltzmann",
    "boltzmann_gumbel",
    "constant_temperature",
    "epsilon_greedy",
    "greedy",
    "make_action_value_agent",
    "target_entropy",
    "ucb",
]

Temperature = Callable[[jax.Array, jax.Array], jax.Array]
"""``(step, explore) -> tau``: the temperature at a 0-based step."""

EntropyTarget = Callable[[jax.Array, jax.Array], jax.Array]
"""``(step, explore) -> target entropy`` in nats at a 0-based step."""


class ActionValueParams(NamedTuple):
    """Sweepable numbers of an action-value agent.

    Attributes:
      explore: the rule's parameter: ``tau``, ``epsilon``, ``c`` or ``C``.
      step_size: constant step ``alpha``; unused when the agent averages samples.
      initial_value: ``Q0`` for every arm.
    """

    explore: ArrayLike = 0.1
    step_size: ArrayLike = 0.1
    initial_value: ArrayLike = 0.0


class ActionValueState(NamedTuple):
    """``q``: ``[num_actions]`` estimates; ``counts``: pulls per arm; ``step``: all."""

    q: jax.Array
    counts: jax.Array
    step: jax.Array


Rule = Callable[[jax.Array, ActionValueState, jax.Array], tuple[jax.Array, dict]]
"""``(key, state, explore) -> (action, policy_info)``: an exploration rule."""


def constant_temperature(step: jax.Array, explore: jax.Array) -> jax.Array:
    """The default schedule: ``tau_t = explore`` at every step."""
    del step
    return explore


def _draw(key: jax.Array, probs: jax.Array) -> jax.Array:
    u = jax.random.uniform(key, dtype=probs.dtype)
    return policies.sample_from_uniform(u, probs)


def boltzmann(temperature: Temperature = constant_temperature) -> Rule:
    """Boltzmann (softmax) exploration ``pi ∝ exp(Q / tau_t)``, ``tau_t`` scheduled.

    Args:
      temperature: ``(step, explore) -> tau``; the default is ``tau = explore``.
    """

    def rule(key, state, explore):
        tau = temperature(state.step, explore)
        probs = sm.softmax(state.q, tau)
        return _draw(key, probs), {"probs": probs, "tau": tau}

    return rule


def target_entropy(entropy_target: EntropyTarget, *, num_iters: int = 32) -> Rule:
    """Boltzmann at the temperature whose policy has the scheduled entropy.

    Args:
      entropy_target: ``(step, explore) -> nats``, e.g. from
        :func:`rl_softmax.schedules.entropy_target` with the swept final entropy.
      num_iters: bisection steps of the solve (32 resolve the 45-nat bracket of
        ``log tau`` below float32 precision).
    """

    solve = schedules.target_entropy_temperature(entropy_target, num_iters=num_iters)

    def rule(key, state, explore):
        tau = solve(state.step, state.q, explore)
        probs = sm.softmax(state.q, tau)
        return _draw(key, probs), {"probs": probs, "tau": tau}

    return rule


def greedy() -> Rule:
    """Argmax ``Q`` with ties split evenly: the ``tau = 0`` limit of Boltzmann."""

    def rule(key, state, explore):
        del explore
        probs = sm.softmax(state.q, 0.0)
        return _draw(key, probs), {"probs": probs, "tau": jnp.zeros(())}

    return rule


def epsilon_greedy() -> Rule:
    """Greedy, or a uniform action with probability ``explore`` (Sec. 2.2)."""

    def rule(key, state, explore):
        probs = policies.epsilon_greedy(explore).probs(state.q)
        return _draw(key, probs), {"probs": probs}

    return rule


def ucb() -> Rule:
    """Greedy on ``Q + c sqrt(ln t / N)``, ``c = explore`` (Sec. 2.7)."""

    def rule(key, state, explore):
        t = (state.step + 1).astype(state.q.dtype)
        probs = sm.softmax(policies.ucb_scores(state.q, state.counts, t, explore), 0.0)
        return _draw(key, probs), {"probs": probs}

    return rule


def boltzmann_gumbel() -> Rule:
    """Boltzmann-Gumbel exploration with scale ``C = explore`` (no closed-form
    probabilities, so no entropy is reported)."""

    def rule(key, state, explore):
        action = policies.boltzmann_gumbel_sample(key, state.q, state.counts, explore)
        return action, {}

    return rule


def make_action_value_agent(
    num_actions: int, rule: Rule | None = None, *, sample_average: bool = True
) -> Agent:
    """Builds an action-value agent.

    Args:
      num_actions: number of arms (static: sets shapes).
      rule: exploration rule, e.g. ``boltzmann()`` (the default),
        ``boltzmann(make_temperature(inverse_log))``, ``epsilon_greedy()``.
      sample_average: ``alpha = 1 / N(A)`` if True, else ``params.step_size``.

    Returns:
      an :class:`~rl_softmax.agents.Agent` with :class:`ActionValueParams`.
    """
    if not isinstance(num_actions, int) or num_actions < 2:
        raise ValueError(f"num_actions={num_actions!r}: expected an integer >= 2.")
    rule = boltzmann() if rule is None else rule
    if not callable(rule):
        raise ValueError(
            f"rule={rule!r}: expected a rule such as action_value.boltzmann()."
        )

    def init(key, params):
        del key
        q = jnp.full((num_actions,), params.initial_value, jnp.float32)
        return ActionValueState(q, jnp.zeros((num_actions,)), jnp.zeros((), jnp.int32))

    def act(key, state, obs, params):
        del obs  # one state
        return rule(key, state, params.explore)

    def update(state, transition: Transition, params):
        # A dense one-hot update vectorises better under vmap than a scatter.
        chosen = jax.nn.one_hot(transition.action, num_actions, dtype=state.q.dtype)
        counts = state.counts + chosen
        if sample_average:
            step_size = 1.0 / jnp.maximum(counts, 1.0)
        else:
            step_size = params.step_size
        q = state.q + chosen * step_size * (transition.reward - state.q)
        return ActionValueState(q, counts, state.step + 1)

    return Agent(init, act, update, ActionValueParams(), num_actions)
