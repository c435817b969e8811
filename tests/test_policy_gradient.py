"""Tests for rl_softmax/agents/policy_gradient.py: closed forms and NumPy loops.

References: GAE (Schulman et al. 2016) re-implemented as a plain NumPy loop over
episodes; the score-function gradient of a linear softmax policy,
``grad_W log pi(a|s) = s (onehot(a) - pi)^T``; the softmax entropy's gradient
``dH/dz = -p (log p + H)``; PPO's clipped surrogate (Schulman et al. 2017), whose
gradient at ``r = 1`` is the A2C gradient and is zero for a sample clipped away.
"""

from __future__ import annotations

import doctest
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rl_softmax import softmax as sm
from rl_softmax.agents import policy_gradient as pg
from rl_softmax.agents.policy_gradient import (
    ActorCriticParams,
    Batch,
    a2c_loss,
    gae,
    init_actor_critic,
    init_mlp,
    mlp,
    policy_logits,
    ppo_loss,
    state_value,
    update,
)

OBS_SIZE = 4
NUM_ACTIONS = 3

# Compiled once per shape and shared: op-by-op (eager) evaluation compiles every
# small op on its own. Plain calls are checked in the *_plain_jit_vmap tests.
_gae = jax.jit(gae)


@functools.partial(jax.jit, static_argnames=("loss_fn", "normalize"))
def _loss_and_grad(loss_fn, params, batch, tau, value_coef, normalize):
    """``((loss, aux), grads)`` of ``loss_fn`` w.r.t. ``params``."""
    return jax.value_and_grad(loss_fn, has_aux=True)(
        params, batch, tau, value_coef=value_coef, normalize=normalize
    )


def test_doctests_pass():
    result = doctest.testmod(pg, extraglobs={"jnp": jnp})
    assert result.attempted > 0 and result.failed == 0


# --- init_mlp / mlp ------------------------------------------------------------------


# Layer shapes shared with the actor-critic tests: each new shape compiles anew.
@pytest.mark.parametrize("sizes", [(4, 3), (4, 64, 64, 3), (4, 64, 64, 1)])
def test_init_mlp_shapes_dtypes_zero_biases(sizes):
    params = init_mlp(jax.random.key(0), sizes)
    assert len(params) == len(sizes) - 1
    for (w, b), fan_in, fan_out in zip(params, sizes[:-1], sizes[1:], strict=True):
        assert w.shape == (fan_in, fan_out) and w.dtype == jnp.float32
        assert b.shape == (fan_out,) and b.dtype == jnp.float32
        np.testing.assert_array_equal(b, 0.0)


@pytest.mark.parametrize("out_scale", [0.01, 1.0])
def test_init_mlp_weights_are_orthogonal_with_their_gains(out_scale):
    (w_in, _), (w_hidden, _), (w_out, _) = init_mlp(
        jax.random.key(1), (4, 64, 64, 3), out_scale=out_scale
    )
    # Square: W^T W = gain^2 I. Wide [4, 64]: orthonormal rows, W W^T = gain^2 I.
    # Tall [64, 2]: orthonormal columns, W^T W = gain^2 I.
    np.testing.assert_allclose(w_hidden.T @ w_hidden, 2.0 * np.eye(64), atol=1e-5)
    np.testing.assert_allclose(w_hidden @ w_hidden.T, 2.0 * np.eye(64), atol=1e-5)
    np.testing.assert_allclose(w_in @ w_in.T, 2.0 * np.eye(4), atol=1e-5)
    np.testing.assert_allclose(
        w_out.T @ w_out, out_scale**2 * np.eye(3), rtol=1e-5, atol=1e-7
    )


def test_init_mlp_same_key_same_params_other_key_other_params():
    a = init_mlp(jax.random.key(3), (4, 64, 64, 3))
    b = init_mlp(jax.random.key(3), (4, 64, 64, 3))
    c = init_mlp(jax.random.key(4), (4, 64, 64, 3))
    jax.tree.map(np.testing.assert_array_equal, a, b)
    assert not np.array_equal(a[0][0], c[0][0])
    # Each layer draws from its own key.
    assert not np.allclose(a[0][0][:, :2], a[1][0][:4, :2])


@pytest.mark.parametrize("sizes", [(), (4,), (4, 0, 2), (0, 2)])
def test_init_mlp_rejects_bad_sizes(sizes):
    with pytest.raises(ValueError, match="sizes"):
        init_mlp(jax.random.key(0), sizes)


