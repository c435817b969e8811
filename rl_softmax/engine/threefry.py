"""JAX's default PRNG, threefry-2x32, with a hash that XLA:CPU compiles well.

Keys of :data:`THREEFRY` give exactly the bits of JAX's default ``"threefry2x32"``
keys (in JAX's default partitionable mode), so every draw (``uniform``, ``normal``,
``split``, ``fold_in``, ...) is bit-identical; the tests check it against
``jax.random`` itself. Only the compiled code differs. On CPU, JAX lowers the
threefry hash as a rolled loop of 5 iterations (to keep compile times down), so each
``jax.random`` call in a step becomes a small ``while`` loop of its own. Here the 20
rounds are plain ``uint32`` arithmetic that XLA fuses into the surrounding loop:
the benchmark's sweep program compiled in 2.3 s instead of 3.0 s (plus 0.7 s of
tracing either way), at the same throughput.

The sweep engine converts a user's threefry key with :func:`fast_key`; keys of any
other implementation are used as they are.

Threefry-2x32 is from Salmon, Moraes, Dror & Shaw (2011), "Parallel random numbers:
as easy as 1, 2, 3" (20 rounds; the rotation constants and key-schedule parity of
the Random123 reference, which JAX uses too).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.random import define_prng_impl, threefry_prng_impl

from rl_softmax.engine.executor import computed_once

__all__ = ["THREEFRY", "fast_key", "threefry2x32"]

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def _rotate_left(x: jax.Array, bits: int) -> jax.Array:
    return (x << np.uint32(bits)) | (x >> np.uint32(32 - bits))


def threefry2x32(
    key: tuple[jax.Array, jax.Array], counter: tuple[jax.Array, jax.Array]
) -> tuple[jax.Array, jax.Array]:
    """The threefry-2x32 block function with 20 rounds, unrolled.

    Args:
      key: two ``uint32`` arrays (the key words), broadcastable to ``counter``.
      counter: two ``uint32`` arrays (the high and low counter words).

    Returns:
      the two ``uint32`` output words.
    """
    schedule = (key[0], key[1], key[0] ^ key[1] ^ _PARITY)
    x0, x1 = counter[0] + schedule[0], counter[1] + schedule[1]
    for i in range(5):
        for rotation in _ROTATIONS[i % 2]:
            x0 = x0 + x1
            x1 = x0 ^ _rotate_left(x1, rotation)
        x0 = x0 + schedule[(i + 1) % 3]
        x1 = x1 + schedule[(i + 2) % 3] + np.uint32(i + 1)
    return x0, x1


def _counters(shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    """``(high, low)`` words of ``0, 1, ..., prod(shape) - 1`` laid out in ``shape``."""
    size = math.prod(shape)
    if size > 2**32:
        raise NotImplementedError(f"{size} random words exceed 2**32 per key.")
    low = jax.lax.iota(np.uint32, size).reshape(shape)
    return jnp.zeros(shape, np.uint32), low


def _hash(key: jax.Array, counter: tuple[jax.Array, jax.Array]):
    # computed once per draw: XLA would otherwise fuse the 20 rounds into every
    # consumer (per arm and per swept value); ~8% of the benchmark's throughput
    return tuple(computed_once(w) for w in threefry2x32((key[0], key[1]), counter))


def _split(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    return jnp.stack(_hash(key, _counters(shape)), axis=-1)


def _fold_in(key: jax.Array, data: jax.Array) -> jax.Array:
    high, low = threefry_prng_impl.seed(jnp.asarray(data, np.uint32))
    return jnp.stack(_hash(key, (high, low)))


def _random_bits(key: jax.Array, bit_width: int, shape: tuple[int, ...]):
    high, low = _hash(key, _counters(shape))
    if bit_width == 64:
        return (high.astype(np.uint64) << np.uint64(32)) | low.astype(np.uint64)
    bits = high ^ low
    return bits if bit_width == 32 else bits.astype(f"uint{bit_width}")


THREEFRY = define_prng_impl(
    key_shape=(2,),
    seed=threefry_prng_impl.seed,
    split=_split,
    random_bits=_random_bits,
    fold_in=_fold_in,
    name="threefry2x32_unrolled",
    tag="fry_unrolled",
)
"""The implementation, for ``jax.random.key(seed, impl=THREEFRY)``."""


def fast_key(key: jax.Array) -> jax.Array:
    """``key`` re-typed to :data:`THREEFRY` if it is a default threefry key.

    The key data are unchanged, so every draw gives the same bits as before. Keys of
    any other implementation (``rbg``, ``philox``...), every key when JAX's
    non-default ``jax_threefry_partitionable=False`` mode is on, and every key on a
    backend other than CPU (where the unrolled form was never measured) are
    returned unchanged.
    """
    if jax.default_backend() != "cpu":  # the unrolled form is a CPU measure
        return key
    threefry = jax.random.key_impl(key) == jax.random.key_impl(
        jax.random.key(0, impl="threefry2x32")
    )
    if threefry and jax.config.jax_threefry_partitionable:
        return jax.random.wrap_key_data(jax.random.key_data(key), impl=THREEFRY)
    return key
