"""Tests for rl_softmax/envs/classic/cartpole.py against gymnasium's CartPole-v1.

References: ``gymnasium.make("CartPole-v1")`` (its ``TimeLimit`` included) run step by
step beside ours with the same actions (a push toward the pole's lean mixed with
random pushes: 12 truncated and 12 terminated episodes, about 7500 steps), each
episode from our reset state written into ``env.unwrapped.state`` after
``env.reset()``; the uniform's closed-form moments for the start distribution
(``NUM_SE`` standard errors).

How exact, measured on x86-64 CPU (jax 0.10.2, numpy 2.4, gymnasium 1.4):

* float64, eager (op by op), never resynchronised: our states equal gymnasium's
  bit for bit over every episode (max abs diff 0.0; asserted to ``X64_ATOL``).
* float64 under ``jit``: XLA's CPU backend fuses ``a * b + c`` into fused
  multiply-adds (one rounding instead of two; with
  ``XLA_FLAGS=--xla_cpu_max_isa=AVX``, which has no FMA, jit is bit-exact too), so
  a step differs by about 1 ulp (max abs diff 4e-16). The upright pole is unstable
  (errors grow about e^(4 t), t in seconds: a factor 45 per 50 steps), so
  free-running jit trajectories part after ~300 steps; this case is compared one
  step at a time from gymnasium's state (``X64_JIT_RTOL``).
* float32 under ``jit``, one step at a time from gymnasium's state rounded to
  float32: max abs diff 1.2e-7 (asserted to ``F32_RTOL`` relative + ``F32_ATOL``).
"""

from __future__ import annotations

import dataclasses

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_softmax.envs.classic.cartpole import CartPole, CartPoleParams, CartPoleState

X64_ATOL = 1e-10
X64_JIT_RTOL = 1e-12
X64_JIT_ATOL = 1e-14
F32_RTOL = 1e-5
F32_ATOL = 1e-6
NUM_SE = 5.0
NUM_EPISODES = 24
# Probability of a random action per episode, cycled: 0 and 0.1 keep the pole up to
# the time limit (truncations), 0.5 and 1 let it fall (terminations).
EPSILONS = (0.0, 0.1, 0.5, 1.0)


def _action(rng: np.random.Generator, state: np.ndarray, epsilon: float) -> int:
    """Push toward the pole's lean (and its fall), or a random push w.p. epsilon."""
    if rng.random() < epsilon:
        return int(rng.integers(2))
    return int(state[2] + 0.5 * state[3] > 0)


def _physics(state: CartPoleState) -> np.ndarray:
    """``[4]`` float64 ``(x, x_dot, theta, theta_dot)`` as gymnasium holds its state."""
    return np.array(jax.device_get(state[:4]), np.float64)


def _set_gymnasium_params(gym_env, params: CartPoleParams) -> None:
    """Writes ``params`` into gymnasium's env, and the products its __init__ derives."""
    unwrapped = gym_env.unwrapped
    for name, value in params._asdict().items():
        if not name.startswith("reset_"):  # gymnasium takes those as reset() options
            setattr(unwrapped, name, value)
    unwrapped.total_mass = unwrapped.masspole + unwrapped.masscart
    unwrapped.polemass_length = unwrapped.masspole * unwrapped.length


