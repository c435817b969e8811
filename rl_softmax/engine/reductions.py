"""Reductions of a run's metrics: over steps inside the scan, over seeds on the host.

On device (:func:`reduced_run`), each step's values are added into window sums and
the windows into run totals, so a run yields per-run means over all steps and over
the final steps, and one value per curve window. Per-step metrics come out as means;
per-episode ones as sums beside the count of episodes that ended in the span.

On the host (:class:`Accumulator`), block outputs are folded over seeds in float64,
strictly in seed order, so the sums do not depend on how the grid was cut into
blocks: ``sum x`` and ``sum x**2`` of each run's window means (a per-episode
metric's window sum divided by its episode count, each run one replicate) beside,
for a per-episode metric, how many runs had an episode end in each window.
Per-run metrics (``at_end``) are kept run by run; their mean over seeds (ignoring
NaN, e.g. episodes a run did not reach) is taken once the grid is complete.

Divergence is checked on device once per window (:func:`diverged`): a run whose
state holds a NaN, or whose metrics stopped being numbers, records the first such
window. The accumulator leaves a diverged run out of every mean (its per-run values
become NaN, its windows add nothing, the seed counts drop by one), so a diverged
run is counted, never averaged; a run that merely had no episode in a window is not
diverged and keeps its NaN per-episode means.

A metric that keeps only its mean curve (:attr:`Metric.mean_curve_only`, e.g.
``prob_by_rank``) leaves a block already summed over consecutive groups of
:data:`SEED_GROUP` seeds (:func:`group_seeds`): every block starts at a multiple of
it, so the groups, and the float64 sums of the groups on the host, do not depend on
the blocks either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from rl_softmax.engine.run import Run, StepOutput

__all__ = [
    "SEED_GROUP",
    "Accumulator",
    "MetricResult",
    "Sums",
    "WindowFold",
    "add_where",
    "diverged",
    "group_seeds",
    "reduced_run",
    "step_shape",
]

SEED_GROUP = 8
"""Seeds summed together on device for a metric that keeps only its mean curve
(blocks hold whole groups: :data:`rl_softmax.engine.executor.SEED_ALIGN`)."""


class MetricResult(NamedTuple):
    """One metric over the grid (NumPy arrays; ``...`` is ``[num_actions]`` for a
    vector metric, nothing for a scalar one).

    Attributes:
      run_mean: ``[V, S, ...]`` per-run mean over all steps (per-episode metrics:
        over the episodes that ended; NaN where none did).
      run_final: ``[V, S, ...]`` the same over the final steps.
      curve_mean: ``[V, W, ...]`` mean over seeds of each window (per-episode
        metrics: of each run's mean over its episodes that ended in the window,
        over the runs with one; per-run metrics: ``W = 1``, the run's end).
      curve_sem: ``[V, W, ...]`` standard error of ``curve_mean`` over seeds (NaN
        for a metric that keeps only its mean curve).
      curve_count: ``[V, W]`` the seeds behind each window's mean (for its t
        interval), or None for a metric that keeps only its mean curve.
      run_weight: ``[V, S]`` episodes behind ``run_mean`` (per-episode metrics),
        else None.
      final_weight: ``[V, S]`` episodes behind ``run_final``, else None.
      curves: ``[V, S, W, ...]`` per-run window means, or None unless ``keep_runs``
        (and for a metric that keeps only its mean curve).
    """

    run_mean: np.ndarray
    run_final: np.ndarray
    curve_mean: np.ndarray
    curve_sem: np.ndarray
    curve_count: np.ndarray | None = None
    run_weight: np.ndarray | None = None
    final_weight: np.ndarray | None = None
    curves: np.ndarray | None = None


def step_shape(run: Run, metric) -> tuple[int, ...]:
    """The shape of one step's value of a per-step or per-episode ``metric``."""
    return (run.num_actions,) if metric.vector else ()


