"""The agent interface shared by every agent: ``(init, act, update)``, pure."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

__all__ = ["Agent"]


class Agent(NamedTuple):
    """A pure agent.

    Attributes:
      init: ``(key, params) -> state``.
      act: ``(key, state, params) -> (action, probs)``; ``probs`` is the
        ``[num_actions]`` distribution the action was drawn from (NaN where it has no
        closed form, as for Boltzmann-Gumbel exploration).
      update: ``(state, action, reward, params) -> state``.
      default_params: parameters to start from (``_replace`` the swept one).
      num_actions: size of the action space.
      temperature: ``(state, params) -> tau`` the policy's current temperature
        (0 for greedy rules), or None when the policy has none; reported as a metric.
    """

    init: Callable
    act: Callable
    update: Callable
    default_params: NamedTuple
    num_actions: int
    temperature: Callable | None = None