def _run_side_by_side(
    env: CartPole, *, jit: bool, resync: bool, rtol: float, atol: float, seed: int = 0
) -> dict:
    """Runs NUM_EPISODES episodes of ours beside gymnasium's; returns what was seen.

    Each episode starts both from our reset state, written into gymnasium's after its
    ``reset()``. Every step asserts our state within ``rtol``/``atol`` of gymnasium's
    and our obs of its obs, equal rewards and flags, and ``success`` as "truncated
    and not terminated". With ``resync``, each step starts both from gymnasium's
    state rounded to our dtype (written back, so both start exactly equal);
    otherwise both run free for the whole episode.
    """
    reset = jax.jit(env.reset)
    step = jax.jit(env.step) if jit else env.step
    split = jax.jit(jax.random.split)  # eager, a split costs as much as 30 jit steps
    params = env.default_params
    gym_env = gymnasium.make("CartPole-v1")
    rng = np.random.default_rng(seed)
    key = jax.random.key(seed)
    dtype = jnp.zeros(()).dtype
    max_abs, max_rel = 0.0, 0.0
    counts = {"steps": 0, "terminated": 0, "truncated": 0, "success": 0}
    for episode in range(NUM_EPISODES):
        key, key_reset = split(key)
        obs, state = reset(key_reset, params)
        assert obs.dtype == dtype and state.x.dtype == dtype
        gym_env.reset(seed=seed + episode)  # restarts the TimeLimit's count
        gym_env.unwrapped.state = _physics(state)
        epsilon = EPSILONS[episode % len(EPSILONS)]
        while True:
            if resync:
                start = gym_env.unwrapped.state.astype(dtype)
                state = CartPoleState(*start, time=state.time)
                gym_env.unwrapped.state = start.astype(np.float64)
            action = _action(rng, gym_env.unwrapped.state, epsilon)
            key, key_step = split(key)
            outputs = step(key_step, state, action, params)
            state = outputs[1]
            obs, ours, reward, terminated, truncated, info = jax.device_get(outputs)
            ours = np.array(ours[:4], np.float64)
            gym_obs, gym_reward, gym_terminated, gym_truncated, _ = gym_env.step(action)
            expected = gym_env.unwrapped.state
            assert obs.dtype == dtype and reward.dtype == dtype
            np.testing.assert_array_equal(obs, ours)
            np.testing.assert_allclose(ours, expected, rtol=rtol, atol=atol)
            # gymnasium's obs is its state cast to float32.
            np.testing.assert_allclose(obs, gym_obs, rtol=max(rtol, 1e-6), atol=atol)
            assert reward == gym_reward == 1.0
            assert (terminated, truncated) == (gym_terminated, gym_truncated)
            assert info["success"] == (gym_truncated and not gym_terminated)
            diff = np.abs(ours - expected)
            max_abs = max(max_abs, diff.max())
            large = np.abs(expected) >= 1e-2  # relative errors of values far from 0
            max_rel = max(
                max_rel, np.max(diff[large] / np.abs(expected[large]), initial=0)
            )
            counts["steps"] += 1
            if gym_terminated or gym_truncated:
                counts["terminated"] += gym_terminated
                counts["truncated"] += gym_truncated
                counts["success"] += bool(info["success"])
                break
    gym_env.close()
    return {"max_abs": float(max_abs), "max_rel": float(max_rel), **counts}


def _check_coverage(result: dict) -> None:
    assert result["steps"] >= 3000
    assert result["terminated"] >= 8 and result["truncated"] >= 8, result
    assert result["success"] == result["truncated"]  # no episode hit both at once


def test_matches_gymnasium_free_running_in_float64():
    with jax.enable_x64(True):
        result = _run_side_by_side(
            CartPole(), jit=False, resync=False, rtol=0, atol=X64_ATOL
        )
    _check_coverage(result)


def test_jit_matches_gymnasium_one_step_at_a_time_in_float64():
    with jax.enable_x64(True):
        result = _run_side_by_side(
            CartPole(),
            jit=True,
            resync=True,
            rtol=X64_JIT_RTOL,
            atol=X64_JIT_ATOL,
            seed=2,
        )
    _check_coverage(result)


def test_matches_gymnasium_one_step_at_a_time_in_float32():
    result = _run_side_by_side(
        CartPole(), jit=True, resync=True, rtol=F32_RTOL, atol=F32_ATOL, seed=1
    )
    _check_coverage(result)


def test_semi_implicit_euler_matches_gymnasium_in_float64():
    with jax.enable_x64(True):
        env = CartPole(kinematics_integrator="semi-implicit euler")
        params = env.default_params
        _, state = env.reset(jax.random.key(3), params)
        gym_env = gymnasium.make("CartPole-v1")
        gym_env.reset(seed=3)
        gym_env.unwrapped.kinematics_integrator = "semi-implicit euler"
        gym_env.unwrapped.state = _physics(state)
        step = env.step  # eager: XLA's fused kernels round differently (see top)
        rng = np.random.default_rng(3)
        for _ in range(200):
            action = _action(rng, gym_env.unwrapped.state, 0.1)
            _, state, _, terminated, _, _ = step(
                jax.random.key(0), state, action, params
            )
            _, _, gym_terminated, _, _ = gym_env.step(action)
            np.testing.assert_allclose(
                _physics(state), gym_env.unwrapped.state, rtol=0, atol=X64_ATOL
            )
            assert bool(terminated) == gym_terminated
            if gym_terminated:
                break


