"""The softmax actor-critic agent (agents.actor_critic): its learn step against a
NumPy GAE loop and a hand-assembled gradient step, its temperatures (constant,
scheduled, automatic) and its errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rl_softmax import schedules
from rl_softmax.agents import PGParams, Transition, make_actor_critic_agent
from rl_softmax.agents import policy_gradient as pg

OBS_SIZE, NUM_ACTIONS, T, N = 3, 3, 6, 2


def _rollout(key) -> Transition:
    keys = jax.random.split(key, 4)
    obs = jax.random.normal(keys[0], (T, N, OBS_SIZE))
    next_obs = jax.random.normal(keys[1], (T, N, OBS_SIZE))
    done = jax.random.uniform(keys[2], (T, N)) < 0.3
    return Transition(
        obs=obs,
        action=jax.random.randint(keys[3], (T, N), 0, NUM_ACTIONS),
        reward=jax.random.normal(keys[2], (T, N)),
        next_obs=next_obs,
        terminated=done & (jnp.arange(N) == 0)[None, :],
        truncated=done & (jnp.arange(N) == 1)[None, :],
    )


def _numpy_gae(rewards, values, next_values, terminated, truncated, gamma, lam):
    advantages = np.zeros_like(rewards)
    following = 0.0
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * (1 - terminated[t]) * next_values[t] - values[t]
        done = terminated[t] or truncated[t]
        following = delta + gamma * lam * (1 - done) * following
        advantages[t] = following
    return advantages


def test_learn_is_one_sgd_step_on_the_a2c_loss_with_per_env_gae():
    agent = make_actor_critic_agent(
        OBS_SIZE, NUM_ACTIONS, loss="a2c", optimizer=optax.sgd, hidden=(5,),
        num_epochs=1, num_minibatches=1,
    )  # fmt: skip
    params = PGParams(tau=0.1, learning_rate=0.05, max_grad_norm=1e9)
    state = agent.init(jax.random.key(0), params)
    rollout = _rollout(jax.random.key(1))
    learned = agent.learn(jax.random.key(2), state, rollout, params)

    net = state.network
    value = jax.vmap(pg.state_value, (None, 0))
    obs = np.asarray(rollout.obs)
    advantages = np.zeros((T, N))
    for n in range(N):
        advantages[:, n] = _numpy_gae(
            np.asarray(rollout.reward[:, n], np.float64),
            np.asarray(value(net, rollout.obs[:, n]), np.float64),
            np.asarray(value(net, rollout.next_obs[:, n]), np.float64),
            np.asarray(rollout.terminated[:, n]), np.asarray(rollout.truncated[:, n]),
            0.99, 0.95,
        )  # fmt: skip
    returns = advantages + np.asarray(
        value(net, rollout.obs.reshape(T * N, -1))
    ).reshape(T, N)
    logits = jax.vmap(pg.policy_logits, (None, 0))(net, rollout.obs.reshape(T * N, -1))
    log_probs = jax.nn.log_softmax(logits)[
        jnp.arange(T * N), rollout.action.reshape(-1)
    ]
    batch = pg.Batch(
        obs.reshape(T * N, -1), rollout.action.reshape(-1), log_probs,
        jnp.asarray(advantages.reshape(-1), jnp.float32),
        jnp.asarray(returns.reshape(-1), jnp.float32),
    )  # fmt: skip
    grads = jax.grad(lambda p: pg.a2c_loss(p, batch, 0.1)[0])(net)
    expected = jax.tree.map(lambda p, g: p - 0.05 * g, net, grads)
    for got, want in zip(
        jax.tree.leaves(learned.network), jax.tree.leaves(expected), strict=True
    ):
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-6)
    assert int(learned.step) == T * N


def test_first_policy_is_near_uniform_and_act_samples_its_softmax():
    agent = make_actor_critic_agent(OBS_SIZE, NUM_ACTIONS)
    state = agent.init(jax.random.key(0), agent.default_params)
    obs = jnp.array([0.3, -1.0, 2.0])
    keys = jax.random.split(jax.random.key(1), 20000)
    actions, info = jax.vmap(agent.act, (0, None, None, None))(
        keys, state, obs, agent.default_params
    )
    probs = np.asarray(info["probs"][0])
    np.testing.assert_allclose(
        probs, jax.nn.softmax(pg.policy_logits(state.network, obs))
    )
    entropy = -np.sum(probs * np.log(probs))
    assert abs(entropy - np.log(NUM_ACTIONS)) < 1e-3  # out_scale 0.01: near uniform
    counts = np.bincount(np.asarray(actions), minlength=NUM_ACTIONS) / len(keys)
    np.testing.assert_allclose(counts, probs, atol=0.015)  # > 4 standard errors
    np.testing.assert_allclose(info["tau"], 0.01)


def test_scheduled_temperature_follows_the_schedule_in_environment_steps():
    temperature = schedules.make_temperature(
        schedules.linear, end_value=0.0, transition_steps=10 * T * N
    )
    agent = make_actor_critic_agent(
        OBS_SIZE, NUM_ACTIONS, temperature=temperature, num_minibatches=2
    )
    params = PGParams(tau=0.2)
    state = agent.init(jax.random.key(0), params)
    rollout = _rollout(jax.random.key(1))
    for update in range(4):
        _, info = agent.act(jax.random.key(9), state, rollout.obs[0, 0], params)
        np.testing.assert_allclose(info["tau"], 0.2 * (1 - update / 10), rtol=1e-5)
        state = agent.learn(jax.random.key(update), state, rollout, params)


@pytest.mark.parametrize("target, direction", [(0.01, -1), (1.2, 1)])
def test_automatic_temperature_moves_toward_the_target_entropy(target, direction):
    """Entropy above the target lowers tau, below raises it (the SAC rule)."""
    agent = make_actor_critic_agent(
        OBS_SIZE, NUM_ACTIONS, entropy_target=lambda step, final: final,
        num_minibatches=2,
    )  # fmt: skip
    params = PGParams(tau=0.05, final_entropy=target, tau_learning_rate=0.1)
    state = agent.init(jax.random.key(0), params)
    # the first policy is near uniform: entropy just below log 3 = 1.0986
    learned = agent.learn(jax.random.key(1), state, _rollout(jax.random.key(2)), params)
    change = float(learned.log_tau - state.log_tau)
    assert np.sign(change) == direction
    np.testing.assert_allclose(abs(change), 0.1, rtol=1e-3)  # Adam's first step: lr
    _, info = agent.act(jax.random.key(3), learned, jnp.zeros(OBS_SIZE), params)
    np.testing.assert_allclose(info["tau"], np.exp(learned.log_tau), rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"loss": "reinforce"}, "loss='reinforce'"),
        ({"num_epochs": 0}, "num_epochs=0"),
        ({"anneal_steps": 0}, "anneal_steps=0"),
        (
            {"temperature": lambda s, t: t, "entropy_target": lambda s, f: f},
            "not both",
        ),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_actor_critic_agent(OBS_SIZE, NUM_ACTIONS, **kwargs)


def test_minibatches_must_divide_the_rollout():
    agent = make_actor_critic_agent(OBS_SIZE, NUM_ACTIONS, num_minibatches=5)
    state = agent.init(jax.random.key(0), agent.default_params)
    with pytest.raises(ValueError, match="num_minibatches=5 must divide"):
        agent.learn(
            jax.random.key(1), state, _rollout(jax.random.key(2)), agent.default_params
        )
