"""Networks and their optimizers, as plain pytrees and pure functions.

An MLP is a list of ``(W, b)`` pairs (:data:`MLPParams`), initialised orthogonally
(:func:`init_mlp`) and applied to one unbatched input (:func:`mlp`; ``jax.vmap``
makes a batch). The policy-gradient networks (``tanh``) and DQN's Q-network
(``relu``) are both this MLP. Both train with :func:`clipped`, an optax optimizer
behind a global-norm clip, at a learning rate that may fall linearly to 0
(:func:`annealed`). Every number may be a traced array, so a sweep over the
learning rate or the clip is one compiled program.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

__all__ = ["MLPParams", "annealed", "clipped", "init_mlp", "mlp"]

MLPParams = list[tuple[jax.Array, jax.Array]]
"""``[(W, b), ...]`` per layer, ``W: [in, out]``, ``b: [out]``."""

_HIDDEN_GAIN = float(np.sqrt(2.0))


def init_mlp(
    key: jax.Array, sizes: Sequence[int], *, out_scale: float = 1.0
) -> MLPParams:
    """Orthogonal weights and zero biases for an MLP with layer widths ``sizes``.

    Hidden layers get gain ``sqrt(2)``; the output layer gets ``out_scale`` (PPO's
    usual choice: 0.01 for a policy head, so the first policy is near uniform, and 1.0
    for a value head). Saxe et al. (2014); Andrychowicz et al. (2021), Sec. 3.

    Args:
      key: PRNG key.
      sizes: ``[in, hidden..., out]``, at least two positive widths.
      out_scale: gain of the last layer's orthogonal weights.

    Returns:
      ``[(W, b), ...]``, one float32 pair per layer, ``W: [sizes[i], sizes[i + 1]]``.
    """
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            f"sizes must hold at least two positive widths [in, ..., out], got {sizes}"
        )
    num_layers = len(sizes) - 1
    layer_keys = jax.random.split(key, num_layers)
    params = []
    for i, (layer_key, fan_in, fan_out) in enumerate(
        zip(layer_keys, sizes[:-1], sizes[1:], strict=True)
    ):
        gain = out_scale if i == num_layers - 1 else _HIDDEN_GAIN
        weights = gain * _orthogonal(layer_key, fan_in, fan_out)
        params.append((weights, jnp.zeros((fan_out,), jnp.float32)))
    return params


def _orthogonal(key: jax.Array, fan_in: int, fan_out: int) -> jax.Array:
    """``jax.nn.initializers.orthogonal()`` (same draw, same matrix up to rounding)
    without a QR factorization.

    The Q of a Gaussian matrix with the signs that make R's diagonal positive is
    what Gram-Schmidt on its columns gives; here modified Gram-Schmidt, applied
    twice per column (orthogonal to float32 precision). jaxlib's batched QR
    (LAPACK through ``ParallelBatchMap``) deadlocks on XLA:CPU's thread pool when
    initialisation is vmapped over a sweep's runs, so it is avoided.
    """
    rows, cols = max(fan_in, fan_out), min(fan_in, fan_out)
    a = jax.random.normal(key, (rows, cols), jnp.float32)
    earlier = jnp.arange(cols)

    def orthonormalize(j, q):
        v = q[:, j]
        for _ in range(2):
            v = v - q @ jnp.where(earlier < j, q.T @ v, 0.0)
        return q.at[:, j].set(v / jnp.linalg.norm(v))

    q = jax.lax.fori_loop(0, cols, orthonormalize, a)
    return q if fan_in >= fan_out else q.T


def mlp(
    params: MLPParams,
    x: ArrayLike,
    *,
    activation: Callable[[jax.Array], jax.Array] = jnp.tanh,
) -> jax.Array:
    """Hidden layers with ``activation`` (``tanh`` by default) and a linear output.

    Args:
      params: ``[(W, b), ...]`` from :func:`init_mlp`.
      x: ``[in]`` one input.
      activation: applied after every hidden layer (``jax.nn.relu`` for DQN).

    Returns:
      ``[out]`` the last layer's pre-activation.
    """
    h = jnp.asarray(x, jnp.float32)
    *hidden, (w_out, b_out) = params
    for w, b in hidden:
        h = activation(h @ w + b)
    return h @ w_out + b_out


def clipped(
    optimizer: Callable[..., optax.GradientTransformation],
    learning_rate: ArrayLike,
    max_grad_norm: ArrayLike,
) -> optax.GradientTransformation:
    """``optimizer(learning_rate)`` applied after clipping the gradients' global norm.

    Args:
      optimizer: optax factory taking ``learning_rate`` (``optax.adam``, ...).
      learning_rate: may be traced (build the chain inside the traced function).
      max_grad_norm: gradients are scaled down to this global norm.
    """
    return optax.chain(
        optax.clip_by_global_norm(max_grad_norm), optimizer(learning_rate)
    )


def annealed(
    learning_rate: ArrayLike, step: ArrayLike, anneal_steps: int | None
) -> jax.Array:
    """``learning_rate * (1 - min(step / anneal_steps, 1))``: linear to 0, then 0.

    Args:
      learning_rate: the rate at step 0.
      step: environment steps so far (the clock of the anneal).
      anneal_steps: steps to reach 0; None keeps the rate constant.
    """
    learning_rate = jnp.asarray(learning_rate, jnp.float32)
    if anneal_steps is None:
        return learning_rate
    done = jnp.minimum(step / anneal_steps, 1.0)
    return learning_rate * (1.0 - done)
