"""A pure ``run(key, value)`` evaluated over a value x seed grid in one program.

``sweep(run, values, seeds, key=...)`` compiles the run once (with ``vmap`` over
seeds inside ``vmap`` over values, reductions folded into the scan) and evaluates
the grid block by block (:mod:`rl_softmax.engine.executor` chooses the blocks, the
devices and the XLA options):

* metrics are reduced on device inside the scan and over seeds on the host
  (:mod:`rl_softmax.engine.reductions`), so a long sweep ships ``[runs, windows]``
  numbers to the host, not ``[runs, steps]``;
* seed ``s`` always runs with key ``fold_in(key, s)``, the same for every value
  (common random numbers), and everything per run is elementwise, so a run's
  numbers do not depend on what else is in the grid, on the blocks or on the
  devices. Means over seeds are folded on the host in float64 in seed order, so
  they do not depend on the block boundaries either: every number is bit-identical
  whatever the block shape (tested).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from rl_softmax.engine import executor, reductions, threefry
from rl_softmax.engine.reductions import MetricResult
from rl_softmax.engine.run import Run

__all__ = ["BlockProgram", "MetricResult", "SweepResult", "compile_sweep", "sweep"]


class SweepResult(NamedTuple):
    """Host-side results of a sweep.

    Attributes:
      values: ``[V]`` swept parameter values.
      seeds: ``[S]`` seed indices.
      steps: ``[W]`` the last (1-based) environment step of each curve window.
      final_steps: how many final environment steps ``run_final`` covers.
      metrics: ``{name: MetricResult}`` for every metric the run reports, in
        :data:`rl_softmax.engine.metrics.METRICS` order.
    """

    values: np.ndarray
    seeds: np.ndarray
    steps: np.ndarray
    final_steps: int
    metrics: dict[str, MetricResult]


def _default_stride(num_steps: int, max_points: int = 250) -> int:
    """Smallest divisor of ``num_steps`` leaving at most ``max_points`` windows."""
    for stride in range(1, num_steps + 1):
        if num_steps % stride == 0 and num_steps // stride <= max_points:
            return stride
    return num_steps


class BlockProgram(NamedTuple):
    """A compiled block of the grid: ``(key, seeds[S_b], values[V_b]) -> outputs``
    with leading axes ``[V_b, S_b]``; ``curve_stride`` steps make one window."""

    compiled: Any
    num_values: int
    num_seeds: int
    curve_stride: int


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _check_int(name: str, value, low: int, high: int | None) -> None:
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}={value!r}: expected an integer {allowed}.")


def _bytes_per_run(run: Run, num_windows: int) -> int:
    """Device memory of one run's outputs (all float32) and carry."""
    metrics = run.step_metrics
    values = sum(math.prod(reductions.step_shape(run, m)) for m in metrics)
    counts = 1 if any(m.per_episode for m in metrics) else 0
    carry = jax.eval_shape(run.init, jax.random.key(0), jnp.float32(0))
    carry_bytes = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(carry))
    end = jax.eval_shape(run.end, carry)
    end_bytes = sum(x.size * 4 for x in jax.tree.leaves(end))
    return 4 * (values + counts) * (num_windows + 2) + 2 * carry_bytes + end_bytes


