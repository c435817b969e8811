"""A hint for XLA:CPU's fusion pass, shared by the sampler and the PRNG."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["computed_once"]


def computed_once(x: jax.Array) -> jax.Array:
    """``x`` unchanged, routed through a reduction so that XLA computes it once.

    XLA:CPU fuses chains of cheap elementwise ops into every consumer and recomputes
    them per consumer element: in a sweep, a per-run action or a per-seed random
    word feeds ``[values, seeds, arms]`` updates and would be recomputed per arm and
    per value. Optimisation barriers do not stop this (XLA:CPU removes them before
    fusing), but a reduction is never fused into its consumers. Summing ``x`` with
    zeros is exact for integers, so the result is ``x`` bit for bit. Use it on
    integer arrays only (for floats, ``-0.0 + 0.0`` would become ``+0.0``).
    """
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(f"computed_once needs an integer array, got {x.dtype}.")
    return jnp.stack([x, jnp.zeros_like(x)]).sum(axis=0, dtype=x.dtype)
