"""The host loop's vector environment: stepped in this process or on every core.

:func:`make_vector` builds what :func:`rl_softmax.engine.host.host_sweep` steps: with
``processes=0`` gymnasium's synchronous vector env
(:meth:`rl_softmax.envs.host.HostEnv.vector`), with ``processes=k`` the same
environments dealt into ``k`` groups, each a synchronous vector env, all stepped at
once: the first by this process, the others by ``k - 1`` worker
processes (this process would otherwise wait idle on a core while they step).
Every environment is the same gymnasium environment, seeded the same and given the
same actions, and the same-step autoreset runs per environment, so the results are
bit-identical to the synchronous vector env's: the choice changes the speed, never
a number.

Why groups and not gymnasium's ``AsyncVectorEnv``: gymnasium 1.4 starts one process
per environment (``max_concurrency`` bounds how many step at once, not how many
processes exist), and the host loop steps values x seeds x ``num_envs``
environments (96 for ``lunarlander_host``): one process per core, each stepping its
share in a loop, costs two messages per worker and step instead of two per
environment. The workers are started as fresh interpreters running this file
(``python -P``: as a script, so that importing :mod:`rl_softmax.engine` and with it
JAX is not the price of every worker; ``-P`` keeps this directory off the module
path), not by ``multiprocessing``: forking a process that runs JAX's threads can
deadlock, and ``spawn`` would import the caller's ``__main__`` again. Messages are
pickles over the worker's stdin and stdout (the observations are small; no shared
memory is needed).

:func:`choose_vector` turns ``[env] vector`` (:data:`VECTOR_MODES`) into a number of
processes: ``"sync"`` none, ``"async"`` one per core, this one included (at most one
per environment),
``"auto"`` async when one step of the environment costs more than
:data:`ASYNC_STEP_SECONDS` (timed on a single environment, :func:`step_seconds`) and
the machine has more than one core.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
import time
import traceback
from typing import Any

import numpy as np

__all__ = [
    "ASYNC_STEP_SECONDS",
    "VECTOR_MODES",
    "VectorChoice",
    "choose_vector",
    "make_vector",
    "restore",
    "snapshot",
    "step_seconds",
    "step_some",
]

VECTOR_MODES = ("auto", "sync", "async")
"""``[env] vector``: choose by the step's cost, this process, or worker processes."""

ASYNC_STEP_SECONDS = 30e-6
"""``"auto"`` steps in worker processes above this cost of one environment step.

One environment of a one-environment sync vector env, random actions
(:func:`step_seconds`), measured on 2 shared cores: FrozenLake-v1 17 µs, Taxi-v4
20, CartPole-v1 15 (gymnasium's bookkeeping is most of it), Acrobot-v1 42,
LunarLander-v3 44 (the physics is). Below the threshold the messages to the workers
cost about what the steps they share out save."""

_TIMED_STEPS = 300


@dataclasses.dataclass(frozen=True)
class VectorChoice:
    """How the host loop steps its environments.

    Attributes:
      requested: the ``[env] vector`` asked for (:data:`VECTOR_MODES`).
      processes: processes stepping a group of the environments, this one
        included (0: this process alone, gymnasium's sync vector env).
      step_seconds: the measured cost of one environment step (``"auto"`` only).
    """

    requested: str
    processes: int
    step_seconds: float | None = None

    @property
    def mode(self) -> str:
        """``"sync"`` or ``"async"``: what ran."""
        return "async" if self.processes else "sync"

    def as_info(self) -> dict[str, Any]:
        """What the metadata records."""
        info = {"vector": self.mode, "requested": self.requested}
        info["processes"] = self.processes
        if self.step_seconds is not None:
            info["step_microseconds"] = round(self.step_seconds * 1e6, 2)
            info["threshold_microseconds"] = ASYNC_STEP_SECONDS * 1e6
        return info


def step_seconds(env, num_steps: int = _TIMED_STEPS) -> float:
    """Seconds per step of one of ``env``'s gymnasium environments (resets
    included), the best of three timings of ``num_steps`` steps of random actions."""
    vector = env.vector(1)
    try:
        vector.reset(seed=0)
        rng = np.random.default_rng(0)
        actions = rng.integers(0, env.num_actions, (num_steps, 1))
        best = np.inf
        for _ in range(3):
            start = time.perf_counter()
            for action in actions:
                vector.step(action)
            best = min(best, (time.perf_counter() - start) / num_steps)
    finally:
        vector.close()
    return float(best)