def compile_sweep(
    run: Run,
    num_values: int,
    num_seeds: int,
    *,
    final_steps: int | None = None,
    curve_stride: int | None = None,
    max_block_runs: int | None = None,
    key: jax.Array | None = None,
    compiler_options: dict[str, Any] | None = None,
) -> BlockProgram:
    """The compiled block program for a grid of ``num_values`` x ``num_seeds``.

    Cached per ``run``, block shape, settings and key type. A block is values x seeds
    (:func:`rl_softmax.engine.executor.block_shape`): the inner ``vmap`` runs over
    seeds, the outer over values, so JAX keeps every per-seed quantity (the keys and
    all random draws, which depend on the seed only) unbatched along the values axis
    and computes it once per seed. The seed axis is sharded over all devices.
    :func:`sweep` calls this; calling it first lets a caller time compilation.

    ``key`` is a key of the type the program will be called with (only its type
    matters; default: JAX's default threefry, compiled as
    :data:`rl_softmax.engine.threefry.THREEFRY`: the same bits). ``compiler_options``
    are XLA's (default :data:`~rl_softmax.engine.executor.CPU_COMPILER_OPTIONS` on
    CPU; ``{}`` for XLA's own).
    """
    stride = _default_stride(run.num_steps) if curve_stride is None else curve_stride
    final_steps = min(100, run.num_steps) if final_steps is None else final_steps
    _check_int("final_steps", final_steps, 1, run.num_steps)
    _check_int("curve_stride", stride, 1, run.num_steps)
    _check_int("num_values", num_values, 1, None)
    _check_int("num_seeds", num_seeds, 1, None)
    if max_block_runs is not None:
        _check_int("max_block_runs", max_block_runs, 1, None)
    if run.num_steps % stride:
        raise ValueError(
            f"curve_stride={stride} must divide num_steps={run.num_steps}."
        )
    key_dtype = threefry.fast_key(jax.random.key(0) if key is None else key).dtype
    reduced = reductions.reduced_run(run, final_steps, stride)
    block_values, block_seeds = executor.block_shape(
        num_values, num_seeds, num_devices=len(jax.devices()),
        bytes_per_run=_bytes_per_run(run, run.num_steps // stride),
        max_runs=max_block_runs,
    )  # fmt: skip
    options = None if compiler_options is None else dict(compiler_options)
    settings = (
        block_values, block_seeds, final_steps, stride, key_dtype,
        None if options is None else tuple(sorted(options.items())),
    )  # fmt: skip
    cache = _COMPILED.setdefault(run, {})
    if settings not in cache:

        def block(key, seeds, values):
            keys = jax.vmap(jax.random.fold_in, (None, 0))(key, seeds)
            over_seeds = jax.vmap(reduced, (0, None))
            return jax.vmap(over_seeds, (None, 0))(keys, values)

        sharding = executor.seed_sharding()
        args = (
            jax.ShapeDtypeStruct((), key_dtype),
            jax.ShapeDtypeStruct((block_seeds,), jnp.uint32, sharding=sharding),
            jax.ShapeDtypeStruct((block_values,), jnp.float32),
        )
        compiled = executor.compile_with_options(jax.jit(block).lower(*args), options)
        cache[settings] = BlockProgram(compiled, block_values, block_seeds, stride)
    return cache[settings]


def _as_grid(values: ArrayLike, seeds: int | Sequence[int]):
    values = np.asarray(values, np.float32)
    if values.ndim != 1 or values.size == 0 or np.isnan(values).any():
        raise ValueError(
            f"values={values.tolist()}: expected a non-empty 1-D list of numbers."
        )
    if isinstance(seeds, int | np.integer):
        _check_int("seeds", seeds, 1, 2**32)
        seeds = np.arange(seeds)
    seeds = np.asarray(seeds)
    if (
        seeds.ndim != 1
        or seeds.size == 0
        or not np.issubdtype(seeds.dtype, np.integer)
        or (seeds < 0).any()
        or (seeds >= 2**32).any()
        or len(np.unique(seeds)) != seeds.size
    ):
        raise ValueError(
            f"seeds={seeds.tolist()}: expected a count in [1, 2**32] or distinct "
            "integers in [0, 2**32 - 1] (fold_in takes 32 bits)."
        )
    return values, seeds.astype(np.uint32)


def sweep(
    run: Run,
    values: ArrayLike,
    seeds: int | Sequence[int],
    *,
    key: jax.Array,
    final_steps: int | None = None,
    curve_stride: int | None = None,
    keep_runs: bool = False,
    max_block_runs: int | None = None,
    on_block: Callable[[int], None] | None = None,
    compiler_options: dict[str, Any] | None = None,
) -> SweepResult:
    """Evaluates ``run`` on every (value, seed) pair in one compiled program.

    Args:
      run: from :func:`rl_softmax.engine.make_run`.
      values: ``[V]`` values of the swept parameter (``inf`` allowed, e.g. tau).
      seeds: number of seeds ``S`` (seeds ``0..S-1``) or explicit seed indices.
      key: base PRNG key; seed ``s`` uses ``fold_in(key, s)`` for every value.
      final_steps: window at the end for ``run_final`` in the run's steps (default
        the last 100, or all if fewer; a rollout run's steps are updates).
      curve_stride: run steps per curve window; default keeps at most 250 windows.
      keep_runs: also return every run's curve (``curves``).
      max_block_runs: at most this many runs per compiled call (a memory bound;
        it never changes a number).
      on_block: called with the number of runs finished after each block.
      compiler_options: XLA options for the program (see :func:`compile_sweep`).

    Returns:
      a :class:`SweepResult`.
    """
    values, seeds = _as_grid(values, seeds)
    key = threefry.fast_key(key)
    final_steps = min(100, run.num_steps) if final_steps is None else final_steps
    program = compile_sweep(
        run, values.size, seeds.size, key=key, compiler_options=compiler_options,
        final_steps=final_steps, curve_stride=curve_stride,
        max_block_runs=max_block_runs,
    )  # fmt: skip
    num_values, num_seeds = values.size, seeds.size
    num_windows = run.num_steps // program.curve_stride
    acc = reductions.Accumulator(run, num_values, num_seeds, num_windows, keep_runs)
    sharding = executor.seed_sharding()
    # Values outer, seeds inner: each value's seeds are folded in seed order.
    for v0 in range(0, num_values, program.num_values):
        for s0 in range(0, num_seeds, program.num_seeds):
            # Pad a block by repeating its last value / seed; padding is dropped.
            v = np.minimum(np.arange(v0, v0 + program.num_values), num_values - 1)
            s = np.minimum(np.arange(s0, s0 + program.num_seeds), num_seeds - 1)
            out = program.compiled(key, jax.device_put(seeds[s], sharding), values[v])
            nv = min(program.num_values, num_values - v0)
            ns = min(program.num_seeds, num_seeds - s0)
            out = jax.tree.map(lambda x, nv=nv, ns=ns: np.asarray(x)[:nv, :ns], out)
            acc.add(slice(v0, v0 + nv), slice(s0, s0 + ns), *out)
            if on_block is not None:
                on_block(nv * ns)
    per_step = run.env_steps_per_step
    return SweepResult(
        values=values,
        seeds=seeds.astype(np.int64),
        steps=np.arange(1, num_windows + 1) * program.curve_stride * per_step,
        final_steps=final_steps * per_step,
        metrics=acc.result(num_seeds),
    )
