"""Multi-armed bandits as functional environments (:mod:`rl_softmax.envs.base`).

A bandit is the one-state case of :class:`~rl_softmax.envs.base.Environment`:
``reset(key, params) -> (obs, state)`` draws a task; ``step(key, state, action,
params) -> (obs, state, reward, terminated, truncated, info)`` pulls an arm. The
number of arms is fixed at construction (it sets shapes); everything you may sweep
lives in ``params``. Bandits are continuing tasks (``episodic = False``):
``terminated`` and ``truncated`` are always False and ``obs`` is a constant scalar.
``info["action_values"]`` is the true ``q*`` as it was when the arm was pulled
(before any random walk of this step).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rl_softmax.envs.base import Environment

__all__ = [
    "BanditState",
    "BernoulliBandit",
    "BernoulliParams",
    "GaussianBandit",
    "GaussianParams",
]


class BanditState(NamedTuple):
    """``q_star: [num_arms]`` true mean reward of each arm; ``time``: pulls so far."""

    q_star: jax.Array
    time: jax.Array


class GaussianParams(NamedTuple):
    """Sutton & Barto's testbed: ``q*(a) ~ N(mean, std)``, ``R ~ N(q*(A), noise_std)``.

    Attributes:
      mean: mean of the true action values ``q*(a)``, drawn at reset.
      std: their standard deviation.
      noise_std: standard deviation of a reward around ``q*(A)``.
      walk_std: per-step standard deviation of the random walk of every
        ``q*(a)``; used only by a bandit built with ``random_walk=True``.
    """

    mean: ArrayLike = 0.0
    std: ArrayLike = 1.0
    noise_std: ArrayLike = 1.0
    walk_std: ArrayLike = 0.01


class BernoulliParams(NamedTuple):
    """Arm ``a`` pays 1 with probability ``p_a ~ U(low, high)`` drawn at reset.

    Attributes:
      low: lower end of the arms' payout probabilities.
      high: upper end of the arms' payout probabilities.
    """

    low: ArrayLike = 0.0
    high: ArrayLike = 1.0


@dataclasses.dataclass(frozen=True)
class _Bandit(Environment):
    """What every bandit shares: ``num_arms`` (static) is its action space.

    Attributes:
      num_arms: the number of arms (actions) ``K``, fixed when it is built.
    """

    num_arms: int = 10
    episodic = False  # a class constant, not a field

    def __post_init__(self):
        if not isinstance(self.num_arms, int) or self.num_arms < 2:
            raise ValueError(f"num_arms={self.num_arms!r}: expected an integer >= 2.")

    @property
    def num_actions(self) -> int:
        return self.num_arms


@dataclasses.dataclass(frozen=True)
class GaussianBandit(_Bandit):
    """K-armed Gaussian testbed (Sutton & Barto 2018, Sec. 2.3; Exercise 2.5).

    With ``random_walk=True`` it is the non-stationary testbed: after every pull each
    ``q*(a)`` takes an independent ``N(0, walk_std)`` step. The book starts all arms
    equal there, i.e. ``GaussianParams(std=0.0)``.

    Attributes:
      num_arms: number of actions ``K``.
      random_walk: whether ``q*`` drifts (static: it adds ``K`` normals per step).
    """

    random_walk: bool = False

    @property
    def default_params(self) -> GaussianParams:
        if self.random_walk:
            return GaussianParams(std=0.0)
        return GaussianParams()

    def reset(self, key: jax.Array, params: GaussianParams) -> tuple[jax.Array, Any]:
        q_star = params.mean + params.std * jax.random.normal(key, (self.num_arms,))
        return jnp.zeros(()), BanditState(q_star, jnp.zeros((), jnp.int32))

    def step(self, key: jax.Array, state: BanditState, action: ArrayLike, params):
        q_star = state.q_star
        info = {"action_values": q_star}  # as pulled, before this step's walk
        if self.random_walk:  # static: the stationary testbed draws one normal only
            key, key_walk = jax.random.split(key)
            walk = jax.random.normal(key_walk, q_star.shape)
        reward = q_star[action] + params.noise_std * jax.random.normal(key)
        if self.random_walk:
            q_star = q_star + params.walk_std * walk
        state = BanditState(q_star, state.time + 1)
        done = jnp.zeros((), bool)
        return jnp.zeros(()), state, reward, done, done, info


@dataclasses.dataclass(frozen=True)
class BernoulliBandit(_Bandit):
    """K arms paying 0 or 1; ``q*(a) = p_a`` is the success probability.

    Attributes:
      num_arms: number of actions ``K``.
    """

    @property
    def default_params(self) -> BernoulliParams:
        return BernoulliParams()

    def reset(self, key: jax.Array, params: BernoulliParams) -> tuple[jax.Array, Any]:
        probs = jax.random.uniform(
            key, (self.num_arms,), minval=params.low, maxval=params.high
        )
        return jnp.zeros(()), BanditState(probs, jnp.zeros((), jnp.int32))

    def step(self, key: jax.Array, state: BanditState, action: ArrayLike, params):
        q_star = state.q_star
        reward = (jax.random.uniform(key) < q_star[action]).astype(q_star.dtype)
        done = jnp.zeros((), bool)
        state = BanditState(q_star, state.time + 1)
        return jnp.zeros(()), state, reward, done, done, {"action_values": q_star}