def diverged(values: dict[str, jax.Array], state: Any) -> jax.Array:
    """Whether a window's metric sums or a run's state stopped being numbers.

    True when any floating leaf of ``state`` (the agent's and the environment's
    state) holds a NaN, when a metric is NaN, or when a metric other than the
    temperature is infinite: ``tau = inf`` is a policy (the uniform one), an
    infinite reward, return or value spread is an overflow. One reduction per
    leaf, once per window: cheap beside the window's steps.
    """
    bad = jnp.zeros((), bool)
    for name, x in values.items():
        bad |= jnp.any(jnp.isnan(x) if name == "tau" else ~jnp.isfinite(x))
    for x in jax.tree.leaves(state):
        if jnp.issubdtype(x.dtype, jnp.inexact):
            bad |= jnp.any(jnp.isnan(x))
    return bad


class Sums(NamedTuple):
    """The running sums of one run's reductions (or of a grid of runs, elementwise).

    Attributes:
      window: the sums of the curve window under way.
      total: the sums of the closed windows.
      final: the sums over the final steps so far.
      first_diverged: the first window after which the run had diverged (int32,
        -1: never).
    """

    window: StepOutput
    total: StepOutput
    final: StepOutput
    first_diverged: jax.Array


@dataclasses.dataclass(frozen=True)
class WindowFold:
    """How a run's step outputs are summed: into windows of ``stride`` steps, the
    windows into the run's totals, and the final ``final_steps`` apart.

    Every loop folds with it: the scan of :func:`reduced_run` and the host loop of
    :mod:`rl_softmax.engine.host`. Sums are added in step order within a window and
    in window order across windows. When the final steps are whole windows they
    are summed window by window, else step by step.
    """

    num_steps: int
    final_steps: int
    stride: int

    @property
    def first_final(self) -> int:
        return self.num_steps - self.final_steps

    @property
    def whole_windows(self) -> bool:
        return self.first_final % self.stride == 0

    def start(self, zeros: StepOutput, runs: tuple[int, ...] = ()) -> Sums:
        """The sums before the first step: ``zeros`` shaped like a step's output,
        ``runs`` the shape of the grid of runs they hold (``()``: one run)."""
        return Sums(zeros, zeros, zeros, jnp.full(runs, -1, jnp.int32))

    def add_step(self, sums: Sums, out: StepOutput, t: jax.Array) -> Sums:
        """Adds step ``t``'s output to the window (and to the final sums)."""
        window = jax.tree.map(jnp.add, sums.window, out)
        final = sums.final
        if not self.whole_windows:
            final = add_where(t >= self.first_final, final, out)
        return sums._replace(window=window, final=final)

    def close(
        self, sums: Sums, w: jax.Array, bad: jax.Array
    ) -> tuple[Sums, StepOutput]:
        """Closes window ``w``: ``(sums, the window's sums)``. ``bad``: whether the
        run had diverged by its end (:func:`diverged`)."""
        window = sums.window
        total = jax.tree.map(jnp.add, sums.total, window)
        first = jnp.where((sums.first_diverged < 0) & bad, w, sums.first_diverged)
        final = sums.final
        if self.whole_windows:
            final = add_where(w * self.stride >= self.first_final, final, window)
        zeros = jax.tree.map(jnp.zeros_like, window)
        return Sums(zeros, total, final, first), window

    def means(
        self, sums: StepOutput, count: jax.Array | None, steps: int, per_episode
    ) -> dict[str, jax.Array]:
        """Per-step metrics' sums over ``steps`` as means; per-episode ones' over
        the ``count`` of episodes."""
        return {
            k: v / count if k in per_episode else v / steps
            for k, v in sums.values.items()
        }


def add_where(condition: jax.Array, sums: Any, out: Any) -> Any:
    """``sums + out`` where ``condition``, else ``sums`` (a ``where``, not a 0/1
    weight: 0 * inf would be NaN for tau = inf)."""
    return jax.tree.map(lambda s, x: jnp.where(condition, s + x, s), sums, out)


