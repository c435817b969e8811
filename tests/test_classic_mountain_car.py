"""Tests for rl_softmax/envs/classic/mountain_car.py against gymnasium's MountainCar-v0.

References: ``gymnasium.make("MountainCar-v0")`` (with its ``TimeLimit``) stepped beside
ours with the same actions, episodes ending by reaching the flag and by the time
limit; gymnasium's unwrapped ``MountainCarEnv`` with one constant changed; the
closed-form mean and variance of the uniform start position, within ``NUM_SE``
standard errors.

Tolerances: in float64 (``jax.enable_x64``) our state equals gymnasium's
``env.unwrapped.state`` to ``X64_ATOL`` over whole episodes without resyncing
(measured: bit-identical, XLA's float64 cosine agrees with ``math.cos``), and our
observation cast to float32 equals gymnasium's float32 observation. In float32 we
step from gymnasium's exact state cast to float32 (resynced every step) and match
its next state within ``F32_RTOL`` / ``F32_ATOL`` (measured max abs diff: position
~1.1e-7, velocity ~5.5e-9); steps whose float64 outcome lies within ``F32_NEAR`` of a
clip, wall or goal threshold may fall on the other side in float32 and are left
out of the exact flag comparison (there are none at these seeds).
"""

from __future__ import annotations

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.envs.classic_control.mountain_car import MountainCarEnv

from rl_softmax.envs.classic.mountain_car import (
    MountainCar,
    MountainCarParams,
    MountainCarState,
)

ENV_ID = "MountainCar-v0"
SEED = 0
NUM_EPISODES = 40
# Chance of a random action per episode, cycled: 0 reaches the flag in ~100 steps,
# 1 (uniform random) is always truncated at 200.
EPSILONS = (0.0, 0.1, 0.3, 1.0)
X64_ATOL = 1e-12
F32_RTOL = 1e-5
F32_ATOL = 1e-7
F32_NEAR = 1e-5
NUM_SE = 4.5
NUM_RESETS = 200_000


def _heuristic(velocity: float) -> int:
    """Push along the velocity (Sutton & Barto's energy-pumping policy)."""
    return 2 if velocity >= 0 else 0


def _side_by_side(*, resync: bool) -> dict[str, np.ndarray]:
    """Steps ours and gymnasium's MountainCar-v0 with the same actions.

    Both start every episode from our reset state (gymnasium's state is overwritten
    after its own ``reset``, which also restarts its ``TimeLimit``). With
    ``resync``, ours steps from gymnasium's exact state of every step (cast to our
    dtype); without, the two run apart for the whole episode.

    Returns:
      per-step arrays: ours and gymnasium's next state ``[T, 2]`` and obs ``[T, 2]``,
      rewards, terminated, truncated, success, ``near`` (the float64 outcome is
      within ``F32_NEAR`` of a threshold), and ``episode``.
    """
    env = MountainCar()
    params = env.default_params
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    gym_env = gymnasium.make(ENV_ID)
    rng = np.random.default_rng(SEED)
    key = jax.random.key(SEED)
    rows: dict[str, list] = {
        name: []
        for name in (
            "state",
            "gym_state",
            "obs",
            "gym_obs",
            "reward",
            "gym_reward",
            "terminated",
            "gym_terminated",
            "truncated",
            "gym_truncated",
            "success",
            "near",
            "episode",
        )
    }
    for episode in range(NUM_EPISODES):
        key, key_reset = jax.random.split(key)
        _, state = reset(key_reset, params)
        gym_env.reset(seed=SEED + episode)
        gym_env.unwrapped.state = np.array([state.position, state.velocity], np.float64)
        epsilon = EPSILONS[episode % len(EPSILONS)]
        done = False
        while not done:
            before = np.array(gym_env.unwrapped.state, np.float64)
            explore = rng.random() < epsilon
            action = int(rng.integers(3)) if explore else _heuristic(before[1])
            if resync:
                dtype = state.position.dtype
                state = state._replace(
                    position=jnp.asarray(before[0], dtype),
                    velocity=jnp.asarray(before[1], dtype),
                )
            key, key_step = jax.random.split(key)
            obs, state, reward, terminated, truncated, info = step(
                key_step, state, action, params
            )
            gym_obs, gym_reward, gym_terminated, gym_truncated, _ = gym_env.step(action)
            after = np.array(gym_env.unwrapped.state, np.float64)
            values = {
                "state": [state.position, state.velocity],
                "gym_state": after,
                "obs": obs,
                "gym_obs": gym_obs,
                "reward": reward,
                "gym_reward": gym_reward,
                "terminated": terminated,
                "gym_terminated": gym_terminated,
                "truncated": truncated,
                "gym_truncated": gym_truncated,
                "success": info["success"],
                "near": _near_threshold(before, action, after, MountainCarEnv()),
                "episode": episode,
            }
            for name, value in values.items():
                rows[name].append(np.asarray(value))
            done = gym_terminated or gym_truncated
    gym_env.close()
    return {name: np.stack(value) for name, value in rows.items()}


