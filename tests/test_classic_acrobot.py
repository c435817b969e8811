"""Tests for rl_softmax/envs/classic/acrobot.py against gymnasium's Acrobot-v1.

References: ``gymnasium.make("Acrobot-v1")`` (its ``TimeLimit`` included) stepped
beside ours with the same actions from the same start states, the constants of
gymnasium's ``AcrobotEnv`` set on its unwrapped instance, the uniform start
distribution's closed-form mean and variance (tolerance ``NUM_SE`` standard
errors), and the dynamics' exact time-rescaling symmetry for gravity (a constant
gymnasium fixes inside ``_dsdt``).

Acrobot is chaotic, and bit-for-bit agreement is not available: under ``jit`` XLA
fuses ``a * b + c`` into FMAs and divides by ``6.0`` as a multiply, and NumPy's
scalar ``x**2`` calls libm's ``pow``, so the two sides differ in last bits and the
difference grows along an episode. The float64 episodes are therefore checked
twice: never resynchronised, on a fixed set of episodes with a stated tolerance,
and resynchronised every step (ours stepped from gymnasium's exact state) on more
energetic episodes, where the tolerance is rounding only.
"""

from __future__ import annotations

import functools

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.envs.classic_control.acrobot import AcrobotEnv

from rl_softmax.envs.classic.acrobot import Acrobot, AcrobotParams, AcrobotState

NUM_SE = 5.0
# Episodes by the chance of a random action (else the heuristic): 0, 0.3 and 0.5
# reach the goal in about 80, 110 and 160 steps; 1.0 (random) is truncated at 500.
EPISODES = (0.0, 0.3, 0.5, 1.0) * 6
CHAOS_FREE_STEPS = 100  # float64 gaps measured <= 8.4e-12 there (seeds 0-3)
X64_NO_RESYNC_ATOL = 1e-9
AGREE_ATOL = 1e-6  # seed 0: 99.7% of steps; one of 24 episodes drifts to 1.8e-4
X64_ONE_STEP_ATOL = 1e-12  # measured max 1.8e-15 (ulps of ~10 rad/s)
F32_ONE_STEP_RTOL = 5e-6  # of 1 + |x|; measured max 6.9e-7
# gymnasium's constants and our field names (gravity 9.8 and the goal height 1.0
# are literals inside its methods).
GYM_CONSTANTS = {
    "dt": "dt",
    "link_length_1": "LINK_LENGTH_1",
    "link_length_2": "LINK_LENGTH_2",
    "link_mass_1": "LINK_MASS_1",
    "link_mass_2": "LINK_MASS_2",
    "link_com_pos_1": "LINK_COM_POS_1",
    "link_com_pos_2": "LINK_COM_POS_2",
    "link_moi": "LINK_MOI",
    "max_vel_1": "MAX_VEL_1",
    "max_vel_2": "MAX_VEL_2",
    "torque_noise_max": "torque_noise_max",
}


def _action(rng: np.random.Generator, random_chance: float, state) -> int:
    """A random action with ``random_chance``, else torque along ``dtheta2``."""
    if rng.random() < random_chance:
        return int(rng.integers(3))
    return 2 if state[3] > 0 else 0


def _gym_observation(state: np.ndarray) -> np.ndarray:
    """gymnasium's observation of ``state`` in float64 (it returns float32)."""
    theta1, theta2, dtheta1, dtheta2 = state
    return np.array(
        [np.cos(theta1), np.sin(theta1), np.cos(theta2), np.sin(theta2), dtheta1,
         dtheta2]
    )  # fmt: skip


