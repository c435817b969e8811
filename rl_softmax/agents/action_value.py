"""Action-value bandit agents: estimates ``Q(a)`` with an exploration rule on top.

Sutton & Barto (2018), Sec. 2.2-2.7. The estimate is the sample average
``Q(A) += (R - Q(A)) / N(A)`` or uses a constant step ``Q(A) += alpha (R - Q(A))``;
``Q`` starts at ``initial_value`` (optimistic when large). The agent ignores the
observation: it is the one-state learner. An exploration rule of
:mod:`rl_softmax.agents.rules` (Boltzmann by default) turns ``Q`` into an action.

Everything a sweep may vary (``explore``, ``step_size``, ``initial_value``) is in
:class:`ActionValueParams` as arrays, so sweeping it never recompiles.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rl_softmax.agents.base import Agent, Transition, learn_each_step
from rl_softmax.agents.rules import Estimates, Rule, boltzmann_rule

__all__ = [
    "ActionValueParams",
    "ActionValueState",
    "make_action_value_agent",
    "update_estimates",
]


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


ActionValueState = Estimates
"""The agent's state is what its rule sees, an
:class:`~rl_softmax.agents.rules.Estimates`: ``q`` (``[num_actions]`` estimates),
``counts`` (pulls per arm) and ``step`` (all pulls)."""


def make_action_value_agent(
    num_actions: int, rule: Rule | None = None, *, sample_average: bool = True
) -> Agent:
    """Builds an action-value agent.

    Args:
      num_actions: number of arms (static: sets shapes).
      rule: exploration rule of :mod:`rl_softmax.agents.rules`, e.g.
        ``boltzmann_rule()`` (the default),
        ``boltzmann_rule(make_temperature(inverse_log))``, ``epsilon_greedy_rule()``.
      sample_average: ``alpha = 1 / N(A)`` if True, else ``params.step_size``.

    Returns:
      an :class:`~rl_softmax.agents.Agent` with :class:`ActionValueParams`.
    """
    if not isinstance(num_actions, int) or num_actions < 2:
        raise ValueError(f"num_actions={num_actions!r}: expected an integer >= 2.")
    rule = boltzmann_rule() if rule is None else rule
    if not callable(rule):
        raise ValueError(f"rule={rule!r}: expected a rule such as boltzmann_rule().")

    def init(key, params):
        del key
        q = jnp.full((num_actions,), params.initial_value, jnp.float32)
        return ActionValueState(q, jnp.zeros((num_actions,)), jnp.zeros((), jnp.int32))

    def act(key, state, obs, params):
        del obs  # one state
        return rule(key, state, params.explore)

    def update(state, transition: Transition, params):
        step_size = None if sample_average else params.step_size
        return update_estimates(state, transition, step_size)

    return Agent(init, act, learn_each_step(update), ActionValueParams(), num_actions)


def update_estimates(
    state: ActionValueState, transition: Transition, step_size: ArrayLike | None
) -> ActionValueState:
    """One step of ``Q(A) += alpha (R - Q(A))`` for the arm pulled.

    Args:
      state: the estimates before the step.
      transition: the step (its ``action`` and ``reward``; nothing else is read).
      step_size: ``alpha``; None for the sample average ``alpha = 1 / N(A)``.
    """
    # A dense one-hot update vectorises better under vmap than a scatter.
    chosen = jax.nn.one_hot(transition.action, state.q.shape[-1], dtype=state.q.dtype)
    counts = state.counts + chosen
    if step_size is None:
        step_size = 1.0 / jnp.maximum(counts, 1.0)
    q = state.q + chosen * step_size * (transition.reward - state.q)
    return ActionValueState(q, counts, state.step + 1)
