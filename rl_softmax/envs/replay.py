"""A gymnasium environment's state, kept as how its episode began and the actions since.

A gymnasium environment cannot be saved in general (LunarLander's Box2D world
cannot be pickled), but a gymnasium environment is a deterministic function of
its random generator (``np_random``) and the actions it is given: the episode
under way is the reset it began with, drawn from ``np_random`` in the state it had
then (or from the seed of a seeded reset), followed by its actions. So a host
study's checkpoint keeps, per environment, that beginning (:class:`RecordResets`
remembers it at every reset, including the vector env's autoresets) and the
episode's actions (the host loop has them), and a resumed study rebuilds every
environment by :func:`restore`: a reset from the same beginning and the same
actions again, at most one episode's steps.

An environment whose randomness is not all in ``np_random`` (a global generator,
a simulator with its own, as ale-py's) would come back in another state; so the
rebuilt environment is checked against the saved one, its generator's state and
its observation, and a mismatch is reported rather than resumed from.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["RecordResets", "restore", "snapshot"]


class RecordResets(gym.Wrapper):
    """Remembers how the latest episode began (``began``): the seed of a seeded
    reset, else the state of ``np_random`` just before the reset drew from it."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.began: int | dict[str, Any] | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self.began = int(seed)
        else:
            self.began = self.unwrapped.np_random.bit_generator.state
        return super().reset(seed=seed, options=options)


def snapshot(env: RecordResets) -> dict[str, Any]:
    """What :func:`restore` needs beside the actions (JSON-able): how the episode
    began and the generator's state now (to check the rebuilt environment)."""
    return {"began": env.began, "rng": env.unwrapped.np_random.bit_generator.state}


def restore(
    env: RecordResets, saved: dict[str, Any], actions: np.ndarray
) -> tuple[Any, str | None]:
    """Rebuilds ``env`` from a :func:`snapshot` and the episode's actions since.

    Returns:
      ``(observation, problem)``: the observation after the last action, and None,
      or a sentence saying why the rebuilt environment is not the saved one.
    """
    began = saved["began"]
    if isinstance(began, int):
        obs, _ = env.reset(seed=began)
    else:
        try:
            env.unwrapped.np_random.bit_generator.state = began
        except (TypeError, ValueError) as err:
            return None, f"its generator cannot take the saved state ({err})"
        obs, _ = env.reset()
    for i, action in enumerate(actions):
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            return obs, f"its episode ended at step {i + 1} of {len(actions)} replayed"
    if env.unwrapped.np_random.bit_generator.state != saved["rng"]:
        return obs, "its random generator is not in the saved state after the replay"
    return obs, None