def _near_threshold(before, action, after, constants) -> bool:
    """Whether a float32 rounding could put this step on the other side of a test.

    Recomputes gymnasium's unclipped float64 velocity and position from ``before``
    and checks them against the speed bound, both walls, the goal position and (at
    the goal) the goal velocity.
    """
    c = constants
    velocity = before[1] + (action - 1) * c.force - np.cos(3 * before[0]) * c.gravity
    position = before[0] + np.clip(velocity, -c.max_speed, c.max_speed)
    gaps = [
        abs(abs(velocity) - c.max_speed),
        abs(position - c.min_position),
        abs(position - c.max_position),
        abs(after[0] - c.goal_position),
    ]
    if after[0] >= c.goal_position - F32_NEAR:
        gaps.append(abs(after[1] - c.goal_velocity))
    return min(gaps) < F32_NEAR


@pytest.fixture(scope="module")
def x64_run():
    with jax.enable_x64(True):
        return _side_by_side(resync=False)


@pytest.fixture(scope="module")
def f32_run():
    return _side_by_side(resync=True)


def _assert_enough_episodes(run):
    """>= 3000 steps over >= 20 episodes, some reaching the flag, some truncated."""
    ends = run["gym_terminated"] | run["gym_truncated"]
    assert len(ends) >= 3000
    assert ends.sum() == NUM_EPISODES >= 20
    assert run["gym_terminated"].sum() >= 10
    assert (run["gym_truncated"] & ~run["gym_terminated"]).sum() >= 10


def test_x64_matches_gymnasium_without_resync(x64_run):
    run = x64_run
    _assert_enough_episodes(run)
    assert run["state"].dtype == run["obs"].dtype == np.float64
    np.testing.assert_allclose(run["state"], run["gym_state"], rtol=0, atol=X64_ATOL)
    np.testing.assert_array_equal(run["obs"], run["state"])
    # gymnasium returns its float64 state cast to float32.
    np.testing.assert_array_equal(run["obs"].astype(np.float32), run["gym_obs"])
    np.testing.assert_array_equal(run["reward"], run["gym_reward"])
    np.testing.assert_array_equal(run["terminated"], run["gym_terminated"])
    np.testing.assert_array_equal(run["truncated"], run["gym_truncated"])
    np.testing.assert_array_equal(run["success"], run["gym_terminated"])


def test_f32_one_step_matches_gymnasium(f32_run):
    run = f32_run
    _assert_enough_episodes(run)
    assert run["state"].dtype == run["obs"].dtype == np.float32
    far = ~run["near"]
    assert far.mean() > 0.99, f"{(~far).sum()} steps near a threshold"
    np.testing.assert_allclose(
        run["state"][far], run["gym_state"][far], rtol=F32_RTOL, atol=F32_ATOL
    )
    np.testing.assert_array_equal(run["obs"], run["state"])
    np.testing.assert_array_equal(run["reward"], run["gym_reward"])
    for flag in ("terminated", "truncated"):
        np.testing.assert_array_equal(run[flag][far], run[f"gym_{flag}"][far])
    np.testing.assert_array_equal(run["success"], run["terminated"])


def test_terminated_and_truncated_on_the_same_step():
    gym_env = gymnasium.make(ENV_ID, max_episode_steps=1)
    gym_env.reset(seed=SEED)
    gym_env.unwrapped.state = np.array([0.49, 0.05])
    _, _, gym_terminated, gym_truncated, _ = gym_env.step(2)
    assert gym_terminated and gym_truncated
    env = MountainCar(max_steps=1)
    state = MountainCarState(jnp.float32(0.49), jnp.float32(0.05), jnp.int32(0))
    *_, terminated, truncated, info = env.step(
        jax.random.key(SEED), state, 2, env.default_params
    )
    assert terminated and truncated and info["success"]


def test_defaults_are_gymnasiums():
    gym_env = gymnasium.make(ENV_ID)
    unwrapped = gym_env.unwrapped
    params = MountainCar().default_params
    for name in MountainCarParams._fields:
        if not name.startswith("reset_"):  # reset bounds are literals in reset()
            assert getattr(params, name) == getattr(unwrapped, name), name
    assert MountainCar().max_steps == gym_env.spec.max_episode_steps == 200
    assert MountainCar.num_actions == gym_env.action_space.n
    assert MountainCar.episodic


