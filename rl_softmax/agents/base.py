"""The agent contract shared by every agent: ``(init, act, update)``, pure.

An agent sees observations and transitions, never the environment's internals, so
the same agent runs on a bandit (whose observation is a constant: the one-state
case) and on a Markov decision process::

    state = agent.init(key, params)
    action, policy_info = agent.act(key, state, obs, params)
    state = agent.update(state, Transition(obs, action, reward, next_obs,
                                           terminated, truncated), params)

``policy_info`` is a dict with what the policy can say about the action it drew:
``"probs"`` (``[num_actions]``, the distribution it was drawn from) when the policy
has closed-form probabilities, ``"tau"`` (scalar) when it has a temperature, and
``"values"`` (``[num_actions]``) when it acts on value estimates (a DQN's Q-values).
The engine computes entropy and P(optimal action) from ``"probs"``, reports
``"tau"`` and the spread of ``"values"``; a key that is absent means the metric is
not defined for the agent.

An agent may also say what its final state holds (``summary``): a tabular agent
reports ``"greedy_policy"`` (``[num_states, num_actions]``, the probabilities of
the greedy policy of its estimates, ties split evenly) and ``"visits"``
(``[num_states]``, how often each state was acted in). The engine evaluates the
greedy policy exactly where the environment can (``env.evaluate``) and reports the
visits, once, at the end of a run.

An agent that learns from batches of experience rather than step by step (the
softmax actor-critic of :mod:`rl_softmax.agents.actor_critic`) is a
:class:`RolloutAgent`: the same ``init`` and ``act``, and instead of ``update`` a
``learn`` that takes a whole rollout, a :class:`Transition` whose arrays are
time-major over a batch of environments (``[T, N, ...]``)::

    state = agent.learn(key, state, rollout, params)

The engine runs it with :func:`rl_softmax.engine.make_rollout_run`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

__all__ = ["Agent", "RolloutAgent", "Transition"]


class Transition(NamedTuple):
    """One step of experience, as the learner sees it.

    ``next_obs`` is the observation the step produced, also when the episode ended
    there (the engine resets the environment afterwards). ``terminated`` cuts the
    bootstrap (the episode reached a terminal state); ``truncated`` does not (a time
    limit stopped it; the next state still has a value).

    Attributes:
      obs: observation the action was chosen in.
      action: int32 action taken.
      reward: reward received.
      next_obs: observation after the step.
      terminated: the step reached a terminal state.
      truncated: the episode was cut by a time limit.
    """

    obs: Any
    action: jax.Array
    reward: jax.Array
    next_obs: Any
    terminated: jax.Array
    truncated: jax.Array


class Agent(NamedTuple):
    """A pure agent.

    Attributes:
      init: ``(key, params) -> state``.
      act: ``(key, state, obs, params) -> (action, policy_info)``; ``action`` is an
        int32 scalar, ``policy_info`` a dict with ``"probs"`` and/or ``"tau"`` (see
        the module docstring).
      update: ``(state, transition, params) -> state`` with a :class:`Transition`.
      default_params: parameters to start from (``_replace`` the swept one).
      num_actions: size of the action space.
      summary: optional ``(state, params) -> dict`` of what the final state holds
        (see the module docstring); None when the agent reports nothing.
    """

    init: Callable[[jax.Array, Any], Any]
    act: Callable[[jax.Array, Any, Any, Any], tuple[jax.Array, dict[str, jax.Array]]]
    update: Callable[[Any, Transition, Any], Any]
    default_params: NamedTuple
    num_actions: int
    summary: Callable[[Any, Any], dict[str, jax.Array]] | None = None


class RolloutAgent(NamedTuple):
    """A pure agent that learns from rollouts of a batch of environments.

    Attributes:
      init: ``(key, params) -> state``.
      act: ``(key, state, obs, params) -> (action, policy_info)`` for one
        observation, as :attr:`Agent.act` (the engine vmaps it over environments).
      learn: ``(key, state, rollout, params) -> state``; ``rollout`` is a
        :class:`Transition` of ``[T, N, ...]`` arrays, ``T`` steps of ``N``
        environments, gathered by the policy of ``state``.
      default_params: parameters to start from (``_replace`` the swept one).
      num_actions: size of the action space.
    """

    init: Callable[[jax.Array, Any], Any]
    act: Callable[[jax.Array, Any, Any, Any], tuple[jax.Array, dict[str, jax.Array]]]
    learn: Callable[[jax.Array, Any, Transition, Any], Any]
    default_params: NamedTuple
    num_actions: int
