"""The agent contract shared by every agent: ``(init, act, learn)``, pure and keyed.

An agent sees observations and experience, never the environment's internals, so
the same agent runs on a bandit (whose observation is a constant: the one-state
case) and on a Markov decision process::

    state = agent.init(key, params)
    action, policy_info = agent.act(key, state, obs, params)
    state = agent.learn(key, state, batch, params)

``batch`` is a :class:`Transition` of time-major arrays over a batch of
environments, ``[T, N, ...]``: ``T`` steps of ``N`` environments, gathered by the
policy of ``state``. Every agent learns through this one call; what differs is the
batch it is built for (:attr:`Agent.per_step`):

* a **per-step** agent (bandit and tabular learners) learns from each step as it
  comes, so its batches are ``T = N = 1`` (:func:`one_step` makes one from a
  :class:`Transition`), given in order; its ``learn`` is its per-step update
  (:func:`learn_each_step`) and it ignores the key. The engine runs it with
  :func:`rl_softmax.engine.make_run`.
* a **rollout** agent (the softmax actor-critic, DQN) learns from rollouts of any
  ``T x N`` and may draw random numbers (minibatches, replay) from the key. The
  engine runs it with :func:`rl_softmax.engine.make_rollout_run`.

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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Agent", "Transition", "learn_each_step", "one_step"]


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
      act: ``(key, state, obs, params) -> (action, policy_info)`` for one
        observation; ``action`` is an int32 scalar, ``policy_info`` a dict with
        ``"probs"`` and/or ``"tau"`` (see the module docstring).
      learn: ``(key, state, batch, params) -> state``; ``batch`` is a
        :class:`Transition` of ``[T, N, ...]`` arrays.
      default_params: parameters to start from (``_replace`` the swept one; the
        first field is the one a run sweeps unless told otherwise).
      num_actions: size of the action space.
      summary: optional ``(state, params) -> dict`` of what the final state holds
        (see the module docstring); None when the agent reports nothing.
      per_step: True if the agent learns from each step as it comes (``T = N =
        1``, in order: :func:`rl_softmax.engine.make_run`); False if it learns
        from rollouts of ``num_envs`` environments (:func:`rl_softmax.engine.
        make_rollout_run`).
    """

    init: Callable[[jax.Array, Any], Any]
    act: Callable[[jax.Array, Any, Any, Any], tuple[jax.Array, dict[str, jax.Array]]]
    learn: Callable[[jax.Array, Any, Transition, Any], Any]
    default_params: NamedTuple
    num_actions: int
    summary: Callable[[Any, Any], dict[str, jax.Array]] | None = None
    per_step: bool = True


def one_step(transition: Transition) -> Transition:
    """One step of one environment as a ``[1, 1]`` batch for :attr:`Agent.learn`."""
    return jax.tree.map(lambda x: jnp.asarray(x)[None, None], transition)


def learn_each_step(
    update: Callable[[Any, Transition, Any], Any],
) -> Callable[[jax.Array, Any, Transition, Any], Any]:
    """A per-step agent's ``learn`` from its update ``(state, transition, params)``.

    The batch must be one step of one environment (``[1, 1]``, e.g. from
    :func:`one_step`); the key is not used (the update draws nothing).
    """

    def learn(key, state, batch: Transition, params):
        del key
        shape = jnp.shape(batch.action)
        if shape != (1, 1):
            raise ValueError(
                f"this agent learns from one step at a time: got a batch of shape "
                f"{list(shape)}, expected [1, 1] (one_step(transition)); run it "
                "with make_run, not make_rollout_run."
            )
        return update(state, jax.tree.map(lambda x: x[0, 0], batch), params)

    return learn
