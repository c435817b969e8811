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

import hashlib
import math
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from rl_softmax.engine import executor, reductions, threefry
from rl_softmax.engine.checkpoint import Checkpoint
from rl_softmax.engine.reductions import MetricResult
from rl_softmax.engine.run import Run

__all__ = [
    "BlockProgram",
    "MemoryEstimate",
    "MetricResult",
    "SweepDiverged",
    "SweepInterrupted",
    "SweepResult",
    "as_grid",
    "check_int",
    "compile_sweep",
    "default_stride",
    "memory_estimate",
    "sweep",
]


class SweepResult(NamedTuple):
    """Host-side results of a sweep.

    Attributes:
      values: ``[V]`` swept parameter values (``[V, k]`` for k parameters swept
        together).
      seeds: ``[S]`` seed indices.
      steps: ``[W]`` the last (1-based) environment step of each curve window.
      final_steps: how many final environment steps ``run_final`` covers.
      metrics: ``{name: MetricResult}`` for every metric the run reports, in
        :data:`rl_softmax.engine.metrics.METRICS` order.
      diverged: ``[V, S]`` the first curve window (0-based) after which the run's
        state held a NaN or its metrics were not finite, -1 if never (None: not
        recorded, e.g. results saved before it was). A diverged run is left out
        of every mean and standard error (its per-run values are NaN).
    """

    values: np.ndarray
    seeds: np.ndarray
    steps: np.ndarray
    final_steps: int
    metrics: dict[str, MetricResult]
    diverged: np.ndarray | None = None


