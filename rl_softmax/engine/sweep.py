"""A pure ``run(key, value)`` evaluated over a value x seed grid in one program.

``sweep(run, values, seeds, key=...)`` compiles the run once (with ``vmap`` over
seeds inside ``vmap`` over values, reductions folded into the scan) and evaluates
the grid block by block (:mod:`rl_softmax.engine.executor` chooses the blocks, the
devices and the XLA options):

* per-step metrics are reduced on device inside the scan: per-run means over all
  steps and over the final steps, and window means for the curves; per-episode
  metrics are summed with the count of episodes that ended. A long sweep ships
  ``[runs, windows]`` numbers to the host, not ``[runs, steps]``;
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

from rl_softmax.engine import executor, threefry
from rl_softmax.engine.run import Run, StepOutput

__all__ = ["BlockProgram", "MetricResult", "SweepResult", "compile_sweep", "sweep"]


class MetricResult(NamedTuple):
    """One metric over the grid (NumPy arrays; ``...`` is ``[num_actions]`` for a
    vector metric, nothing for a scalar one).

    Attributes:
      run_mean: ``[V, S, ...]`` per-run mean over all steps (per-episode metrics:
        over the episodes that ended; NaN where none did).
      run_final: ``[V, S, ...]`` the same over the final steps.
      curve_mean: ``[V, W, ...]`` mean over seeds of each window (per-episode
        metrics: over all seeds' episodes that ended in the window).
      curve_sem: ``[V, W, ...]`` standard error of ``curve_mean`` over seeds.
      run_weight: ``[V, S]`` episodes behind ``run_mean`` (per-episode metrics),
        else None.
      final_weight: ``[V, S]`` episodes behind ``run_final``, else None.
      curves: ``[V, S, W, ...]`` per-run window means, or None unless ``keep_runs``.
    """

    run_mean: np.ndarray
    run_final: np.ndarray
    curve_mean: np.ndarray
    curve_sem: np.ndarray
    run_weight: np.ndarray | None = None
    final_weight: np.ndarray | None = None
    curves: np.ndarray | None = None


class SweepResult(NamedTuple):
    """Host-side results of a sweep.

    Attributes:
      values: ``[V]`` swept parameter values.
      seeds: ``[S]`` seed indices.
      steps: ``[W]`` the last (1-based) step of each curve window.
      final_steps: how many final steps ``run_final`` covers.
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


def _reduced_run(run: Run, final_steps: int, stride: int):
    """``(key, value) -> (mean, final, windows, counts)`` with reductions in the scan.

    Memory is ``[windows]`` per run instead of ``[steps]``. Each step adds its
    values to the window's sums (in step order); each window's sums are added to the
    run's totals (in window order), and to the final-steps sums when the final steps
    are whole windows, else the final sums are kept step by step. Step metrics come
    out as means; per-episode ones as sums beside the count of episodes that ended
    (``counts = (all, final, per window)``; None for a continuing run).
    """
    num_windows = run.num_steps // stride
    first_final = run.num_steps - final_steps
    whole_windows = first_final % stride == 0
    per_episode = {m.name for m in run.metrics if m.per_episode}
    zeros = StepOutput(
        {m.name: jnp.zeros(_shape(run, m), jnp.float32) for m in run.metrics},
        jnp.zeros((), jnp.float32) if per_episode else None,
    )

    def add_if(condition, sums, out):
        # where, not a 0/1 weight: 0 * inf would be NaN for tau = inf
        return jax.tree.map(lambda s, x: jnp.where(condition, s + x, s), sums, out)

    def reduced(key, value):
        def window(outer, w):
            def inner(acc, i):
                carry, win, final = acc
                t = w * stride + i
                carry, out = run.step(carry, t)
                win = jax.tree.map(jnp.add, win, out)
                if not whole_windows:
                    final = add_if(t >= first_final, final, out)
                return (carry, win, final), None

            carry, total, final = outer
            (carry, win, final), _ = jax.lax.scan(
                inner, (carry, zeros, final), jnp.arange(stride)
            )
            total = jax.tree.map(jnp.add, total, win)
            if whole_windows:
                final = add_if(w * stride >= first_final, final, win)
            return (carry, total, final), win

        outer = (run.init(key, value), zeros, zeros)
        (_, total, final), windows = jax.lax.scan(
            window, outer, jnp.arange(num_windows)
        )

        def means(sums, count, steps):
            return {
                k: v / count if k in per_episode else v / steps
                for k, v in sums.values.items()
            }

        mean = means(total, total.ended, run.num_steps)
        final_mean = means(final, final.ended, final_steps)
        window_values = {
            k: v if k in per_episode else v / stride for k, v in windows.values.items()
        }
        counts = None
        if total.ended is not None:
            counts = (total.ended, final.ended, windows.ended)
        return mean, final_mean, window_values, counts

    return reduced


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


def _shape(run: Run, metric) -> tuple[int, ...]:
    """The shape of one step's value of ``metric``."""
    return (run.num_actions,) if metric.vector else ()


def _bytes_per_run(run: Run, num_windows: int) -> int:
    """Device memory of one run's outputs (all float32) and carry."""
    values = sum(math.prod(_shape(run, m)) for m in run.metrics)
    counts = 1 if any(m.per_episode for m in run.metrics) else 0
    carry = jax.eval_shape(run.init, jax.random.key(0), jnp.float32(0))
    carry_bytes = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(carry))
    return 4 * (values + counts) * (num_windows + 2) + 2 * carry_bytes


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
    reduced = _reduced_run(run, final_steps, stride)
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


