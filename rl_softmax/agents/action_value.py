"""Action-value bandit agents: estimates ``Q(a)`` with an exploration rule on top.

Sutton & Barto (2018), Sec. 2.2-2.7. The estimate is the sample average
``Q(A) += (R - Q(A)) / N(A)`` or uses a constant step ``Q(A) += alpha (R - Q(A))``;
``Q`` starts at ``initial_value`` (optimistic when large). The rule that turns ``Q``
into an action is one of

========================  ==========================================  ==============
rule                      action                                      ``explore`` is
========================  ==========================================  ==============
``"boltzmann"``           ``pi ∝ exp(Q / tau_t)``, the subject        ``tau``
``"greedy"``              argmax ``Q``, ties split evenly             unused
``"epsilon_greedy"``      greedy, or uniform with prob. ``epsilon``   ``epsilon``
``"ucb"``                 argmax ``Q + c sqrt(ln t / N)``             ``c``
``"boltzmann_gumbel"``    argmax ``Q + C/sqrt(N) Gumbel`` (BGE)       ``C``
``"target_entropy"``      Boltzmann at the ``tau`` whose entropy is   schedule's
                          ``entropy_target(step, explore)``           parameter
========================  ==========================================  ==============

The Boltzmann temperature may follow a schedule ``temperature(step, explore)`` (see
:mod:`rl_softmax.schedules`); ``"target_entropy"`` instead solves, every step, for
the temperature whose policy over the current estimates has the scheduled entropy
(the maximum-entropy view, :func:`rl_softmax.softmax.tau_for_entropy`).

An agent is ``(init, act, update)``, pure, its state a pytree. Everything a sweep may
vary (``explore``, ``step_size``, ``initial_value``) is in :class:`ActionValueParams`
as arrays, so sweeping it never recompiles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rl_softmax import policies
from rl_softmax import softmax as sm
from rl_softmax.agents.agent import Agent

__all__ = [
    "RULES",
    "ActionValueParams",
    "ActionValueState",
    "constant_temperature",
    "make_action_value_agent",
]

RULES = (
    "boltzmann",
    "greedy",
    "epsilon_greedy",
    "ucb",
    "boltzmann_gumbel",
    "target_entropy",
)

Temperature = Callable[[jax.Array, jax.Array], jax.Array]
"""``(step, explore) -> tau``: the temperature at a 0-based step."""

EntropyTarget = Callable[[jax.Array, jax.Array], jax.Array]
"""``(step, explore) -> target entropy`` in nats at a 0-based step."""

# Bisection steps of the per-step temperature solve: the bracket is 45 nats of
# log tau wide, so 32 halvings resolve it below float32 precision.
_SOLVER_ITERS = 32


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


def constant_temperature(step: jax.Array, explore: jax.Array) -> jax.Array:
    """The default schedule: ``tau_t = explore`` at every step."""
    del step
    return explore


def _greedy_probs(scores: jax.Array) -> jax.Array:
    return sm.softmax(scores, 0.0)


def make_action_value_agent(
    num_actions: int,
    rule: str = "boltzmann",
    *,
    sample_average: bool = True,
    temperature: Temperature = constant_temperature,
    entropy_target: EntropyTarget | None = None,
) -> Agent:
    """Builds an action-value agent.

    Args:
      num_actions: number of arms (static: sets shapes).
      rule: exploration rule, one of :data:`RULES`.
      sample_average: ``alpha = 1 / N(A)`` if True, else ``params.step_size``.
      temperature: ``(step, explore) -> tau`` for the Boltzmann rule, e.g. an
        annealing schedule whose rate is the swept ``explore``.
      entropy_target: ``(step, explore) -> nats``, required by ``"target_entropy"``.

    Returns:
      an :class:`Agent`.
    """
    if rule not in RULES:
        raise ValueError(f"rule={rule!r} is not known; expected one of {RULES}.")
    if not isinstance(num_actions, int) or num_actions < 2:
        raise ValueError(f"num_actions={num_actions!r}: expected an integer >= 2.")
    if rule == "target_entropy" and entropy_target is None:
        raise ValueError("rule='target_entropy' needs an entropy_target schedule.")

    def boltzmann_tau(state, params):
        if rule == "target_entropy":
            target = entropy_target(state.step, params.explore)
            return sm.tau_for_entropy(state.q, target, num_iters=_SOLVER_ITERS)
        return temperature(state.step, params.explore)

    def init(key, params):
        del key
        q = jnp.full((num_actions,), params.initial_value, jnp.float32)
        return ActionValueState(q, jnp.zeros((num_actions,)), jnp.zeros((), jnp.int32))

    def act(key, state, params):
        q, explore = state.q, params.explore
        if rule in ("boltzmann", "target_entropy"):
            probs = sm.softmax(q, boltzmann_tau(state, params))
        elif rule == "greedy":
            probs = _greedy_probs(q)
        elif rule == "epsilon_greedy":
            probs = policies.epsilon_greedy(explore).probs(q)
        elif rule == "ucb":
            t = (state.step + 1).astype(q.dtype)
            probs = _greedy_probs(policies.ucb_scores(q, state.counts, t, explore))
        else:
            action = policies.boltzmann_gumbel_sample(key, q, state.counts, explore)
            return action, jnp.full_like(q, jnp.nan)
        u = jax.random.uniform(key, dtype=probs.dtype)
        return policies.sample_from_uniform(u, probs), probs

    def update(state, action, reward, params):
        # A dense one-hot update vectorises better under vmap than a scatter.
        chosen = jax.nn.one_hot(action, num_actions, dtype=state.q.dtype)
        counts = state.counts + chosen
        if sample_average:
            step_size = 1.0 / jnp.maximum(counts, 1.0)
        else:
            step_size = params.step_size
        q = state.q + chosen * step_size * (reward - state.q)
        return ActionValueState(q, counts, state.step + 1)

    def current_tau(state, params):
        if rule in ("boltzmann", "target_entropy"):
            return boltzmann_tau(state, params)
        return jnp.zeros(()) if rule == "greedy" else jnp.full((), jnp.nan)

    return Agent(init, act, update, ActionValueParams(), num_actions, current_tau)