def _side_by_side(random_chances, *, seed: int, resync: bool) -> dict[str, np.ndarray]:
    """One episode per entry of ``random_chances``, ours beside gymnasium's.

    Both start from our reset's state; gymnasium's ``reset`` runs first so its
    ``TimeLimit`` restarts. Actions come from gymnasium's state. With ``resync``
    our state is set to gymnasium's before every step (its episode is never
    touched); without, the two never meet again. The float dtype is the one in
    force (``jax.enable_x64``).

    Returns:
      One row per compared step: ``ours`` and ``gym`` ``[n, 4]`` next states,
      ``obs`` ``[n, 6]`` ours, ``gym_obs`` gymnasium's float32 one, ``rewards``,
      ``terminated``, ``truncated`` ``[n, 2]`` (ours, gymnasium's), ``success``,
      ``margin``: gymnasium's tip height above the goal.
    """
    env = Acrobot()
    params = env.default_params
    num = len(random_chances)
    keys = jax.random.split(jax.random.key(seed), num + 1)
    _, states = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys[1:], params)
    step = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))
    dtype = states.theta1.dtype
    rng = np.random.default_rng(seed)
    gyms = [gymnasium.make("Acrobot-v1") for _ in range(num)]
    start = np.stack([np.asarray(x, np.float64) for x in states[:4]], axis=1)
    for i, gym in enumerate(gyms):
        gym.reset(seed=seed + i)
        gym.unwrapped.state = start[i].copy()
    rows = {name: [] for name in ("ours", "gym", "obs", "gym_obs", "rewards")}
    rows |= {name: [] for name in ("terminated", "truncated", "success", "margin")}
    rows |= {"episode": [], "time": []}
    live = np.ones(num, bool)
    key = keys[0]
    while live.any():
        chances = zip(random_chances, gyms, strict=True)
        actions = [_action(rng, p, gym.unwrapped.state) for p, gym in chances]
        if resync:
            exact = np.stack([gym.unwrapped.state for gym in gyms], axis=1)
            variables = (jnp.asarray(values, dtype) for values in exact)
            states = AcrobotState(*variables, time=states.time)
        key, key_step = jax.random.split(key)
        out = step(
            jax.random.split(key_step, num), states, jnp.asarray(actions), params
        )
        obs, states, rewards, terminated, truncated, info = jax.device_get(out)
        ours = np.stack([np.asarray(x, np.float64) for x in states[:4]], axis=1)
        for i in np.flatnonzero(live):
            gym_obs, gym_reward, gym_term, gym_trunc, _ = gyms[i].step(actions[i])
            rows["ours"].append(ours[i])
            rows["gym"].append(np.array(gyms[i].unwrapped.state, np.float64))
            rows["obs"].append(obs[i])
            rows["gym_obs"].append(gym_obs)
            rows["rewards"].append((rewards[i], gym_reward))
            rows["terminated"].append((terminated[i], gym_term))
            rows["truncated"].append((truncated[i], gym_trunc))
            rows["success"].append(info["success"][i])
            rows["episode"].append(i)
            rows["time"].append(states.time[i])
            theta1, theta2 = gyms[i].unwrapped.state[:2]
            rows["margin"].append(-np.cos(theta1) - np.cos(theta1 + theta2) - 1.0)
            live[i] = not (gym_term or gym_trunc)
    return {name: np.array(values) for name, values in rows.items()}


def _check_episodes(
    rows: dict[str, np.ndarray], num_episodes: int, *, exact_flags: bool
) -> None:
    """Enough steps, episodes, terminations, truncations; rewards and flags equal."""
    terminated, truncated = rows["terminated"], rows["truncated"]
    assert len(rows["ours"]) >= 3000
    assert np.sum(terminated[:, 1] | truncated[:, 1]) == num_episodes >= 20
    assert np.sum(terminated[:, 1]) >= 10 and np.sum(truncated[:, 1]) >= 5
    np.testing.assert_array_equal(rows["success"], terminated[:, 0])
    if not exact_flags:
        return
    np.testing.assert_array_equal(terminated[:, 0], terminated[:, 1])
    np.testing.assert_array_equal(truncated[:, 0], truncated[:, 1])
    np.testing.assert_array_equal(rows["rewards"][:, 0], rows["rewards"][:, 1])


def test_float64_episodes_never_resynced_match_gymnasium():
    """Whole episodes from one shared start; chaos limits how long they stay equal.

    Last-bit differences (see the module docstring) grow along an episode, so the
    state tolerance holds over the first ``CHAOS_FREE_STEPS`` steps of each
    episode; rewards and flags must agree on every step where the states still
    agree to ``AGREE_ATOL`` (a flag cannot differ there but across the boundary).
    """
    with jax.enable_x64(True):
        rows = _side_by_side(EPISODES, seed=0, resync=False)
    _check_episodes(rows, len(EPISODES), exact_flags=False)
    gap = np.max(np.abs(rows["ours"] - rows["gym"]), axis=1)
    early = rows["time"] <= CHAOS_FREE_STEPS
    assert np.max(gap[early]) < X64_NO_RESYNC_ATOL
    gym_obs = np.array([_gym_observation(state) for state in rows["gym"][early]])
    assert np.max(np.abs(rows["obs"][early] - gym_obs)) < X64_NO_RESYNC_ATOL
    agree = gap < AGREE_ATOL
    assert np.mean(agree) > 0.95
    for name in ("terminated", "truncated", "rewards"):
        np.testing.assert_array_equal(rows[name][agree, 0], rows[name][agree, 1])


