"""The sweep engine: one pure ``run(key, value)``, evaluated over a value x seed grid.

``make_run(env, agent, num_steps)`` (from :mod:`rl_softmax.run`, re-exported here)
builds a :class:`Run`: calling it is one ``lax.scan`` over steps returning per-step
:class:`Metrics`. ``sweep(run, values, seeds, key=...)`` evaluates the whole grid
with ``vmap`` in one compiled program (compiled and placed by
:mod:`rl_softmax.backend`):

* the grid is processed in fixed-size blocks of values x seeds (padded), so neither
  the number of values nor the number of seeds changes a shape: changing them never
  recompiles, and a block bounds memory;
* seeds are the inner ``vmap`` axis: every random draw depends on the seed only, so
  JAX computes it once per seed and shares it across the block's values (common
  random numbers, and about twice the throughput of a flat run axis);
* the seed axis of a block is sharded over all JAX devices;
* per-step metrics are reduced on device inside the scan (per-run means over all
  steps and over the final steps, and window means for the curves), so a long sweep
  ships ``[runs, windows]`` numbers to the host, not ``[runs, steps]``;
* seed ``s`` always runs with key ``fold_in(key, s)``, the same for every value,
  and everything per run is elementwise, so a run's numbers do not depend on what
  else is in the grid or on the sharding. The means over seeds are folded on the
  host in float64 in seed order, so they do not depend on the block boundaries (a
  device-side tree reduction's grouping would). Every number is bit-identical
  whatever the block shape (tested from 7 to 4096 seeds per block). That needs the
  sweep's XLA options: with XLA:CPU's default YNNPACK library fusions, wide blocks
  rounded the last bit of some probabilities differently (entropy and P(optimal)
  moved by ~1e-7), and the sweep ran ~1.5x slower;
* random draws use JAX's threefry bits, computed by :mod:`rl_softmax.prng`, whose
  code XLA:CPU compiles faster.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from rl_softmax import prng
from rl_softmax.backend import compile_with_options, seed_sharding
from rl_softmax.run import METRICS, Metrics, Run, StepOutput, make_run

__all__ = [
    "METRICS",
    "Metrics",
    "ChunkProgram",
    "Run",
    "StepOutput",
    "SweepResult",
    "compile_sweep",
    "make_run",
    "sweep",
]


class SweepResult(NamedTuple):
    """Host-side results of a sweep (NumPy arrays).

    Attributes:
      values: ``[V]`` swept parameter values.
      seeds: ``[S]`` seed indices.
      steps: ``[W]`` the last (1-based) step of each curve window.
      run_mean: :class:`Metrics` of ``[V, S]`` per-run means over all steps.
      run_final: :class:`Metrics` of ``[V, S]`` per-run means over the final steps.
      curve_mean: :class:`Metrics` of ``[V, W]`` means over seeds of window means.
      curve_std: :class:`Metrics` of ``[V, W]`` standard deviations over seeds.
      curves: :class:`Metrics` of ``[V, S, W]`` per-run window means, or None
        unless ``keep_runs``.
      final_steps: how many final steps ``run_final`` averages.
      curve_probs: ``[V, W, num_actions]`` mean action probabilities with arms
        ordered by true value (best first), or None unless ``track_probs``.
    """

    values: np.ndarray
    seeds: np.ndarray
    steps: np.ndarray
    run_mean: Metrics
    run_final: Metrics
    curve_mean: Metrics
    curve_std: Metrics
    curves: Metrics | None
    final_steps: int
    curve_probs: np.ndarray | None = None


def _default_stride(num_steps: int, max_points: int = 250) -> int:
    """Smallest divisor of ``num_steps`` leaving at most ``max_points`` windows."""
    for stride in range(1, num_steps + 1):
        if num_steps % stride == 0 and num_steps // stride <= max_points:
            return stride
    return num_steps


def _reduced_run(run: Run, final_steps: int, stride: int, track_probs: bool):
    """``(key, value) -> (mean, final_mean, window_means, window_probs)``.

    The reductions ride in the scan carry, so memory is ``[windows]`` per run
    instead of ``[steps]``. Each step adds its metrics to the window's sums (in step
    order); each window's sums are added to the run's totals (in window order), and
    to the final-steps sums when the final steps are whole windows, else the final
    sums are kept step by step.
    """
    num_windows = run.num_steps // stride
    first_final = run.num_steps - final_steps
    whole_windows = first_final % stride == 0
    zero_metrics = Metrics(*(jnp.zeros((), jnp.float32) for _ in METRICS))
    zero_probs = jnp.zeros((run.num_actions if track_probs else 0,), jnp.float32)

    def add_if(condition, sums, metrics):
        # where, not a 0/1 weight: 0 * inf would be NaN for tau = inf
        return jax.tree.map(lambda s, x: jnp.where(condition, s + x, s), sums, metrics)

    def reduced(key, value):
        def window(outer, w):
            def inner(acc, i):
                carry, win, win_probs, final = acc
                t = w * stride + i
                carry, out = run.step(carry, t)
                win = jax.tree.map(jnp.add, win, out.metrics)
                if track_probs:
                    win_probs = win_probs + out.ranked_probs
                if not whole_windows:
                    final = add_if(t >= first_final, final, out.metrics)
                return (carry, win, win_probs, final), None

            carry, total, final = outer
            acc = (carry, zero_metrics, zero_probs, final)
            (carry, win, win_probs, final), _ = jax.lax.scan(
                inner, acc, jnp.arange(stride)
            )
            total = jax.tree.map(jnp.add, total, win)
            if whole_windows:
                final = add_if(w * stride >= first_final, final, win)
            means = jax.tree.map(lambda x: x / stride, (win, win_probs))
            return (carry, total, final), means

        outer = (run.init(key, value), zero_metrics, zero_metrics)
        (_, total, final), (curves, probs) = jax.lax.scan(
            window, outer, jnp.arange(num_windows)
        )
        mean = jax.tree.map(lambda x: x / run.num_steps, total)
        return mean, jax.tree.map(lambda x: x / final_steps, final), curves, probs

    return reduced


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _check_int(name: str, value, low: int, high: int | None) -> None:
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}={value!r}: expected an integer {allowed}.")


class ChunkProgram(NamedTuple):
    """A compiled block of the grid: ``(key, seeds[S_c], values[V_c]) -> reductions``.

    Every output has leading axes ``[V_c, S_c]``; ``curve_stride`` steps make one
    curve window.
    """

    compiled: Any
    num_values: int
    num_seeds: int
    curve_stride: int


# Seeds per block: wide enough to vectorise, small enough that several values share
# a block (each random draw is made once per seed and shared by every value).
_MAX_SEEDS_PER_CHUNK = 2048


def _block_shape(chunk_size: int, num_devices: int) -> tuple[int, int]:
    """``(values, seeds)`` per block for a budget of ``chunk_size`` runs."""
    num_seeds = min(chunk_size, _MAX_SEEDS_PER_CHUNK)
    num_seeds = -(-num_seeds // num_devices) * num_devices  # shards evenly
    return max(1, chunk_size // num_seeds), num_seeds


def compile_sweep(
    run: Run,
    *,
    chunk_size: int = 16384,
    final_steps: int = 100,
    curve_stride: int | None = None,
    track_probs: bool = False,
    key: jax.Array | None = None,
    compiler_options: dict[str, Any] | None = None,
) -> ChunkProgram:
    """The compiled block program, cached per ``run``, settings and key type.

    A block is ``values x seeds`` (:func:`_block_shape`): the inner ``vmap`` runs over
    seeds, the outer over values, so JAX keeps every per-seed quantity (the keys and
    all random draws, which depend on the seed only) unbatched along the values axis
    and computes it once per seed. The seed axis is sharded over all devices.
    :func:`sweep` calls this; calling it first lets a caller time compilation.

    ``key`` is a key of the type the program will be called with (only its type
    matters; default: JAX's default threefry). Threefry keys are compiled as
    :data:`rl_softmax.prng.THREEFRY`: the same bits, faster code on CPU.
    ``compiler_options`` are XLA's (default:
    :data:`rl_softmax.backend.CPU_COMPILER_OPTIONS` on CPU; ``{}`` for XLA's own).
    """
    stride = _default_stride(run.num_steps) if curve_stride is None else curve_stride
    _check_int("chunk_size", chunk_size, 1, None)
    _check_int("final_steps", final_steps, 1, run.num_steps)
    _check_int("curve_stride", stride, 1, run.num_steps)
    if run.num_steps % stride:
        raise ValueError(
            f"curve_stride={stride} must divide num_steps={run.num_steps}."
        )
    num_devices = len(jax.devices())
    num_values, num_seeds = _block_shape(chunk_size, num_devices)
    cache = _COMPILED.setdefault(run, {})
    key_dtype = prng.fast_key(jax.random.key(0) if key is None else key).dtype
    options = None if compiler_options is None else dict(compiler_options)
    settings = (
        num_values, num_seeds, final_steps, stride, bool(track_probs), key_dtype,
        None if options is None else tuple(sorted(options.items())),
    )  # fmt: skip
    if settings not in cache:
        reduced = _reduced_run(run, final_steps, stride, bool(track_probs))

        def block(key, seeds, values):
            keys = jax.vmap(jax.random.fold_in, (None, 0))(key, seeds)
            over_seeds = jax.vmap(reduced, (0, None))
            return jax.vmap(over_seeds, (None, 0))(keys, values)

        args = (
            jax.ShapeDtypeStruct((), key_dtype),
            jax.ShapeDtypeStruct((num_seeds,), jnp.uint32, sharding=seed_sharding()),
            jax.ShapeDtypeStruct((num_values,), jnp.float32),
        )
        compiled = compile_with_options(jax.jit(block).lower(*args), options)
        cache[settings] = ChunkProgram(compiled, num_values, num_seeds, stride)
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


class _Accumulator:
    """Folds block outputs into host arrays; sums over seeds in grid order (float64)."""

    def __init__(self, num_values, num_seeds, num_windows, num_actions, keep_runs):
        shape = (num_values, num_seeds)
        self.run_mean = Metrics(*(np.empty(shape, np.float32) for _ in METRICS))
        self.run_final = Metrics(*(np.empty(shape, np.float32) for _ in METRICS))
        self.sum = Metrics(*(np.zeros((num_values, num_windows)) for _ in METRICS))
        self.sum_sq = Metrics(*(np.zeros((num_values, num_windows)) for _ in METRICS))
        self.probs = np.zeros((num_values, num_windows, num_actions))
        self.curves = None
        if keep_runs:
            shape = (num_values, num_seeds, num_windows)
            self.curves = Metrics(*(np.empty(shape, np.float32) for _ in METRICS))

    def add(self, values: slice, seeds: slice, mean, final, window, probs):
        """Adds a block: outputs ``[values, seeds, ...]`` for those grid slices."""
        for i in range(len(METRICS)):
            self.run_mean[i][values, seeds] = mean[i]
            self.run_final[i][values, seeds] = final[i]
            if self.curves is not None:
                self.curves[i][values, seeds] = window[i]
        # value by value: each value's [seeds, windows] rows stay in cache
        for row, value in enumerate(range(values.start, values.stop)):
            for i in range(len(METRICS)):
                rows = window[i][row].astype(np.float64)
                squares = rows**2
                _fold(self.sum[i], value, rows)
                _fold(self.sum_sq[i], value, squares)
            if self.probs.shape[-1]:
                _fold(self.probs, value, probs[row].astype(np.float64))


def _fold(total: np.ndarray, index: int, rows: np.ndarray) -> None:
    """``total[index] += rows[0] + rows[1] + ...``, added strictly in seed order.

    ``rows`` is ``[seeds, ...]`` and is overwritten. NumPy reduces over a leading
    axis one row at a time, in order (pairwise summation applies to the innermost
    axis only), so adding the running total to the first row makes the float64
    sums the same whatever the chunk boundaries (tested).
    """
    rows[0] += total[index]
    total[index] = rows.sum(axis=0)


def sweep(
    run: Run,
    values: ArrayLike,
    seeds: int | Sequence[int],
    *,
    key: jax.Array,
    final_steps: int = 100,
    chunk_size: int = 16384,
    curve_stride: int | None = None,
    keep_runs: bool = False,
    track_probs: bool = False,
    on_chunk: Callable[[int], None] | None = None,
    compiler_options: dict[str, Any] | None = None,
) -> SweepResult:
    """Evaluates ``run`` on every (value, seed) pair in one compiled program.

    Args:
      run: from :func:`make_run`.
      values: ``[V]`` values of the swept parameter (``inf`` allowed, e.g. tau).
      seeds: number of seeds ``S`` (seeds ``0..S-1``) or explicit seed indices.
      key: base PRNG key; seed ``s`` uses ``fold_in(key, s)`` for every value.
      final_steps: window at the end for ``run_final`` (e.g. "last 100 steps").
      chunk_size: runs per compiled call: blocks of ``chunk_size // S_c`` values
        x ``S_c = min(chunk_size, 2048)`` seeds (rounded up to shard evenly).
      curve_stride: steps per curve window; default keeps at most 250 windows.
      keep_runs: also return every run's curve (``[V, S, W]`` per metric).
      track_probs: also return mean action probabilities by rank (``curve_probs``).
      on_chunk: called with the number of runs finished after each chunk (progress).
      compiler_options: XLA options for the program (see :func:`compile_sweep`).

    Returns:
      a :class:`SweepResult`.
    """
    values, seeds = _as_grid(values, seeds)
    key = prng.fast_key(key)
    program = compile_sweep(
        run,
        key=key,
        compiler_options=compiler_options,
        chunk_size=chunk_size,
        final_steps=final_steps,
        curve_stride=curve_stride,
        track_probs=track_probs,
    )
    num_values, num_seeds = values.size, seeds.size
    num_windows = run.num_steps // program.curve_stride
    num_actions = run.num_actions if track_probs else 0
    acc = _Accumulator(num_values, num_seeds, num_windows, num_actions, keep_runs)
    sharding = seed_sharding()
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
            if on_chunk is not None:
                on_chunk(nv * ns)

    curve_mean = Metrics(*(x / num_seeds for x in acc.sum))
    ddof = 1 if num_seeds > 1 else 0
    with np.errstate(invalid="ignore"):  # an infinite metric (tau = inf) has no std
        curve_std = Metrics(
            *(
                np.sqrt(np.maximum(sq - num_seeds * m**2, 0.0) / (num_seeds - ddof))
                for sq, m in zip(acc.sum_sq, curve_mean, strict=True)
            )
        )
    return SweepResult(
        values=values,
        seeds=seeds.astype(np.int64),
        steps=np.arange(1, num_windows + 1) * program.curve_stride,
        run_mean=acc.run_mean,
        run_final=acc.run_final,
        curve_mean=curve_mean,
        curve_std=curve_std,
        curves=acc.curves,
        final_steps=final_steps,
        curve_probs=acc.probs / num_seeds if track_probs else None,
    )