def _numpy_mlp(params, x):
    h = np.asarray(x, np.float64)
    for i, (w, b) in enumerate(params):
        h = h @ np.asarray(w, np.float64) + np.asarray(b, np.float64)
        if i < len(params) - 1:
            h = np.tanh(h)
    return h


def test_mlp_matches_numpy_plain_jit_vmap():
    params = init_mlp(jax.random.key(5), (OBS_SIZE, 64, 64, NUM_ACTIONS))
    # Non-zero biases, so the test sees them added.
    params = [(w, b + 0.1 * (i + 1)) for i, (w, b) in enumerate(params)]
    xs = jax.random.normal(jax.random.key(6), (7, OBS_SIZE))
    expected = np.stack([_numpy_mlp(params, x) for x in np.asarray(xs)])

    plain = mlp(params, xs[0])
    jitted = jax.jit(mlp)(params, xs[0])
    batched = jax.vmap(mlp, in_axes=(None, 0))(params, xs)
    assert plain.shape == jitted.shape == (NUM_ACTIONS,)
    assert batched.shape == (7, NUM_ACTIONS)
    for y in (plain, jitted, batched):
        assert y.dtype == jnp.float32
    np.testing.assert_allclose(plain, expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jitted, expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(batched, expected, rtol=1e-5, atol=1e-6)


def test_mlp_single_layer_is_linear():
    params = init_mlp(jax.random.key(7), (OBS_SIZE, NUM_ACTIONS))
    x = jnp.arange(OBS_SIZE, dtype=jnp.float32)
    np.testing.assert_allclose(mlp(params, x), x @ params[0][0], rtol=1e-6)


# --- actor-critic ------------------------------------------------------------------


def test_actor_critic_shapes_plain_jit_vmap():
    params = init_actor_critic(jax.random.key(0), OBS_SIZE, NUM_ACTIONS)
    assert [w.shape for w, _ in params.policy] == [(4, 64), (64, 64), (64, 3)]
    assert [w.shape for w, _ in params.value] == [(4, 64), (64, 64), (64, 1)]
    obs = jax.random.normal(jax.random.key(1), (5, OBS_SIZE))
    for fn, shape in ((policy_logits, (NUM_ACTIONS,)), (state_value, ())):
        for out in (fn(params, obs[0]), jax.jit(fn)(params, obs[0])):
            assert out.shape == shape and out.dtype == jnp.float32
        batched = jax.vmap(fn, in_axes=(None, 0))(params, obs)
        assert batched.shape == (5, *shape) and batched.dtype == jnp.float32


def test_actor_critic_networks_are_separate_and_first_policy_near_uniform():
    params = init_actor_critic(jax.random.key(2), OBS_SIZE, NUM_ACTIONS)
    assert not np.array_equal(params.policy[0][0], params.value[0][0])
    obs = jax.random.normal(jax.random.key(3), (16, OBS_SIZE))
    probs = jax.jit(lambda p, o: sm.softmax(jax.vmap(policy_logits, (None, 0))(p, o)))(
        params, obs
    )
    np.testing.assert_allclose(probs, 1.0 / NUM_ACTIONS, atol=0.02)


# --- GAE ---------------------------------------------------------------------------


def _numpy_gae(rewards, values, next_values, terminated, truncated, discount, lam):
    """GAE by a forward loop over episodes: A_t = sum_l (discount lam)^l delta_{t+l}."""
    num_steps = len(rewards)
    deltas = np.array(
        [
            rewards[t]
            + discount * (0.0 if terminated[t] else next_values[t])
            - values[t]
            for t in range(num_steps)
        ]
    )
    advantages = np.zeros(num_steps)
    for t in range(num_steps):
        weight = 1.0
        for k in range(t, num_steps):
            advantages[t] += weight * deltas[k]
            if terminated[k] or truncated[k]:
                break
            weight *= discount * lam
    return advantages, advantages + np.asarray(values, np.float64)


def _random_rollout(seed, num_steps=40):
    rng = np.random.default_rng(seed)
    rewards = rng.normal(size=num_steps).astype(np.float32)
    values = rng.normal(size=num_steps).astype(np.float32)
    next_values = rng.normal(size=num_steps).astype(np.float32)
    terminated = np.zeros(num_steps, bool)
    truncated = np.zeros(num_steps, bool)
    terminated[[5, 17, 18]] = True
    truncated[[9, 30]] = True
    terminated[30] = True  # both at once: terminal wins, no bootstrap
    return rewards, values, next_values, terminated, truncated


@pytest.mark.parametrize("discount", [0.0, 0.9, 0.99, 1.0])
@pytest.mark.parametrize("lam", [0.0, 0.5, 0.95, 1.0])
def test_gae_matches_numpy_loop(discount, lam):
    rollout = _random_rollout(seed=int(100 * discount + 10 * lam))
    advantages, returns = _gae(*rollout, discount, lam)
    expected_adv, expected_ret = _numpy_gae(*rollout, discount, lam)
    assert advantages.shape == returns.shape == (40,)
    assert advantages.dtype == returns.dtype == jnp.float32
    np.testing.assert_allclose(advantages, expected_adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(returns, expected_ret, rtol=1e-5, atol=1e-5)


def test_gae_jit_and_vmap_over_envs_match_plain():
    rollouts = [_random_rollout(seed) for seed in range(3)]
    # Time-major [T, num_envs]: vmap over axis 1.
    stacked = [np.stack(parts, axis=1) for parts in zip(*rollouts, strict=True)]
    discount, lam = jnp.float32(0.97), jnp.float32(0.9)
    batched_adv, batched_ret = jax.jit(
        jax.vmap(gae, in_axes=(1, 1, 1, 1, 1, None, None), out_axes=1)
    )(*stacked, discount, lam)
    assert batched_adv.shape == batched_ret.shape == (40, 3)
    for env, rollout in enumerate(rollouts):
        plain_adv, plain_ret = gae(*rollout, discount, lam)
        jit_adv, _ = jax.jit(gae)(*rollout, discount, lam)
        np.testing.assert_allclose(jit_adv, plain_adv, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(batched_adv[:, env], plain_adv, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(batched_ret[:, env], plain_ret, rtol=1e-6, atol=1e-6)


def test_gae_lambda_one_discount_one_is_monte_carlo_return_per_episode():
    rewards, values, _, _, _ = _random_rollout(seed=7)
    # Within an episode the next state's value is the next step's value, so the
    # value terms telescope away; at the ends terminated zeroes the bootstrap.
    next_values = np.roll(values, -1)
    terminated = np.zeros(40, bool)
    ends = [5, 17, 18, 39]
    terminated[ends] = True
    truncated = np.zeros(40, bool)
    _, returns = _gae(rewards, values, next_values, terminated, truncated, 1.0, 1.0)
    start = 0
    for end in ends:
        episode = rewards[start : end + 1].astype(np.float64)
        reward_to_go = np.cumsum(episode[::-1])[::-1]
        np.testing.assert_allclose(returns[start : end + 1], reward_to_go, atol=1e-5)
        start = end + 1


def test_gae_truncation_bootstraps_from_true_next_value():
    rewards = np.array([1.0, 1.0, 1.0], np.float32)
    values = np.zeros(3, np.float32)
    next_values = np.array([0.0, 10.0, 100.0], np.float32)
    truncated = np.array([False, True, False])
    terminated = np.array([False, False, True])
    _, returns = _gae(rewards, values, next_values, terminated, truncated, 0.5, 1.0)
    # Step 1 was cut: it bootstraps 0.5 * 10 and the trace stops there. Step 2 ended
    # in a terminal state: its next value (100) is ignored.
    np.testing.assert_allclose(returns, [1.0 + 0.5 * 6.0, 6.0, 1.0])


def test_gae_lambda_zero_is_one_step_td_error():
    rewards, values, next_values, terminated, truncated = _random_rollout(seed=11)
    advantages, _ = _gae(rewards, values, next_values, terminated, truncated, 0.9, 0.0)
    td_errors = rewards + 0.9 * np.where(terminated, 0.0, next_values) - values
    np.testing.assert_allclose(advantages, td_errors, rtol=1e-6, atol=1e-6)


def test_gae_rejects_mismatched_shapes():
    x = np.zeros(5, np.float32)
    with pytest.raises(ValueError, match="next_values"):
        gae(x, x, np.zeros(4, np.float32), x > 0, x > 0, 0.9, 0.9)
    with pytest.raises(ValueError, match=r"\[T\]"):
        y = np.zeros((5, 2), np.float32)
        gae(y, y, y, y > 0, y > 0, 0.9, 0.9)


# --- losses on a linear softmax policy ---------------------------------------------


def _linear_params(seed):
    """A one-layer (linear) softmax policy and a linear value, random non-zero."""
    key_w, key_b, key_v = jax.random.split(jax.random.key(seed), 3)
    w = jax.random.normal(key_w, (OBS_SIZE, NUM_ACTIONS))
    b = jax.random.normal(key_b, (NUM_ACTIONS,))
    v = jax.random.normal(key_v, (OBS_SIZE, 1))
    return ActorCriticParams(policy=[(w, b)], value=[(v, jnp.zeros((1,)))])


def _batch(params, seed, num_steps=6, advantages=None):
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(num_steps, OBS_SIZE)).astype(np.float32)
    actions = rng.integers(NUM_ACTIONS, size=num_steps).astype(np.int32)
    if advantages is None:
        advantages = rng.normal(size=num_steps).astype(np.float32)
    return Batch(
        obs=jnp.asarray(obs),
        actions=jnp.asarray(actions),
        log_probs=_behaviour_log_probs(params, obs, actions),
        advantages=jnp.asarray(advantages, jnp.float32),
        returns=jnp.asarray(rng.normal(size=num_steps), jnp.float32),
    )


@jax.jit
def _behaviour_log_probs(params, obs, actions):
    logits = jax.vmap(policy_logits, in_axes=(None, 0))(params, obs)
    return jnp.take_along_axis(sm.log_softmax(logits), actions[:, None], -1)[:, 0]


def _numpy_probs(params, obs):
    (w, b) = params.policy[0]
    logits = np.asarray(obs, np.float64) @ np.asarray(w, np.float64) + np.asarray(b)
    logits -= logits.max(axis=-1, keepdims=True)
    return np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)


def test_a2c_policy_gradient_is_score_function_gradient():
    params = _linear_params(0)
    batch = _batch(params, seed=0)
    _, grads = _loss_and_grad(a2c_loss, params, batch, 0.0, 0.0, normalize=False)
    obs = np.asarray(batch.obs, np.float64)
    adv = np.asarray(batch.advantages, np.float64)
    score = np.eye(NUM_ACTIONS)[np.asarray(batch.actions)] - _numpy_probs(params, obs)
    expected_w = -np.mean(adv[:, None, None] * obs[:, :, None] * score[:, None, :], 0)
    expected_b = -np.mean(adv[:, None] * score, axis=0)
    np.testing.assert_allclose(grads.policy[0][0], expected_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads.policy[0][1], expected_b, rtol=1e-5, atol=1e-6)
    jax.tree.map(lambda g: np.testing.assert_array_equal(g, 0.0), grads.value)


def test_entropy_gradient_matches_closed_form():
    tau = 0.7
    params = _linear_params(1)
    batch = _batch(params, seed=1, advantages=np.zeros(6, np.float32))
    _, grads = _loss_and_grad(a2c_loss, params, batch, tau, 0.0, normalize=True)
    obs = np.asarray(batch.obs, np.float64)
    probs = _numpy_probs(params, obs)
    entropy = -np.sum(probs * np.log(probs), axis=-1, keepdims=True)
    d_entropy_d_logits = -probs * (np.log(probs) + entropy)
    # The closed form is the derivative of the library's one entropy.
    logits = obs @ np.asarray(params.policy[0][0]) + np.asarray(params.policy[0][1])
    jacobian = jax.jit(jax.vmap(jax.jacfwd(sm.entropy)))(logits.astype(np.float32))
    np.testing.assert_allclose(jacobian, d_entropy_d_logits, rtol=1e-4, atol=1e-6)
    expected_w = -tau * np.mean(obs[:, :, None] * d_entropy_d_logits[:, None, :], 0)
    np.testing.assert_allclose(grads.policy[0][0], expected_w, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        grads.policy[0][1], -tau * d_entropy_d_logits.mean(0), rtol=1e-4, atol=1e-6
    )


def test_value_gradient_is_squared_error_gradient():
    params = _linear_params(2)
    batch = _batch(params, seed=2)
    _, grads = _loss_and_grad(a2c_loss, params, batch, 0.3, 0.5, normalize=True)
    obs = np.asarray(batch.obs, np.float64)
    values = obs @ np.asarray(params.value[0][0], np.float64)[:, 0]
    errors = values - np.asarray(batch.returns, np.float64)
    expected = 0.5 * np.mean(2.0 * errors[:, None] * obs, axis=0)
    np.testing.assert_allclose(grads.value[0][0][:, 0], expected, rtol=1e-5, atol=1e-6)


def test_a2c_loss_is_sum_of_its_terms_and_normalize_standardises():
    params = _linear_params(3)
    batch = _batch(params, seed=3)
    (loss, aux), _ = _loss_and_grad(a2c_loss, params, batch, 0.2, 0.5, True)
    np.testing.assert_allclose(
        loss, aux["policy_loss"] - 0.2 * aux["entropy"] + 0.5 * aux["value_loss"], 1e-6
    )
    adv = np.asarray(batch.advantages, np.float64)
    standardised = batch._replace(
        advantages=jnp.asarray((adv - adv.mean()) / adv.std(), jnp.float32)
    )
    (raw_loss, _), _ = _loss_and_grad(a2c_loss, params, standardised, 0.2, 0.5, False)
    np.testing.assert_allclose(loss, raw_loss, rtol=1e-5)
    # Behaviour == current policy here, so the KL estimate is 0.
    np.testing.assert_allclose(aux["approx_kl"], 0.0, atol=1e-7)


def test_normalize_equal_advantages_stays_finite():
    params = _linear_params(4)
    batch = _batch(params, seed=4, advantages=np.full(6, 3.0, np.float32))
    for loss_fn in (a2c_loss, ppo_loss):
        (loss, aux), grads = _loss_and_grad(
            loss_fn, params, batch, 0.1, 0.5, normalize=True
        )
        assert np.isfinite(loss)
        np.testing.assert_allclose(aux["policy_loss"], 0.0, atol=1e-6)
        assert all(np.isfinite(g).all() for g in jax.tree.leaves(grads))


@pytest.mark.parametrize("normalize", [False, True])
def test_ppo_at_behaviour_params_is_a2c(normalize):
    params = _linear_params(5)
    batch = _batch(params, seed=5)
    (ppo, ppo_aux), ppo_grads = _loss_and_grad(
        ppo_loss, params, batch, 0.1, 0.5, normalize=normalize
    )
    (_, a2c_aux), a2c_grads = _loss_and_grad(
        a2c_loss, params, batch, 0.1, 0.5, normalize=normalize
    )
    # r = 1: the surrogate's value is -mean(A) and its gradient is A2C's.
    adv = np.asarray(batch.advantages, np.float64)
    expected_policy_loss = 0.0 if normalize else -adv.mean()
    np.testing.assert_allclose(ppo_aux["policy_loss"], expected_policy_loss, atol=1e-6)
    for name in ("entropy", "value_loss", "approx_kl"):
        np.testing.assert_allclose(ppo_aux[name], a2c_aux[name], rtol=1e-6)
    assert float(ppo_aux["clip_fraction"]) == 0.0
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-6),
        ppo_grads,
        a2c_grads,
    )
    assert np.isfinite(ppo)


