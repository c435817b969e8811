"""How a sweep is compiled and placed: XLA options, devices, blocks, compile cache.

Everything here is about speed and memory, never about results: every choice is
measured (``rl-softmax bench --only bandit``, whose XLA-defaults row is the
ablation, and profiles of the compiled program) and every number is bit-identical
whichever is taken (tested).

* :data:`CPU_COMPILER_OPTIONS`: XLA's own loop fusions instead of YNNPACK library
  fusions, for the sweep program only;
* :func:`use_cpu_cores`: one JAX CPU device per core, the seed axis split across
  them (:func:`seed_sharding`);
* :func:`block_shape`: how many values x seeds one compiled call evaluates;
* :func:`computed_once`: a value that XLA must compute once rather than re-derive
  inside every consumer;
* :func:`enable_compilation_cache`: JAX's persistent compilation cache, so a second
  run of the same program loads it instead of compiling.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

__all__ = [
    "CPU_COMPILER_OPTIONS",
    "block_shape",
    "compile_with_options",
    "computed_once",
    "default_cache_dir",
    "any_process",
    "enable_compilation_cache",
    "from_process_zero",
    "initialize_distributed",
    "replicated",
    "seed_sharding",
    "use_cpu_cores",
]


# XLA:CPU hands reductions and elementwise ops to YNNPACK library fusions by default
# (recent jaxlibs). For this loop of many small [values, seeds, arms] ops they ran the
# sweep ~1.5x slower than XLA's own loop fusions, and their results depended on the
# block shape; an empty list turns them off for the sweep program only.
CPU_COMPILER_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}

# Seeds per block: wide enough to vectorise, narrow enough that several values share
# a block (every random draw depends on the seed only and is made once per seed for
# all the values of a block).
_MAX_SEEDS_PER_BLOCK = 2048
# Runs per block: past this, larger blocks measured no faster and the progress bar
# moves less often.
_MAX_RUNS_PER_BLOCK = 20480
# Bytes of carry and outputs one block may hold on the device.
_MAX_BLOCK_BYTES = 1 << 30
# XLA:CPU emits short or ragged loops for a narrow seed axis, and their rounding of
# some per-step arithmetic (fused multiply-adds) differs by an ulp from the long
# vector loops of a wide one when a block holds several values. So each device gets
# whole vectors of seeds, and blocks share values only with at least 64 seeds per
# device: then every block shape gives the same bits (tested).
SEED_ALIGN = 8
_MIN_SEEDS_TO_SHARE = 64


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


def use_cpu_cores(count: int | None = None, *, start: bool = True) -> int:
    """Gives JAX one CPU device per core, so a sweep splits its seeds across cores.

    XLA:CPU otherwise runs the sweep as one device that splits each small op across
    threads and synchronises after every one. JAX reads this setting once, when it
    starts its backend, so call this before any JAX computation (the ``rl-softmax``
    command does). Without ``count``, a JAX that has already started keeps the
    devices it has; an explicit ``count`` it cannot honour raises.

    Args:
      count: devices to ask for; default the cores this process may run on.
      start: start JAX's backend (False: only set the count, e.g. before
        :func:`initialize_distributed`).

    Returns:
      the number of this process's JAX devices.

    Raises:
      ValueError: ``count`` is not a positive integer.
      RuntimeError: ``count`` was given but JAX has already started with another
        number of CPU devices.
    """
    explicit = count is not None
    if count is None and hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    elif count is None:
        count = os.cpu_count() or 1
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
        raise ValueError(f"count={count!r}: expected an integer >= 1.")
    try:
        jax.config.update("jax_num_cpu_devices", int(count))
    except RuntimeError:  # the backend has started: the setting can no longer change
        devices = jax.local_devices()
        if explicit and devices[0].platform == "cpu" and len(devices) != count:
            raise RuntimeError(
                f"JAX has already started with {len(devices)} CPU device(s), so it "
                f"cannot use {count}: call use_cpu_cores before any JAX computation "
                f"(or set XLA_FLAGS=--xla_force_host_platform_device_count={count})."
            ) from None
        return len(devices)
    return len(jax.local_devices()) if start else int(count)


def initialize_distributed(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
) -> tuple[int, int]:
    """Joins a multi-process run on JAX's distributed runtime; call it after
    :func:`use_cpu_cores` (``start=False``) and before any JAX computation, in
    every process, with the same arguments but ``process_id``.

    Unset arguments come from ``JAX_COORDINATOR_ADDRESS``, ``JAX_NUM_PROCESSES``
    and ``JAX_PROCESS_ID``, else from the cluster (SLURM and the others JAX
    detects). On CPU the processes exchange data through gloo; on GPUs and TPUs
    through JAX's defaults. The devices of all processes then form the mesh the
    seed axis is split over (:func:`seed_sharding`).

    Returns:
      ``(this process's index, number of processes)``.
    """
    env = os.environ
    if num_processes is None and env.get("JAX_NUM_PROCESSES"):
        num_processes = int(env["JAX_NUM_PROCESSES"])
    if process_id is None and env.get("JAX_PROCESS_ID"):
        process_id = int(env["JAX_PROCESS_ID"])
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=coordinator, num_processes=num_processes,
        process_id=process_id,
    )  # fmt: skip
    return jax.process_index(), jax.process_count()


def from_process_zero(x: int) -> int:
    """Process 0's integer ``x`` on every process (itself in a single process)."""
    if jax.process_count() == 1:
        return int(x)
    from jax.experimental import multihost_utils

    return int(multihost_utils.broadcast_one_to_all(np.int64(x)))


def any_process(flag: bool) -> bool:
    """Whether ``flag`` is true in any process (itself in a single process)."""
    if jax.process_count() == 1:
        return bool(flag)
    from jax.experimental import multihost_utils

    return bool(np.any(multihost_utils.process_allgather(np.int32(flag))))


def seed_sharding() -> NamedSharding:
    """Splits a leading seed axis evenly over all JAX devices."""
    mesh = Mesh(np.array(jax.devices()), ("runs",))
    return NamedSharding(mesh, PartitionSpec("runs"))


def replicated() -> NamedSharding:
    """The whole array on every device (of every process)."""
    mesh = Mesh(np.array(jax.devices()), ("runs",))
    return NamedSharding(mesh, PartitionSpec())


def _balanced(total: int, most: int, multiple: int = 1) -> int:
    """The smallest even share of ``total`` into parts of at most ``most``, rounded
    up to ``multiple``."""
    parts = math.ceil(total / max(most, 1))
    share = math.ceil(total / parts)
    return math.ceil(share / multiple) * multiple


def block_shape(
    num_values: int,
    num_seeds: int,
    *,
    num_devices: int,
    bytes_per_run: int,
    max_runs: int | None = None,
) -> tuple[int, int]:
    """``(values, seeds)`` per compiled block for a grid of values x seeds.

    Seeds are split into equal blocks of at most 2048 (rounded up to whole vectors
    of 8 per device), values into equal blocks that fill the runs a block may hold:
    at most 16384, what ``bytes_per_run`` allows in 1 GiB, and ``max_runs`` if given
    (a bound below 8 seeds per device is raised to it). Blocks share values only
    with at least 64 seeds per device. Equal blocks keep the padding (repeated
    values or seeds, dropped afterwards) to at most one value or a few seeds per
    block.

    Args:
      num_values: values in the grid.
      num_seeds: seeds in the grid.
      num_devices: devices the seed axis is sharded over.
      bytes_per_run: device memory one run's carry and outputs take.
      max_runs: a user's bound on runs per block (memory), or None.

    Returns:
      ``(values per block, seeds per block)``.
    """
    budget = min(_MAX_RUNS_PER_BLOCK, _MAX_BLOCK_BYTES // max(bytes_per_run, 1))
    if max_runs is not None:
        budget = min(budget, max_runs)
    multiple = num_devices * SEED_ALIGN
    most_seeds = max(multiple, min(_MAX_SEEDS_PER_BLOCK, budget) // multiple * multiple)
    seeds = _balanced(num_seeds, most_seeds, multiple)
    if seeds // num_devices < _MIN_SEEDS_TO_SHARE:
        return 1, seeds
    return _balanced(num_values, max(1, budget // seeds)), seeds


def computed_once(x: jax.Array) -> jax.Array:
    """``x`` unchanged, routed through a reduction so that XLA computes it once.

    XLA:CPU fuses chains of cheap elementwise ops into every consumer and recomputes
    them per consumer element: in a sweep, a per-run action or a per-seed random
    word feeds ``[values, seeds, arms]`` updates and would be recomputed per arm and
    per value. Optimisation barriers do not stop this (XLA:CPU removes them before
    fusing), but a reduction is never fused into its consumers. Summing ``x`` with
    zeros is exact for integers, so the result is ``x`` bit for bit. Use it on
    integer arrays only (for floats, ``-0.0 + 0.0`` would become ``+0.0``). On
    other backends it returns ``x`` as it is.
    """
    if not jnp.issubdtype(x.dtype, jnp.integer):
        raise TypeError(f"computed_once needs an integer array, got {x.dtype}.")
    if jax.default_backend() != "cpu":  # an XLA:CPU fusion measure only
        return x
    return jnp.stack([x, jnp.zeros_like(x)]).sum(axis=0, dtype=x.dtype)


def default_cache_dir() -> Path:
    """``$RL_SOFTMAX_CACHE_DIR``, else ``$XDG_CACHE_HOME/rl_softmax/jax`` (default
    ``~/.cache/rl_softmax/jax``)."""
    explicit = os.environ.get("RL_SOFTMAX_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "rl_softmax" / "jax"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path:
    """Turns on JAX's persistent compilation cache in ``path`` (default
    :func:`default_cache_dir`), for every program however quick to compile.

    A program compiled once is then loaded from disk by later processes; the cache
    key covers the program, the compile options, the devices and the JAX version, so
    a stale entry is never used.

    Returns:
      the cache directory.
    """
    path = Path(path).expanduser() if path is not None else default_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