def test_float64_one_step_from_gymnasiums_state_matches():
    """Ours stepped from gymnasium's exact state each step of its episodes."""
    with jax.enable_x64(True):
        rows = _side_by_side(EPISODES, seed=1, resync=True)
    _check_episodes(rows, len(EPISODES), exact_flags=True)
    assert rows["obs"].dtype == np.float64
    np.testing.assert_allclose(
        rows["ours"], rows["gym"], rtol=0, atol=X64_ONE_STEP_ATOL
    )
    gym_obs = np.array([_gym_observation(state) for state in rows["gym"]])
    np.testing.assert_allclose(rows["obs"], gym_obs, rtol=0, atol=X64_ONE_STEP_ATOL)
    # gymnasium rounds its observation to float32
    np.testing.assert_allclose(rows["gym_obs"], rows["obs"], rtol=2**-23, atol=1e-30)


def test_float32_one_step_from_gymnasiums_state():
    """float32 steps from gymnasium's state, rounded; flags agree off the boundary."""
    rows = _side_by_side(EPISODES, seed=1, resync=True)
    _check_episodes(rows, len(EPISODES), exact_flags=False)
    assert rows["obs"].dtype == np.float32
    gym_obs = np.array([_gym_observation(state) for state in rows["gym"]])
    scale = 1.0 + np.abs(gym_obs)
    assert np.max(np.abs(rows["obs"] - gym_obs) / scale) < F32_ONE_STEP_RTOL
    terminated, truncated = rows["terminated"], rows["truncated"]
    clear = np.abs(rows["margin"]) > 1e-5  # float32 may round across the goal
    assert np.mean(clear) > 0.999
    np.testing.assert_array_equal(terminated[clear, 0], terminated[clear, 1])
    np.testing.assert_array_equal(truncated[:, 0], truncated[:, 1])
    ours_reward, gym_reward = rows["rewards"][clear].T
    np.testing.assert_array_equal(ours_reward, gym_reward)


def _random_states(key: jax.Array, num: int) -> AcrobotState:
    """``num`` states spread over the whole state space (angles and velocities)."""
    limits = jnp.array([np.pi, np.pi, 4 * np.pi, 9 * np.pi])
    values = jax.random.uniform(key, (4, num), minval=-1.0, maxval=1.0)
    values = values * limits[:, None]
    return AcrobotState(*values, time=jnp.zeros(num, jnp.int32))


def _gym_steps(gym: AcrobotEnv, states: AcrobotState, actions) -> np.ndarray:
    """``[num, 4]`` gymnasium's next state from each of ``states``."""
    rows = []
    for state, action in zip(np.stack(states[:4], axis=1), actions, strict=True):
        gym.state = np.asarray(state, np.float64).copy()
        gym.step(int(action))
        rows.append(np.asarray(gym.state, np.float64))
    return np.array(rows)


@functools.cache
def _batched_step(env: Acrobot):
    """``env.step`` under ``jit(vmap)`` over keys, states and actions (one per env)."""
    return jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))


def _steps(env: Acrobot, states: AcrobotState, actions, params) -> np.ndarray:
    """``[num, 4]`` our next state from each of ``states`` (jit, vmap)."""
    keys = jax.random.split(jax.random.key(7), len(actions))
    _, next_states, *_ = _batched_step(env)(keys, states, jnp.asarray(actions), params)
    return np.stack([np.asarray(x, np.float64) for x in next_states[:4]], axis=1)


def test_defaults_are_gymnasiums():
    params = AcrobotParams()
    for ours, theirs in GYM_CONSTANTS.items():
        assert getattr(params, ours) == getattr(AcrobotEnv, theirs), ours
    assert list(params.avail_torque) == AcrobotEnv.AVAIL_TORQUE
    assert (params.reset_low, params.reset_high) == (-0.1, 0.1)
    spec = gymnasium.spec("Acrobot-v1")
    env = Acrobot()
    assert env.max_steps == spec.max_episode_steps == 500
    assert env.action_space == gymnasium.make("Acrobot-v1").action_space
    assert (env.num_actions, env.episodic, env.dynamics) == (3, True, "book")
    assert env.default_params == params


