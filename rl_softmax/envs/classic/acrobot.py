"""Acrobot-v1: gymnasium's two-link underactuated pendulum as a functional environment.

A port of ``gymnasium.envs.classic_control.acrobot.AcrobotEnv`` (gymnasium 1.x) with
the registered ``TimeLimit`` of 500 steps. Two links hang from a fixed pivot; a
torque of -1, 0 or +1 at the joint between them (actions 0, 1, 2) must swing the
tip above the height ``goal_height`` over the pivot. The state is the angle
``theta1`` of the first link (0 points straight down), the angle ``theta2`` of the
second link relative to the first, and their angular velocities.

The dynamics are the "book" equations of Sutton & Barto (1998), "Reinforcement
Learning: An Introduction", Sec. 11.3, the task of Sutton (1996), "Generalization
in Reinforcement Learning: Successful Examples Using Sparse Coarse Coding", NIPS 8
(whose printed equations miss a term), integrated as gymnasium does: one classical
Runge-Kutta (RK4) step of ``dt`` with the torque held constant, then both angles
wrapped into ``[-pi, pi]`` and the velocities clipped to ``max_vel_1`` and
``max_vel_2``. Every step not at the goal is rewarded -1; the terminating one 0::

    env = Acrobot()
    params = env.default_params
    obs, state = env.reset(key_reset, params)
    obs, state, reward, terminated, truncated, info = env.step(
        key_step, state, action, params
    )
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rl_softmax.envs.base import Environment

__all__ = ["Acrobot", "AcrobotParams", "AcrobotState"]


class AcrobotParams(NamedTuple):
    """gymnasium's constants of Acrobot-v1 (SI units), each free to sweep.

    Attributes:
      dt: integration step [s], one RK4 step per environment step.
      link_length_1: length of the first link [m], pivot to the actuated joint.
      link_length_2: length of the second link [m]. As in gymnasium it is only
        drawn: neither the dynamics nor the goal test read it.
      link_mass_1, link_mass_2: masses of the links [kg].
      link_com_pos_1, link_com_pos_2: distance of each link's center of mass from
        its own joint [m].
      link_moi: moment of inertia of each link about its center of mass [kg m^2].
      max_vel_1, max_vel_2: bounds on ``|dtheta1|``, ``|dtheta2|`` [rad/s].
      avail_torque: the torque of actions 0, 1, 2 [N m].
      torque_noise_max: the torque gets ``U(-torque_noise_max, torque_noise_max)``
        noise when positive (gymnasium's default 0: deterministic).
      gravity: [m/s^2]; gymnasium fixes it at 9.8 inside its ``_dsdt``.
      goal_height: the episode terminates when ``-cos(theta1) - cos(theta1 +
        theta2) > goal_height`` (gymnasium: 1.0; its test assumes unit links).
      reset_low, reset_high: bounds of the uniform start of all four variables
        (gymnasium's ``reset(options={"low": ..., "high": ...})``).
    """

    dt: ArrayLike = 0.2
    link_length_1: ArrayLike = 1.0
    link_length_2: ArrayLike = 1.0
    link_mass_1: ArrayLike = 1.0
    link_mass_2: ArrayLike = 1.0
    link_com_pos_1: ArrayLike = 0.5
    link_com_pos_2: ArrayLike = 0.5
    link_moi: ArrayLike = 1.0
    max_vel_1: ArrayLike = 4 * math.pi
    max_vel_2: ArrayLike = 9 * math.pi
    avail_torque: tuple[ArrayLike, ArrayLike, ArrayLike] = (-1.0, 0.0, 1.0)
    torque_noise_max: ArrayLike = 0.0
    gravity: ArrayLike = 9.8
    goal_height: ArrayLike = 1.0
    reset_low: ArrayLike = -0.1
    reset_high: ArrayLike = 0.1


class AcrobotState(NamedTuple):
    """gymnasium's ``state`` (same variables, same order) and the episode's clock.

    Attributes:
      theta1: angle of the first link from straight down [rad], in ``[-pi, pi]``.
      theta2: angle of the second link relative to the first [rad], ``[-pi, pi]``.
      dtheta1, dtheta2: their angular velocities [rad/s].
      time: int32 steps taken in the episode.
    """

    theta1: jax.Array
    theta2: jax.Array
    dtheta1: jax.Array
    dtheta2: jax.Array
    time: jax.Array


@dataclasses.dataclass(frozen=True)
class Acrobot(Environment):
    """Acrobot-v1 (gymnasium's ``AcrobotEnv`` inside its ``TimeLimit``).

    Observations are ``[6]`` ``[cos theta1, sin theta1, cos theta2, sin theta2,
    dtheta1, dtheta2]`` in the default float dtype (float32; float64 under
    ``jax_enable_x64``). ``info["success"]`` is ``terminated``: the tip reached the
    goal height.

    Attributes:
      max_steps: steps after which an episode is truncated (the registered
        ``max_episode_steps`` of Acrobot-v1).
      dynamics: ``"book"`` (Sutton & Barto 1998; gymnasium's default) or ``"nips"``
        (the equations as printed in Sutton 1996, gymnasium's ``book_or_nips``).
    """

    num_actions = 3
    reward_threshold = -100.0  # gymnasium's registration: solved at this mean
    episodic = True
    max_steps: int = 500
    dynamics: Literal["book", "nips"] = "book"

    def __post_init__(self):
        if self.max_steps < 1:
            raise ValueError(f"max_steps={self.max_steps!r}: expected an int >= 1.")
        if self.dynamics not in ("book", "nips"):
            raise ValueError(f"dynamics={self.dynamics!r}: expected 'book' or 'nips'.")

    @property
    def default_params(self) -> AcrobotParams:
        return AcrobotParams()

    def reset(
        self, key: jax.Array, params: AcrobotParams
    ) -> tuple[jax.Array, AcrobotState]:
        """Draws the four variables i.i.d. ``U(reset_low, reset_high)`` (hanging down).

        Returns:
          ``obs: [6]`` and the state at time 0.
        """
        dtype = jnp.zeros(()).dtype
        values = jax.random.uniform(
            key, (4,), dtype, minval=params.reset_low, maxval=params.reset_high
        )
        state = AcrobotState(*values, time=jnp.zeros((), jnp.int32))
        return _observation(state), state

    def step(
        self,
        key: jax.Array,
        state: AcrobotState,
        action: ArrayLike,
        params: AcrobotParams,
    ) -> tuple[jax.Array, AcrobotState, jax.Array, jax.Array, jax.Array, dict]:
        """Applies the torque of ``action`` for ``dt`` seconds (one RK4 step).

        Args:
          key: draws the torque noise (one uniform), used only when
            ``torque_noise_max > 0``.
          state: the current state.
          action: int in ``{0, 1, 2}``: torque ``avail_torque[action]``.
          params: the physical constants.

        Returns:
          ``(obs [6], next_state, reward, terminated, truncated, info)``: reward -1,
          or 0 on the step that reaches the goal (``terminated``); ``truncated`` is
          ``time >= max_steps`` even when ``terminated`` (gymnasium's
          ``TimeLimit``); ``info = {"success": terminated}``.
        """
        dtype = state.theta1.dtype
        params = jax.tree.map(lambda value: jnp.asarray(value, dtype), params)
        torque = jnp.stack(params.avail_torque)[action]
        noise_max = params.torque_noise_max
        noise = jax.random.uniform(key, (), dtype, minval=-noise_max, maxval=noise_max)
        torque = jnp.where(noise_max > 0, torque + noise, torque)

        y = jnp.stack([state.theta1, state.theta2, state.dtheta1, state.dtheta2])
        y = self._rk4(y, torque, params)
        pi = jnp.asarray(math.pi, dtype)
        theta1, theta2 = _wrap(y[0], -pi, pi), _wrap(y[1], -pi, pi)
        dtheta1 = jnp.clip(y[2], -params.max_vel_1, params.max_vel_1)
        dtheta2 = jnp.clip(y[3], -params.max_vel_2, params.max_vel_2)
        next_state = AcrobotState(theta1, theta2, dtheta1, dtheta2, state.time + 1)

        height = -jnp.cos(theta1) - jnp.cos(theta2 + theta1)
        terminated = height > params.goal_height
        reward = jnp.where(terminated, 0.0, -1.0).astype(dtype)
        truncated = next_state.time >= self.max_steps
        info = {"success": terminated}
        return _observation(next_state), next_state, reward, terminated, truncated, info

    def _rk4(self, y: jax.Array, torque: jax.Array, params: AcrobotParams) -> jax.Array:
        """One classical Runge-Kutta step of ``dt`` from ``y = [4]`` (torque fixed).

        The sums run in gymnasium's order so float64 results agree to rounding.
        """
        dt = params.dt
        half_dt = dt / 2.0
        k1 = self._derivatives(y, torque, params)
        k2 = self._derivatives(y + half_dt * k1, torque, params)
        k3 = self._derivatives(y + half_dt * k2, torque, params)
        k4 = self._derivatives(y + dt * k3, torque, params)
        return y + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)

    def _derivatives(
        self, y: jax.Array, torque: jax.Array, params: AcrobotParams
    ) -> jax.Array:
        """``d/dt [theta1, theta2, dtheta1, dtheta2]`` (Sutton & Barto 1998, 11.3).

        ``d1, d2`` are the inertia terms and ``phi1, phi2`` the gravity and
        Coriolis terms of the book; the ``"nips"`` variant drops the
        ``m2 l1 lc2 dtheta1^2 sin(theta2)`` term from ``ddtheta2``.
        """
        m1, m2 = params.link_mass_1, params.link_mass_2
        l1 = params.link_length_1
        lc1, lc2 = params.link_com_pos_1, params.link_com_pos_2
        i1 = i2 = params.link_moi
        g = params.gravity
        theta1, theta2, dtheta1, dtheta2 = y
        half_pi = math.pi / 2.0
        d1 = (
            m1 * lc1**2
            + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * jnp.cos(theta2))
            + i1
            + i2
        )
        d2 = m2 * (lc2**2 + l1 * lc2 * jnp.cos(theta2)) + i2
        phi2 = m2 * lc2 * g * jnp.cos(theta1 + theta2 - half_pi)
        phi1 = (
            -m2 * l1 * lc2 * dtheta2**2 * jnp.sin(theta2)
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * jnp.sin(theta2)
            + (m1 * lc1 + m2 * l1) * g * jnp.cos(theta1 - half_pi)
            + phi2
        )
        numerator = torque + d2 / d1 * phi1
        if self.dynamics == "book":
            numerator = numerator - m2 * l1 * lc2 * dtheta1**2 * jnp.sin(theta2)
        ddtheta2 = (numerator - phi2) / (m2 * lc2**2 + i2 - d2**2 / d1)
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return jnp.stack([dtheta1, dtheta2, ddtheta1, ddtheta2])


def _observation(state: AcrobotState) -> jax.Array:
    """``[6]``: cos and sin of both angles, then both angular velocities."""
    theta1, theta2 = state.theta1, state.theta2
    return jnp.stack(
        [
            jnp.cos(theta1),
            jnp.sin(theta1),
            jnp.cos(theta2),
            jnp.sin(theta2),
            state.dtheta1,
            state.dtheta2,
        ]
    )


def _wrap(x: jax.Array, low: jax.Array, high: jax.Array) -> jax.Array:
    """``x`` shifted by whole turns ``high - low`` into ``[low, high]``.

    gymnasium subtracts (or adds) one turn at a time while ``x`` is outside; one
    turn, the usual case, is the same subtraction here. A NaN or inf stays
    non-finite instead of looping forever.
    """
    width = high - low
    x = jnp.where(x > high, x - jnp.ceil((x - high) / width) * width, x)
    return jnp.where(x < low, x + jnp.ceil((low - x) / width) * width, x)
