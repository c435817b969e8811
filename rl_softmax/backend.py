"""How the sweep is compiled and placed on XLA:CPU: options, devices, a fusion hint.

Three measured choices (``python experiments/benchmark_bandit_sweep.py --ablation``
and profiles of the compiled program) live here so the engine reads plainly:

* :data:`CPU_COMPILER_OPTIONS`: XLA's own loop fusions instead of YNNPACK library
  fusions;
* :func:`use_cpu_cores`: one JAX CPU device per core, the seed axis split across
  them (:func:`seed_sharding`);
* :func:`computed_once`: a value that XLA must compute once rather than re-derive
  inside every consumer.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = [
    "CPU_COMPILER_OPTIONS",
    "compile_with_options",
    "computed_once",
    "seed_sharding",
    "use_cpu_cores",
]


# XLA:CPU hands reductions and elementwise ops to YNNPACK library fusions by default
# (recent jaxlibs). For this loop of many small [values, seeds, arms] ops they ran the
# sweep ~1.5x slower than XLA's own loop fusions, and their results depended on the
# block shape (`python experiments/benchmark_bandit_sweep.py --ablation`); an empty
# list turns them off for the sweep program only.
CPU_COMPILER_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}


def compile_with_options(lowered: Any, options: dict[str, Any] | None) -> Any:
    """Compiles with ``options`` (default :data:`CPU_COMPILER_OPTIONS` on CPU).

    A jaxlib that does not know the default options compiles with its own defaults.
    """
    if options is None and jax.default_backend() == "cpu":
        try:
            return lowered.compile(compiler_options=CPU_COMPILER_OPTIONS)
        except jax.errors.JaxRuntimeError as error:  # an older jaxlib
            if "No such compile option" not in str(error):
                raise
    return lowered.compile(compiler_options=options or {})


def use_cpu_cores(count: int | None = None) -> int:
    """Gives JAX one CPU device per core, so :func:`sweep` splits seeds across cores.

    XLA:CPU otherwise runs the sweep as one device that splits each small op across
    threads and synchronises after every one; one device per core, each with its own
    share of the seeds, measured 1.1-1.3x faster on 2 cores. Results are bit-identical
    either way (tested). JAX reads this setting once, when it first starts its
    backend, so call this before any JAX computation; the ``rl-softmax`` command and
    the benchmark do.

    Args:
      count: devices to ask for; default the cores this process may run on.

    Returns:
      the number of JAX devices in use (unchanged if the backend had already started).
    """
    if count is None and hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    elif count is None:
        count = os.cpu_count() or 1
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
        raise ValueError(f"count={count!r}: expected an integer >= 1.")
    with contextlib.suppress(RuntimeError):  # raised once the backend has started
        jax.config.update("jax_num_cpu_devices", count)
    return len(jax.devices())


def seed_sharding() -> NamedSharding:
    """Splits a leading seed axis evenly over all JAX devices."""
    mesh = Mesh(np.array(jax.devices()), ("runs",))
    return NamedSharding(mesh, PartitionSpec("runs"))


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