def test_terminated_and_truncated_on_the_same_step_is_no_success():
    env = CartPole(max_steps=1)
    start = np.array([2.39, 1.0, 0.0, 0.0])  # x = 2.39 + 0.02 * 1.0 > 2.4
    state = CartPoleState(*jnp.asarray(start, jnp.float32), time=jnp.int32(0))
    _, _, reward, terminated, truncated, info = env.step(
        jax.random.key(0), state, 1, env.default_params
    )
    gym_env = gymnasium.make("CartPole-v1", max_episode_steps=1)
    gym_env.reset(seed=0)
    gym_env.unwrapped.state = start
    _, gym_reward, gym_terminated, gym_truncated, _ = gym_env.step(1)
    assert (gym_terminated, gym_truncated) == (True, True)
    assert (bool(terminated), bool(truncated)) == (True, True)
    assert float(reward) == gym_reward == 1.0
    assert not bool(info["success"])


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_exactly_at_the_thresholds_is_not_terminal(sign):
    # Euler moves x and theta by the old velocities (0 here): both stay on the bound.
    params = CartPoleParams()
    start = sign * np.array(
        [params.x_threshold, 0.0, params.theta_threshold_radians, 0]
    )
    for x64 in (False, True):
        with jax.enable_x64(x64):
            env = CartPole()
            state = CartPoleState(*jnp.asarray(start), time=jnp.int32(0))
            _, moved, _, terminated, *_ = env.step(jax.random.key(0), state, 0, params)
            assert float(moved.x) == float(state.x) and not bool(terminated)
    gym_env = gymnasium.make("CartPole-v1")
    gym_env.reset(seed=0)
    gym_env.unwrapped.state = start
    assert not gym_env.step(0)[2]


def _uniform_moments_ok(samples: np.ndarray, low: float, high: float) -> None:
    """Range, mean, variance and independence of ``[N, 4]`` draws of U(low, high)."""
    n = samples.shape[0]
    width = high - low
    variance = width**2 / 12
    # float32 bounds: -0.05 rounds to -0.0500000007, below the float64 -0.05.
    assert samples.min() >= np.float32(low) and samples.max() <= np.float32(high)
    mean_se = np.sqrt(variance / n)
    assert np.all(np.abs(samples.mean(0) - (low + high) / 2) <= NUM_SE * mean_se)
    # Var of the sample variance: (mu4 - sigma^4) / n, mu4 = width^4 / 80.
    variance_se = np.sqrt((width**4 / 80 - variance**2) / n)
    assert np.all(np.abs(samples.var(0) - variance) <= NUM_SE * variance_se)
    covariance = np.cov(samples, rowvar=False)
    off_diagonal = covariance[~np.eye(4, dtype=bool)]
    assert np.all(np.abs(off_diagonal) <= NUM_SE * variance / np.sqrt(n))


@pytest.mark.parametrize("bounds", [None, (-0.2, 0.1)])
def test_reset_draws_each_variable_uniformly(bounds):
    env = CartPole()
    params = env.default_params
    if bounds is not None:
        params = params._replace(reset_low=bounds[0], reset_high=bounds[1])
    low, high = params.reset_low, params.reset_high
    keys = jax.random.split(jax.random.key(42), 40_000)
    obs, state = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, params)
    samples = np.asarray(obs, np.float64)
    np.testing.assert_array_equal(samples, _physics(state).T)
    np.testing.assert_array_equal(state.time, 0)
    _uniform_moments_ok(samples, low, high)


def test_reset_in_float64_has_float64_state():
    with jax.enable_x64(True):
        env = CartPole()
        obs, state = env.reset(jax.random.key(0), env.default_params)
        assert obs.dtype == jnp.float64 and state.theta.dtype == jnp.float64
        assert state.time.dtype == jnp.int32
        assert np.all(np.abs(np.asarray(obs)) < 0.05)


def _check_types(outputs, batch: tuple[int, ...], dtype) -> None:
    obs, state, reward, terminated, truncated, info = outputs
    assert obs.shape == (*batch, 4) and obs.dtype == dtype
    for leaf in state[:4]:
        assert leaf.shape == batch and leaf.dtype == dtype
    assert state.time.shape == batch and state.time.dtype == jnp.int32
    assert reward.shape == batch and reward.dtype == dtype
    for flag in (terminated, truncated, info["success"]):
        assert flag.shape == batch and flag.dtype == jnp.bool_
    assert set(info) == {"success"}