@pytest.mark.parametrize(
    ("ratio", "advantage", "clipped"),
    [
        (1.5, 1.0, True),  # already made a favoured action more likely: stop
        (0.5, -1.0, True),  # already made a bad action less likely: stop
        (1.5, -1.0, False),  # moved the wrong way: still pulled back
        (0.5, 1.0, False),
        (1.1, 1.0, False),  # inside the trust interval
        (0.9, -1.0, False),
    ],
)
def test_ppo_gradient_zero_only_for_samples_clipped_away(ratio, advantage, clipped):
    params = _linear_params(6)
    batch = _batch(params, seed=6, num_steps=1, advantages=np.array([advantage]))
    # mu = pi / r, so that pi / mu = r at these params.
    batch = batch._replace(log_probs=batch.log_probs - np.log(ratio))

    (_, aux), grads = _loss_and_grad(ppo_loss, params, batch, 0.0, 0.0, False)
    _, a2c_grads = _loss_and_grad(a2c_loss, params, batch, 0.0, 0.0, False)
    assert float(aux["clip_fraction"]) == float(abs(ratio - 1.0) > 0.2)
    for g, a2c_g in zip(
        jax.tree.leaves(grads.policy), jax.tree.leaves(a2c_grads.policy), strict=True
    ):
        if clipped:
            np.testing.assert_array_equal(g, 0.0)
        else:
            # grad r A = r A grad log pi = r * (A2C's gradient).
            assert np.abs(g).max() > 0
            np.testing.assert_allclose(g, ratio * a2c_g, rtol=1e-5, atol=1e-7)