def reduced_run(
    run: Run,
    final_steps: int,
    stride: int,
    report: Callable[[jax.Array], None] | None = None,
    report_axes: tuple[str, ...] = (),
):
    """``(key, value) -> (mean, final, windows, counts, end, diverged)``, reduced in
    the scan.

    Memory is ``[windows]`` per run instead of ``[steps]``: the steps are folded by
    a :class:`WindowFold`. Step metrics come out as means; per-episode ones as sums
    beside the count of episodes that ended (``counts = (all, final, per
    window)``; None for a continuing run); ``end`` holds the per-run metrics
    (:attr:`Run.end`); ``diverged`` is the first window after which
    :func:`diverged` held (int32, -1: never). ``report``, if given, is called on the
    host with each window's index as the window finishes (progress of a long run;
    one callback per window, none inside it). Under ``vmap``, ``report_axes`` names
    the mapped axes: the callback then waits for the window of every run of the
    batch, and is made once per window rather than once per run.
    """
    num_windows = run.num_steps // stride
    fold = WindowFold(run.num_steps, final_steps, stride)
    per_episode = {m.name for m in run.step_metrics if m.per_episode}
    zeros = StepOutput(
        {m.name: jnp.zeros(step_shape(run, m), jnp.float32) for m in run.step_metrics},
        jnp.zeros((), jnp.float32) if per_episode else None,
    )

    def reduced(key, value):
        def window(outer, w):
            def inner(acc, i):
                carry, sums = acc
                t = w * stride + i
                carry, out = run.step(carry, t)
                return (carry, fold.add_step(sums, out, t)), None

            (carry, sums), _ = jax.lax.scan(inner, outer, jnp.arange(stride))
            bad = diverged(sums.window.values, run.checked_state(carry))
            sums, win = fold.close(sums, w, bad)
            if report is not None:
                # the callback takes a number of the finished window, so it fires
                # after the window (with w alone, XLA may run it when w is known)
                finished = jax.tree.leaves(win)[0].ravel()[0]
                if report_axes:
                    finished = jax.lax.psum(finished, report_axes)
                jax.debug.callback(lambda w, _: report(w), w, finished)
            return (carry, sums), win

        outer = (run.init(key, value), fold.start(zeros))
        (carry, sums), windows = jax.lax.scan(window, outer, jnp.arange(num_windows))
        mean = fold.means(sums.total, sums.total.ended, run.num_steps, per_episode)
        final_mean = fold.means(sums.final, sums.final.ended, final_steps, per_episode)
        window_values = {
            k: v if k in per_episode else v / stride for k, v in windows.values.items()
        }
        counts = None
        if sums.total.ended is not None:
            counts = (sums.total.ended, sums.final.ended, windows.ended)
        return (
            mean,
            final_mean,
            window_values,
            counts,
            run.end(carry),
            sums.first_diverged,
        )

    return reduced