def choose_vector(
    env, mode: str, num_envs: int, *, cores: int | None = None
) -> VectorChoice:
    """The :class:`VectorChoice` for ``[env] vector = mode`` and ``num_envs``
    environments (``cores``: default ``os.cpu_count()``)."""
    if mode not in VECTOR_MODES:
        raise ValueError(f"vector={mode!r}: expected one of {list(VECTOR_MODES)}.")
    cores = (os.cpu_count() or 1) if cores is None else cores
    processes = max(1, min(cores, num_envs))
    if mode == "sync":
        return VectorChoice(mode, 0)
    if mode == "async":
        return VectorChoice(mode, processes)
    cost = step_seconds(env)
    parallel = cost > ASYNC_STEP_SECONDS and cores > 1 and num_envs > 1
    return VectorChoice(mode, processes if parallel else 0, cost)


def make_vector(env, num_envs: int, processes: int = 0, *, record: bool = False):
    """``num_envs`` copies of ``env`` (a :class:`~rl_softmax.envs.host.HostEnv`)
    with same-step autoreset, stepped here (``processes=0``) or by ``processes``
    workers; either way ``reset(seed=[...])``, ``step(actions)`` and ``close()``
    as gymnasium's vector envs. With ``record``, :func:`snapshot` and
    :func:`restore` save and rebuild the environments' state."""
    if processes == 0:
        return env.vector(num_envs, record=record)
    return _Workers(env, num_envs, processes, record)


def snapshot(vector) -> list[dict[str, Any]]:
    """Every environment's :func:`rl_softmax.envs.replay.snapshot` (a vector made
    with ``record=True``)."""
    if isinstance(vector, _Workers):
        return vector.snapshot()
    from rl_softmax.envs import replay

    return [replay.snapshot(e) for e in vector.envs]


def restore(
    vector, saved: list[dict[str, Any]], actions: list[np.ndarray]
) -> tuple[list[Any], list[str | None]]:
    """Rebuilds every environment from its :func:`snapshot` and its episode's
    ``actions`` (:func:`rl_softmax.envs.replay.restore`); returns their
    observations and problems (None where rebuilt exactly)."""
    if isinstance(vector, _Workers):
        return vector.restore(saved, actions)
    return _restore(vector, saved, actions)