@pytest.mark.parametrize("mode", ["plain", "jit", "vmap"])
def test_reset_and_step_plain_jit_vmap(mode):
    env = CartPole()
    params = env.default_params
    batch = (5,) if mode == "vmap" else ()
    key_reset, key_step = jax.random.split(jax.random.key(7))
    keys_reset = jax.random.split(key_reset, batch)
    keys_step = jax.random.split(key_step, batch)
    actions = jnp.array([0, 1, 1, 0, 1][: batch[0]] if batch else 1)
    reset, step = env.reset, env.step
    if mode == "jit":
        reset, step = jax.jit(reset), jax.jit(step)
    if mode == "vmap":
        reset = jax.vmap(reset, in_axes=(0, None))
        step = jax.vmap(step, in_axes=(0, 0, 0, None))
    obs, state = reset(keys_reset, params)
    assert obs.shape == (*batch, 4) and obs.dtype == jnp.float32
    assert state.time.shape == batch and state.time.dtype == jnp.int32
    outputs = step(keys_step, state, actions, params)
    _check_types(outputs, batch, jnp.float32)
    np.testing.assert_array_equal(outputs[1].time, 1)
    for index in np.ndindex(batch):  # each row as the plain call computes it
        obs_row, state_row = env.reset(keys_reset[index], params)
        np.testing.assert_array_equal(obs[index], obs_row)
        expected = env.step(keys_step[index], state_row, actions[index], params)
        row = jax.tree.map(lambda x, i=index: x[i], outputs)
        np.testing.assert_allclose(row[0], expected[0], rtol=1e-6, atol=1e-7)
        assert jax.tree.map(bool, row[3:]) == jax.tree.map(bool, expected[3:])


@pytest.mark.parametrize(
    "name, value",
    [
        ("gravity", 24.8),
        ("masscart", 2.5),
        ("masspole", 0.7),
        ("length", 1.3),
        ("force_mag", 3.0),
        ("tau", 0.05),
    ],
)
def test_params_reach_the_dynamics_as_in_gymnasium(name, value):
    with jax.enable_x64(True):
        env = CartPole()
        params = env.default_params._replace(**{name: value})
        start = np.array([0.3, -0.4, 0.1, 0.8])
        state = CartPoleState(*jnp.asarray(start), time=jnp.int32(0))
        _, moved, *_ = env.step(jax.random.key(0), state, 1, params)
        _, default, *_ = env.step(jax.random.key(0), state, 1, env.default_params)
        gym_env = gymnasium.make("CartPole-v1")
        gym_env.reset(seed=0)
        _set_gymnasium_params(gym_env, params)
        gym_env.unwrapped.state = start
        gym_env.step(1)
        np.testing.assert_allclose(
            _physics(moved), gym_env.unwrapped.state, rtol=0, atol=1e-14
        )
        assert np.abs(_physics(moved) - _physics(default)).max() > 1e-4


@pytest.mark.parametrize(
    "name, value, start",
    [
        ("x_threshold", 1.0, [1.1, 0.0, 0.0, 0.0]),
        ("theta_threshold_radians", 0.05, [0.0, 0.0, 0.1, 0.0]),
    ],
)
def test_thresholds_reach_termination_as_in_gymnasium(name, value, start):
    env = CartPole()
    params = env.default_params._replace(**{name: value})
    state = CartPoleState(*jnp.asarray(start, jnp.float32), time=jnp.int32(0))
    terminated = env.step(jax.random.key(0), state, 0, params)[3]
    default = env.step(jax.random.key(0), state, 0, env.default_params)[3]
    gym_env = gymnasium.make("CartPole-v1")
    gym_env.reset(seed=0)
    _set_gymnasium_params(gym_env, params)
    gym_env.unwrapped.state = np.array(start)
    gym_terminated = gym_env.step(0)[2]
    assert bool(terminated) and gym_terminated and not bool(default)


def test_vmap_over_params_sweeps_without_recompiling(compile_events):
    env = CartPole()
    _, state = env.reset(jax.random.key(0), env.default_params)
    only_gravity = CartPoleParams(*[None] * len(CartPoleParams._fields))._replace(
        gravity=0
    )
    step = jax.jit(jax.vmap(env.step, in_axes=(None, None, None, only_gravity)))

    def sweep(gravities):
        params = env.default_params._replace(gravity=gravities)
        return step(jax.random.key(1), state, 0, params)[0]

    sweep(jnp.array([2.0, 5.0, 8.0]))
    compile_events.clear()
    gravities = jnp.array([1.0, 9.8, 30.0])
    obs = sweep(gravities)
    assert not compile_events  # new gravities, same program
    for row, gravity in zip(obs, gravities, strict=True):
        single = env.default_params._replace(gravity=gravity)
        expected = env.step(jax.random.key(1), state, 0, single)[0]
        np.testing.assert_allclose(row, expected, rtol=1e-6, atol=1e-7)
    assert len({tuple(np.asarray(row)) for row in obs}) == 3


def test_invalid_construction_raises():
    with pytest.raises(ValueError, match="max_steps"):
        CartPole(max_steps=0)
    with pytest.raises(ValueError, match="kinematics_integrator"):
        CartPole(kinematics_integrator="rk4")
    assert CartPole().max_steps == 500 and CartPole.num_actions == 2
    assert CartPole.episodic
    with pytest.raises(dataclasses.FrozenInstanceError):
        CartPole().max_steps = 3  # type: ignore[misc]