def _fold(total: np.ndarray, index: int, rows: np.ndarray) -> None:
    """``total[index] += rows[0] + rows[1] + ...``, added strictly in seed order.

    ``rows`` is ``[seeds, ...]`` and is overwritten. NumPy reduces over a leading
    axis one row at a time, in order (pairwise summation applies to the innermost
    axis only), so adding the running total to the first row makes the float64
    sums the same whatever the block boundaries (tested).
    """
    rows[0] += total[index]
    total[index] = rows.sum(axis=0)


class _Accumulator:
    """Folds block outputs into host arrays; sums over seeds in seed order (float64).

    For a step metric it keeps ``sum x`` and ``sum x**2`` of the window means over
    seeds; for a per-episode metric ``sum s``, ``sum s**2`` and ``sum w s`` of the
    window sums ``s`` beside ``sum w`` and ``sum w**2`` of the counts ``w`` (the
    ratio estimator's standard error needs them).
    """

    def __init__(self, run: Run, num_values, num_seeds, num_windows, keep_runs):
        self.order = [m.name for m in run.metrics]
        self.per_episode = {m.name for m in run.metrics if m.per_episode}
        shape = (num_values, num_seeds)
        self.grid = shape
        self.keep_runs = keep_runs
        self.runs: dict[str, dict[str, np.ndarray]] = {}
        self.sums: dict[str, dict[str, np.ndarray]] = {}
        self.num_windows = num_windows
        self.count_sums = None
        if self.per_episode:
            window_shape = (num_values, num_windows)
            self.count_sums = {k: np.zeros(window_shape) for k in ("w", "ww", "n")}
            self.counts = {
                "all": np.empty(shape, np.float32),
                "final": np.empty(shape, np.float32),
            }
            if keep_runs:
                self.counts["curves"] = np.empty((*shape, num_windows), np.float32)

    def _arrays(self, name: str, trailing: tuple[int, ...]):
        if name not in self.runs:
            runs = {
                "mean": np.empty((*self.grid, *trailing), np.float32),
                "final": np.empty((*self.grid, *trailing), np.float32),
            }
            if self.keep_runs:
                runs["curves"] = np.empty(
                    (*self.grid, self.num_windows, *trailing), np.float32
                )
            self.runs[name] = runs
            window_shape = (self.grid[0], self.num_windows, *trailing)
            keys = ("s", "ss", "ws") if name in self.per_episode else ("x", "xx")
            self.sums[name] = {k: np.zeros(window_shape) for k in keys}
        return self.runs[name], self.sums[name]

    def add(self, values: slice, seeds: slice, mean, final, windows, counts):
        """Adds a block: outputs ``[values, seeds, ...]`` for those grid slices."""
        if counts is not None:
            count_all, count_final, count_windows = counts
            self.counts["all"][values, seeds] = count_all
            self.counts["final"][values, seeds] = count_final
            if self.keep_runs:
                self.counts["curves"][values, seeds] = count_windows
        for name in mean:
            trailing = np.shape(mean[name])[2:]
            runs, sums = self._arrays(name, trailing)
            runs["mean"][values, seeds] = mean[name]
            runs["final"][values, seeds] = final[name]
            if self.keep_runs:
                window = windows[name]
                if name in self.per_episode:
                    with np.errstate(invalid="ignore", divide="ignore"):
                        window = window / count_windows
                runs["curves"][values, seeds] = window
        # value by value: each value's [seeds, windows] rows stay in cache
        for row, value in enumerate(range(values.start, values.stop)):
            if counts is not None:
                w = count_windows[row].astype(np.float64)
                _fold(self.count_sums["ww"], value, w**2)
                _fold(self.count_sums["n"], value, (w > 0).astype(np.float64))
            for name, window in windows.items():
                sums = self.sums[name]
                x = window[row].astype(np.float64)
                if name in self.per_episode:
                    _fold(sums["ws"], value, _times(w, x))
                    _fold(sums["ss"], value, x**2)
                    _fold(sums["s"], value, x)
                else:
                    _fold(sums["xx"], value, x**2)
                    _fold(sums["x"], value, x)
            if counts is not None:
                _fold(self.count_sums["w"], value, w)

    def result(self, num_seeds: int) -> dict[str, Any]:
        """``{name: MetricResult}`` in the run's metric order (pytrees sort keys)."""
        out = {}
        for name in self.order:
            runs = self.runs[name]
            sums = self.sums[name]
            weights = {}
            if name in self.per_episode:
                mean, sem = _ratio_stats(sums, self.count_sums)
                weights = {
                    "run_weight": self.counts["all"],
                    "final_weight": self.counts["final"],
                }
            else:
                mean, sem = _mean_stats(sums, num_seeds)
            out[name] = MetricResult(
                run_mean=runs["mean"], run_final=runs["final"], curve_mean=mean,
                curve_sem=sem, curves=runs.get("curves"), **weights,
            )  # fmt: skip
        return out


