"""``make(env_id, **kwargs)``: a JAX environment from a gymnasium id (``gymnax.make``).

Classic control (CartPole-v1, Acrobot-v1, MountainCar-v0) comes from
:mod:`rl_softmax.envs.classic`, JAX code with gymnasium's dynamics; every toy-text
environment with a transition table (FrozenLake, CliffWalking, Taxi, your own) from
:mod:`rl_softmax.envs.tabular`, built from the table itself.
"""

from __future__ import annotations

from typing import Any

from rl_softmax.envs import classic, tabular

__all__ = ["make"]


def make(env_id: str, **kwargs: Any) -> tuple[Any, Any]:
    """``(env, params)`` for a gymnasium id and ``gymnasium.make``'s keywords.

    Args:
      env_id: e.g. ``"CartPole-v1"`` or ``"FrozenLake-v1"``.
      **kwargs: what ``gymnasium.make`` takes for that id (``max_episode_steps``,
        ``is_slippery``, ...); classic control also takes any field of its params
        (``gravity``), toy text our ``discount`` (of its exact action values).

    Raises:
      ValueError: an id neither family has, or a keyword the environment lacks.
    """
    if env_id in classic.IDS:
        return classic.make(env_id, **kwargs)
    try:
        return tabular.make(env_id, **kwargs)
    except ValueError as error:
        raise ValueError(
            f"{error} Classic control in JAX: {', '.join(sorted(classic.IDS))}."
        ) from None