@pytest.mark.parametrize(
    "changes",
    [{"max_steps": 0}, {"dynamics": "paper"}],
    ids=["max_steps", "dynamics"],
)
def test_invalid_config_raises(changes):
    with pytest.raises(ValueError, match=next(iter(changes))):
        Acrobot(**changes)


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "float64"])
def test_reset_and_step_plain_jit_vmap_shapes_and_dtypes(x64):
    with jax.enable_x64(x64):
        env = Acrobot()
        params = env.default_params
        dtype = jnp.zeros(()).dtype
        assert dtype == (jnp.float64 if x64 else jnp.float32)
        key_reset, key_step = jax.random.split(jax.random.key(0))
        batch = 5

        def check(reset_out, step_out, shape):
            obs, state = reset_out
            assert obs.shape == (*shape, 6) and obs.dtype == dtype
            for value in state[:4]:
                assert value.shape == shape and value.dtype == dtype
            assert state.time.shape == shape and state.time.dtype == jnp.int32
            assert not np.any(state.time)
            obs, state, reward, terminated, truncated, info = step_out
            assert obs.shape == (*shape, 6) and obs.dtype == dtype
            assert all(v.dtype == dtype for v in state[:4])
            assert state.time.dtype == jnp.int32 and np.all(state.time == 1)
            assert reward.shape == shape and reward.dtype == dtype
            for flag in (terminated, truncated, info["success"]):
                assert flag.shape == shape and flag.dtype == jnp.bool_
            return step_out

        plain = check(
            env.reset(key_reset, params),
            env.step(key_step, env.reset(key_reset, params)[1], 2, params),
            (),
        )
        reset, step = jax.jit(env.reset), jax.jit(env.step)
        jitted = check(
            reset(key_reset, params),
            step(key_step, reset(key_reset, params)[1], 2, params),
            (),
        )
        for ours, theirs in zip(
            jax.tree.leaves(plain), jax.tree.leaves(jitted), strict=True
        ):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6 if not x64 else 1e-14)
        keys = jax.random.split(key_reset, batch)
        reset_out = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, params)
        actions = jnp.arange(batch) % 3
        step_out = _batched_step(env)(
            jax.random.split(key_step, batch), reset_out[1], actions, params
        )
        check(reset_out, step_out, (batch,))


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "float64"])
@pytest.mark.parametrize("bounds", [(-0.1, 0.1), (-0.5, 0.2)], ids=["gym", "wide"])
def test_reset_draws_uniform_start(x64, bounds):
    """Range, and mean and variance within NUM_SE standard errors of the uniform's."""
    low, high = bounds
    num = 100_000
    with jax.enable_x64(x64):
        env = Acrobot()
        params = env.default_params._replace(reset_low=low, reset_high=high)
        keys = jax.random.split(jax.random.key(3), num)
        obs, states = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, params)
        values = np.stack([np.asarray(x, np.float64) for x in states[:4]], axis=1)
        assert not np.any(states.time)
        np.testing.assert_allclose(obs, jax.vmap(_observation_of)(states), atol=0)
    assert values.min() >= low and values.max() <= high
    assert values.min() < low + 1e-3 and values.max() > high - 1e-3
    mean, width = (low + high) / 2, high - low
    variance = width**2 / 12
    mean_se = np.sqrt(variance / num)
    # Var[(X - m)^2] = E[(X - m)^4] - variance^2 = width^4 / 80 - width^4 / 144
    variance_se = np.sqrt((width**4 / 80 - variance**2) / num)
    np.testing.assert_array_less(np.abs(values.mean(0) - mean), NUM_SE * mean_se)
    spread = np.mean((values - mean) ** 2, axis=0)
    np.testing.assert_array_less(np.abs(spread - variance), NUM_SE * variance_se)
    correlation = np.corrcoef(values.T)[np.triu_indices(4, 1)]
    np.testing.assert_array_less(np.abs(correlation), NUM_SE / np.sqrt(num))


def _observation_of(state: AcrobotState) -> jax.Array:
    """gymnasium's ``_get_ob`` in jnp."""
    theta1, theta2, dtheta1, dtheta2, _ = state
    return jnp.stack(
        [jnp.cos(theta1), jnp.sin(theta1), jnp.cos(theta2), jnp.sin(theta2), dtheta1,
         dtheta2]
    )  # fmt: skip


