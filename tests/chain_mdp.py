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
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rl_softmax import policies
from rl_softmax.agents import Agent
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

    return Agent(init, act, update, FixedParams(), 2)


def p_right(tau: float) -> float:
    """``P(right)`` of :func:`fixed_boltzmann` at temperature ``tau``."""
    if tau == 0:
        return 1.0
    if np.isinf(tau):
        return 0.5
    return 1.0 / (1.0 + np.exp(-1.0 / tau))


def simulate(
    tau: float, length: int, max_steps: int, num_steps: int, num_runs: int, seed: int
) -> dict[str, np.ndarray]:
    """The fixed policy on the chain in NumPy, all runs as one batch.

    Returns per run: ``reward`` (mean per step), ``episodes`` (episodes that ended),
    and the sums over those episodes of ``return``, ``length`` and ``success``.
    """
    rng = np.random.default_rng(seed)
    p = p_right(tau)
    position = np.zeros(num_runs, np.int64)
    time = np.zeros(num_runs, np.int64)
    episode_return = np.zeros(num_runs)
    sums = {k: np.zeros(num_runs) for k in ("return", "length", "success", "reward")}
    episodes = np.zeros(num_runs)
    for _ in range(num_steps):
        right = rng.random(num_runs) < p
        position = np.where(right, position + 1, np.maximum(position - 1, 0))
        time += 1
        terminated = position == length
        truncated = (time >= max_steps) & ~terminated
        reward = terminated.astype(float)
        sums["reward"] += reward
        episode_return += reward
        ended = terminated | truncated
        episodes += ended
        sums["return"] += np.where(ended, episode_return, 0.0)
        sums["length"] += np.where(ended, time, 0.0)
        sums["success"] += np.where(ended, terminated, 0.0)
        position = np.where(ended, 0, position)
        time = np.where(ended, 0, time)
        episode_return = np.where(ended, 0.0, episode_return)
    out = {k: v for k, v in sums.items() if k != "reward"}
    out["reward"] = sums["reward"] / num_steps
    out["episodes"] = episodes
    return out


def simulate_learner(
    tau: float, length: int, max_steps: int, num_steps: int, num_runs: int, seed: int
) -> dict[str, np.ndarray]:
    """Sample-average action values with Boltzmann exploration at ``tau`` on the
    chain (the bandit learner, blind to the state), in NumPy; returns as
    :func:`simulate`."""
    rng = np.random.default_rng(seed)
    q = np.zeros((num_runs, 2))
    counts = np.zeros((num_runs, 2))
    position = np.zeros(num_runs, np.int64)
    time = np.zeros(num_runs, np.int64)
    episode_return = np.zeros(num_runs)
    sums = {k: np.zeros(num_runs) for k in ("return", "length", "success", "reward")}
    episodes = np.zeros(num_runs)
    runs = np.arange(num_runs)
    for _ in range(num_steps):
        z = q / tau
        weights = np.exp(z - z.max(axis=1, keepdims=True))
        p_right = weights[:, 1] / weights.sum(axis=1)
        action = (rng.random(num_runs) < p_right).astype(np.int64)
        position = np.where(action == 1, position + 1, np.maximum(position - 1, 0))
        time += 1
        terminated = position == length
        truncated = (time >= max_steps) & ~terminated
        reward = terminated.astype(float)
        counts[runs, action] += 1
        q[runs, action] += (reward - q[runs, action]) / counts[runs, action]
        sums["reward"] += reward
        episode_return += reward
        ended = terminated | truncated
        episodes += ended
        sums["return"] += np.where(ended, episode_return, 0.0)
        sums["length"] += np.where(ended, time, 0.0)
        sums["success"] += np.where(ended, terminated, 0.0)
        position = np.where(ended, 0, position)
        time = np.where(ended, 0, time)
        episode_return = np.where(ended, 0.0, episode_return)
    out = {k: v for k, v in sums.items() if k != "reward"}
    out["reward"] = sums["reward"] / num_steps
    out["episodes"] = episodes
    return out
