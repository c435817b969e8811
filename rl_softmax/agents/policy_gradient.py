"""Softmax policy-gradient building blocks: the actor-critic networks, GAE, A2C and
PPO losses.

Pure functions over plain pytrees of arrays (no module library). Each function takes
one unbatched example (an observation ``[obs_size]``); ``jax.vmap`` makes a batch.
Rollouts are time-major, ``[T]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from rl_softmax import softmax as sm
from rl_softmax.agents.networks import MLPParams, init_mlp, mlp

__all__ = [
    "ActorCriticParams",
    "Batch",
    "Loss",
    "a2c_loss",
    "gae",
    "init_actor_critic",
    "policy_logits",
    "ppo_loss",
    "state_value",
    "update",
]

# Keeps a batch of equal advantages finite: they standardise to 0.
_NORMALIZE_EPS = 1e-8


class ActorCriticParams(NamedTuple):
    """Separate policy and value networks.

    Attributes:
      policy: :func:`mlp` params mapping ``[obs_size]`` to ``[num_actions]`` logits.
      value: :func:`mlp` params mapping ``[obs_size]`` to ``[1]``, the state value.
    """

    policy: MLPParams
    value: MLPParams


def init_actor_critic(
    key: jax.Array,
    obs_size: int,
    num_actions: int,
    hidden: Sequence[int] = (64, 64),
) -> ActorCriticParams:
    """An actor-critic with two ``tanh`` MLPs of widths ``hidden``.

    The policy head is scaled by 0.01 (a near-uniform first policy), the value head
    by 1.0.

    Args:
      key: PRNG key.
      obs_size: length of one (flat) observation.
      num_actions: number of discrete actions.
      hidden: hidden-layer widths, shared by both networks (may be empty).

    Returns:
      float32 :class:`ActorCriticParams`.
    """
    key_policy, key_value = jax.random.split(key)
    hidden = tuple(hidden)
    return ActorCriticParams(
        policy=init_mlp(key_policy, (obs_size, *hidden, num_actions), out_scale=0.01),
        value=init_mlp(key_value, (obs_size, *hidden, 1), out_scale=1.0),
    )


def policy_logits(params: ActorCriticParams, obs: ArrayLike) -> jax.Array:
    """Action preferences of the softmax policy ``pi(.|s) = softmax(logits)``.

    Args:
      params: actor-critic params.
      obs: ``[obs_size]`` one observation.

    Returns:
      ``[num_actions]`` logits.
    """
    return mlp(params.policy, obs)


def state_value(params: ActorCriticParams, obs: ArrayLike) -> jax.Array:
    """The critic's estimate ``V(s)``.

    Args:
      params: actor-critic params.
      obs: ``[obs_size]`` one observation.

    Returns:
      ``[]`` scalar value.
    """
    return mlp(params.value, obs)[0]


def gae(
    rewards: ArrayLike,
    values: ArrayLike,
    next_values: ArrayLike,
    terminated: ArrayLike,
    truncated: ArrayLike,
    discount: ArrayLike,
    lam: ArrayLike,
) -> tuple[jax.Array, jax.Array]:
    """Generalized advantage estimates and their returns over one time-major rollout.

    ``delta_t = r_t + discount * (1 - terminated_t) * next_values_t - values_t`` and
    ``A_t = delta_t + discount * lam * (1 - done_t) * A_{t+1}``, ``A_T = 0``, with
    ``done_t = terminated_t or truncated_t``. An episode boundary cuts the trace; a
    truncated step still bootstraps from ``next_values_t``, which must be the value of
    the true next observation (not of the reset one). ``lam = 0`` gives one-step TD
    errors, ``lam = 1`` Monte-Carlo returns minus ``values``.
    Schulman et al. (2016), Eq. 16.

    Args:
      rewards: ``[T]`` ``r_t``.
      values: ``[T]`` ``V(s_t)``.
      next_values: ``[T]`` ``V(s_{t+1})`` of the observation after step ``t``.
      terminated: ``[T]`` bool or 0/1, ``s_{t+1}`` is terminal (value 0).
      truncated: ``[T]`` bool or 0/1, the episode was cut after step ``t``.
      discount: ``[]`` ``gamma`` in ``[0, 1]``.
      lam: ``[]`` ``lambda`` in ``[0, 1]``.

    Returns:
      ``(advantages, returns)``, both ``[T]``, ``returns = advantages + values``.

    Examples:
      >>> adv, ret = gae(jnp.ones(3), jnp.zeros(3), jnp.zeros(3),
      ...                jnp.array([False, False, True]), jnp.zeros(3, bool), 1.0, 1.0)
      >>> [float(g) for g in ret]
      [3.0, 2.0, 1.0]
    """
    values = jnp.asarray(values)
    dtype = jnp.result_type(rewards, values, next_values, jnp.float32)
    rewards, values, next_values = (
        jnp.asarray(x, dtype) for x in (rewards, values, next_values)
    )
    terminated = jnp.asarray(terminated).astype(bool)
    truncated = jnp.asarray(truncated).astype(bool)
    shapes = {
        "rewards": rewards.shape,
        "values": values.shape,
        "next_values": next_values.shape,
        "terminated": terminated.shape,
        "truncated": truncated.shape,
    }
    if rewards.ndim != 1 or len(set(shapes.values())) != 1:
        raise ValueError(f"gae needs five [T] arrays of one shape, got {shapes}")
    discount = jnp.asarray(discount, dtype)
    lam = jnp.asarray(lam, dtype)

    continues = 1.0 - terminated.astype(dtype)
    deltas = rewards + discount * continues * next_values - values
    trace_decay = discount * lam * (1.0 - (terminated | truncated).astype(dtype))

    def backward(advantage_tp1, inputs):
        delta_t, decay_t = inputs
        advantage_t = delta_t + decay_t * advantage_tp1
        return advantage_t, advantage_t

    _, advantages = jax.lax.scan(
        backward, jnp.zeros((), dtype), (deltas, trace_decay), reverse=True
    )
    return advantages, advantages + values


class Batch(NamedTuple):
    """A time-major batch of transitions for a policy-gradient loss.

    Attributes:
      obs: ``[T, obs_size]`` observations ``s_t``.
      actions: ``[T]`` int actions ``a_t``.
      log_probs: ``[T]`` ``log mu(a_t|s_t)`` under the behaviour policy that acted.
      advantages: ``[T]`` advantage estimates, e.g. from :func:`gae`.
      returns: ``[T]`` value targets, e.g. from :func:`gae`.
    """

    obs: jax.Array
    actions: jax.Array
    log_probs: jax.Array
    advantages: jax.Array
    returns: jax.Array


class _Evaluated(NamedTuple):
    log_probs: jax.Array  # [T] log pi(a_t|s_t) under the current params
    entropy: jax.Array  # [T] H(pi(.|s_t))
    advantages: jax.Array  # [T] possibly standardised
    value_loss: jax.Array  # [] mean (V(s_t) - R_t)^2


def _evaluate(params: ActorCriticParams, batch: Batch, normalize: bool) -> _Evaluated:
    """The per-step quantities every loss here shares."""
    num_steps = batch.actions.shape[0]
    shapes = {name: jnp.shape(x) for name, x in batch._asdict().items()}
    per_step = ("actions", "log_probs", "advantages", "returns")
    if any(shapes[name] != (num_steps,) for name in per_step) or (
        jnp.ndim(batch.obs) < 1 or shapes["obs"][0] != num_steps
    ):
        raise ValueError(
            f"Batch needs obs [T, ...] and actions, log_probs, advantages, returns "
            f"[T], got {shapes}"
        )
    logits = jax.vmap(policy_logits, in_axes=(None, 0))(params, batch.obs)
    all_log_probs = sm.log_softmax(logits)
    actions = jnp.asarray(batch.actions, jnp.int32)
    log_probs = jnp.take_along_axis(all_log_probs, actions[:, None], axis=-1)[:, 0]
    advantages = jax.lax.stop_gradient(jnp.asarray(batch.advantages, jnp.float32))
    if normalize:
        advantages = (advantages - jnp.mean(advantages)) / (
            jnp.std(advantages) + _NORMALIZE_EPS
        )
    values = jax.vmap(state_value, in_axes=(None, 0))(params, batch.obs)
    value_loss = jnp.mean(jnp.square(values - batch.returns))
    return _Evaluated(log_probs, sm.entropy(logits), advantages, value_loss)


def _approx_kl(log_probs: jax.Array, behaviour_log_probs: ArrayLike) -> jax.Array:
    """``KL(mu || pi)`` estimated as ``mean((r - 1) - log r)``, ``r = pi / mu``.

    Unbiased and non-negative for samples drawn from ``mu`` (Schulman, 2020,
    "Approximating KL divergence").
    """
    log_ratio = jax.lax.stop_gradient(log_probs - behaviour_log_probs)
    return jnp.mean(jnp.expm1(log_ratio) - log_ratio)


def a2c_loss(
    params: ActorCriticParams,
    batch: Batch,
    tau: ArrayLike,
    *,
    value_coef: ArrayLike = 0.5,
    normalize: bool = True,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Advantage actor-critic loss for the maximum-entropy objective.

    ``-mean(log pi(a|s) A) - tau * mean(H(pi(.|s))) + value_coef * mean((V - R)^2)``.
    Its policy part is the score-function estimate of ``-grad E[sum r]``; the entropy
    bonus makes the objective ``E[sum r] + tau H(pi)``. Mnih et al. (2016);
    Williams (1992).

    Args:
      params: actor-critic params.
      batch: ``[T]`` transitions; advantages and returns are constants (no gradient).
      tau: ``[]`` entropy temperature ``>= 0``.
      value_coef: weight of the value regression.
      normalize: standardise the advantages over the batch (mean 0, std 1).

    Returns:
      ``(loss, aux)``: ``loss`` ``[]``; ``aux`` holds ``policy_loss``,
      ``value_loss``, ``entropy`` (batch mean, nats) and ``approx_kl`` (from the
      behaviour to the current policy).
    """
    ev = _evaluate(params, batch, normalize)
    policy_loss = -jnp.mean(ev.log_probs * ev.advantages)
    return _total(policy_loss, ev, tau, value_coef, batch, {})


