"""Tabular temporal-difference control: ``Q(S, A) += alpha (target - Q(S, A))``.

Sutton & Barto (2018), ch. 6. The agent keeps a table ``Q [num_states, num_actions]``
and acts with any exploration rule of :mod:`rl_softmax.agents.rules`, which
sees the current state's row: ``Estimates(q[s], counts[s], step)``. Every
target is ``R + gamma * bootstrap(S')``, with no bootstrap when the step
``terminated`` and a bootstrap when a time limit ``truncated`` it (the next state
still has a value):

==================  ================================================  ============
``target``          ``bootstrap(S')``                                 rule needs
==================  ================================================  ============
``q_learning``      ``max_a Q(S', a)`` (Sec. 6.5)                     anything
``sarsa``           ``Q(S', A')``, ``A'`` the action taken next       ``"probs"``
                    (Sec. 6.4)
``expected_sarsa``  ``sum_a pi(a | S') Q(S', a)``, ``pi`` the         ``"probs"``
                    behaviour rule at ``S'`` (Sec. 6.6)
``soft_q``          ``tau log sum_a exp(Q(S', a) / tau)``, the soft   ``"tau"``
                    maximum at the rule's ``tau`` at ``S'``
                    (``tau = 0``: the max)
``mellowmax``       ``log(mean_a exp(omega Q(S', a))) / omega``,      ``"omega"``
                    mellowmax at the rule's ``omega`` (Asadi &
                    Littman, 2017): a non-expansion, unlike the
                    Boltzmann expectation; what the mellowmax
                    policy earns at ``S'``
==================  ================================================  ============

The behaviour policy at ``S'`` is the rule called with a fixed key (its action is
unused) on the row ``S'`` as the next :func:`act` would see it: ``counts`` and
``step`` after this update, ``Q`` before it (the target is formed first).

SARSA needs ``A'``, which is chosen after the update is due, so the update of a step
is *deferred*: it is stored in the state as pending and applied by the next step's
``learn``, whose ``transition.action`` is ``A'`` and whose ``transition.obs`` is
``S'``. The action ``A'`` was therefore chosen with ``Q`` before the step's update,
the book's order. A step that ends the episode is applied at once: with target
``R`` when it terminated, and, when it was truncated, with the expectation of
``Q(S', .)`` under the behaviour rule at ``S'`` (expected SARSA's bootstrap), since
the action that follows is taken in a reset state. A ``rule`` whose tau can be
``inf`` (``target_entropy`` over equal values) makes the ``soft_q`` target infinite;
configs refuse ``soft_q`` at ``tau = inf`` and with ``target_entropy``.

Every number a sweep may vary is an array in :class:`TDParams`, so sweeping it never
recompiles.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rl_softmax import softmax as sm
from rl_softmax.agents.base import Agent, Transition, learn_each_step
from rl_softmax.agents.rules import Estimates, Rule, boltzmann_rule, rule_info

__all__ = [
    "TARGETS",
    "TDParams",
    "TDState",
    "greedy_policy",
    "make_td_agent",
    "state_visits",
    "summary",
]

TARGETS = ("q_learning", "sarsa", "expected_sarsa", "soft_q", "mellowmax")
"""The bootstrap targets :func:`make_td_agent` accepts."""


class TDState(NamedTuple):
    """The table, visit counts and SARSA's deferred step (the same for every target).

    Attributes:
      q: ``[num_states, num_actions]`` float32 action-value estimates.
      counts: ``[num_states, num_actions]`` float32 updates of each pair.
      step: int32 updates so far (the rule's schedule clock).
      pending_obs: int32 ``S`` of the last step.
      pending_action: int32 its ``A``.
      pending_reward: float32 its ``R``.
      has_pending: bool, whether the last step's SARSA update waits for ``A'``
        (always False for the other targets).
    """

    q: jax.Array
    counts: jax.Array
    step: jax.Array
    pending_obs: jax.Array
    pending_action: jax.Array
    pending_reward: jax.Array
    has_pending: jax.Array


class TDParams(NamedTuple):
    """Sweepable numbers of a TD agent.

    Attributes:
      explore: the rule's parameter: ``tau``, ``epsilon``, ``c``.
      step_size: constant step ``alpha``.
      discount: ``gamma``.
      initial_value: ``Q0`` for every state and action.
    """

    explore: ArrayLike = 0.1
    step_size: ArrayLike = 0.1
    discount: ArrayLike = 0.99
    initial_value: ArrayLike = 0.0


def greedy_policy(state: TDState) -> jax.Array:
    """``[num_states, num_actions]`` greedy policy of ``q``, ties split evenly."""
    return sm.softmax(state.q, 0.0)


def state_visits(state: TDState) -> jax.Array:
    """``[num_states]`` steps acted in each state (updates summed over actions)."""
    return jnp.sum(state.counts, axis=-1)


def summary(state: TDState, params: TDParams) -> dict[str, jax.Array]:
    """What the final state holds: ``"greedy_policy"`` and ``"visits"``."""
    del params
    return {"greedy_policy": greedy_policy(state), "visits": state_visits(state)}


def make_td_agent(
    num_states: int,
    num_actions: int,
    rule: Rule | None = None,
    *,
    target: str = "q_learning",
) -> Agent:
    """Builds a tabular TD control agent (Sutton & Barto (2018), ch. 6).

    Args:
      num_states: size of the observation space; observations are int32 indices
        in ``[0, num_states)``, terminal states included (their rows are never
        bootstrapped from, but ``next_obs`` indexes them) (static: sets shapes).
      num_actions: size of the action space (static).
      rule: exploration rule of :mod:`rl_softmax.agents.rules`, e.g.
        ``boltzmann_rule()`` (the default) or ``epsilon_greedy_rule()``.
      target: one of :data:`TARGETS` (see the module docstring).

    Returns:
      an :class:`~rl_softmax.agents.Agent` with :class:`TDParams` whose ``summary``
      reports the greedy policy and the state visits.
    """
    if not isinstance(num_states, int) or num_states < 1:
        raise ValueError(f"num_states={num_states!r}: expected an integer >= 1.")
    if not isinstance(num_actions, int) or num_actions < 2:
        raise ValueError(f"num_actions={num_actions!r}: expected an integer >= 2.")
    if target not in TARGETS:
        raise ValueError(f"target={target!r}: expected one of {TARGETS}.")
    rule = boltzmann_rule() if rule is None else rule
    if not callable(rule):
        raise ValueError(f"rule={rule!r}: expected a rule such as boltzmann_rule().")
    needs = {
        "sarsa": "probs", "expected_sarsa": "probs", "soft_q": "tau",
        "mellowmax": "omega",
    }.get(target)  # fmt: skip
    if needs is not None and needs not in rule_info(rule, num_actions):
        raise ValueError(
            f"rule={getattr(rule, '__qualname__', rule)!r} reports no {needs!r} in "
            f"its policy_info, which target={target!r} needs (e.g. "
            f"boltzmann_rule() reports both 'probs' and 'tau')."
        )

    def init(key, params):
        del key
        shape = (num_states, num_actions)
        zero = jnp.zeros((), jnp.int32)
        return TDState(
            q=jnp.full(shape, params.initial_value, jnp.float32),
            counts=jnp.zeros(shape, jnp.float32),
            step=zero,
            pending_obs=zero,
            pending_action=zero,
            pending_reward=jnp.zeros((), jnp.float32),
            has_pending=jnp.zeros((), bool),
        )

    def act(key, state, obs, params):
        row = Estimates(state.q[obs], state.counts[obs], state.step)
        return rule(key, row, params.explore)

    def next_policy(q, counts, step, next_obs, explore):
        """What the rule reports at ``S'`` (its action, from a fixed key, unused)."""
        row = Estimates(q[next_obs], counts[next_obs], step)
        _, info = rule(jax.random.key(0), row, explore)
        return info

    def bootstrap(q, counts, step, next_obs, explore):
        """``bootstrap(S')`` of the table's targets other than SARSA's ``Q(S', A')``."""
        q_next = q[next_obs]
        if target == "q_learning":
            return jnp.max(q_next)
        info = next_policy(q, counts, step, next_obs, explore)
        if target == "soft_q":
            return sm.free_energy(q_next, info["tau"])
        if target == "mellowmax":
            return sm.mellowmax(q_next, info["omega"])
        return jnp.sum(info["probs"] * q_next)  # expected_sarsa, sarsa at truncation

    def td_step(q, obs, action, target_value, step_size, apply=True):
        """``Q(S, A) += alpha (target - Q(S, A))`` where ``apply``, else no change."""
        delta = step_size * (target_value - q[obs, action])
        return q.at[obs, action].add(jnp.where(apply, delta, 0.0).astype(q.dtype))

    def update(state, transition: Transition, params):
        obs, action = transition.obs, transition.action
        reward = jnp.asarray(transition.reward, jnp.float32)
        terminated = jnp.asarray(transition.terminated, bool)
        counts = state.counts.at[obs, action].add(1.0)
        step = state.step + 1
        q = state.q
        if target == "sarsa":
            # The deferred update of the previous step: A' is this step's action,
            # taken in S' = obs; Q(S', A') is read before any change, as in the book.
            pending_target = state.pending_reward + params.discount * q[obs, action]
            q = td_step(
                q, state.pending_obs, state.pending_action, pending_target,
                params.step_size, state.has_pending,
            )  # fmt: skip
            now = terminated | jnp.asarray(transition.truncated, bool)
        else:
            now = jnp.ones((), bool)
        next_value = bootstrap(q, counts, step, transition.next_obs, params.explore)
        value = reward + params.discount * jnp.where(terminated, 0.0, next_value)
        q = td_step(q, obs, action, value, params.step_size, now)
        return TDState(
            q=q,
            counts=counts,
            step=step,
            pending_obs=jnp.asarray(obs, jnp.int32),
            pending_action=jnp.asarray(action, jnp.int32),
            pending_reward=reward,
            has_pending=~now,
        )

    return Agent(
        init, act, learn_each_step(update), TDParams(), num_actions, summary=summary
    )
