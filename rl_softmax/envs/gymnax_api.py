"""``from_gymnax(env, params)``: a gymnax-API environment under this package's contract.

A gymnax environment resets inside its public ``step`` (and returns, since gymnax
1.0, ``(obs, state, reward, terminated, truncated, info)``; before 1.0,
``(obs, state, reward, done, info)``). The engine here resets itself, on the same
step, and needs the observation the step produced even when the episode ended
there (a truncated step bootstraps from it). So the adapter calls the step that
every gymnax environment defines underneath, ``step_env(key, state, action,
params) -> (obs, state, reward, terminated, info)``, which does not reset, and
``reset_env(key, params)``. Nothing is stepped or reset twice.

``terminated`` and ``truncated`` follow gymnasium's meaning:

* gymnax 1.0 and later: ``terminated`` is ``step_env``'s flag and ``truncated`` is
  ``env.is_truncated(state, params)`` (the time limit), as gymnax's own ``step``
  computes them;
* an environment without ``is_truncated`` (gymnax before 1.0): its ``done``
  includes the time limit and cannot be split, so every end is ``terminated`` and
  no bootstrap is taken from a time-limit end, as gymnax's own ``discount`` did.

``info`` keeps the keys the engine reads (``"action_values"``, ``"success"``);
the rest of gymnax's ``info`` is dropped. The action space must be discrete
(``action_space(params).n``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from rl_softmax.envs.base import Environment

__all__ = ["GymnaxEnv", "from_gymnax"]

_INFO_KEYS = ("action_values", "success")


@dataclasses.dataclass(frozen=True, eq=False)
class GymnaxEnv(Environment):
    """A gymnax-API environment seen through :class:`~rl_softmax.envs.Environment`.

    Build it with :func:`from_gymnax`. ``params`` are the gymnax environment's
    parameters (its ``EnvParams``); the engine passes them back to every call.

    Attributes:
      env: the gymnax-API environment.
      params: its parameters, the default of :attr:`default_params`.
      num_actions: ``env.action_space(params).n``.
      splits_time_limit: the environment has ``is_truncated`` (gymnax 1.0), so a
        time-limit end is ``truncated``, not ``terminated``.
    """

    env: Any
    params: Any
    num_actions: int
    splits_time_limit: bool

    @property
    def default_params(self) -> Any:
        return self.params

    def reset(self, key: jax.Array, params: Any) -> tuple[Any, Any]:
        return self.env.reset_env(key, params)

    def step(self, key: jax.Array, state: Any, action: jax.Array, params: Any):
        obs, state, reward, done, info = self.env.step_env(key, state, action, params)
        done = jnp.asarray(done, bool)
        if self.splits_time_limit:
            truncated = jnp.asarray(self.env.is_truncated(state, params), bool)
        else:
            truncated = jnp.zeros((), bool)
        reward = jnp.asarray(reward, jnp.float32)
        kept = {k: info[k] for k in _INFO_KEYS if k in info}
        return obs, state, reward, done, truncated, kept


def from_gymnax(env: Any, params: Any = None) -> GymnaxEnv:
    """Adapts a gymnax-API environment (see the module docstring).

    Args:
      env: an environment with gymnax's methods ``step_env``, ``reset_env`` and
        ``action_space(params)`` (a discrete space with ``n``); ``is_truncated`` is
        used when present.
      params: its parameters; None takes ``env.default_params``.

    Returns:
      a :class:`GymnaxEnv` for :func:`rl_softmax.engine.make_run` and
      :func:`rl_softmax.engine.make_rollout_run`.

    Raises:
      TypeError: ``env`` lacks one of gymnax's methods, or its action space is not
        discrete.
    """
    name = type(env).__name__
    missing = [m for m in ("step_env", "reset_env", "action_space") if not callable(
        getattr(env, m, None)
    )]  # fmt: skip
    if missing:
        raise TypeError(
            f"from_gymnax: {name} has no {', '.join(missing)}; expected a gymnax-API "
            "environment (step_env, reset_env, action_space(params))."
        )
    if params is None:
        params = env.default_params
    space = env.action_space(params)
    num_actions = getattr(space, "n", None)
    if not isinstance(num_actions, int) or isinstance(num_actions, bool):
        raise TypeError(
            f"from_gymnax: {name}.action_space(params) is {type(space).__name__}; "
            "expected a discrete space with an integer n (softmax needs discrete "
            "actions)."
        )
    if num_actions < 2:
        raise ValueError(
            f"from_gymnax: {name} has {num_actions} action; expected at least 2."
        )
    return GymnaxEnv(
        env=env,
        params=params,
        num_actions=num_actions,
        splits_time_limit=callable(getattr(env, "is_truncated", None)),
    )
