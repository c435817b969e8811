"""A small MDP for engine tests: a chain with a goal, known Q*, and a NumPy reference.

States ``0 .. length - 1`` in a row, the episode starts at 0. Action 1 steps right,
action 0 steps left (staying at 0). Stepping right from the last state reaches the
goal: reward ``goal_reward``, ``terminated``, ``success``. A time limit of
``max_steps`` steps truncates. With discount ``gamma`` (ignoring the time limit)

    Q*(s, right) = gamma ** (length - 1 - s) * R,
    Q*(s, left)  = gamma ** (length - max(s - 1, 0)) * R,

so right is optimal everywhere. :class:`FixedBoltzmann` acts by a softmax over fixed
preferences ``[0, 1]`` at temperature ``tau``: ``P(right) = 1 / (1 + exp(-1 / tau))``,
whatever the state. :func:`simulate` runs that policy on the chain in NumPy with the
engine's conventions (same-step autoreset, episodes counted when they end within
the run), written independently of the engine.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rl_softmax import policies
from rl_softmax.agents import Agent, learn_each_step
from rl_softmax.envs import Environment


class ChainParams(NamedTuple):
    goal_reward: float = 1.0
    gamma: float = 0.9


class ChainState(NamedTuple):
    position: jax.Array
    time: jax.Array


@dataclasses.dataclass(frozen=True)
class ChainMDP(Environment):
    length: int = 3
    max_steps: int = 20
    num_actions = 2

    @property
    def default_params(self) -> ChainParams:
        return ChainParams()

    def q_star(self, params: ChainParams) -> jax.Array:
        """``[length, 2]`` optimal action values (left, right)."""
        s = np.arange(self.length)
        right = self.length - 1 - s
        left = self.length - np.maximum(s - 1, 0)
        exponents = jnp.asarray(np.stack([left, right], axis=1), jnp.float32)
        return params.goal_reward * jnp.asarray(params.gamma, jnp.float32) ** exponents

    def reset(self, key, params):
        del key
        zero = jnp.zeros((), jnp.int32)
        return zero, ChainState(zero, zero)

    def step(self, key, state, action, params):
        del key
        right = action == 1
        position = jnp.where(
            right, state.position + 1, jnp.maximum(state.position - 1, 0)
        )
        terminated = position == self.length
        time = state.time + 1
        truncated = (time >= self.max_steps) & ~terminated
        reward = jnp.where(terminated, params.goal_reward, 0.0).astype(jnp.float32)
        info = {
            "action_values": self.q_star(params)[state.position],
            "success": terminated,
        }
        return position, ChainState(position, time), reward, terminated, truncated, info


class FixedParams(NamedTuple):
    tau: float = 1.0


def fixed_boltzmann() -> Agent:
    """Boltzmann over the fixed preferences ``[0, 1]`` (left, right); no learning."""
    preferences = jnp.array([0.0, 1.0])

    def init(key, params):
        del key, params
        return jnp.zeros(())

    def act(key, state, obs, params):
        del obs
        policy = policies.boltzmann(params.tau)
        probs = policy.probs(preferences)
        return policy.sample(key, preferences), {"probs": probs, "tau": params.tau}

    def update(state, transition, params):
        del transition, params
        return state

    return Agent(init, act, learn_each_step(update), FixedParams(), 2)


def p_right(tau: float) -> float:
    """``P(right)`` of :func:`fixed_boltzmann` at temperature ``tau``."""
    if tau == 0:
        return 1.0
    if np.isinf(tau):
        return 0.5
    return 1.0 / (1.0 + np.exp(-1.0 / tau))


class _Chains:
    """``num_runs`` chains stepped as one NumPy batch, with episode bookkeeping
    (same-step autoreset; episodes counted when they end)."""

    def __init__(self, length: int, max_steps: int, num_runs: int):
        self.length, self.max_steps = length, max_steps
        self.position = np.zeros(num_runs, np.int64)
        self.time = np.zeros(num_runs, np.int64)
        self.episode_return = np.zeros(num_runs)
        self.sums = {k: np.zeros(num_runs) for k in ("return", "length", "success")}
        self.reward = np.zeros(num_runs)
        self.episodes = np.zeros(num_runs)

    def step(self, right: np.ndarray) -> np.ndarray:
        """Moves every chain (``right``: bool per run); returns the rewards."""
        self.position = np.where(
            right, self.position + 1, np.maximum(self.position - 1, 0)
        )
        self.time += 1
        terminated = self.position == self.length
        truncated = (self.time >= self.max_steps) & ~terminated
        reward = terminated.astype(float)
        self.reward += reward
        self.episode_return += reward
        ended = terminated | truncated
        self.episodes += ended
        self.sums["return"] += np.where(ended, self.episode_return, 0.0)
        self.sums["length"] += np.where(ended, self.time, 0.0)
        self.sums["success"] += np.where(ended, terminated, 0.0)
        self.position = np.where(ended, 0, self.position)
        self.time = np.where(ended, 0, self.time)
        self.episode_return = np.where(ended, 0.0, self.episode_return)
        return reward

    def totals(self, num_steps: int) -> dict[str, np.ndarray]:
        """Per run: ``reward`` (mean per step), ``episodes`` (episodes that ended)
        and the sums over those episodes of ``return``, ``length``, ``success``."""
        return {
            **self.sums,
            "reward": self.reward / num_steps,
            "episodes": self.episodes,
        }


def simulate(
    tau: float, length: int, max_steps: int, num_steps: int, num_runs: int, seed: int
) -> dict[str, np.ndarray]:
    """The fixed policy on the chain in NumPy, all runs as one batch; returns
    :meth:`_Chains.totals`."""
    rng = np.random.default_rng(seed)
    chains = _Chains(length, max_steps, num_runs)
    for _ in range(num_steps):
        chains.step(rng.random(num_runs) < p_right(tau))
    return chains.totals(num_steps)


def simulate_learner(
    tau: float, length: int, max_steps: int, num_steps: int, num_runs: int, seed: int
) -> dict[str, np.ndarray]:
    """Sample-average action values with Boltzmann exploration at ``tau`` on the
    chain (the bandit learner, blind to the state), in NumPy; returns as
    :func:`simulate`."""
    rng = np.random.default_rng(seed)
    q = np.zeros((num_runs, 2))
    counts = np.zeros((num_runs, 2))
    runs = np.arange(num_runs)
    chains = _Chains(length, max_steps, num_runs)
    for _ in range(num_steps):
        z = q / tau
        weights = np.exp(z - z.max(axis=1, keepdims=True))
        action = (rng.random(num_runs) < weights[:, 1] / weights.sum(axis=1)).astype(
            int
        )
        reward = chains.step(action == 1)
        counts[runs, action] += 1
        q[runs, action] += (reward - q[runs, action]) / counts[runs, action]
    return chains.totals(num_steps)


def ratio_se(sums: np.ndarray, counts: np.ndarray) -> float:
    """Standard error of the pooled mean ``sum(sums) / sum(counts)`` over runs (the
    ratio estimator), over the runs with ``counts > 0``; written here from the
    textbook formula, independently of the library."""
    n = int((counts > 0).sum())
    mean = sums.sum() / counts.sum()
    return math.sqrt(n / (n - 1) * ((sums - mean * counts) ** 2).sum()) / counts.sum()
