"""Mountain car (gymnasium's ``MountainCar-v0``) as a functional environment.

An under-powered car in a sinusoidal valley must rock back and forth to reach the
flag on the right hill (Moore 1990; Sutton & Barto 2018, Example 10.1).
The dynamics, bounds, start distribution, reward and termination are those of
gymnasium's ``gymnasium/envs/classic_control/mountain_car.py`` (``MountainCarEnv``,
after Sutton's ``MountainCar1.cp``), step for step::

    velocity <- clip(velocity + (action - 1) * force - cos(3 position) * gravity,
                     -max_speed, max_speed)
    position <- clip(position + velocity, min_position, max_position)
    velocity <- 0  if position == min_position and velocity < 0  (inelastic wall)

Actions: 0 push left, 1 no push, 2 push right. The reward is -1 every step; the
episode terminates when ``position >= goal_position`` and ``velocity >=
goal_velocity`` (``info["success"]``), and is truncated after ``max_steps`` steps
(gymnasium's ``TimeLimit`` of 200, truncated even on a terminating step).
Observations are ``[position, velocity]`` in the state's dtype: float32, or float64
under ``jax_enable_x64``.

References:
  Moore, A. W. (1990). Efficient Memory-based Learning for Robot Control. PhD
  thesis, University of Cambridge (Tech. Rep. UCAM-CL-TR-209).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rl_softmax.envs.base import Environment

__all__ = ["MountainCar", "MountainCarParams", "MountainCarState"]


class MountainCarParams(NamedTuple):
    """gymnasium's constants of ``MountainCarEnv``, each sweepable.

    Attributes:
      min_position: left wall; the car stops dead against it.
      max_position: right bound of the position.
      max_speed: bound of ``|velocity|``.
      goal_position: the flag; reaching it (at ``goal_velocity``) ends the episode.
      goal_velocity: smallest velocity that counts at the flag (gymnasium's
        ``goal_velocity`` argument of ``make``).
      force: velocity change per step of a push.
      gravity: scale of the valley's pull ``-cos(3 position) * gravity``.
      reset_low, reset_high: the start position is ``U(reset_low, reset_high)``
        (gymnasium's ``reset`` options ``low`` and ``high``).
    """

    min_position: ArrayLike = -1.2
    max_position: ArrayLike = 0.6
    max_speed: ArrayLike = 0.07
    goal_position: ArrayLike = 0.5
    goal_velocity: ArrayLike = 0.0
    force: ArrayLike = 0.001
    gravity: ArrayLike = 0.0025
    reset_low: ArrayLike = -0.6
    reset_high: ArrayLike = -0.4


class MountainCarState(NamedTuple):
    """gymnasium's ``(position, velocity)`` and ``time``: int32 steps taken."""

    position: jax.Array
    velocity: jax.Array
    time: jax.Array


@dataclasses.dataclass(frozen=True)
class MountainCar(Environment):
    """gymnasium's ``MountainCar-v0`` with its ``TimeLimit``; see the module doc.

    Attributes:
      max_steps: steps after which an episode is truncated (the registered
        ``max_episode_steps``, 200).
    """

    max_steps: int = 200
    num_actions = 3  # class constants, not fields
    reward_threshold = -110.0  # gymnasium's registration: solved at this mean
    episodic = True

    def __post_init__(self):
        if not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise ValueError(f"max_steps={self.max_steps!r}: expected an integer >= 1.")

    @property
    def default_params(self) -> MountainCarParams:
        return MountainCarParams()

    def reset(
        self, key: jax.Array, params: MountainCarParams
    ) -> tuple[jax.Array, MountainCarState]:
        """Position ``U(reset_low, reset_high)``, velocity 0 (gymnasium's reset).

        Args:
          key: PRNG key of the one uniform draw.
          params: the environment's constants.

        Returns:
          ``obs: [2]`` ``[position, velocity]`` and the start state; floats are
          float32, or float64 under ``jax_enable_x64``.
        """
        position = jax.random.uniform(
            key, minval=params.reset_low, maxval=params.reset_high
        )
        state = MountainCarState(
            position, jnp.zeros_like(position), jnp.zeros((), jnp.int32)
        )
        return _observe(state), state

    def step(
        self,
        key: jax.Array,
        state: MountainCarState,
        action: ArrayLike,
        params: MountainCarParams,
    ) -> tuple[jax.Array, MountainCarState, jax.Array, jax.Array, jax.Array, dict]:
        """One step of gymnasium's ``MountainCarEnv.step`` and ``TimeLimit``.

        Args:
          key: unused (the dynamics are deterministic); kept for the API.
          state: the state acted in.
          action: int in ``{0, 1, 2}``: push left, no push, push right.
          params: the environment's constants.

        Returns:
          ``(obs, state, reward, terminated, truncated, info)``: ``obs: [2]``
          ``[position, velocity]``; ``reward`` -1 in the state's dtype;
          ``terminated`` at the flag; ``truncated`` when ``time >= max_steps``
          (also on a terminating step, as gymnasium's ``TimeLimit``); ``info``
          holds ``success`` (= ``terminated``).
        """
        del key
        position, velocity = state.position, state.velocity
        # Summed in gymnasium's order, so float64 runs match it to the last bit.
        push = (action - 1) * params.force
        velocity = velocity + (push + jnp.cos(3 * position) * -params.gravity)
        velocity = jnp.clip(velocity, -params.max_speed, params.max_speed)
        position = jnp.clip(
            position + velocity, params.min_position, params.max_position
        )
        at_wall = (position == params.min_position) & (velocity < 0)
        velocity = jnp.where(at_wall, jnp.zeros_like(velocity), velocity)
        terminated = (position >= params.goal_position) & (
            velocity >= params.goal_velocity
        )
        time = state.time + 1
        truncated = time >= self.max_steps
        next_state = MountainCarState(position, velocity, time)
        reward = jnp.full((), -1.0, position.dtype)
        info = {"success": terminated}
        return _observe(next_state), next_state, reward, terminated, truncated, info


def _observe(state: MountainCarState) -> jax.Array:
    """``[2]`` observation ``[position, velocity]`` (gymnasium's order)."""
    return jnp.stack([state.position, state.velocity])
