"""Finite MDPs from gymnasium's toy-text tables, as functional environments.

gymnasium's toy-text environments (FrozenLake, CliffWalking, Taxi) are defined by
``env.unwrapped.P[s][a] = [(prob, next_state, reward, terminated), ...]`` and
``initial_state_distrib``. :class:`TabularEnv` holds them as dense ``[S, A, K]``
tables and steps them exactly, one uniform per draw; :func:`make` takes the same id
and keyword arguments as ``gymnasium.make``::

    env, params = make("FrozenLake-v1", is_slippery=False)
    obs, state = env.reset(key, params)

The registered time limit (gymnasium's ``TimeLimit``) becomes ``max_steps``.
``info["action_values"]`` is ``Q*`` (by :func:`value_iteration` at ``discount``) of
the state the action was taken in; ``info["success"]`` marks a transition that
terminates with the largest reward among all terminating transitions of the table
(FrozenLake: reaching G, not a hole; CliffWalking: the goal; Taxi: the dropoff).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from rl_softmax import policies
from rl_softmax.envs.base import Environment

__all__ = [
    "TabularEnv",
    "TabularParams",
    "TabularState",
    "make",
    "one_hot",
    "value_iteration",
]

# (drow, dcol) of each action of the grid worlds, by gymnasium class.
_MOVES = {
    "FrozenLakeEnv": ((0, -1), (1, 0), (0, 1), (-1, 0)),
    "CliffWalkingEnv": ((-1, 0), (0, 1), (1, 0), (0, -1)),
}
_DEFAULT_HORIZON = 1000  # evaluate()'s horizon when the task has no time limit
_EXAMPLE_IDS = ("FrozenLake-v1", "FrozenLake8x8-v1", "CliffWalking-v1", "Taxi-v4")


class TabularParams(NamedTuple):
    """Nothing to sweep yet: the tables are fixed when the environment is built."""


class TabularState(NamedTuple):
    """``position``: int32 state index; ``time``: int32 steps taken in the episode."""

    position: jax.Array
    time: jax.Array


def value_iteration(
    probs: ArrayLike,
    next_states: ArrayLike,
    rewards: ArrayLike,
    terminated: ArrayLike,
    discount: float,
    *,
    tol: float = 1e-10,
    max_iters: int = 100_000,
    name: str = "the environment",
) -> np.ndarray:
    """Optimal action values ``Q*`` of a finite MDP (Sutton & Barto 2018, Sec. 4.4).

    ``Q(s, a) <- sum_k p_k (r_k + discount * (1 - terminated_k) * max_b Q(s'_k, b))``
    from ``Q = 0`` until no entry moves by more than ``tol``. Terminal transitions do
    not bootstrap, so ``discount = 1`` converges when every optimal policy ends its
    episodes (as on FrozenLake, CliffWalking and Taxi).

    Args:
      probs: ``[S, A, K]`` probability of each outcome.
      next_states: ``[S, A, K]`` the outcome's next state.
      rewards: ``[S, A, K]`` the outcome's reward.
      terminated: ``[S, A, K]`` whether the outcome ends the episode.
      discount: in ``[0, 1]``.
      tol: largest change of any ``Q(s, a)`` in the last sweep.
      max_iters: sweeps before giving up.
      name: the environment's name for the error message.

    Returns:
      ``[S, A]`` float64 ``Q*``.

    Raises:
      ValueError: if ``discount`` is outside ``[0, 1]`` or the sweeps did not converge.
    """
    if not 0.0 <= discount <= 1.0:
        raise ValueError(f"discount={discount!r}: expected a number in [0, 1].")
    probs = np.asarray(probs, np.float64)
    continue_probs = discount * probs * ~np.asarray(terminated, bool)
    expected_rewards = np.sum(probs * np.asarray(rewards, np.float64), axis=-1)
    next_states = np.asarray(next_states)
    q = np.zeros(probs.shape[:2])
    for _ in range(max_iters):
        q_new = expected_rewards + np.sum(
            continue_probs * q.max(axis=1)[next_states], axis=-1
        )
        change = np.max(np.abs(q_new - q))
        q = q_new
        if change <= tol:
            return q
        if not np.isfinite(change):
            break
    raise ValueError(
        f"value iteration on {name} with discount={discount} did not converge within "
        f"{max_iters} sweeps (some policy never ends its episodes); use discount < 1."
    )


def one_hot(obs: ArrayLike, num_states: int) -> jax.Array:
    """``[num_states]`` float32 one-hot features of a state index ``obs``."""
    return jax.nn.one_hot(obs, num_states, dtype=jnp.float32)


@dataclasses.dataclass(frozen=True, eq=False)
class TabularEnv(Environment):
    """A finite MDP given by dense outcome tables; see :func:`make`.

    Attributes:
      num_states: ``S``.
      num_actions: ``A``.
      max_steps: steps after which an episode is truncated (gymnasium's
        ``TimeLimit``); None for no limit.
      discount: the discount of ``action_values`` (nowhere else).
      grid_shape: ``(rows, cols)`` of a grid world whose state is
        ``row * cols + col``; None otherwise (Taxi).
      name: for messages and plots.
      probs, next_states, rewards, terminated, success: ``[S, A, K]`` outcome
        tables (float32, int32, float32, bool, bool), padded with probability 0.
      initial: ``[S]`` float32 start distribution.
      action_values: ``[S, A]`` float32 ``Q*`` at ``discount``.
      desc: the grid's letters, one string per row (FrozenLake's map), or None.
      moves: a grid world's ``(drow, dcol)`` per action (FrozenLake: left, down,
        right, up; CliffWalking: up, right, down, left), or None.
    """

    num_states: int
    num_actions: int
    max_steps: int | None
    discount: float
    grid_shape: tuple[int, int] | None
    name: str
    probs: np.ndarray
    next_states: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    success: np.ndarray
    initial: np.ndarray
    action_values: np.ndarray
    desc: tuple[str, ...] | None = None
    moves: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self):
        sizes = (self.num_states, self.num_actions, self.probs.shape[-1])
        for field in ("next_states", "rewards", "terminated", "success", "probs"):
            if getattr(self, field).shape != sizes:
                raise ValueError(f"{field}: expected shape {sizes} (S, A, K).")
        if (self.initial.shape, self.action_values.shape) != (sizes[:1], sizes[:2]):
            raise ValueError("initial, action_values: expected shapes [S], [S, A].")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps={self.max_steps!r}: expected >= 1 or None.")

    @classmethod
    def from_gymnasium(
        cls,
        env: Any,
        *,
        discount: float = 0.99,
        max_steps: int | None | Literal["spec"] = "spec",
        name: str | None = None,
    ) -> TabularEnv:
        """Reads ``env.unwrapped.P`` and ``initial_state_distrib``; computes ``Q*``.

        Args:
          env: a toy-text env (wrapped or not) or any object with those attributes.
          discount: discount of ``Q*``.
          max_steps: the time limit; ``"spec"`` takes the smallest ``TimeLimit``
            among ``env``'s wrappers (``gymnasium.make`` adds the registered one).
          name: defaults to the registered id or the class name.
        """
        unwrapped = getattr(env, "unwrapped", env)
        spec = getattr(env, "spec", None)
        name = name or (spec and spec.id) or type(unwrapped).__name__
        table = getattr(unwrapped, "P", None)
        initial = getattr(unwrapped, "initial_state_distrib", None)
        if table is None or initial is None:
            raise ValueError(f"{name}: expected `P` and `initial_state_distrib`.")
        if getattr(unwrapped, "fickle_passenger", False):  # Taxi: acts outside P
            raise ValueError(f"{name}: fickle_passenger=True is not described by P.")
        probs, next_states, rewards, terminated = _dense_tables(table, name)
        best_terminal = rewards[terminated].max() if terminated.any() else 0.0
        q_star = value_iteration(
            probs, next_states, rewards, terminated, discount, name=name
        )
        grid_shape, desc = _grid(unwrapped, probs.shape[0])
        moves = _MOVES.get(type(unwrapped).__name__) if grid_shape else None
        return cls(
            num_states=probs.shape[0],
            num_actions=probs.shape[1],
            max_steps=_time_limit(env) if max_steps == "spec" else max_steps,
            discount=float(discount),
            grid_shape=grid_shape,
            name=name,
            probs=probs.astype(np.float32),
            next_states=next_states.astype(np.int32),
            rewards=rewards.astype(np.float32),
            terminated=terminated,
            success=terminated & (rewards == best_terminal),
            initial=np.asarray(initial, np.float32),
            action_values=q_star.astype(np.float32),
            desc=desc,
            moves=moves,
        )

    def layout(self) -> dict[str, Any] | None:
        """A grid world as the plots draw it (plain lists), or None for other MDPs.

        Keys: ``shape`` (rows, cols; state ``s`` is cell ``(s // cols, s % cols)``),
        ``cells`` (a letter per cell: the map's ``S F H G``, or for a map without
        letters ``S`` start, ``G`` goal, ``C`` a cell no step can enter (the cliff),
        ``F`` the rest), ``state_values`` (``V*``), ``greedy`` (an optimal action
        per state), ``moves``, ``action_names`` and ``terminal`` (states no step
        leaves from: entered only by terminating steps, or never entered).
        """
        if self.grid_shape is None or self.moves is None:
            return None
        entered = np.zeros(self.num_states, bool)  # by a step that does not end
        live = (self.probs > 0) & ~self.terminated
        entered[self.next_states[live]] = True
        start = self.initial > 0
        terminal = ~entered & ~start
        cells = self.desc
        if cells is None:
            letters = np.full(self.num_states, "F")
            letters[~entered & ~start] = "C"
            letters[np.unique(self.next_states[self.success & (self.probs > 0)])] = "G"
            letters[start] = "S"
            cells = tuple("".join(row) for row in letters.reshape(self.grid_shape))
        names = {(0, -1): "left", (1, 0): "down", (0, 1): "right", (-1, 0): "up"}
        return {
            "shape": list(self.grid_shape),
            "cells": list(cells),
            "state_values": self.action_values.max(axis=1).astype(float).tolist(),
            "greedy": self.action_values.argmax(axis=1).astype(int).tolist(),
            "moves": [list(m) for m in self.moves],
            "action_names": [names[m] for m in self.moves],
            "terminal": terminal.tolist(),
        }

    @property
    def default_params(self) -> TabularParams:
        return TabularParams()

    def reset(self, key: jax.Array, params) -> tuple[jax.Array, TabularState]:
        """Draws the start state from ``initial`` with one uniform."""
        position = policies.sample_from_uniform(jax.random.uniform(key), self.initial)
        return position, TabularState(position, jnp.zeros((), jnp.int32))

    def step(self, key: jax.Array, state: TabularState, action: ArrayLike, params):
        """Draws one outcome of ``(state.position, action)`` with one uniform.

        ``truncated`` is ``time >= max_steps`` even when ``terminated`` (as
        gymnasium's ``TimeLimit``); ``info`` holds ``action_values: [A]`` (``Q*`` of
        the state acted in) and ``success``.
        """
        position, time = state.position, state.time + 1
        probs = jnp.asarray(self.probs)[position, action]
        outcome = policies.sample_from_uniform(jax.random.uniform(key), probs)
        index = (position, action, outcome)
        next_position = jnp.asarray(self.next_states)[index]
        limit = self.max_steps
        truncated = jnp.zeros((), bool) if limit is None else time >= limit
        info = {
            "action_values": jnp.asarray(self.action_values)[position],
            "success": jnp.asarray(self.success)[index],
        }
        reward = jnp.asarray(self.rewards)[index]
        terminated = jnp.asarray(self.terminated)[index]
        next_state = TabularState(next_position, time)
        return next_position, next_state, reward, terminated, truncated, info

    def evaluate(
        self, policy: ArrayLike, params: TabularParams, *, horizon: int | None = None
    ) -> dict[str, jax.Array]:
        """Exact success probability and expected return of a tabular policy.

        Propagates the state distribution from ``initial`` for ``horizon`` steps;
        the probability of episodes that terminate leaves it.

        Args:
          policy: ``[S, A]`` action probabilities of each state.
          params: the environment's parameters.
          horizon: steps per episode; defaults to ``max_steps`` (1000 if None).

        Returns:
          float32 scalars ``success`` (its probability) and ``return`` (expected
          undiscounted return), both within the horizon.
        """
        if horizon is None:
            horizon = self.max_steps or _DEFAULT_HORIZON
        policy = jnp.asarray(policy, jnp.float32)
        if policy.shape != (self.num_states, self.num_actions):
            raise ValueError(
                f"policy has shape {policy.shape}: expected "
                f"[num_states={self.num_states}, num_actions={self.num_actions}]."
            )
        weights = policy[:, :, None] * jnp.asarray(self.probs)  # P(a, k | s)
        outcome_values = jnp.stack([self.success, self.rewards], axis=-1)
        per_step = jnp.einsum("sak,sakj->sj", weights, outcome_values)  # success, r
        stay = weights * ~jnp.asarray(self.terminated)  # the episode goes on
        rows = np.broadcast_to(np.arange(self.num_states)[:, None, None], stay.shape)
        shape = (self.num_states, self.num_states)
        transition_pi = jnp.zeros(shape).at[rows, self.next_states].add(stay)

        def propagate(_, carry):
            dist, totals = carry
            highest = jax.lax.Precision.HIGHEST  # float32 sums, also on accelerators
            return (
                jnp.matmul(dist, transition_pi, precision=highest),
                totals + jnp.matmul(dist, per_step, precision=highest),
            )

        init = (jnp.asarray(self.initial), jnp.zeros(2, jnp.float32))
        _, (success, total) = jax.lax.fori_loop(0, horizon, propagate, init)
        return {"success": success, "return": total}


def make(
    env_id: str, *, discount: float = 0.99, **kwargs: Any
) -> tuple[TabularEnv, TabularParams]:
    """``gymnax.make`` for gymnasium's tabular environments: ``(env, params)``.

    Args:
      env_id: a gymnasium id, e.g. ``"FrozenLake-v1"``.
      discount: discount of ``info["action_values"]`` (``Q*``).
      **kwargs: passed to ``gymnasium.make`` (``is_slippery``, ``desc``,
        ``max_episode_steps``, ...).

    Raises:
      ValueError: for an unknown id, or an environment without a ``P`` table.
    """
    import gymnasium  # here, not at the top: importing gymnasium is slow

    supported = (
        "only toy-text environments with a P table are supported for now, e.g. "
        + ", ".join(_EXAMPLE_IDS)
    )
    try:
        env = gymnasium.make(env_id, **kwargs)
    except gymnasium.error.UnregisteredEnv as error:
        message = f"unknown environment id {env_id!r} ({error}); {supported}."
        raise ValueError(message) from error
    env.close()  # the tables are all we need
    if not hasattr(env.unwrapped, "P"):
        raise ValueError(f"{env_id!r} has no transition table `P`: {supported}.")
    tabular = TabularEnv.from_gymnasium(env, discount=discount)
    return tabular, tabular.default_params


def _dense_tables(table: Any, name: str) -> tuple[np.ndarray, ...]:
    """``[S, A, K]`` probs, next states, rewards, terminated from ``P[s][a]``.

    Outcomes with the same ``(next_state, reward, terminated)`` are merged (a
    slippery corner of FrozenLake lists "stay" twice) and zero-probability ones
    dropped; padding is "stay in ``s``" with probability 0.
    """
    num_states, num_actions = len(table), len(table[0])
    rows = []  # one list of (next_state, reward, terminated, prob) per (s, a)
    for s in range(num_states):
        for a in range(num_actions):
            merged: dict[tuple[int, float, bool], float] = {}
            for prob, next_state, reward, term in table[s][a]:
                if prob > 0:
                    key = (int(next_state), float(reward), bool(term))
                    merged[key] = merged.get(key, 0.0) + float(prob)
            if abs(sum(merged.values()) - 1.0) > 1e-6 or not all(
                0 <= key[0] < num_states for key in merged
            ):
                raise ValueError(f"{name}: P[{s}][{a}] is no distribution of states.")
            rows.append([(*key, prob) for key, prob in merged.items()])
    width = max(map(len, rows))
    padded = [
        row + [(i // num_actions, 0.0, False, 0.0)] * (width - len(row))
        for i, row in enumerate(rows)
    ]
    values = np.array(padded, np.float64).reshape(num_states, num_actions, width, 4)
    next_states, rewards, terminated, probs = np.moveaxis(values, -1, 0)
    return probs, next_states.astype(np.int32), rewards, terminated.astype(bool)


def _time_limit(env: Any) -> int | None:
    """The smallest ``TimeLimit`` among the wrappers of ``env`` (None without one)."""
    from gymnasium.wrappers import TimeLimit

    limits = []
    while env is not None:
        if isinstance(env, TimeLimit):
            limits.append(env._max_episode_steps)  # gymnasium has no public getter
        env = getattr(env, "env", None)
    return min(limits, default=None)


def _grid(unwrapped: Any, num_states: int) -> tuple[Any, tuple[str, ...] | None]:
    """``(grid_shape, desc)`` of a grid world whose states are ``row * cols + col``."""
    desc = getattr(unwrapped, "desc", None)
    if desc is not None and np.asarray(desc).size == num_states:  # FrozenLake's map
        letters = np.asarray(desc, dtype="c")
        return letters.shape, tuple(b"".join(row).decode() for row in letters)
    shape = getattr(unwrapped, "shape", None)  # CliffWalking; Taxi has neither
    if shape is None or len(shape) != 2 or int(np.prod(shape)) != num_states:
        return None, None
    return (int(shape[0]), int(shape[1])), None
