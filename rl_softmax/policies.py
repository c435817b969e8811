"""Action-selection policies over ``[num_actions]`` values, ready for jit and vmap.

Each factory returns a :class:`Policy`, a small NamedTuple of pure functions in the
style of rlax/distrax::

    policy = boltzmann(tau=0.5)
    action = policy.sample(key, q_values)     # int32 scalar
    policy.probs(q_values)                    # [num_actions]

A policy sees one example (``values: [num_actions]``); batch with ``jax.vmap``. The
factory arguments (``tau``, ``epsilon``) may be traced arrays, so a sweep over them
is one compiled call. Sampling is exact for :meth:`Policy.probs` by inverse-CDF with a
single uniform draw. Values may be float16 or bfloat16: Boltzmann and greedy
probabilities come back in that dtype (see :mod:`rl_softmax.softmax` for the precision
rules), and draws use float32 uniforms and partial sums whatever the dtype.

Count-based rules, which need more than the values, live beside them as functions:
:func:`ucb_scores` (Sutton & Barto 2018, Sec. 2.7) and :func:`boltzmann_gumbel_sample`
(Cesa-Bianchi et al. 2017).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rl_softmax import softmax as sm

__all__ = [
    "Policy",
    "boltzmann",
    "boltzmann_gumbel_sample",
    "epsilon_greedy",
    "greedy",
    "sample_categorical",
    "sample_from_uniform",
    "ucb_scores",
    "uniform",
]


class Policy(NamedTuple):
    """Pure functions of one ``[num_actions]`` value vector.

    Attributes:
      sample: ``(key, values) -> action``, an int32 scalar drawn from ``probs``.
      probs: ``values -> [num_actions]`` action probabilities.
      log_prob: ``(values, action) -> log pi(action)``.
      entropy: ``values -> `` entropy of ``probs`` in nats.
    """

    sample: Callable[[jax.Array, ArrayLike], jax.Array]
    probs: Callable[[ArrayLike], jax.Array]
    log_prob: Callable[[ArrayLike, ArrayLike], jax.Array]
    entropy: Callable[[ArrayLike], jax.Array]


_UNROLL_CUMSUM = 32


def _at_least_float32(x: jax.Array) -> jax.Array:
    """float16/bfloat16 widened to float32; other dtypes unchanged.

    A uniform in half precision takes only 2**11 (bfloat16: 2**8) values, so
    probabilities below that resolution would be drawn as if they were 2**-11 or 0.
    """
    if jnp.issubdtype(x.dtype, jnp.floating) and jnp.finfo(x.dtype).bits < 32:
        return x.astype(jnp.float32)
    return x


def _partial_sums(probs: jax.Array) -> list[jax.Array] | jax.Array:
    """Running sums, left to right: unrolled adds for few actions, else a cumsum.

    Unrolled, the whole draw stays one chain of elementwise ops (``jnp.cumsum``
    lowers to a reduce-window instead). Both add in the same order, so the sums are
    the same and monotone.
    """
    if probs.shape[-1] > _UNROLL_CUMSUM:
        return jnp.cumsum(probs)
    return list(itertools.accumulate(probs[i] for i in range(probs.shape[-1])))


def sample_from_uniform(u: ArrayLike, probs: ArrayLike) -> jax.Array:
    """Inverse-CDF draw: the first action whose cumulative probability exceeds ``u``.

    The action is the number of partial sums ``s_k = p_0 + ... + p_k`` with
    ``s_k <= u * total`` (``total = s_{K-1}``), not counting partial sums that
    already equal the total. So when ``u * total`` rounds up to the total, the draw
    is the arm at which the sum first reaches it, never an arm with ``p == 0``.

    Args:
      u: scalar uniform in ``[0, 1)``.
      probs: ``[num_actions]`` probabilities (need not be normalised exactly).

    Returns:
      int32 scalar action; zero-probability actions are never returned.
    """
    sums = _partial_sums(_at_least_float32(jnp.asarray(probs)))
    total = sums[-1]
    threshold = u * total
    if isinstance(sums, list):
        below = [((s <= threshold) & (s < total)).astype(jnp.int32) for s in sums]
        return functools.reduce(jnp.add, below)
    return jnp.sum((sums <= threshold) & (sums < total), dtype=jnp.int32)


def sample_categorical(key: jax.Array, probs: ArrayLike) -> jax.Array:
    """Draws an action from ``probs: [num_actions]`` with one uniform (inverse CDF)."""
    probs = _at_least_float32(jnp.asarray(probs))
    return sample_from_uniform(jax.random.uniform(key, dtype=probs.dtype), probs)


def _from_probs(probs_fn: Callable[[ArrayLike], jax.Array]) -> Policy:
    """Builds a :class:`Policy` whose other functions all derive from ``probs_fn``."""

    def sample(key, values):
        return sample_categorical(key, probs_fn(values))

    def log_prob(values, action):
        return jnp.log(probs_fn(values)[action])

    def entropy(values):
        return sm.categorical_entropy(probs_fn(values))

    return Policy(sample=sample, probs=probs_fn, log_prob=log_prob, entropy=entropy)


def boltzmann(tau: ArrayLike) -> Policy:
    """Boltzmann (softmax) exploration ``pi(a) ∝ exp(values[a] / tau)``.

    Sutton & Barto (1998), Sec. 2.3. ``tau == 0`` is greedy with ties split evenly,
    large ``tau`` is uniform. ``tau`` may be a traced scalar.

    Args:
      tau: temperature ``>= 0``.

    Returns:
      a :class:`Policy`; ``log_prob`` and ``entropy`` use the stable log-softmax.
    """

    def probs(values):
        return sm.softmax(values, tau)

    def log_prob(values, action):
        return sm.log_softmax(values, tau)[action]

    def entropy(values):
        return sm.entropy(values, tau)

    return _from_probs(probs)._replace(log_prob=log_prob, entropy=entropy)


def greedy() -> Policy:
    """Greedy selection; ties between maximal values are broken uniformly at random."""
    return _from_probs(lambda values: sm.softmax(values, 0.0))


def uniform() -> Policy:
    """Uniformly random actions, whatever the values (the ``tau -> inf`` limit)."""

    def probs(values):
        values = jnp.asarray(values)
        dtype = values.dtype if jnp.issubdtype(values.dtype, jnp.floating) else float
        return jnp.full(values.shape, 1.0 / values.shape[-1], dtype)

    return _from_probs(probs)


def epsilon_greedy(epsilon: ArrayLike) -> Policy:
    """With probability ``epsilon`` a uniform action, else greedy (ties split evenly).

    Sutton & Barto (2018), Sec. 2.2. ``epsilon`` may be a traced scalar in ``[0, 1]``.
    """

    def probs(values):
        greedy_probs = sm.softmax(values, 0.0)
        return (1.0 - epsilon) * greedy_probs + epsilon / greedy_probs.shape[-1]

    return _from_probs(probs)


def ucb_scores(
    values: ArrayLike, counts: ArrayLike, t: ArrayLike, c: ArrayLike
) -> jax.Array:
    """Upper-confidence-bound scores ``Q(a) + c sqrt(ln t / N(a))``.

    Sutton & Barto (2018), Eq. 2.10; an untried arm (``N(a) == 0``) scores ``+inf``.
    Act greedily on them: ``greedy().sample(key, ucb_scores(...))``.

    Args:
      values: ``[num_actions]`` action-value estimates ``Q``.
      counts: ``[num_actions]`` visit counts ``N``.
      t: the current time step, counted from 1.
      c: exploration weight ``>= 0``.

    Returns:
      ``[num_actions]`` scores.
    """
    values, counts = jnp.asarray(values), jnp.asarray(counts, jnp.asarray(values).dtype)
    safe_counts = jnp.where(counts > 0, counts, 1.0)
    bonus = c * jnp.sqrt(jnp.log(jnp.maximum(t, 1.0)) / safe_counts)
    return jnp.where(counts > 0, values + bonus, jnp.inf)


def boltzmann_gumbel_sample(
    key: jax.Array, values: ArrayLike, counts: ArrayLike, c: ArrayLike
) -> jax.Array:
    """Boltzmann-Gumbel exploration: ``argmax_a Q(a) + beta_a Z_a``, ``Z_a ~ Gumbel``.

    Cesa-Bianchi, Gentile, Lugosi & Neu (2017), "Boltzmann Exploration Done Right",
    with ``beta_a = sqrt(c**2 / N(a))``. By the Gumbel-max trick, equal ``beta`` would
    be Boltzmann sampling at ``tau = beta``; per-arm ``beta`` shrinks the noise of
    well-explored arms. Untried arms are taken first (uniformly among them).

    Args:
      key: PRNG key.
      values: ``[num_actions]`` action-value estimates.
      counts: ``[num_actions]`` visit counts.
      c: noise scale ``> 0``.

    Returns:
      int32 scalar action.
    """
    # Half-precision values are perturbed in float32: near the dtype's maximum their
    # sum with the noise would overflow, and a half-precision Gumbel has a short tail.
    values = _at_least_float32(jnp.asarray(values))
    counts = jnp.asarray(counts, values.dtype)
    gumbel = jax.random.gumbel(key, values.shape, values.dtype)
    beta = c / jnp.sqrt(jnp.where(counts > 0, counts, 1.0))
    untried = counts == 0
    explore = jnp.where(untried, gumbel, -jnp.inf)  # uniform among untried arms
    exploit = values + beta * gumbel
    return jnp.argmax(jnp.where(jnp.any(untried), explore, exploit)).astype(jnp.int32)