def _times(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``w * x`` with ``w: [seeds, windows]`` broadcast over ``x``'s trailing axes."""
    return w.reshape(w.shape + (1,) * (x.ndim - w.ndim)) * x


def _mean_stats(sums, num_seeds: int):
    """Mean over seeds and its standard error from ``sum x`` and ``sum x**2``."""
    mean = sums["x"] / num_seeds
    ddof = 1 if num_seeds > 1 else 0
    with np.errstate(invalid="ignore"):  # an infinite metric (tau = inf) has no std
        var = np.maximum(sums["xx"] - num_seeds * mean**2, 0.0) / (num_seeds - ddof)
        return mean, np.sqrt(var / num_seeds)


def _ratio_stats(sums, count_sums):
    """Pooled mean ``m = sum s / sum w`` and its ratio-estimator standard error.

    ``SE**2 = n / (n - 1) * sum_i (s_i - m w_i)**2 / (sum w)**2`` over the ``n``
    seeds with an episode in the window (0 when ``n == 1``), expanded into the
    kept sums. NaN where no episode ended.
    """
    w, ww, n = count_sums["w"], count_sums["ww"], count_sums["n"]
    shape = w.shape + (1,) * (sums["s"].ndim - w.ndim)
    w, ww, n = w.reshape(shape), ww.reshape(shape), n.reshape(shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums["s"] / w
        squares = sums["ss"] - 2 * mean * sums["ws"] + mean**2 * ww
        factor = np.where(n > 1, n / np.maximum(n - 1, 1), 0.0)
        return mean, np.sqrt(np.maximum(squares, 0.0) * factor) / w


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
      final_steps: window at the end for ``run_final`` (default the last 100 steps,
        or all if fewer).
      curve_stride: steps per curve window; default keeps at most 250 windows.
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
    acc = _Accumulator(run, num_values, num_seeds, num_windows, keep_runs)
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
    return SweepResult(
        values=values,
        seeds=seeds.astype(np.int64),
        steps=np.arange(1, num_windows + 1) * program.curve_stride,
        final_steps=final_steps,
        metrics=acc.result(num_seeds),
    )
