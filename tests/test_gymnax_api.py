"""Tests for rl_softmax/envs/gymnax_api.py: a gymnax-API environment through a sweep.

The reference is the chain of ``chain_mdp.py`` written to this package's contract.
Here the same chain is written the gymnax way (``step_env``/``reset_env``, a public
``step`` that resets inside, ``action_space(params)`` with ``n``), once as gymnax 1.0
writes environments (``is_truncated``) and once as gymnax 0.x did (``done`` holds the
time limit). Adapted by ``from_gymnax``, the 1.0 chain must give a tau sweep equal,
bit for bit, to the native chain's. Where gymnax is installed, its CartPole is
stepped through the adapter beside gymnax's own ``step``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from chain_mdp import ChainMDP, ChainParams, fixed_boltzmann

from rl_softmax.engine import make_run, sweep
from rl_softmax.envs import GymnaxEnv, from_gymnax

LENGTH, MAX_STEPS = 3, 6
_NATIVE = ChainMDP(length=LENGTH, max_steps=MAX_STEPS)


class _Discrete(NamedTuple):
    n: int


class _Box(NamedTuple):
    shape: tuple


class _State(NamedTuple):
    position: jax.Array
    time: jax.Array


class GymnaxChain:
    """The chain of ``chain_mdp.ChainMDP`` written against gymnax 1.0's base class."""

    default_params = ChainParams()

    def reset_env(self, key, params):
        del key, params
        zero = jnp.zeros((), jnp.int32)
        return zero, _State(zero, zero)

    def step_env(self, key, state, action, params):
        del key
        position = jnp.where(
            action == 1, state.position + 1, jnp.maximum(state.position - 1, 0)
        )
        terminated = position == LENGTH
        reward = jnp.where(terminated, params.goal_reward, 0.0)
        info = {
            "action_values": _NATIVE.q_star(params)[state.position],
            "success": terminated,
            "discount": 1.0 - terminated,
        }
        return position, _State(position, state.time + 1), reward, terminated, info

    def is_truncated(self, state, params):
        del params
        return state.time >= MAX_STEPS

    def step(self, key, state, action, params):
        """gymnax's public step: resets inside (unused by the adapter)."""
        key_step, key_reset = jax.random.split(key)
        obs, state, reward, terminated, info = self.step_env(
            key_step, state, action, params
        )
        truncated = self.is_truncated(state, params)
        obs_re, state_re = self.reset_env(key_reset, params)
        done = terminated | truncated
        state = jax.tree.map(lambda r, s: jnp.where(done, r, s), state_re, state)
        return jnp.where(done, obs_re, obs), state, reward, terminated, truncated, info

    def action_space(self, params):
        del params
        return _Discrete(2)


class OldGymnaxChain(GymnaxChain):
    """gymnax before 1.0: ``done`` includes the time limit; no ``is_truncated``."""

    is_truncated = None

    def step_env(self, key, state, action, params):
        obs, state, reward, terminated, info = super().step_env(
            key, state, action, params
        )
        return obs, state, reward, terminated | (state.time >= MAX_STEPS), info


def _sweep(env, taus, num_seeds=16, num_steps=300):
    run = make_run(env, fixed_boltzmann(), num_steps, swept="tau")
    return sweep(run, jnp.asarray(taus), num_seeds, key=jax.random.key(7))


def test_a_gymnax_environment_sweeps_tau_exactly_as_the_native_one():
    taus = [0.0, 0.3, 1.0, 3.0, float("inf")]
    native = _sweep(_NATIVE, taus)
    adapted = _sweep(from_gymnax(GymnaxChain()), taus)
    assert list(adapted.metrics) == list(native.metrics)
    for name, ours in adapted.metrics.items():
        for field, value in ours._asdict().items():
            expected = getattr(native.metrics[name], field)
            np.testing.assert_array_equal(value, expected, f"{name}.{field}")
    np.testing.assert_array_equal(adapted.diverged, native.diverged)
    # and the sweep measured something: success rises as tau falls
    success = np.nanmean(native.metrics["success"].run_mean, axis=1)
    assert success[0] > success[2] > success[-1] > 0


def test_gymnax_1_splits_the_time_limit_and_0x_counts_it_as_terminal():
    key = jax.random.key(0)
    cases = ((GymnaxChain(), False), (OldGymnaxChain(), True))
    for chain, terminated_at_limit in cases:
        env = from_gymnax(chain)
        assert env.splits_time_limit is not terminated_at_limit
        obs, state = env.reset(key, env.default_params)
        for _ in range(MAX_STEPS):  # left at 0 every step: only the limit ends it
            obs, state, reward, terminated, truncated, info = env.step(
                key, state, jnp.int32(0), env.default_params
            )
        assert bool(terminated) is terminated_at_limit
        assert bool(truncated) is not terminated_at_limit
        assert set(info) == {"action_values", "success"}  # gymnax's others dropped
        assert reward.dtype == jnp.float32 and int(obs) == 0


def test_the_adapter_never_resets_inside_step():
    env = from_gymnax(GymnaxChain())
    _, state = env.reset(jax.random.key(0), env.default_params)
    for _ in range(LENGTH):
        obs, state, _, terminated, _, _ = env.step(
            jax.random.key(1), state, jnp.int32(1), env.default_params
        )
    # the goal's observation, not the reset one that gymnax's step would give
    assert bool(terminated) and int(obs) == LENGTH


class _NoStepEnv:
    default_params = None

    def reset_env(self, key, params):
        return 0, 0

    def action_space(self, params):
        return _Discrete(2)


class _BoxChain(GymnaxChain):
    def action_space(self, params):
        return _Box((1,))


class _OneAction(GymnaxChain):
    def action_space(self, params):
        return _Discrete(1)


@pytest.mark.parametrize(
    "env, error, match",
    [
        (_NoStepEnv(), TypeError, "_NoStepEnv has no step_env; expected a gymnax-API"),
        (_BoxChain(), TypeError, "is _Box; expected a discrete space"),
        (_OneAction(), ValueError, "has 1 action; expected at least 2"),
    ],
)
def test_an_environment_the_adapter_cannot_serve_is_refused_in_one_line(
    env, error, match
):
    with pytest.raises(error, match=match) as info:
        from_gymnax(env)
    assert "\n" not in str(info.value)


def test_real_gymnax_cartpole_through_the_adapter_matches_gymnax_step():
    gymnax = pytest.importorskip("gymnax")
    env, params = gymnax.make("CartPole-v1")
    adapted = from_gymnax(env, params)
    assert isinstance(adapted, GymnaxEnv) and adapted.num_actions == 2
    step = jax.jit(adapted.step)
    key = jax.random.key(3)
    _, state = env.reset(key, params)
    ends = 0
    for t in range(600):
        key_step = jax.random.fold_in(key, t)
        action = jnp.int32(t % 3 == 0)
        obs, _, reward, terminated, truncated, _ = step(key_step, state, action, params)
        gx_obs, state, gx_reward, gx_terminated, gx_truncated, gx_info = env.step(
            key_step, state, action, params
        )
        # gymnax's step before its reset; both compiled, fused apart (1-ulp slack)
        np.testing.assert_allclose(obs, gx_info["final_observation"], rtol=1e-6)
        assert float(reward) == float(gx_reward)
        assert (bool(terminated), bool(truncated)) == (
            bool(gx_terminated), bool(gx_truncated),
        )  # fmt: skip
        ends += bool(terminated or truncated)
    assert ends > 5
