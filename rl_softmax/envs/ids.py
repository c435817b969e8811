"""``make(env_id, **kwargs)``: a JAX environment from a gymnasium id (``gymnax.make``).

Classic control (CartPole-v1, Acrobot-v1, MountainCar-v0) comes from
:mod:`rl_softmax.envs.classic`, JAX code with gymnasium's dynamics; every toy-text
environment with a transition table (FrozenLake, CliffWalking, Taxi, your own) from
:mod:`rl_softmax.envs.tabular`, built from the table itself. Any other gymnasium id
with discrete actions is described for the host loop (:mod:`rl_softmax.envs.host`).
"""

from __future__ import annotations

from typing import Any

from rl_softmax.envs import classic, host, tabular

__all__ = ["BACKENDS", "make"]


BACKENDS = ("auto", "jax", "host")


def make(env_id: str, backend: str = "auto", **kwargs: Any) -> tuple[Any, Any]:
    """``(env, params)`` for a gymnasium id and ``gymnasium.make``'s keywords.

    Args:
      env_id: e.g. ``"CartPole-v1"``, ``"FrozenLake-v1"`` or ``"LunarLander-v3"``.
      backend: ``"jax"`` (a JAX environment, or an error), ``"host"`` (gymnasium's
        own environment for :mod:`rl_softmax.engine.host`, params None) or
        ``"auto"``: the JAX environment where one exists, else the host one.
      **kwargs: what ``gymnasium.make`` takes for that id (``max_episode_steps``,
        ``is_slippery``, ...); classic control also takes any field of its params
        (``gravity``), toy text our ``discount`` (of its exact action values).

    Raises:
      ValueError: an id neither family has (with ``backend="jax"``, or not
        registered in gymnasium), a keyword the environment lacks, or spaces the
        host loop does not support.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r}: expected one of {list(BACKENDS)}.")
    if backend == "host":
        return host.make_host(env_id, **kwargs), None
    if env_id in classic.IDS:
        return classic.make(env_id, **kwargs)
    if backend == "auto" and _host_only(env_id):
        return host.make_host(env_id, **kwargs), None
    try:
        return tabular.make(env_id, **kwargs)
    except ValueError as error:
        raise ValueError(
            f"{error} Classic control in JAX: {', '.join(sorted(classic.IDS))}."
        ) from None


def _host_only(env_id: str) -> bool:
    """Whether gymnasium registers ``env_id`` but it has no JAX port: not classic
    control and no transition table ``P``."""
    import gymnasium  # here, not at the top: importing gymnasium is slow

    if env_id not in gymnasium.registry:
        return False  # tabular.make names the unknown id
    try:
        env = gymnasium.make(env_id)
    except (gymnasium.error.Error, ImportError):  # a missing dependency:
        return True  # the host path names what to install
    try:
        return not hasattr(env.unwrapped, "P")
    finally:
        env.close()
