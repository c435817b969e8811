"""Any gymnasium environment with discrete actions, stepped on the host.

:func:`make_host` describes a registered gymnasium id (``LunarLander-v3``, a
custom environment, or one that also has a JAX port) as a :class:`HostEnv`: its
action count, its observation space and a factory of gymnasium vector environments
that reset on the same step (gymnasium's ``AutoresetMode.SAME_STEP``), so the
transitions a learner sees are shaped exactly as on the JAX path: the step that
ends an episode returns its reward and, in ``info["final_obs"]``, the true final
observation, and the next action starts from a reset state.
:func:`rl_softmax.engine.host.host_sweep` drives it with a jitted agent.

A :class:`HostEnv` also keeps what the final policy's evaluation needs: the
registered time limit (``max_steps``) and ``reward_threshold``, and, for a toy-text
environment with a transition table ``P``, the table itself as a
:class:`~rl_softmax.envs.tabular.TabularEnv` (:meth:`HostEnv.table`), which scores a
tabular policy exactly.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["HostEnv", "make_host"]


@dataclasses.dataclass(frozen=True)
class HostEnv:
    """A gymnasium id, stepped on the host.

    Attributes:
      env_id: the registered id.
      kwargs: what ``gymnasium.make`` takes for it.
      num_actions: size of its ``Discrete`` action space.
      num_states: size of its ``Discrete`` observation space, or None (``Box``).
      obs_shape: shape of one observation (``()`` for a discrete one).
      obs_dtype: ``int32`` for a discrete observation, ``float32`` for a box.
      max_steps: its time limit (gymnasium's ``TimeLimit``), or None.
      reward_threshold: the mean return that counts as solved (gymnasium's
        registration), or None.
    """

    env_id: str
    kwargs: tuple[tuple[str, Any], ...]
    num_actions: int
    num_states: int | None
    obs_shape: tuple[int, ...]
    obs_dtype: Any
    max_steps: int | None = None
    reward_threshold: float | None = None
    episodic = True
    backend = "host"

    def vector(self, num_envs: int, *, record: bool = False):
        """``num_envs`` copies as one gymnasium vector env with same-step autoreset
        (synchronous: every environment id supports it); with ``record``, each
        remembers how its episode began
        (:class:`~rl_softmax.envs.replay.RecordResets`), so that it can be
        rebuilt from a checkpoint."""
        import gymnasium as gym

        wrappers = None
        if record:
            from rl_softmax.envs.replay import RecordResets

            wrappers = [RecordResets]
        return gym.make_vec(
            self.env_id, num_envs=num_envs, vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
            wrappers=wrappers, **dict(self.kwargs),
        )  # fmt: skip

    def table(self):
        """The environment's transition table ``P`` as a
        :class:`~rl_softmax.envs.tabular.TabularEnv`, or None if it has none (or
        acts outside it, as Taxi's ``fickle_passenger``)."""
        if self.num_states is None:
            return None
        from rl_softmax.envs import tabular

        try:
            return tabular.make(self.env_id, **dict(self.kwargs))[0]
        except ValueError:
            return None

    def as_obs(self, obs: Any) -> np.ndarray:
        """A batch of gymnasium observations as the array the agent sees."""
        return np.asarray(obs, self.obs_dtype).reshape(-1, *self.obs_shape)


def make_host(env_id: str, **kwargs: Any) -> HostEnv:
    """A :class:`HostEnv` for a registered gymnasium id.

    Raises:
      ValueError: the id is not registered (with close names), a dependency it
        needs is missing (naming what to install), or its spaces are not
        supported (a ``Discrete`` action space; a ``Discrete`` or ``Box``
        observation space).
    """
    import gymnasium as gym
    from gymnasium import spaces

    if env_id not in gym.registry:
        import difflib

        close = difflib.get_close_matches(env_id, list(gym.registry), n=3)
        hint = f" Close: {', '.join(close)}." if close else ""
        raise ValueError(f"{env_id!r} is not a registered gymnasium id.{hint}")
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.DependencyNotInstalled as err:
        raise ValueError(
            f"{env_id} needs a package that is not installed ({err}); for Box2D "
            "environments: pip install 'rl_softmax[box2d]'."
        ) from None
    except TypeError as err:
        raise ValueError(f"{env_id}: {err}") from None
    try:
        action_space, observation_space = env.action_space, env.observation_space
        spec = env.spec
    finally:
        env.close()
    if not isinstance(action_space, spaces.Discrete) or action_space.start != 0:
        raise ValueError(
            f"{env_id} has the action space {action_space}; the host loop supports "
            "Discrete(n) actions numbered from 0 (softmax over n actions)."
        )
    if isinstance(observation_space, spaces.Discrete):
        num_states, shape, dtype = int(observation_space.n), (), np.int32
    elif isinstance(observation_space, spaces.Box):
        num_states, shape, dtype = None, tuple(observation_space.shape), np.float32
    else:
        raise ValueError(
            f"{env_id} has the observation space {observation_space}; the host loop "
            "supports Discrete (tabular agents) and Box (policy networks)."
        )
    threshold = None if spec is None else spec.reward_threshold
    return HostEnv(
        env_id, tuple(sorted(kwargs.items())), int(action_space.n), num_states,
        shape, dtype, None if spec is None else spec.max_episode_steps,
        None if threshold is None else float(threshold),
    )  # fmt: skip