def ppo_loss(
    params: ActorCriticParams,
    batch: Batch,
    tau: ArrayLike,
    *,
    clip: ArrayLike = 0.2,
    value_coef: ArrayLike = 0.5,
    normalize: bool = True,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """PPO's clipped-surrogate loss with the same entropy and value terms as A2C.

    With ``r = pi(a|s) / mu(a|s)`` the policy loss is
    ``-mean(min(r A, clip(r, 1 - clip, 1 + clip) A))``: once ``r`` has moved past
    ``1 +/- clip`` in the direction that ``A`` favours, a sample stops pulling.
    At the behaviour parameters (``r = 1``) its gradient is A2C's.
    Schulman et al. (2017), Eq. 7.

    Args:
      params: actor-critic params.
      batch: ``[T]`` transitions with the behaviour ``log_probs``.
      tau: ``[]`` entropy temperature ``>= 0``.
      clip: ``epsilon``, half-width of the trust interval of ``r``.
      value_coef: weight of the value regression.
      normalize: standardise the advantages over the batch (mean 0, std 1).

    Returns:
      ``(loss, aux)`` as :func:`a2c_loss`, plus ``clip_fraction``, the share of
      samples with ``|r - 1| > clip``.
    """
    if isinstance(clip, (int, float)) and not clip > 0:
        raise ValueError(f"clip must be > 0, got {clip}")
    ev = _evaluate(params, batch, normalize)
    ratio = jnp.exp(ev.log_probs - batch.log_probs)
    clipped_ratio = jnp.clip(ratio, 1.0 - clip, 1.0 + clip)
    surrogate = jnp.minimum(ratio * ev.advantages, clipped_ratio * ev.advantages)
    policy_loss = -jnp.mean(surrogate)
    clip_fraction = jnp.mean((jnp.abs(ratio - 1.0) > clip).astype(jnp.float32))
    return _total(
        policy_loss, ev, tau, value_coef, batch, {"clip_fraction": clip_fraction}
    )


def _total(
    policy_loss: jax.Array,
    ev: _Evaluated,
    tau: ArrayLike,
    value_coef: ArrayLike,
    batch: Batch,
    extra: dict[str, jax.Array],
) -> tuple[jax.Array, dict[str, jax.Array]]:
    mean_entropy = jnp.mean(ev.entropy)
    loss = policy_loss - tau * mean_entropy + value_coef * ev.value_loss
    aux = {
        "policy_loss": policy_loss,
        "value_loss": ev.value_loss,
        "entropy": mean_entropy,
        "approx_kl": _approx_kl(ev.log_probs, batch.log_probs),
        **extra,
    }
    return loss, aux


Loss = Callable[
    [ActorCriticParams, Batch, ArrayLike], tuple[jax.Array, dict[str, jax.Array]]
]
"""``loss(params, batch, tau) -> (loss, aux)``, e.g. :func:`a2c_loss` or
``functools.partial(ppo_loss, clip=0.1)``."""


def update(
    params: ActorCriticParams,
    opt_state: optax.OptState,
    batch: Batch,
    tau: ArrayLike,
    optimizer: optax.GradientTransformation,
    loss: Loss,
) -> tuple[ActorCriticParams, optax.OptState, dict[str, jax.Array]]:
    """One optimizer step on ``loss(params, batch, tau)``.

    Args:
      params: actor-critic params.
      opt_state: ``optimizer.init(params)`` or a later state.
      batch: ``[T]`` transitions.
      tau: ``[]`` entropy temperature.
      optimizer: an optax gradient transformation (it minimises).
      loss: :data:`Loss`, e.g. :func:`ppo_loss`.

    Returns:
      ``(params, opt_state, aux)``: the stepped params and optimizer state, and the
      loss's ``aux`` at the old params with ``loss`` added.
    """
    (loss_value, aux), grads = jax.value_and_grad(loss, has_aux=True)(
        params, batch, tau
    )
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    return params, opt_state, {"loss": loss_value, **aux}
