"""The environment contract: pure ``reset`` and ``step``, the engine resets.

An environment is a frozen object whose static sizes are set at construction and
whose sweepable numbers live in ``params``::

    obs, state = env.reset(key, params)
    obs, state, reward, terminated, truncated, info = env.step(key, state, action,
                                                              params)

This is gymnax's ``reset_env``/``step_env`` pair with gymnasium's two end flags,
not gymnax's public ``step``: ``step`` never resets. It returns the observation
the step produced also when the episode ended there, and the engine resets on the
same step (gymnasium's same-step autoreset). A gymnax environment, whose ``step``
resets inside, is adapted by :func:`rl_softmax.envs.from_gymnax`.

It also says how many actions it has (``num_actions``, the ``Discrete`` action
space) and whether its episodes end (``episodic``; a bandit is a continuing,
one-state task). ``info`` may carry:

* ``"action_values"``: ``[num_actions]`` true action values of the state the action
  was taken in, where the environment knows them (a bandit's ``q*``, an MDP's
  ``Q*``). The engine computes the optimal-action and regret metrics from them.
* ``"success"``: on the step that ends an episode, whether the episode succeeded.

An environment whose dynamics are a known table may also define
``evaluate(policy, params) -> {"success": ..., "return": ...}``: the exact success
probability and expected return of a tabular policy (``[num_states, num_actions]``
probabilities) from the start distribution, within the time limit. The engine
uses it to score an agent's final greedy policy.

Gymnasium's conventions hold: ``terminated`` means a terminal state was reached (no
bootstrap from it), ``truncated`` that a time limit cut the episode.
"""

from __future__ import annotations

from typing import Any

import jax

__all__ = ["Environment"]


class Environment:
    """Base class of the functional environments; subclasses are frozen dataclasses.

    Subclasses define ``num_actions``, ``default_params``, :meth:`reset` and
    :meth:`step`, and set ``episodic = False`` if their episodes never end.
    """

    num_actions: int
    episodic: bool = True

    @property
    def default_params(self) -> Any:
        raise NotImplementedError

    def reset(self, key: jax.Array, params: Any) -> tuple[Any, Any]:
        """``(obs, state)`` at the start of an episode."""
        raise NotImplementedError

    def step(self, key: jax.Array, state: Any, action: jax.Array, params: Any):
        """``(obs, state, reward, terminated, truncated, info)`` after ``action``."""
        raise NotImplementedError

    @property
    def action_space(self):
        """The action space as a ``gymnasium.spaces.Discrete``."""
        from gymnasium import spaces  # only when asked: gymnasium is slow to import

        return spaces.Discrete(self.num_actions)
