"""The softmax actor-critic agent: A2C or PPO with the entropy temperature ``tau``.

A rollout :class:`~rl_softmax.agents.base.Agent` built from the pieces of
:mod:`rl_softmax.agents.policy_gradient`. It acts with the softmax policy of an MLP
over the observation and learns from rollouts of a batch of environments: values of
every observation, generalized advantage estimates per environment, then
``num_epochs`` passes over the shuffled rollout in ``num_minibatches`` optax steps on
the loss of the maximum-entropy objective ``E[sum r] + tau H(pi)``.

The temperature ``tau`` is the entropy coefficient. It is

* constant (``temperature=None``): ``tau = params.tau``;
* scheduled: ``temperature(step, params.tau)`` at the environment step the update
  starts at (:func:`rl_softmax.schedules.make_temperature`; ``params.tau`` is the
  schedule's scale), so the anneal from uniform to greedy is a config's choice;
* automatic (``entropy_target`` given): ``log tau`` starts at ``log params.tau``
  and takes one optax step per update on the SAC temperature loss
  ``tau (H(pi) - H_target)`` (Haarnoja et al., 2018), so the policy's entropy tracks
  ``entropy_target(step, params.final_entropy)``.

The policy itself samples from ``softmax(logits)``: ``tau`` shapes what is learned,
not how an action is drawn from the learned preferences.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from rl_softmax import policies, schedules
from rl_softmax import softmax as sm
from rl_softmax.agents import policy_gradient as pg
from rl_softmax.agents.base import Agent, Transition
from rl_softmax.agents.networks import annealed, clipped

__all__ = ["LOSSES", "PGParams", "PGState", "make_actor_critic_agent"]

LOSSES = ("ppo", "a2c")
"""The policy losses: PPO's clipped surrogate, A2C's score function."""


class PGParams(NamedTuple):
    """Sweepable numbers (PPO's usual CartPole settings by default).

    Attributes:
      tau: entropy temperature (a schedule's scale; the automatic rule's start).
      learning_rate: the optimizer's learning rate (at the start, if annealed).
      discount: ``gamma``.
      lam: GAE's ``lambda``.
      clip: PPO's ``epsilon`` (unused by A2C).
      value_coef: weight of the value regression in the loss.
      max_grad_norm: gradients are clipped to this global norm.
      tau_learning_rate: learning rate of ``log tau`` (automatic rule only).
      final_entropy: where the target entropy ends (automatic rule only), nats.
    """

    tau: ArrayLike = 0.01
    learning_rate: ArrayLike = 2.5e-4
    discount: ArrayLike = 0.99
    lam: ArrayLike = 0.95
    clip: ArrayLike = 0.2
    value_coef: ArrayLike = 0.5
    max_grad_norm: ArrayLike = 0.5
    tau_learning_rate: ArrayLike = 0.01
    final_entropy: ArrayLike = 0.1


class PGState(NamedTuple):
    """The networks, their optimizer state, ``log tau`` and the step count.

    Attributes:
      network: :class:`~rl_softmax.agents.policy_gradient.ActorCriticParams`.
      opt_state: the optimizer's state.
      log_tau: ``log`` of the automatic temperature (unused otherwise).
      tau_opt_state: the optimizer state of ``log tau``.
      step: environment steps learned from so far (int32).
    """

    network: pg.ActorCriticParams
    opt_state: Any
    log_tau: jax.Array
    tau_opt_state: Any
    step: jax.Array


def make_actor_critic_agent(
    obs_size: int,
    num_actions: int,
    *,
    loss: str = "ppo",
    optimizer: Callable[..., optax.GradientTransformation] = optax.adam,
    hidden: Sequence[int] = (64, 64),
    num_epochs: int = 4,
    num_minibatches: int = 4,
    anneal_steps: int | None = None,
    temperature: Callable[[jax.Array, jax.Array], jax.Array] | None = None,
    entropy_target: Callable[[jax.Array, jax.Array], jax.Array] | None = None,
) -> Agent:
    """Builds the softmax actor-critic.

    Args:
      obs_size: length of a (flat, float) observation.
      num_actions: number of discrete actions.
      loss: ``"ppo"`` (clipped surrogate) or ``"a2c"``.
      optimizer: optax factory taking ``learning_rate`` (``optax.adam``, ...);
        gradients are clipped to ``params.max_grad_norm`` before it.
      hidden: hidden-layer widths of both networks (``()``: linear).
      num_epochs: passes over each rollout.
      num_minibatches: optimizer steps per pass; must divide the rollout size.
      anneal_steps: the learning rate falls linearly to 0 over this many
        environment steps (None: constant).
      temperature: ``(step, tau) -> tau_t`` schedule of the entropy temperature.
      entropy_target: ``(step, final_entropy) -> H_target`` for the automatic
        temperature (excludes ``temperature``).

    Returns:
      a rollout :class:`~rl_softmax.agents.base.Agent` (``per_step=False``) with
      :class:`PGParams`.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r}: expected one of {list(LOSSES)}.")
    for name, value in (
        ("obs_size", obs_size), ("num_actions", num_actions),
        ("num_epochs", num_epochs), ("num_minibatches", num_minibatches),
    ):  # fmt: skip
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r}: expected an integer >= 1.")
    if anneal_steps is not None and (
        not isinstance(anneal_steps, int) or anneal_steps < 1
    ):
        raise ValueError(f"anneal_steps={anneal_steps!r}: expected an integer >= 1.")
    if temperature is not None and entropy_target is not None:
        raise ValueError("give a temperature schedule or an entropy target, not both.")
    hidden = tuple(hidden)
    loss_fn = pg.ppo_loss if loss == "ppo" else pg.a2c_loss

    def network_optimizer(params, learning_rate):
        # Built per call: the swept numbers are traced arrays.
        return clipped(optimizer, learning_rate, params.max_grad_norm)

    def tau_optimizer(params):
        return optax.adam(params.tau_learning_rate)

    def tau_now(state, params):
        if entropy_target is not None:
            return jnp.exp(state.log_tau)
        tau = jnp.asarray(params.tau, jnp.float32)
        return tau if temperature is None else temperature(state.step, tau)

    def init(key, params):
        network = pg.init_actor_critic(key, obs_size, num_actions, hidden)
        log_tau = jnp.log(jnp.asarray(params.tau, jnp.float32))
        return PGState(
            network=network,
            opt_state=network_optimizer(params, params.learning_rate).init(network),
            log_tau=log_tau,
            tau_opt_state=tau_optimizer(params).init(log_tau),
            step=jnp.zeros((), jnp.int32),
        )

    def act(key, state, obs, params):
        probs = sm.softmax(pg.policy_logits(state.network, obs))
        action = policies.sample_categorical(key, probs)
        return action, {"probs": probs, "tau": tau_now(state, params)}

    def minibatch_loss(network, batch, tau, params):
        if loss == "ppo":
            return loss_fn(
                network, batch, tau, clip=params.clip, value_coef=params.value_coef
            )
        return loss_fn(network, batch, tau, value_coef=params.value_coef)

    def learn(key, state, rollout: Transition, params):
        num_steps, num_envs = rollout.action.shape
        size = num_steps * num_envs
        if size % num_minibatches:
            raise ValueError(
                f"num_minibatches={num_minibatches} must divide the rollout's "
                f"{num_steps} steps x {num_envs} environments = {size}."
            )
        network = state.network
        over_batch = jax.vmap(jax.vmap(pg.state_value, (None, 0)), (None, 0))
        values = over_batch(network, rollout.obs)
        next_values = over_batch(network, rollout.next_obs)
        logits = jax.vmap(jax.vmap(pg.policy_logits, (None, 0)), (None, 0))(
            network, rollout.obs
        )
        log_probs = jnp.take_along_axis(
            sm.log_softmax(logits), rollout.action[..., None], axis=-1
        )[..., 0]
        per_env = jax.vmap(pg.gae, (1, 1, 1, 1, 1, None, None), 1)
        advantages, returns = per_env(
            rollout.reward, values, next_values, rollout.terminated,
            rollout.truncated, params.discount, params.lam,
        )  # fmt: skip
        flat = pg.Batch(
            obs=rollout.obs.reshape(size, *rollout.obs.shape[2:]),
            actions=rollout.action.reshape(size),
            log_probs=log_probs.reshape(size),
            advantages=advantages.reshape(size),
            returns=returns.reshape(size),
        )
        tau = tau_now(state, params)
        learning_rate = annealed(params.learning_rate, state.step, anneal_steps)
        opt = network_optimizer(params, learning_rate)

        def minibatch(carry, batch):
            network, opt_state = carry
            network, opt_state, _ = pg.update(
                network, opt_state, batch, tau, opt,
                lambda p, b, t: minibatch_loss(p, b, t, params),
            )  # fmt: skip
            return (network, opt_state), None

        def epoch(carry, epoch_key):
            order = jax.random.permutation(epoch_key, size)
            shuffled = jax.tree.map(
                lambda x: x[order].reshape(num_minibatches, -1, *x.shape[1:]), flat
            )
            return jax.lax.scan(minibatch, carry, shuffled)[0], None

        (network, opt_state), _ = jax.lax.scan(
            epoch, (network, state.opt_state), jax.random.split(key, num_epochs)
        )
        log_tau, tau_opt_state = state.log_tau, state.tau_opt_state
        if entropy_target is not None:
            # The entropy of the policy that gathered the rollout.
            entropy = jnp.mean(sm.entropy(logits))
            target = entropy_target(state.step, params.final_entropy)
            log_tau, tau_opt_state = schedules.temperature_step(
                tau_optimizer(params), log_tau, tau_opt_state, entropy, target
            )
        return PGState(network, opt_state, log_tau, tau_opt_state, state.step + size)

    return Agent(
        init=init, act=act, learn=learn, default_params=PGParams(),
        num_actions=num_actions, per_step=False,
    )  # fmt: skip