def step_some(
    vector, indices: np.ndarray, actions: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Steps only the environments ``indices`` (ascending) with their ``actions``,
    each on its own, without an autoreset: ``(obs, reward, terminated,
    truncated)`` of those, e.g. evaluation episodes still under way while the
    ended ones wait."""
    if isinstance(vector, _Workers):
        return vector.step_some(indices, actions)
    return _step_some(vector, indices, actions)


def _step_some(vector, indices, actions):
    stepped = [vector.envs[i].step(a) for i, a in zip(indices, actions, strict=True)]
    if not stepped:
        return (np.zeros((0, *vector.single_observation_space.shape)),) + tuple(
            np.zeros(0, t) for t in (np.float64, bool, bool)
        )
    obs, reward, terminated, truncated, _ = zip(*stepped, strict=True)
    return (
        np.stack(obs), np.asarray(reward, np.float64), np.asarray(terminated, bool),
        np.asarray(truncated, bool),
    )  # fmt: skip


def _restore(vector, saved, actions):
    from rl_softmax.envs import replay

    rebuilt = [
        replay.restore(e, s, a)
        for e, s, a in zip(vector.envs, saved, actions, strict=True)
    ]
    return [obs for obs, _ in rebuilt], [problem for _, problem in rebuilt]


class _Workers:
    """``num_envs`` environments dealt round-robin into ``processes`` groups (the
    ``k``-th environment to group ``k % processes``): the first stepped in this
    process while the workers step the others. Dealt, not cut into contiguous
    blocks: neighbouring environments belong to the same run, and runs of one value
    end their episodes at similar times, so a block could hold most of the episodes
    still under way (the final policy's evaluation steps only those) and leave the
    other processes idle."""

    def __init__(self, env, num_envs: int, processes: int, record: bool = False):
        self.num_envs = num_envs
        self._groups = [np.arange(p, num_envs, processes) for p in range(processes)]
        self._groups = [g for g in self._groups if g.size]
        # each environment's group and its index in that group
        self._owner = np.empty(num_envs, np.intp)
        self._local = np.empty(num_envs, np.intp)
        for g, group in enumerate(self._groups):
            self._owner[group] = g
            self._local[group] = np.arange(group.size)
        path = os.pathsep.join(p for p in sys.path if p)  # the caller's modules
        self._workers = []
        self._here = env.vector(self._groups[0].size, record=record)
        try:
            for group in self._groups[1:]:
                worker = subprocess.Popen(
                    [sys.executable, "-P", __file__], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": path},
                )  # fmt: skip
                self._workers.append(worker)
                self._send(worker, (env, int(group.size), record))
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _send(worker, message) -> None:
        pickle.dump(message, worker.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        worker.stdin.flush()

    def _call(self, command: str, data: list) -> list:
        """Sends every worker its share, does the first share here, then collects
        the workers' replies: the groups step at the same time."""
        for worker, share in zip(self._workers, data[1:], strict=True):
            self._send(worker, (command, share))
        replies = [_answer(self._here, command, data[0])]
        for worker in self._workers:
            try:
                ok, reply = pickle.load(worker.stdout)
            except EOFError:
                raise RuntimeError(
                    f"a host worker process exited (code {worker.wait()}); its "
                    "error is above. Set [env] vector = 'sync' to step here."
                ) from None
            if not ok:
                raise RuntimeError(f"in a host worker process:\n{reply}")
            replies.append(reply)
        return replies

    @staticmethod
    def _merged(parts, places) -> np.ndarray:
        """The groups' arrays ``parts`` put back in environment order:
        ``parts[g]`` holds the environments ``places[g]``."""
        # the dtype of a non-empty part: an empty share's reply may be float64
        like = next((p for p in parts if len(p)), parts[0])
        out = np.empty((sum(len(p) for p in parts), *like.shape[1:]), like.dtype)
        for part, place in zip(parts, places, strict=True):
            out[place] = part
        return out

    def _merged_lists(self, parts) -> list:
        out = [None] * self.num_envs
        for part, group in zip(parts, self._groups, strict=True):
            for index, item in zip(group, part, strict=True):
                out[index] = item
        return out

    def reset(self, *, seed: list[int]):
        seeds = [[seed[i] for i in group] for group in self._groups]
        return self._merged(self._call("reset", seeds), self._groups), {}

    def step(self, actions):
        actions = np.asarray(actions)
        replies = self._call("step", [actions[group] for group in self._groups])
        obs, reward, terminated, truncated, ended, final = zip(*replies, strict=True)
        final_obs = np.full(self.num_envs, None, dtype=object)
        for group, done, rows in zip(self._groups, ended, final, strict=True):
            if rows is not None:
                for index, row in zip(group[done], rows, strict=True):
                    final_obs[index] = row
        ended = self._merged(ended, self._groups)
        info = {"final_obs": final_obs, "_final_obs": ended}
        return tuple(
            self._merged(part, self._groups)
            for part in (obs, reward, terminated, truncated)
        ) + (info,)

    def snapshot(self) -> list[dict[str, Any]]:
        return self._merged_lists(self._call("snapshot", [None] * len(self._groups)))

    def restore(self, saved, actions):
        shares = [
            ([saved[i] for i in group], [actions[i] for i in group])
            for group in self._groups
        ]
        obs, problems = zip(*self._call("restore", shares), strict=True)
        return self._merged_lists(obs), self._merged_lists(problems)

    def step_some(self, indices, actions):
        owner = self._owner[indices]
        places = [np.flatnonzero(owner == g) for g in range(len(self._groups))]
        shares = [(self._local[indices[p]], actions[p]) for p in places]
        replies = self._call("step_some", shares)
        return tuple(self._merged(part, places) for part in zip(*replies, strict=True))

    def close(self) -> None:
        self._here.close()
        for worker in self._workers:
            try:
                self._send(worker, None)
                worker.stdin.close()
                worker.wait(timeout=10)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                worker.kill()
        self._workers = []


def _answer(vector, command: str, data: Any) -> Any:
    """A group's reply to a request: its sync vector env reset, stepped (what
    ended, with the final observations), snapshot or restored."""
    if command == "reset":
        return vector.reset(seed=data)[0]
    if command == "snapshot":
        return snapshot(vector)
    if command == "restore":
        return _restore(vector, *data)
    if command == "step_some":
        return _step_some(vector, *data)
    obs, reward, terminated, truncated, info = vector.step(data)
    ended = np.asarray(info.get("_final_obs", np.zeros(vector.num_envs, bool)))
    final = np.stack(info["final_obs"][ended]) if ended.any() else None
    return obs, reward, terminated, truncated, ended, final


def _serve(inbox, outbox) -> None:
    """A worker: a sync vector env of its group, stepped on request."""
    env, num_envs, record = pickle.load(inbox)
    vector = env.vector(num_envs, record=record)
    try:
        while (message := _receive(inbox)) is not None:
            try:
                answer = (True, _answer(vector, *message))
            except Exception:
                answer = (False, traceback.format_exc())
            pickle.dump(answer, outbox, protocol=pickle.HIGHEST_PROTOCOL)
            outbox.flush()
    finally:
        vector.close()


def _receive(inbox) -> Any:
    """The next request; None to stop (also when the host loop is gone)."""
    try:
        return pickle.load(inbox)
    except EOFError:
        return None


if __name__ == "__main__":
    # replies go to a private copy of stdout; anything printed goes to stderr
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _serve(sys.stdin.buffer, replies)