def group_seeds(
    windows: dict, names, num_real: jax.Array, first_diverged: jax.Array
) -> dict:
    """Sums each named ``[values, seeds, W, ...]`` window array over consecutive
    groups of :data:`SEED_GROUP` seeds (``[values, seeds / SEED_GROUP, W, ...]``),
    in seed order; seeds from ``num_real`` on (a block's padding) and diverged
    runs (``first_diverged [values, seeds] >= 0``) count as zero."""
    out = dict(windows)
    for name in names:
        x = windows[name]
        keep = (jnp.arange(x.shape[1]) < num_real)[None, :] & (first_diverged < 0)
        x = jnp.where(keep.reshape(keep.shape + (1,) * (x.ndim - 2)), x, 0.0)
        x = x.reshape(x.shape[0], x.shape[1] // SEED_GROUP, SEED_GROUP, *x.shape[2:])
        total = x[:, :, 0]
        for i in range(1, SEED_GROUP):  # explicit adds: a fixed order
            total = total + x[:, :, i]
        out[name] = total
    return out


def _fold(total: np.ndarray, index: int, rows: np.ndarray) -> None:
    """``total[index] += rows[0] + rows[1] + ...``, added strictly in seed order.

    ``rows`` is ``[seeds, ...]`` and is overwritten. NumPy reduces over a leading
    axis one row at a time, in order (pairwise summation applies to the innermost
    axis only), so adding the running total to the first row makes the float64
    sums the same whatever the block boundaries (tested).
    """
    rows[0] += total[index]
    total[index] = rows.sum(axis=0)


class Accumulator:
    """Folds block outputs into host arrays; sums over seeds in seed order (float64).

    For each metric it keeps ``sum x`` and ``sum x**2`` over seeds of each run's
    window means (a per-episode metric's over the runs with an episode in the
    window, whose number it counts).
    """

    def __init__(self, metrics, num_values, num_seeds, num_windows, keep_runs):
        self.order = [m.name for m in metrics]
        self.per_episode = {m.name for m in metrics if m.per_episode}
        self.grouped = {m.name for m in metrics if m.mean_curve_only}
        self.at_end: dict[str, np.ndarray] = {}
        shape = (num_values, num_seeds)
        self.grid = shape
        self.keep_runs = keep_runs
        self.runs: dict[str, dict[str, np.ndarray]] = {}
        self.sums: dict[str, dict[str, np.ndarray]] = {}
        self.num_windows = num_windows
        # the first diverged window of each run (-1: never), and per value the
        # seeds that did not diverge (the denominators of the means)
        self.diverged = np.full(shape, -1, np.int32)
        self.valid = np.zeros(num_values, np.int64)
        self.count_sums = None
        if self.per_episode:
            window_shape = (num_values, num_windows)
            self.count_sums = {"n": np.zeros(window_shape)}
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
            if self.keep_runs and name not in self.grouped:
                runs["curves"] = np.empty(
                    (*self.grid, self.num_windows, *trailing), np.float32
                )
            self.runs[name] = runs
            window_shape = (self.grid[0], self.num_windows, *trailing)
            keys = ("x",) if name in self.grouped else ("x", "xx")
            self.sums[name] = {k: np.zeros(window_shape) for k in keys}
        return self.runs[name], self.sums[name]

    _STATE = ("at_end", "runs", "sums", "count_sums", "counts", "diverged", "valid")

    def state(self) -> dict[str, Any]:
        """Everything folded so far (nested dicts of arrays), for a checkpoint."""
        return {name: getattr(self, name, None) for name in self._STATE}

    def restore(self, state: dict[str, Any]) -> None:
        """Continues from a :meth:`state` taken after the same blocks."""
        for name in self._STATE:
            setattr(self, name, state[name])

    def add(
        self, values: slice, seeds: slice, mean, final, windows, counts, end,
        first_diverged=None,
    ):  # fmt: skip
        """Adds a block: outputs ``[values, seeds, ...]`` for those grid slices
        (``[values, seed groups, ...]`` for a metric that keeps only its mean
        curve, diverged runs already left out of its sums). ``first_diverged``
        (``[values, seeds]``, -1: never; None: no run diverged) leaves the
        diverged runs out of every mean."""
        bad = None
        if first_diverged is not None:
            first_diverged = np.asarray(first_diverged, np.int32)
            self.diverged[values, seeds] = first_diverged
            if (first_diverged >= 0).any():
                bad = first_diverged >= 0
                mean, final, windows, counts, end = _without(
                    bad, mean, final, windows, counts, end, self.grouped
                )
        num_seeds = seeds.stop - seeds.start
        kept = num_seeds if bad is None else num_seeds - bad.sum(axis=1)
        self.valid[values] += kept
        for name, x in end.items():
            if name not in self.at_end:
                shape = (*self.grid, *np.shape(x)[2:])
                self.at_end[name] = np.empty(shape, np.float32)
            self.at_end[name][values, seeds] = x
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
            if self.keep_runs and name not in self.grouped:
                window = windows[name]
                if name in self.per_episode:
                    with np.errstate(invalid="ignore", divide="ignore"):
                        window = window / count_windows
                if bad is not None:
                    window = np.where(_expand(bad, window), np.nan, window)
                runs["curves"][values, seeds] = window
        # value by value: each value's [seeds, windows] rows stay in cache
        for row, value in enumerate(range(values.start, values.stop)):
            if counts is not None:
                w = count_windows[row].astype(np.float64)
                ended = w > 0
                _fold(self.count_sums["n"], value, ended.astype(np.float64))
            for name, window in windows.items():
                sums = self.sums[name]
                x = window[row].astype(np.float64)
                if name in self.grouped:
                    _fold(sums["x"], value, x)
                    continue
                if name in self.per_episode:  # the run's own mean: one replicate
                    with np.errstate(invalid="ignore", divide="ignore"):
                        x = np.where(_expand(ended, x), x / _expand(w, x), 0.0)
                _fold(sums["xx"], value, x**2)
                _fold(sums["x"], value, x)

    def result(self, num_seeds: int) -> dict[str, Any]:
        """``{name: MetricResult}`` in the run's metric order (pytrees sort keys);
        means over the seeds that did not diverge."""
        del num_seeds  # counted per value as blocks were added
        valid = self.valid.astype(np.float64)
        out = {}
        for name in self.order:
            if name in self.at_end:
                out[name] = _end_result(self.at_end[name])
                continue
            runs = self.runs[name]
            sums = self.sums[name]
            weights = {}
            count = np.broadcast_to(valid[:, None], (valid.size, self.num_windows))
            if name in self.per_episode:  # runs with an episode in the window
                count = self.count_sums["n"]
                weights = {
                    "run_weight": self.counts["all"],
                    "final_weight": self.counts["final"],
                }
            if name in self.grouped:
                with np.errstate(invalid="ignore", divide="ignore"):
                    mean = sums["x"] / _expand(valid, sums["x"])
                sem, count = np.full_like(mean, np.nan), None
            else:
                mean, sem = _mean_stats(sums, _expand(count, sums["x"]))
                count = np.array(count, np.int64)
            out[name] = MetricResult(
                run_mean=runs["mean"], run_final=runs["final"], curve_mean=mean,
                curve_sem=sem, curve_count=count,
                curves=runs.get("curves"), **weights,
            )  # fmt: skip
        return out


def _end_result(runs: np.ndarray) -> MetricResult:
    """A per-run metric's result: its mean over seeds and standard error (float64,
    NaN runs left out) as a single window ``[V, 1, ...]``."""
    x = runs.astype(np.float64)
    valid = ~np.isnan(x)
    n = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, x, 0.0).sum(axis=1) / n
        squares = np.where(valid, (x - mean[:, None]) ** 2, 0.0).sum(axis=1)
        sem = np.where(n > 1, np.sqrt(squares / np.maximum(n - 1, 1) / n), 0.0)
    sem = np.where(n > 0, sem, np.nan)
    return MetricResult(
        run_mean=runs, run_final=runs, curve_mean=mean[:, None],
        curve_sem=sem[:, None], curve_count=n[:, None].astype(np.int64),
    )  # fmt: skip