def test_same_key_same_episode_start():
    env = Acrobot()
    params = env.default_params
    first = env.reset(jax.random.key(5), params)
    again = env.reset(jax.random.key(5), params)
    other = env.reset(jax.random.key(6), params)
    for ours, theirs in zip(
        jax.tree.leaves(first), jax.tree.leaves(again), strict=True
    ):
        np.testing.assert_array_equal(ours, theirs)
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("dynamics", ["book", "nips"])
def test_changed_constants_match_gymnasium(dynamics):
    """Every constant gymnasium lets one set reaches the dynamics as in gymnasium."""
    changed = {
        "dt": 0.1,
        "link_length_1": 1.3,
        "link_length_2": 0.7,
        "link_mass_1": 1.5,
        "link_mass_2": 0.8,
        "link_com_pos_1": 0.4,
        "link_com_pos_2": 0.6,
        "link_moi": 0.9,
        "max_vel_1": 2.0,  # small enough that the clipping acts
        "max_vel_2": 5.0,
    }
    torques = (-2.0, 0.5, 1.5)
    num = 300
    with jax.enable_x64(True):
        env = Acrobot(dynamics=dynamics)
        params = AcrobotParams(**changed, avail_torque=torques)
        states = _random_states(jax.random.key(11), num)
        actions = np.arange(num) % 3
        ours = _steps(env, states, actions, params)
        default = _steps(env, states, actions, env.default_params)
    gym = AcrobotEnv()
    gym.book_or_nips = dynamics
    for ours_name, gym_name in GYM_CONSTANTS.items():
        setattr(gym, gym_name, changed.get(ours_name, getattr(gym, gym_name)))
    gym.AVAIL_TORQUE = list(torques)
    theirs = _gym_steps(gym, states, actions)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=X64_ONE_STEP_ATOL)
    assert np.mean(np.abs(ours[:, 2]) == 2.0) > 0.1  # clipped at max_vel_1
    assert np.all(np.abs(ours - default).max(axis=1) > 1e-3)


def test_book_and_nips_dynamics_differ():
    with jax.enable_x64(True):
        states = _random_states(jax.random.key(12), 50)
        actions = np.zeros(50, int)
        book = _steps(Acrobot(), states, actions, AcrobotParams())
        nips = _steps(Acrobot(dynamics="nips"), states, actions, AcrobotParams())
    assert np.all(np.abs(book - nips).max(axis=1) > 1e-6)


def test_gravity_rescales_time_exactly():
    """Gravity x4, torques x4 and dt / 2 is the same motion twice as fast.

    gymnasium fixes g = 9.8, so gravity is checked through the dynamics' symmetry
    ``t -> t / 2``: angles equal, velocities doubled (powers of two: exact in
    floating point up to FMA rounding).
    """
    num = 300
    with jax.enable_x64(True):
        env = Acrobot()
        params = AcrobotParams(
            dt=0.1,
            gravity=4 * 9.8,
            avail_torque=(-4.0, 0.0, 4.0),
            max_vel_1=8 * np.pi,
            max_vel_2=18 * np.pi,
        )
        states = _random_states(jax.random.key(13), num)
        fast = states._replace(dtheta1=2 * states.dtheta1, dtheta2=2 * states.dtheta2)
        actions = np.arange(num) % 3
        ours = _steps(env, fast, actions, params)
        weightless = _steps(
            env,
            states._replace(dtheta1=0 * states.dtheta1, dtheta2=0 * states.dtheta2),
            np.ones(num, int),
            params._replace(gravity=0.0),
        )
    theirs = _gym_steps(AcrobotEnv(), states, actions)
    expected = theirs * np.array([1.0, 1.0, 2.0, 2.0])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=2 * X64_ONE_STEP_ATOL)
    start = np.stack([np.asarray(x) for x in states[:2]], axis=1)
    np.testing.assert_array_equal(weightless[:, :2], start)  # no gravity, no torque
    np.testing.assert_array_equal(weightless[:, 2:], 0.0)