@pytest.mark.parametrize(
    "params",
    [MountainCarParams(), MountainCarParams(reset_low=-0.7, reset_high=0.5)],
    ids=["default", "custom"],
)
def test_reset_is_uniform_with_zero_velocity(params):
    keys = jax.random.split(jax.random.key(SEED), NUM_RESETS)
    obs, state = jax.jit(jax.vmap(MountainCar().reset, in_axes=(0, None)))(keys, params)
    position = np.asarray(state.position, np.float64)
    low, high = params.reset_low, params.reset_high
    assert (position >= low).all() and (position < high).all()
    assert (np.asarray(state.velocity) == 0).all() and (
        np.asarray(state.time) == 0
    ).all()
    np.testing.assert_array_equal(obs[:, 0], state.position)
    width = high - low
    variance = width**2 / 12
    mean_se = np.sqrt(variance / NUM_RESETS)
    # Var of the sample variance: (mu_4 - sigma^4) / n, mu_4 = width^4 / 80.
    variance_se = np.sqrt((width**4 / 80 - variance**2) / NUM_RESETS)
    assert abs(position.mean() - (low + high) / 2) < NUM_SE * mean_se
    assert abs(position.var() - variance) < NUM_SE * variance_se


@pytest.mark.parametrize("x64", [False, True], ids=["f32", "x64"])
def test_reset_and_step_plain_jit_vmap(x64):
    env = MountainCar()
    params = env.default_params
    batch = 5
    with jax.enable_x64(x64):
        float_dtype = jnp.zeros(()).dtype
        key_reset, key_step = jax.random.split(jax.random.key(SEED))
        keys = jax.random.split(key_reset, batch)
        actions = jnp.arange(batch, dtype=jnp.int32) % 3
        resets = {
            "plain": (env.reset(key_reset, params), ()),
            "jit": (jax.jit(env.reset)(key_reset, params), ()),
            "vmap": (jax.vmap(env.reset, in_axes=(0, None))(keys, params), (batch,)),
        }
        for how, ((obs, state), lead) in resets.items():
            assert obs.shape == (*lead, 2) and obs.dtype == float_dtype, how
            assert state.position.shape == state.velocity.shape == lead, how
            assert state.position.dtype == state.velocity.dtype == float_dtype, how
            assert state.time.shape == lead and state.time.dtype == jnp.int32, how
        plain_state = resets["plain"][0][1]
        batch_state = resets["vmap"][0][1]
        steps = {
            "plain": (env.step(key_step, plain_state, 2, params), ()),
            "jit": (jax.jit(env.step)(key_step, plain_state, 2, params), ()),
            "vmap": (
                jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                    keys, batch_state, actions, params
                ),
                (batch,),
            ),
        }
        for how, (
            (obs, state, reward, terminated, truncated, info),
            lead,
        ) in steps.items():
            assert obs.shape == (*lead, 2) and obs.dtype == float_dtype, how
            assert state.position.dtype == float_dtype, how
            assert state.time.dtype == jnp.int32 and (state.time == 1).all(), how
            assert reward.shape == lead and reward.dtype == float_dtype, how
            for flag in (terminated, truncated, info["success"]):
                assert flag.shape == lead and flag.dtype == jnp.bool_, how
        np.testing.assert_array_equal(steps["plain"][0][0], steps["jit"][0][0])


# One constant changed per case, on our params and on gymnasium's unwrapped env.
CHANGES = {
    "gravity": 0.004,
    "force": 0.002,
    "max_speed": 0.04,
    "min_position": -0.9,
    "max_position": 0.52,
    "goal_position": 0.3,
    "goal_velocity": 0.049,  # the pushed car arrives at ~0.048
}


def _unwrapped_run(params: MountainCarParams, num_steps: int = 300):
    """Ours and gymnasium's unwrapped env from position -0.5, pushing with velocity.

    Neither stops at termination, so every constant shows over the whole run.
    Returns ``(ours, gymnasium's)``, each ``[num_steps, 3]`` of position,
    velocity, terminated.
    """
    env = MountainCar(max_steps=num_steps)
    step = jax.jit(env.step)
    gym_env = MountainCarEnv()
    for name, value in params._asdict().items():
        if not name.startswith("reset_"):
            setattr(gym_env, name, value)
    gym_env.reset(seed=SEED)
    gym_env.state = np.array([-0.5, 0.0])
    state = MountainCarState(jnp.asarray(-0.5), jnp.asarray(0.0), jnp.int32(0))
    ours, theirs = [], []
    key = jax.random.key(SEED)
    for _ in range(num_steps):
        action = _heuristic(gym_env.state[1])
        _, state, _, terminated, *_ = step(key, state, action, params)
        _, _, gym_terminated, *_ = gym_env.step(action)
        ours.append([state.position, state.velocity, terminated])
        theirs.append([*gym_env.state, gym_terminated])
    return np.array(ours, np.float64), np.array(theirs, np.float64)


@pytest.mark.parametrize("name", list(CHANGES))
def test_params_reach_the_dynamics(name):
    with jax.enable_x64(True):
        params = MountainCarParams()._replace(**{name: CHANGES[name]})
        ours, theirs = _unwrapped_run(params)
        default_ours, _ = _unwrapped_run(MountainCarParams())
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=X64_ATOL)
    assert not np.array_equal(ours, default_ours), f"{name} changed nothing"


def test_max_steps_must_be_positive():
    with pytest.raises(ValueError, match="max_steps"):
        MountainCar(max_steps=0)
