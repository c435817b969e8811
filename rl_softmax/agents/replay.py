"""A ring replay buffer of transitions held in JAX arrays.

Lin (1992); Mnih et al. (2015).

The buffer is a pytree: a :class:`~rl_softmax.agents.base.Transition` whose arrays
have a leading ``[capacity]`` axis, the slot the next transition goes to and how
many slots are filled. Adding a batch writes it at consecutive slots, wrapping
around to overwrite the oldest transitions once the buffer is full; sampling draws
uniformly, with replacement, from the filled slots. Every function is pure, so the
buffer lives in the carry of a compiled training loop::

    buffer = init_replay(example, capacity=50_000)
    buffer = add(buffer, batch)                 # batch: Transition of [B, ...]
    minibatch = sample(key, buffer, 128)        # Transition of [128, ...]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from rl_softmax.agents.base import Transition

__all__ = ["ReplayBuffer", "add", "init_replay", "sample"]


class ReplayBuffer(NamedTuple):
    """The stored transitions and where the ring stands.

    Attributes:
      data: :class:`Transition` of ``[capacity, ...]`` arrays; slots ``[0, size)``
        hold transitions, the rest zeros.
      position: int32 slot the next transition is written to.
      size: int32 number of filled slots (at most ``capacity``).
    """

    data: Transition
    position: jax.Array
    size: jax.Array


def _capacity(buffer: ReplayBuffer) -> int:
    """The number of slots (static: read from the arrays' shapes)."""
    return int(buffer.data.action.shape[0])


def init_replay(example: Transition, capacity: int) -> ReplayBuffer:
    """An empty buffer for transitions shaped like ``example`` (one transition).

    Args:
      example: one :class:`Transition` (arrays or shape structs) giving each field's
        shape and dtype.
      capacity: number of slots (static), ``>= 1``.

    Returns:
      a :class:`ReplayBuffer` of zeros with ``position = size = 0``.
    """
    if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 1:
        raise ValueError(f"capacity={capacity!r}: expected an integer >= 1.")

    def slots(x: Any) -> jax.Array:
        return jnp.zeros((capacity, *jnp.shape(x)), jnp.result_type(x))

    zero = jnp.zeros((), jnp.int32)
    return ReplayBuffer(jax.tree.map(slots, example), zero, zero)


def add(buffer: ReplayBuffer, batch: Transition) -> ReplayBuffer:
    """Writes ``batch`` (``[B, ...]`` arrays, ``B <= capacity``) at consecutive
    slots from ``position``, wrapping around past the last slot.

    Args:
      buffer: the buffer.
      batch: :class:`Transition` of ``[B, ...]`` arrays, oldest first.

    Returns:
      the buffer with ``position`` advanced by ``B`` (mod capacity) and ``size``
      grown by ``B`` up to the capacity.
    """
    capacity = _capacity(buffer)
    num_new = int(batch.action.shape[0])
    if num_new > capacity:
        raise ValueError(
            f"a batch of {num_new} transitions does not fit a buffer of {capacity} "
            "slots; expected a batch of at most capacity transitions."
        )
    slots = (buffer.position + jnp.arange(num_new, dtype=jnp.int32)) % capacity
    data = jax.tree.map(
        lambda stored, new: stored.at[slots].set(new.astype(stored.dtype)),
        buffer.data,
        batch,
    )
    return ReplayBuffer(
        data=data,
        position=(buffer.position + num_new) % capacity,
        size=jnp.minimum(buffer.size + num_new, capacity),
    )


def sample(key: jax.Array, buffer: ReplayBuffer, batch_size: int) -> Transition:
    """``batch_size`` transitions drawn uniformly, with replacement, from the filled
    slots (slot 0, zeros, while the buffer is empty).

    Args:
      key: PRNG key.
      buffer: the buffer.
      batch_size: number of transitions (static).

    Returns:
      :class:`Transition` of ``[batch_size, ...]`` arrays.
    """
    index = jax.random.randint(
        key, (batch_size,), 0, jnp.maximum(buffer.size, 1), dtype=jnp.int32
    )
    return jax.tree.map(lambda stored: stored[index], buffer.data)