def test_torque_noise_is_one_uniform_added_to_the_torque():
    """With ``torque_noise_max`` the step is gymnasium's at the torque drawn from key.

    The noise is ``U(-max, max)`` from the step's key (as documented), so gymnasium
    with ``AVAIL_TORQUE`` shifted by that draw must take the same step.
    """
    noise_max, num = 0.5, 60
    with jax.enable_x64(True):
        env = Acrobot()
        params = AcrobotParams(torque_noise_max=noise_max)
        states = _random_states(jax.random.key(14), num)
        keys = jax.random.split(jax.random.key(15), num)
        actions = np.arange(num) % 3
        _, next_states, *_ = _batched_step(env)(
            keys, states, jnp.asarray(actions), params
        )
        ours = np.stack([np.asarray(x) for x in next_states[:4]], axis=1)
        draw = jax.vmap(
            lambda key: jax.random.uniform(
                key, (), jnp.float64, minval=-noise_max, maxval=noise_max
            )
        )
        noises = np.asarray(draw(keys))
        quiet = _steps(env, states, actions, AcrobotParams())
    assert np.all(np.abs(noises) <= noise_max) and np.std(noises) > 0.1
    gym = AcrobotEnv()
    starts = np.stack([np.asarray(x) for x in states[:4]], axis=1)
    for start, action, noise, next_state in zip(
        starts, actions, noises, ours, strict=True
    ):
        gym.AVAIL_TORQUE = [torque + noise for torque in AcrobotEnv.AVAIL_TORQUE]
        gym.state = start.copy()
        gym.step(int(action))
        np.testing.assert_allclose(next_state, gym.state, atol=X64_ONE_STEP_ATOL)
    assert np.all(np.abs(ours - quiet).max(axis=1) > 0)


@pytest.mark.parametrize("goal_height", [0.5, 1.0, 1.5])
def test_goal_height_sets_termination(goal_height):
    num = 500
    env = Acrobot()
    params = AcrobotParams(goal_height=goal_height)
    states = _random_states(jax.random.key(16), num)
    keys = jax.random.split(jax.random.key(17), num)
    _, next_states, rewards, terminated, _, info = _batched_step(env)(
        keys, states, jnp.zeros(num, jnp.int32), params
    )
    theta1, theta2 = np.asarray(next_states.theta1), np.asarray(next_states.theta2)
    height = -np.cos(theta1) - np.cos(theta1 + theta2)
    clear = np.abs(height - goal_height) > 1e-5
    np.testing.assert_array_equal(terminated[clear], (height > goal_height)[clear])
    assert 0 < np.sum(terminated) < num
    np.testing.assert_array_equal(rewards, np.where(terminated, 0.0, -1.0))
    np.testing.assert_array_equal(info["success"], terminated)


def test_truncated_on_the_terminating_step_as_time_limit():
    """Reaching the goal on the last allowed step is both terminated and truncated."""
    upright = np.array([np.pi, 0.0, 0.0, 0.0])
    gym = gymnasium.make("Acrobot-v1", max_episode_steps=3)
    gym.reset(seed=0)
    env = Acrobot(max_steps=3)
    params = env.default_params
    state = AcrobotState(*jnp.asarray(upright, jnp.float32), time=jnp.int32(2))
    gym.step(1)
    gym.step(1)  # the TimeLimit's clock at 2, as ours
    gym.unwrapped.state = upright.copy()
    _, gym_reward, gym_terminated, gym_truncated, _ = gym.step(1)
    _, _, reward, terminated, truncated, info = env.step(
        jax.random.key(0), state, 1, params
    )
    assert (gym_terminated, gym_truncated, gym_reward) == (True, True, 0.0)
    assert (bool(terminated), bool(truncated), float(reward)) == (True, True, 0.0)
    assert bool(info["success"])


def test_sweeping_params_needs_no_recompile(compile_events):
    env = Acrobot()
    step = jax.jit(env.step)
    _, state = env.reset(jax.random.key(0), env.default_params)
    key = jax.random.key(1)
    gravities = jnp.array([1.0, 9.8, 20.0])
    swept = jax.vmap(
        lambda g: step(key, state, 2, env.default_params._replace(gravity=g))[0]
    )(gravities)
    one = step(key, state, 2, env.default_params._replace(gravity=1.0))
    compiled = len(compile_events)
    again = step(key, state, 2, env.default_params._replace(gravity=20.0))
    assert len(compile_events) == compiled
    np.testing.assert_allclose(swept[0], one[0], rtol=1e-6)
    np.testing.assert_allclose(swept[2], again[0], rtol=1e-6)
    assert not np.allclose(swept[0], swept[2])
