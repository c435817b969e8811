"""gymnasium's classic-control environments in JAX, step for step the same dynamics.

CartPole-v1 (:mod:`.cartpole`), Acrobot-v1 (:mod:`.acrobot`) and MountainCar-v0
(:mod:`.mountain_car`), each tested side by side with gymnasium from the same states.
:func:`make` builds one from its gymnasium id the way ``gymnax.make`` does.
"""

from __future__ import annotations

from typing import Any

from rl_softmax.envs.classic.acrobot import Acrobot, AcrobotParams, AcrobotState
from rl_softmax.envs.classic.cartpole import CartPole, CartPoleParams, CartPoleState
from rl_softmax.envs.classic.mountain_car import (
    MountainCar,
    MountainCarParams,
    MountainCarState,
)

__all__ = [
    "IDS",
    "Acrobot",
    "AcrobotParams",
    "AcrobotState",
    "CartPole",
    "CartPoleParams",
    "CartPoleState",
    "MountainCar",
    "MountainCarParams",
    "MountainCarState",
    "make",
]

IDS = {"CartPole-v1": CartPole, "Acrobot-v1": Acrobot, "MountainCar-v0": MountainCar}
"""gymnasium id -> environment class."""


def make(env_id: str, **kwargs: Any) -> tuple[Any, Any]:
    """``(env, params)`` for a classic-control id.

    Args:
      env_id: ``"CartPole-v1"``, ``"Acrobot-v1"`` or ``"MountainCar-v0"``.
      **kwargs: ``max_episode_steps`` (the time limit, as ``gymnasium.make`` takes
        it) and any field of the environment's params (``gravity``,
        ``goal_velocity``, ...), which sets its value in the returned params.

    Raises:
      ValueError: for another id or a keyword the environment does not have.
    """
    if env_id not in IDS:
        raise ValueError(f"env_id={env_id!r}: expected one of {sorted(IDS)}.")
    env_type = IDS[env_id]
    max_steps = kwargs.pop("max_episode_steps", None)
    env = env_type() if max_steps is None else env_type(max_steps=max_steps)
    params = env.default_params
    unknown = sorted(set(kwargs) - set(params._fields))
    if unknown:
        raise ValueError(
            f"{env_id}: unknown keyword(s) {unknown}; allowed: max_episode_steps and "
            f"the params {list(params._fields)}."
        )
    return env, params._replace(**kwargs)