def test_ppo_rejects_non_positive_clip():
    params = _linear_params(0)
    with pytest.raises(ValueError, match="clip"):
        ppo_loss(params, _batch(params, seed=0), 0.0, clip=0.0)


def test_losses_reject_mismatched_batch():
    params = _linear_params(0)
    batch = _batch(params, seed=0)
    with pytest.raises(ValueError, match="Batch"):
        a2c_loss(params, batch._replace(returns=batch.returns[:3]), 0.0)


@pytest.mark.parametrize("loss_fn", [a2c_loss, ppo_loss])
def test_losses_plain_jit_vmap(loss_fn):
    params = init_actor_critic(jax.random.key(0), OBS_SIZE, NUM_ACTIONS)
    batches = [_batch(params, seed=s) for s in range(3)]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *batches)
    plain = [loss_fn(params, b, 0.01) for b in batches]
    jitted = jax.jit(loss_fn)(params, batches[0], 0.01)
    # One tau per batch: vmap over batches and temperatures together.
    batched = jax.vmap(loss_fn, in_axes=(None, 0, 0))(
        params, stacked, jnp.full((3,), 0.01)
    )
    assert plain[0][0].shape == () and plain[0][0].dtype == jnp.float32
    assert batched[0].shape == (3,)
    np.testing.assert_allclose(jitted[0], plain[0][0], rtol=1e-6)
    np.testing.assert_allclose(batched[0], [p[0] for p in plain], rtol=1e-5)
    for name, value in batched[1].items():
        assert value.shape == (3,), name
        np.testing.assert_allclose(
            value, [p[1][name] for p in plain], rtol=1e-5, atol=1e-7
        )