def default_stride(num_steps: int, max_points: int = 250) -> int:
    """Smallest divisor of ``num_steps`` leaving at most ``max_points`` windows."""
    divisors = set()
    for d in range(1, math.isqrt(num_steps) + 1):
        if num_steps % d == 0:
            divisors.update((d, num_steps // d))
    return min(d for d in divisors if num_steps // d <= max_points)


class BlockProgram(NamedTuple):
    """A compiled block of the grid: ``(key, seeds[S_b], values[V_b]) -> outputs``
    with leading axes ``[V_b, S_b]``; ``curve_stride`` steps make one window.
    ``reports_windows``: the program reports each finished window to the host (a
    long block's progress)."""

    compiled: Any
    num_values: int
    num_seeds: int
    curve_stride: int
    reports_windows: bool = False


class SweepDiverged(Exception):
    """A run diverged in a sweep asked to stop on divergence
    (``stop_on_divergence``).

    Attributes:
      value: the run's swept value.
      seed: its seed.
      steps: ``(first, last)`` environment steps of the first window after which
        its state or metrics were not finite.
    """

    def __init__(self, value, seed: int, steps: tuple[int, int]):
        shown = (
            f"{value:g}" if np.ndim(value) == 0
            else "(" + ", ".join(f"{v:g}" for v in value) + ")"
        )  # fmt: skip
        super().__init__(
            f"the run with value {shown} and seed {seed} diverged: its state or "
            f"metrics were not finite after environment steps {steps[0]}-{steps[1]}"
        )
        self.value = value
        self.seed = seed
        self.steps = steps

    @classmethod
    def first_of(
        cls, diverged: np.ndarray, values, seeds, window_steps: int
    ) -> SweepDiverged | None:
        """The first diverged run (values outer, seeds inner) of ``diverged``
        (``[V, S]`` first windows, -1: never), or None."""
        found = np.argwhere(np.asarray(diverged) >= 0)
        if not found.size:
            return None
        v, s = found[0]
        window = int(diverged[v, s])
        value = np.vectorize(lambda x: float(str(np.float32(x))))(values[v])
        return cls(
            value.item() if value.ndim == 0 else tuple(value.tolist()), int(seeds[s]),
            (window * window_steps + 1, (window + 1) * window_steps),
        )  # fmt: skip


class SweepInterrupted(Exception):
    """A sweep stopped between blocks on request (``stop``); what finished is in
    its checkpoint, from which the same call resumes.

    Attributes:
      runs_done: runs finished (and checkpointed) before the stop.
      num_runs: runs in the grid.
      steps_done: for a host study, whose runs step together: the steps every
        run has taken (and checkpointed), else None.
      num_steps: for a host study, the steps of a run, else None.
    """

    def __init__(
        self,
        runs_done: int,
        num_runs: int,
        *,
        steps_done: int | None = None,
        num_steps: int | None = None,
    ):
        done = f"{runs_done} of {num_runs} runs"
        if steps_done is not None:
            done = f"{steps_done} of {num_steps} steps of its {num_runs} runs"
        super().__init__(f"stopped after {done}")
        self.runs_done = runs_done
        self.num_runs = num_runs
        self.steps_done = steps_done
        self.num_steps = num_steps


# A block of at least this many agent-steps reports each finished window to the
# host, so that the progress of a long block shows (a program with host callbacks
# is not kept in the persistent compilation cache, so short blocks do without).
_LONG_BLOCK_STEPS = 1 << 30
# The window listener of the sweep in progress (host callbacks run on XLA's
# threads, so it is a module global rather than a context variable).
_window_listener: list[Callable[[int], None] | None] = [None]


def _report_window(w) -> None:
    listener = _window_listener[0]
    if listener is not None:
        listener(int(w))


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def check_int(name: str, value, low: int, high: int | None) -> None:
    """Refuses, naming it, a ``value`` that is not an integer in ``[low, high]``."""
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}={value!r}: expected an integer {allowed}.")


def _grouped_floats(run: Run) -> int:
    """Floats per step of the metrics that keep only their mean curve."""
    return sum(
        math.prod(reductions.step_shape(run, m))
        for m in run.step_metrics
        if m.mean_curve_only
    )


def _zero_value(run: Run) -> jax.Array:
    """A run's ``value`` of zeros, for its shapes."""
    return jnp.zeros(run.value_shape, jnp.float32)


def _bytes_per_run(run: Run, num_windows: int) -> int:
    """Device memory of one run's outputs (all float32) and carry."""
    metrics = run.step_metrics
    values = sum(math.prod(reductions.step_shape(run, m)) for m in metrics)
    # a metric that keeps only its mean curve ships one window per seed group
    grouped = _grouped_floats(run)
    counts = 1 if any(m.per_episode for m in metrics) else 0
    carry = jax.eval_shape(run.init, jax.random.key(0), _zero_value(run))
    carry_bytes = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(carry))
    end = jax.eval_shape(run.end, carry)
    end_bytes = sum(x.size * 4 for x in jax.tree.leaves(end))
    shipped = values - grouped + grouped / reductions.SEED_GROUP + counts
    windows = shipped * num_windows
    return int(4 * (windows + 2 * (values + counts))) + 2 * carry_bytes + end_bytes


class MemoryEstimate(NamedTuple):
    """What a sweep will hold in memory, from its shapes (nothing compiled).

    Attributes:
      block_runs: runs per compiled block.
      block_bytes: device memory of one block (its carries and outputs).
      host_bytes: host memory of the folded results (per-run arrays, window sums)
        and one block's outputs copied to the host.
    """

    block_runs: int
    block_bytes: int
    host_bytes: int


def memory_estimate(
    run: Run,
    num_values: int,
    num_seeds: int,
    *,
    keep_runs: bool = False,
    curve_stride: int | None = None,
    max_block_runs: int | None = None,
) -> MemoryEstimate:
    """Estimates a sweep's memory before compiling it (see :class:`MemoryEstimate`)."""
    stride = default_stride(run.num_steps) if curve_stride is None else curve_stride
    num_windows = run.num_steps // stride
    per_run = _bytes_per_run(run, num_windows)
    block_values, block_seeds = executor.block_shape(
        num_values, num_seeds, num_devices=len(jax.devices()),
        bytes_per_run=per_run, max_runs=max_block_runs,
    )  # fmt: skip
    block_runs = block_values * block_seeds
    sizes = [math.prod(reductions.step_shape(run, m)) for m in run.step_metrics]
    episodic = any(m.per_episode for m in run.step_metrics)
    floats = sum(sizes) + (1 if episodic else 0)
    grouped = _grouped_floats(run)
    # a block's windows per run: a seed group's share of a grouped metric's
    shipped = floats - grouped + grouped / reductions.SEED_GROUP
    carry = jax.eval_shape(run.init, jax.random.key(0), _zero_value(run))
    end = jax.eval_shape(run.end, carry)
    end_floats = sum(x.size for x in jax.tree.leaves(end))
    # per run: mean and final (float32), curves if kept, per-run end metrics
    curves = (floats - grouped) * num_windows if keep_runs else 0
    host_per_run = 4 * (2 * floats + curves + end_floats)
    # per value: float64 sums over seeds of each window (up to 3 per metric)
    host_per_value = 8 * 3 * floats * num_windows
    host = int(
        num_values * num_seeds * host_per_run
        + num_values * host_per_value
        + block_runs * 4 * (shipped * num_windows + 2 * floats + end_floats)
    )
    return MemoryEstimate(block_runs, block_runs * per_run, host)


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
    stride = default_stride(run.num_steps) if curve_stride is None else curve_stride
    final_steps = min(100, run.num_steps) if final_steps is None else final_steps
    check_int("final_steps", final_steps, 1, run.num_steps)
    check_int("curve_stride", stride, 1, run.num_steps)
    check_int("num_values", num_values, 1, None)
    check_int("num_seeds", num_seeds, 1, None)
    if max_block_runs is not None:
        check_int("max_block_runs", max_block_runs, 1, None)
    if run.num_steps % stride:
        raise ValueError(
            f"curve_stride={stride} must divide num_steps={run.num_steps}."
        )
    key_dtype = threefry.fast_key(jax.random.key(0) if key is None else key).dtype
    block_values, block_seeds = executor.block_shape(
        num_values, num_seeds, num_devices=len(jax.devices()),
        bytes_per_run=_bytes_per_run(run, run.num_steps // stride),
        max_runs=max_block_runs,
    )  # fmt: skip
    block_steps = block_values * block_seeds * run.num_steps * run.env_steps_per_step
    reports = block_steps >= _LONG_BLOCK_STEPS
    reduced = reductions.reduced_run(
        run, final_steps, stride, report=_report_window if reports else None,
        report_axes=("values", "seeds"),
    )  # fmt: skip
    options = None if compiler_options is None else dict(compiler_options)
    settings = (
        block_values, block_seeds, final_steps, stride, key_dtype,
        None if options is None else tuple(sorted(options.items())), reports,
    )  # fmt: skip
    cache = _COMPILED.setdefault(run, {})
    if settings not in cache:
        grouped = [m.name for m in run.step_metrics if m.mean_curve_only]

        def block(key, seeds, values, num_real):
            keys = jax.vmap(jax.random.fold_in, (None, 0))(key, seeds)
            over_seeds = jax.vmap(reduced, (0, None), axis_name="seeds")
            over_grid = jax.vmap(over_seeds, (None, 0), axis_name="values")
            mean, final, windows, counts, end, diverged = over_grid(keys, values)
            windows = reductions.group_seeds(windows, grouped, num_real, diverged)
            return mean, final, windows, counts, end, diverged

        sharding = executor.seed_sharding()
        args = (
            jax.ShapeDtypeStruct((), key_dtype),
            jax.ShapeDtypeStruct((block_seeds,), jnp.uint32, sharding=sharding),
            jax.ShapeDtypeStruct((block_values, *run.value_shape), jnp.float32),
            jax.ShapeDtypeStruct((), jnp.int32),
        )
        # Several processes: every process gets the whole block's outputs.
        gather = {"out_shardings": executor.replicated()} if _processes() > 1 else {}
        lowered = jax.jit(block, **gather).lower(*args)
        compiled = executor.compile_with_options(lowered, options)
        cache[settings] = BlockProgram(
            compiled, block_values, block_seeds, stride, reports
        )
    return cache[settings]


def _unpadded(run: Run, out, nv: int, ns: int):
    """A block's outputs on the host without its padding: ``nv`` values and ``ns``
    seeds (their seed groups, for a metric that keeps only its mean curve)."""
    grouped = {m.name for m in run.step_metrics if m.mean_curve_only}
    groups = -(-ns // reductions.SEED_GROUP)
    mean, final, windows, counts, end, diverged = jax.tree.map(np.asarray, out)
    windows = {
        name: x[:nv, :groups] if name in grouped else x[:nv, :ns]
        for name, x in windows.items()
    }
    mean, final, counts, end, diverged = jax.tree.map(
        lambda x: x[:nv, :ns], (mean, final, counts, end, diverged)
    )
    return mean, final, windows, counts, end, diverged


def _processes() -> int:
    return jax.process_count()


def _seed_array(seeds: np.ndarray, sharding) -> jax.Array:
    if _processes() == 1:
        return jax.device_put(seeds, sharding)
    return jax.make_array_from_callback(seeds.shape, sharding, lambda i: seeds[i])


def _call_and_wait(program: Callable[..., Any], *args) -> Any:
    """``program(*args)`` with its outputs ready, waited for in short sleeps rather
    than one blocking call, so that Python keeps handling signals (a second Ctrl-C
    stops a long block at once). The call itself runs in a helper thread: XLA:CPU
    runs a one-device program inside the calling thread."""
    box: list = []

    def call() -> None:
        try:
            box.append((True, program(*args)))
        except BaseException as error:  # re-raised in the caller's thread
            box.append((False, error))

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    pause = 1e-4
    while thread.is_alive() or not box:
        time.sleep(pause)
        pause = min(2 * pause, 0.01)
    ok, out = box[0]
    if not ok:
        raise out
    leaves = jax.tree.leaves(out)
    while not all(x.is_ready() for x in leaves):
        time.sleep(pause)
    return out


def _layout(key, values, seeds, program, final_steps, keep_runs) -> str:
    """The identity of a sweep's grid, blocks and settings (for its checkpoint)."""
    digest = hashlib.sha256()
    for part in (np.asarray(jax.random.key_data(key)), values, seeds):
        digest.update(np.ascontiguousarray(part).tobytes())
    # "state 3": per-episode sums are of each run's mean (state 2: pooled sums;
    # older files lack the diverged runs)
    grid = "x".join(map(str, (*values.shape, seeds.size)))
    return (
        f"state 3, grid {grid} {digest.hexdigest()[:16]}, blocks "
        f"{program.num_values}x{program.num_seeds}, stride {program.curve_stride}, "
        f"final {final_steps}, keep_runs {keep_runs}"
    )


def as_grid(
    values: ArrayLike, seeds: int | Sequence[int], value_shape: tuple[int, ...] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """``(values, seeds)`` of a sweep as arrays, checked: values ``[V]`` (or
    ``[V, k]`` for ``value_shape`` ``(k,)``), seeds ``[S]`` (a seed count becomes
    ``0 .. seeds - 1``)."""
    values = np.asarray(values, np.float32)
    if (
        values.shape[1:] != tuple(value_shape)
        or values.size == 0
        or np.isnan(values).any()
    ):
        shape = "1-D list" if not value_shape else f"list of {value_shape[0]}-tuples"
        raise ValueError(
            f"values={values.tolist()}: expected a non-empty {shape} of numbers."
        )
    if isinstance(seeds, int | np.integer):
        check_int("seeds", seeds, 1, 2**32)
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
    on_progress: Callable[[float], None] | None = None,
    checkpoint: Checkpoint | None = None,
    stop: Callable[[], bool] | None = None,
    compiler_options: dict[str, Any] | None = None,
    stop_on_divergence: bool = False,
) -> SweepResult | None:
    """Evaluates ``run`` on every (value, seed) pair in one compiled program.

    Args:
      run: from :func:`rl_softmax.engine.make_run`.
      values: ``[V]`` values of the swept parameter (``inf`` allowed, e.g. tau);
        ``[V, k]`` when the run sweeps k parameters together (``run.swept`` a
        tuple).
      seeds: number of seeds ``S`` (seeds ``0..S-1``) or explicit seed indices.
      key: base PRNG key; seed ``s`` uses ``fold_in(key, s)`` for every value.
      final_steps: window at the end for ``run_final`` in the run's steps (default
        the last 100, or all if fewer; a rollout run's steps are updates).
      curve_stride: run steps per curve window; default keeps at most 250 windows.
      keep_runs: also return every run's curve (``curves``).
      max_block_runs: at most this many runs per compiled call (a memory bound;
        it never changes a number).
      on_progress: called with the number of runs finished (a float: a long
        block also reports its windows as they finish).
      checkpoint: where finished blocks are saved and resumed from (see
        :mod:`rl_softmax.engine.checkpoint`); the results are the same bits.
      stop: asked before each block; True saves the checkpoint and raises
        :class:`SweepInterrupted`.
      compiler_options: XLA options for the program (see :func:`compile_sweep`).
      stop_on_divergence: raise :class:`SweepDiverged` after the first block in
        which a run diverged (default: flag it in ``SweepResult.diverged`` and
        leave it out of the means).

    Returns:
      a :class:`SweepResult`. In a multi-process run (``jax.distributed``) every
      process computes its share of each block and process 0 returns the result;
      the others return None.
    """
    values, seeds = as_grid(values, seeds, run.value_shape)
    key = threefry.fast_key(key)
    final_steps = min(100, run.num_steps) if final_steps is None else final_steps
    program = compile_sweep(
        run, len(values), seeds.size, key=key, compiler_options=compiler_options,
        final_steps=final_steps, curve_stride=curve_stride,
        max_block_runs=max_block_runs,
    )  # fmt: skip
    num_values, num_seeds = len(values), seeds.size
    num_windows = run.num_steps // program.curve_stride
    acc = reductions.Accumulator(
        run.metrics, num_values, num_seeds, num_windows, keep_runs
    )
    sharding = executor.seed_sharding()
    main = jax.process_index() == 0
    # Values outer, seeds inner: each value's seeds are folded in seed order.
    blocks = [
        (v0, s0)
        for v0 in range(0, num_values, program.num_values)
        for s0 in range(0, num_seeds, program.num_seeds)
    ]
    layout = _layout(key, values, seeds, program, final_steps, keep_runs)
    first = 0
    if checkpoint is not None and main:
        saved = checkpoint.load(layout)
        if saved is not None:
            first, state = saved
            acc.restore(state)
    first = executor.from_process_zero(first)
    num_runs = num_values * num_seeds

    def runs_in(v0, s0):
        return min(program.num_values, num_values - v0) * min(
            program.num_seeds, num_seeds - s0
        )

    done = sum(runs_in(*b) for b in blocks[:first])
    if on_progress is not None:
        on_progress(done)
    for index in range(first, len(blocks)):
        if stop is not None and executor.any_process(stop()):
            if checkpoint is not None and main:
                checkpoint.save(layout, index, acc.state())
            raise SweepInterrupted(done, num_runs)
        v0, s0 = blocks[index]
        nv = min(program.num_values, num_values - v0)
        ns = min(program.num_seeds, num_seeds - s0)
        # Pad a block by repeating its last value / seed; padding is dropped.
        v = np.minimum(np.arange(v0, v0 + program.num_values), num_values - 1)
        s = np.minimum(np.arange(s0, s0 + program.num_seeds), num_seeds - 1)
        if program.reports_windows and on_progress is not None:
            base = done

            def listener(w, base=base, runs=nv * ns):
                on_progress(base + runs * (w + 1) / num_windows)

            _window_listener[0] = listener
        try:
            out = _call_and_wait(
                program.compiled, key, _seed_array(seeds[s], sharding), values[v],
                np.int32(ns),
            )  # fmt: skip
            out = _unpadded(run, out, nv, ns)
        finally:
            _window_listener[0] = None
        acc.add(slice(v0, v0 + nv), slice(s0, s0 + ns), *out)
        if stop_on_divergence:
            error = SweepDiverged.first_of(
                out[-1], values[v0:], seeds[s0:],
                program.curve_stride * run.env_steps_per_step,
            )  # fmt: skip
            if error is not None:
                raise error
        done += nv * ns
        if on_progress is not None:
            on_progress(done)
        last = index + 1 == len(blocks)
        if checkpoint is not None and main and not last and checkpoint.due():
            checkpoint.save(layout, index + 1, acc.state())
    if not main:
        return None
    per_step = run.env_steps_per_step
    return SweepResult(
        values=values,
        seeds=seeds.astype(np.int64),
        steps=np.arange(1, num_windows + 1) * program.curve_stride * per_step,
        final_steps=final_steps * per_step,
        metrics=acc.result(num_seeds),
        diverged=acc.diverged,
    )
