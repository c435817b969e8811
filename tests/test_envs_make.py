"""``rl_softmax.envs.make``: a gymnasium id gives the matching JAX environment, with
gymnasium's keywords and its registered time limit."""

from __future__ import annotations

import gymnasium
import pytest

from rl_softmax import envs


@pytest.mark.parametrize(
    ("env_id", "env_type"),
    [("CartPole-v1", envs.CartPole), ("Acrobot-v1", envs.Acrobot),
     ("MountainCar-v0", envs.MountainCar), ("FrozenLake-v1", envs.TabularEnv),
     ("Taxi-v4", envs.TabularEnv)],
)  # fmt: skip
def test_make_builds_the_environment_with_gymnasiums_limit_and_actions(
    env_id, env_type
):
    env, params = envs.make(env_id)
    reference = gymnasium.make(env_id)
    assert isinstance(env, env_type)
    assert env.max_steps == reference.spec.max_episode_steps
    assert env.num_actions == reference.action_space.n
    assert params == env.default_params


def test_classic_keywords_set_the_limit_and_the_params():
    env, params = envs.make("MountainCar-v0", max_episode_steps=50, goal_velocity=0.01)
    assert env.max_steps == 50 and params.goal_velocity == 0.01
    assert params._replace(goal_velocity=0.0) == env.default_params
    env, params = envs.make("CartPole-v1", gravity=3.7)
    assert params.gravity == 3.7 and env.max_steps == 500


def test_make_refuses_what_it_cannot_build_by_name():
    with pytest.raises(ValueError, match=r"unknown keyword\(s\) \['gravty'\]"):
        envs.make("CartPole-v1", gravty=1.0)
    with pytest.raises(ValueError, match="unknown environment id 'Nope-v0'"):
        envs.make("Nope-v0")
    with pytest.raises(ValueError, match="CartPole-v1, MountainCar-v0"):
        envs.make("Pendulum-v1", backend="jax")  # continuous actions, no table
    with pytest.raises(ValueError, match="action space Box"):
        envs.make("Pendulum-v1")  # nor can the host loop run it
    with pytest.raises(ValueError, match="backend='gpu'"):
        envs.make("CartPole-v1", backend="gpu")


def test_make_falls_back_to_the_host_loop_where_no_jax_port_exists():
    env, params = envs.make("CartPole-v0")  # the 200-step CartPole: no port
    assert isinstance(env, envs.host.HostEnv) and params is None
    assert env.env_id == "CartPole-v0" and env.num_actions == 2
    assert env.obs_shape == (4,) and env.num_states is None
    lake, _ = envs.make("FrozenLake-v1", backend="host", is_slippery=False)
    assert isinstance(lake, envs.host.HostEnv) and lake.num_states == 16
    assert lake.kwargs == (("is_slippery", False),)
    ported, params = envs.make("CartPole-v1")
    assert isinstance(ported, envs.CartPole) and params is not None
