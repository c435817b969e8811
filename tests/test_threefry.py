"""rl_softmax.prng: the unrolled threefry gives JAX's default threefry bits exactly."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_softmax.engine import executor
from rl_softmax.engine import threefry as prng

# Known-answer vectors of the Random123 reference (kat_vectors, threefry2x32_20):
# (key, counter) -> output, all as pairs of 32-bit words.
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.mark.parametrize(("key", "counter", "expected"), KNOWN_ANSWERS)
def test_block_function_matches_random123_known_answers(key, counter, expected):
    words = prng.threefry2x32(
        tuple(jnp.uint32(k) for k in key), tuple(jnp.uint32(c) for c in counter)
    )
    assert [int(w) for w in words] == list(expected)


def test_block_function_matches_jax_threefry_on_random_words():
    rng = np.random.default_rng(0)
    key = rng.integers(0, 2**32, size=2, dtype=np.uint32)
    counter = rng.integers(0, 2**32, size=(2, 1000), dtype=np.uint32)
    ours = jax.jit(prng.threefry2x32)(tuple(key), tuple(counter))
    jax_bits = jax.extend.random.threefry_2x32(key, counter.ravel())
    # jax's threefry_2x32 hashes the two halves of a flat counter as the word pairs
    reference = np.asarray(jax_bits).reshape(2, 1000)
    np.testing.assert_array_equal(np.stack(ours), reference)


DRAWS = {
    "uniform": lambda k: jax.random.uniform(k, (7,)),
    "normal scalar": lambda k: jax.random.normal(k),
    "normal matrix": lambda k: jax.random.normal(k, (3, 5)),
    "bits uint8": lambda k: jax.random.bits(k, (9,), jnp.uint8),
    "bits uint16": lambda k: jax.random.bits(k, (4,), jnp.uint16),
    "randint": lambda k: jax.random.randint(k, (6,), -50, 50),
    "gumbel": lambda k: jax.random.gumbel(k, (10,)),
    "split": lambda k: jax.random.key_data(jax.random.split(k, 5)),
    "split 2-D": lambda k: jax.random.key_data(jax.random.split(k, (2, 3))),
    "fold_in": lambda k: jax.random.key_data(jax.random.fold_in(k, 123_456_789)),
    "permutation": lambda k: jax.random.permutation(k, 12),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
@pytest.mark.parametrize("seed", [0, 1, 2**31 - 1])
def test_every_draw_is_bit_identical_to_jax_threefry(name, seed):
    draw = DRAWS[name]
    key = jax.random.key(seed)
    fast = prng.fast_key(key)
    assert jax.random.key_impl(fast) != jax.random.key_impl(key)  # really converted
    np.testing.assert_array_equal(np.asarray(draw(fast)), np.asarray(draw(key)))
    # ... also compiled and batched, as the sweep uses them
    batched = jax.jit(jax.vmap(draw))
    keys = jax.random.split(key, 4)
    np.testing.assert_array_equal(
        np.asarray(batched(prng.fast_key(keys))), np.asarray(batched(keys))
    )


def test_key_data_is_unchanged_and_other_implementations_pass_through():
    key = jax.random.key(7)
    np.testing.assert_array_equal(
        jax.random.key_data(prng.fast_key(key)), jax.random.key_data(key)
    )
    rbg = jax.random.key(7, impl="rbg")
    assert prng.fast_key(rbg) is rbg
    already = prng.fast_key(key)
    assert jax.random.key_impl(prng.fast_key(already)) == jax.random.key_impl(already)


def test_keys_can_be_made_directly_with_the_implementation():
    key = jax.random.key(3, impl=prng.THREEFRY)
    np.testing.assert_array_equal(
        np.asarray(jax.random.uniform(key, (4,))),
        np.asarray(jax.random.uniform(jax.random.key(3), (4,))),
    )


def test_computed_once_returns_integers_unchanged_and_refuses_floats():
    from rl_softmax.engine.executor import computed_once

    words = jnp.asarray([0, 1, 2**32 - 1, 12345], jnp.uint32)
    np.testing.assert_array_equal(jax.jit(computed_once)(words), words)
    signed = jnp.asarray([-(2**31), -1, 0, 2**31 - 1], jnp.int32)
    np.testing.assert_array_equal(jax.jit(computed_once)(signed), signed)
    with pytest.raises(TypeError, match="float32"):
        computed_once(jnp.zeros(3))


def test_the_cpu_measures_stand_aside_on_other_backends(monkeypatch):
    """The unrolled threefry and computed_once are XLA:CPU measures: on another
    backend the key keeps its type and the array is returned as it is."""
    key = jax.random.key(0)
    x = jnp.arange(5)
    assert prng.fast_key(key).dtype != key.dtype  # on CPU: re-typed
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert prng.fast_key(key) is key
    assert executor.computed_once(x) is x