def _expand(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``a`` with trailing axes added to broadcast against ``x``."""
    return a.reshape(a.shape + (1,) * (np.ndim(x) - a.ndim))


def _without(bad: np.ndarray, mean, final, windows, counts, end, grouped):
    """A block's outputs with the runs ``bad [values, seeds]`` left out: NaN per-run
    values, zero window sums and episode counts (a grouped metric's sums left
    them out on device)."""

    def nan(x):
        return np.where(_expand(bad, x), np.nan, x).astype(np.asarray(x).dtype)

    def zero(x):
        return np.where(_expand(bad, x), 0, x).astype(np.asarray(x).dtype)

    mean = {k: nan(x) for k, x in mean.items()}
    final = {k: nan(x) for k, x in final.items()}
    end = {k: nan(x) for k, x in end.items()}
    windows = {k: x if k in grouped else zero(x) for k, x in windows.items()}
    if counts is not None:
        counts = tuple(zero(x) for x in counts)
    return mean, final, windows, counts, end


def _mean_stats(sums, num_seeds):
    """Mean over seeds and its standard error from ``sum x`` and ``sum x**2``
    (``num_seeds``: a count, or counts per value broadcast over the sums; NaN
    where it is 0)."""
    ddof = np.where(num_seeds > 1, 1.0, 0.0)
    # an infinite metric (tau = inf) has no std; a value whose runs all diverged
    # has no mean
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums["x"] / num_seeds
        var = np.maximum(sums["xx"] - num_seeds * mean**2, 0.0) / (num_seeds - ddof)
        return mean, np.sqrt(var / num_seeds)
