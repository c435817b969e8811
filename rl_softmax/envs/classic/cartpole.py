"""CartPole-v1 as a functional environment (:mod:`rl_softmax.envs.base`).

A pole is hinged to a cart on a frictionless track; each step pushes the cart left
(action 0) or right (action 1) with a force of ``force_mag`` for ``tau`` seconds. The
task is the cart-pole of Barto, Sutton & Anderson (1983), "Neuronlike adaptive
elements that can solve difficult learning control problems", IEEE Trans. SMC
13(5), as gymnasium's ``CartPoleEnv`` implements it (from Sutton's ``pole.c``):
the frictionless equations of motion, which Florian (2007), "Correct equations for
the dynamics of the cart-pole system", derives again (his correction concerns the
friction terms, zero here, so both agree), integrated by explicit Euler steps.

Reward 1.0 every step, the terminating one included; the episode terminates when
``|x| > x_threshold`` or ``|theta| > theta_threshold_radians`` and is truncated after
``max_steps`` steps (CartPole-v1's registered ``TimeLimit``: 500).
``info["success"]`` is True when the time limit ends an episode that did not
terminate: the pole stayed up to the end.

In float64, eager steps reproduce gymnasium's states bit for bit; under ``jit``,
XLA may fuse ``a * b + c`` into one rounding, so a step differs by about 1 ulp and,
the upright pole being unstable, trajectories drift apart after a few hundred steps.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rl_softmax.envs.base import Environment

__all__ = ["CartPole", "CartPoleParams", "CartPoleState"]

_INTEGRATORS = ("euler", "semi-implicit euler")


class CartPoleParams(NamedTuple):
    """gymnasium's physical constants of CartPole, each a number you may sweep.

    Attributes:
      gravity: m/s^2.
      masscart: kg.
      masspole: kg.
      length: half the pole's length, m (gymnasium's ``length``).
      force_mag: magnitude of the push, N.
      tau: seconds between state updates (one Euler step).
      theta_threshold_radians: the pole angle beyond which the episode terminates
        (12 degrees).
      x_threshold: the cart position beyond which the episode terminates, m.
      reset_low, reset_high: each state variable starts ``U(reset_low,
        reset_high)`` (gymnasium's ``options={"low": ..., "high": ...}`` of reset).

    gymnasium's ``total_mass`` and ``polemass_length`` are derived here from the
    masses and ``length`` at every step (gymnasium derives them once, in
    ``__init__``).
    """

    gravity: ArrayLike = 9.8
    masscart: ArrayLike = 1.0
    masspole: ArrayLike = 0.1
    length: ArrayLike = 0.5
    force_mag: ArrayLike = 10.0
    tau: ArrayLike = 0.02
    theta_threshold_radians: ArrayLike = 12 * 2 * math.pi / 360
    x_threshold: ArrayLike = 2.4
    reset_low: ArrayLike = -0.05
    reset_high: ArrayLike = 0.05


class CartPoleState(NamedTuple):
    """gymnasium's ``state`` ``(x, x_dot, theta, theta_dot)`` and the step count.

    Attributes:
      x: cart position, m.
      x_dot: cart velocity, m/s.
      theta: pole angle from upright, rad.
      theta_dot: pole angular velocity, rad/s.
      time: int32 steps taken in the episode.
    """

    x: jax.Array
    x_dot: jax.Array
    theta: jax.Array
    theta_dot: jax.Array
    time: jax.Array


@dataclasses.dataclass(frozen=True)
class CartPole(Environment):
    """gymnasium's ``CartPole-v1`` (``gymnasium.envs.classic_control.cartpole``).

    Observations are ``[4]`` ``(x, x_dot, theta, theta_dot)`` in the state's dtype
    (float32, or float64 with ``jax_enable_x64``; gymnasium casts to float32).
    Actions are 0 (push left) and 1 (push right); any other value pushes left, as
    in gymnasium's ``force_mag if action == 1 else -force_mag``.

    Stepping past a termination continues the dynamics with reward 1.0, as if
    fresh: gymnasium returns 0.0 there (with a warning), but an engine resets on
    termination, so only the normal path is modelled.

    Attributes:
      max_steps: steps after which an episode is truncated (gymnasium's
        ``TimeLimit``; CartPole-v1 registers 500).
      kinematics_integrator: ``"euler"`` (gymnasium's default: positions move by
        the old velocities) or ``"semi-implicit euler"`` (by the new ones).
    """

    max_steps: int = 500
    kinematics_integrator: Literal["euler", "semi-implicit euler"] = "euler"
    num_actions = 2  # class constants, not fields
    reward_threshold = 475.0  # gymnasium's registration: solved at this mean
    episodic = True

    def __post_init__(self):
        if not isinstance(self.max_steps, int) or self.max_steps < 1:
            raise ValueError(f"max_steps={self.max_steps!r}: expected an integer >= 1.")
        if self.kinematics_integrator not in _INTEGRATORS:
            raise ValueError(
                f"kinematics_integrator={self.kinematics_integrator!r}: expected one "
                f"of {_INTEGRATORS}."
            )

    @property
    def default_params(self) -> CartPoleParams:
        return CartPoleParams()

    def reset(
        self, key: jax.Array, params: CartPoleParams
    ) -> tuple[jax.Array, CartPoleState]:
        """Draws each of the 4 state variables ``U(reset_low, reset_high)``.

        Args:
          key: the PRNG key of the draw.
          params: the environment's constants.

        Returns:
          ``obs: [4]`` and the state, at ``time = 0``.
        """
        dtype = jnp.zeros(()).dtype  # float64 when jax_enable_x64 is on
        low = jnp.asarray(params.reset_low, dtype)
        high = jnp.asarray(params.reset_high, dtype)
        values = jax.random.uniform(key, (4,), dtype, minval=low, maxval=high)
        state = CartPoleState(*values, time=jnp.zeros((), jnp.int32))
        return values, state

    def step(
        self,
        key: jax.Array,
        state: CartPoleState,
        action: ArrayLike,
        params: CartPoleParams,
    ) -> tuple[jax.Array, CartPoleState, jax.Array, jax.Array, jax.Array, Any]:
        """One push of ``tau`` seconds: gymnasium's ``CartPoleEnv.step``.

        Args:
          key: unused (the dynamics are deterministic); kept for the API.
          state: the state acted in.
          action: 0 (push left) or 1 (push right).
          params: the environment's constants.

        Returns:
          ``(obs: [4], state, reward, terminated, truncated, info)``; ``reward`` is
          1.0 in the state's dtype, ``truncated`` is ``time >= max_steps`` even when
          ``terminated`` (as gymnasium's ``TimeLimit``), and ``info["success"]`` is
          ``truncated and not terminated``.
        """
        x, x_dot, theta, theta_dot = state[:4]
        dtype = x.dtype
        p = CartPoleParams(*(jnp.asarray(value, dtype) for value in params))
        total_mass = p.masspole + p.masscart
        polemass_length = p.masspole * p.length
        force = jnp.where(action == 1, p.force_mag, -p.force_mag)
        costheta, sintheta = jnp.cos(theta), jnp.sin(theta)
        # Florian (2007) with zero friction, in gymnasium's order of operations so
        # that float64 runs agree with it to the last bits.
        temp = (force + polemass_length * jnp.square(theta_dot) * sintheta) / total_mass
        thetaacc = (p.gravity * sintheta - costheta * temp) / (
            p.length * (4.0 / 3.0 - p.masspole * jnp.square(costheta) / total_mass)
        )
        xacc = temp - polemass_length * thetaacc * costheta / total_mass
        if self.kinematics_integrator == "euler":  # static choice
            x = x + p.tau * x_dot
            x_dot = x_dot + p.tau * xacc
            theta = theta + p.tau * theta_dot
            theta_dot = theta_dot + p.tau * thetaacc
        else:
            x_dot = x_dot + p.tau * xacc
            x = x + p.tau * x_dot
            theta_dot = theta_dot + p.tau * thetaacc
            theta = theta + p.tau * theta_dot

        terminated = (
            (x < -p.x_threshold)
            | (x > p.x_threshold)
            | (theta < -p.theta_threshold_radians)
            | (theta > p.theta_threshold_radians)
        )
        time = state.time + 1
        truncated = time >= self.max_steps
        info = {"success": truncated & ~terminated}
        next_state = CartPoleState(x, x_dot, theta, theta_dot, time)
        obs = jnp.stack([x, x_dot, theta, theta_dot])
        reward = jnp.ones((), dtype)
        return obs, next_state, reward, terminated, truncated, info