# --- update ------------------------------------------------------------------------


def test_update_is_one_optax_step():
    params = _linear_params(7)
    batch = _batch(params, seed=7)
    optimizer = optax.sgd(0.1)
    loss = functools.partial(ppo_loss, clip=0.2)
    new_params, _, aux = jax.jit(update, static_argnums=(4, 5))(
        params, optimizer.init(params), batch, 0.01, optimizer, loss
    )
    (value, _), grads = _loss_and_grad(ppo_loss, params, batch, 0.01, 0.5, True)
    expected = jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)
    jax.tree.map(
        functools.partial(np.testing.assert_allclose, rtol=1e-6, atol=1e-7),
        new_params,
        expected,
    )
    np.testing.assert_allclose(aux["loss"], value, rtol=1e-6)
    assert set(aux) >= {"loss", "policy_loss", "value_loss", "entropy", "approx_kl"}


def test_ppo_learns_a_contextual_bandit():
    """Two one-hot states, reward 1 for the action equal to the state index.

    A2C's gradient is checked exactly above; one learning run (PPO, compiled once)
    checks that the pieces (gae, Batch, loss, update) fit together.
    """
    loss_fn = ppo_loss
    num_states, num_steps = 2, 64
    optimizer = optax.adam(0.05)
    params = init_actor_critic(jax.random.key(0), num_states, NUM_ACTIONS, hidden=())

    def iteration(carry, key):
        params, opt_state = carry
        key_state, key_act = jax.random.split(key)
        states = jax.random.randint(key_state, (num_steps,), 0, num_states)
        obs = jax.nn.one_hot(states, num_states)
        logits = jax.vmap(policy_logits, in_axes=(None, 0))(params, obs)
        actions = jax.random.categorical(key_act, logits)
        rewards = (actions == states).astype(jnp.float32)
        values = jax.vmap(state_value, in_axes=(None, 0))(params, obs)
        done = jnp.ones((num_steps,), bool)
        advantages, returns = gae(rewards, values, values, done, ~done, 0.99, 0.95)
        log_probs = jnp.take_along_axis(
            sm.log_softmax(logits), actions[:, None], axis=-1
        )[:, 0]
        batch = Batch(obs, actions, log_probs, advantages, returns)
        params, opt_state, aux = update(
            params, opt_state, batch, 0.001, optimizer, loss_fn
        )
        return (params, opt_state), jnp.mean(rewards)

    keys = jax.random.split(jax.random.key(1), 150)
    (params, _), mean_rewards = jax.jit(
        lambda p: jax.lax.scan(iteration, (p, optimizer.init(p)), keys)
    )(params)
    assert float(mean_rewards[:5].mean()) < 0.6  # starts near 1 / 3
    assert float(mean_rewards[-10:].mean()) > 0.9
    probs = sm.softmax(
        jax.vmap(policy_logits, in_axes=(None, 0))(params, jnp.eye(num_states))
    )
    assert float(probs[0, 0]) > 0.9 and float(probs[1, 1]) > 0.9
