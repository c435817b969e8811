"""The timing harness every benchmark of ``rl-softmax bench`` uses.

One way to time, for every suite: calls are timed in interleaved **rounds** (each
round calls every implementation once, in order), after ``warmup`` rounds that are
not counted, so that a disturbance of a shared machine slows one round of all rather
than every round of one. A row reports the **median** rate over the rounds and its
**spread** (min-max). A row compared with a baseline measured in the same rounds
gets the median and spread of the **per-round ratios** (paired: round ``r`` against
round ``r``); with unequal rounds the ratio is of the medians, and its spread from
the extremes.

A call that must leave part of itself out (a compilation inside it, a set-up before
its steady state) times its steady part itself and returns a :class:`Lap`.

Why not pyperf or pytest-benchmark: both calibrate loops of short, repeatable calls
(pyperf in worker processes); these workloads are seconds long, compile first, must
share a process with their JAX programs, and need paired ratios against a baseline
of another implementation in the same run, which neither reports.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax

Clock = Callable[[], float]


@dataclasses.dataclass(frozen=True)
class Spread:
    """The median of a sample and its range."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Spread:
        if not samples:
            raise ValueError("a spread needs at least one sample")
        return cls(statistics.median(samples), min(samples), max(samples))


@dataclasses.dataclass(frozen=True)
class Lap:
    """What a call returns when it timed its steady part itself.

    Attributes:
      seconds: the time that counts.
      result: what the call computed.
    """

    seconds: float
    result: Any = None


@dataclasses.dataclass(frozen=True)
class Timing:
    """One call's counted rounds.

    Attributes:
      seconds: one per counted round.
      result: the last round's result (a :class:`Lap`'s ``result``).
    """

    seconds: tuple[float, ...]
    result: Any


def time_rounds(
    calls: Mapping[str, Callable[[], Any]],
    *,
    repeats: int,
    warmup: int = 1,
    clock: Clock = time.perf_counter,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Timing]:
    """Times every call once per round: ``warmup`` rounds, then ``repeats`` counted.

    A call's JAX results are waited for (``jax.block_until_ready``) before its
    clock stops.

    Args:
      calls: ``{name: call}``, called in this order in every round.
      repeats: counted rounds.
      warmup: rounds run first and not counted (compilation, caches, page faults).
      clock: seconds, monotonic.
      progress: told which round starts.

    Returns:
      ``{name: Timing}``.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats={repeats}, warmup={warmup}: need >= 1 and >= 0")
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    results: dict[str, Any] = {}
    for round_index in range(warmup + repeats):
        counted = round_index >= warmup
        if progress is not None:
            which = (
                f"round {round_index - warmup + 1}/{repeats}"
                if counted
                else f"warm-up {round_index + 1}/{warmup}"
            )
            progress(f"{which}: {', '.join(calls)}")
        for name, call in calls.items():
            start = clock()
            result = jax.block_until_ready(call())
            elapsed = clock() - start
            if isinstance(result, Lap):
                elapsed, result = result.seconds, result.result
            if counted:
                seconds[name].append(elapsed)
                results[name] = result
    return {name: Timing(tuple(seconds[name]), results[name]) for name in calls}


def ratio(
    seconds: Sequence[float],
    work: float,
    baseline_seconds: Sequence[float],
    baseline_work: float,
) -> Spread:
    """Rate over the baseline's rate: per round when both have the same rounds
    (paired), else of the medians with the spread from the extremes."""
    if len(seconds) == len(baseline_seconds):
        return Spread.of(
            [
                (work / s) / (baseline_work / b)
                for s, b in zip(seconds, baseline_seconds, strict=True)
            ]
        )
    rate, base = (
        Spread.of([work / s for s in seconds]),
        Spread.of([baseline_work / b for b in baseline_seconds]),
    )
    return Spread(rate.median / base.median, rate.low / base.high, rate.high / base.low)


@dataclasses.dataclass(frozen=True)
class Row:
    """One implementation's line of the table.

    Attributes:
      suite: the suite that measured it (``bandit``, ``frozenlake``, ...).
      workload: what was run, with the unit of the rate (the same for every row
        it is compared with).
      implementation: what ran it.
      name: a short name, shown where another row is compared with this one.
      unit: what the rate counts per second (``agent-steps``, ``env-steps``).
      work: units of work in one timed call.
      seconds: one per counted round; empty when not measured (``note`` says why).
      baseline: the ``name`` of the row it is compared with.
      ratio: its rate over the baseline's (see :func:`ratio`).
      compile_seconds: compilation, timed apart (None: nothing compiled).
      note: anything else the reader needs (why a row is missing, a breakdown).
    """

    suite: str
    workload: str
    implementation: str
    name: str
    unit: str
    work: float
    seconds: tuple[float, ...] = ()
    baseline: str | None = None
    ratio: Spread | None = None
    compile_seconds: float | None = None
    note: str = ""

    @property
    def measured(self) -> bool:
        return bool(self.seconds)

    @property
    def rate(self) -> Spread | None:
        """Units of work per second over the rounds (None if not measured)."""
        if not self.seconds:
            return None
        return Spread.of([self.work / s for s in self.seconds])

    def compared_with(self, baseline: Row) -> Row:
        """This row with its ratio to ``baseline`` (a row of the same workload)."""
        if baseline.unit != self.unit or baseline.workload != self.workload:
            raise ValueError(f"{self.name} and {baseline.name}: different workloads")
        if not (self.measured and baseline.measured):
            return dataclasses.replace(self, baseline=baseline.name)
        return dataclasses.replace(
            self,
            baseline=baseline.name,
            ratio=ratio(self.seconds, self.work, baseline.seconds, baseline.work),
        )


def unavailable(suite: str, workload: str, implementation: str, name: str,
                unit: str, why: str) -> Row:  # fmt: skip
    """A row that could not be measured, saying why."""
    return Row(
        suite, workload, implementation, name, unit, 0, note=f"unavailable: {why}"
    )


# ------------------------------------------------------------------ JAX programs


class CountCompiles:
    """Counts XLA backend compilations while open (a context manager)."""

    def __enter__(self) -> CountCompiles:
        self.count = 0
        jax.monitoring.register_event_duration_secs_listener(self._listen)
        return self

    def __exit__(self, *exc_info) -> None:
        jax.monitoring.unregister_event_duration_listener(self._listen)

    def _listen(self, event: str, duration: float, **kwargs) -> None:
        if "backend_compile" in event:
            self.count += 1


class CompiledSweep:
    """A sweep compiled once (timed, compilations counted), then run on demand.

    Args:
      run: from :func:`rl_softmax.engine.make_run` (or a rollout run).
      values: ``[V]`` values of the swept parameter.
      num_seeds: seeds per value.
      key: the sweep's key.
      settings: more keyword arguments of :func:`rl_softmax.engine.sweep.sweep`.
    """

    def __init__(self, run, values, num_seeds: int, *, key, **settings):
        from rl_softmax.engine.sweep import compile_sweep

        self.run, self.values, self.num_seeds = run, values, num_seeds
        self.key, self.settings = key, settings
        compile_settings = {k: v for k, v in settings.items() if k != "keep_runs"}
        with CountCompiles() as counter:
            start = time.perf_counter()
            self.program = compile_sweep(
                run, len(values), num_seeds, key=key, **compile_settings
            )
            self.compile_seconds = time.perf_counter() - start
        self.compiles, self.recompiles = counter.count, 0

    def __call__(self):
        """One sweep's :class:`~rl_softmax.engine.sweep.SweepResult`; counts any
        compilation it needed (none, if the program was reused)."""
        from rl_softmax.engine.sweep import sweep

        with CountCompiles() as counter:
            result = sweep(
                self.run, self.values, self.num_seeds, key=self.key, **self.settings
            )
        self.recompiles += counter.count
        return result


# ------------------------------------------------------------------ suites


@dataclasses.dataclass(frozen=True)
class Settings:
    """How a suite runs.

    Attributes:
      quick: small workloads (seconds each): a smoke run, not a measurement.
      repeats: counted rounds (default 3, or 1 when ``quick``).
      gymnax: time gymnax's rows where gymnax can be imported (it is not a
        dependency; False leaves them out, as on a fresh clone).
      progress: where a suite says what it is doing.
    """

    quick: bool = False
    repeats: int | None = None
    gymnax: bool = True
    progress: Callable[[str], None] = print

    @property
    def rounds(self) -> int:
        if self.repeats is not None:
            return self.repeats
        return 1 if self.quick else 3


@dataclasses.dataclass(frozen=True)
class Check:
    """A correctness check a suite makes on what it timed.

    Attributes:
      name: what is compared.
      passed: whether it holds.
      text: the numbers, for the reader.
    """

    name: str
    passed: bool
    text: str


@dataclasses.dataclass(frozen=True)
class Section:
    """What a suite returns.

    Attributes:
      rows: the table's rows, baselines first within a workload.
      checks: correctness checks on the same runs.
      details: anything else worth keeping (JSON-able): sizes, per-value checks.
    """

    rows: list[Row]
    checks: list[Check] = dataclasses.field(default_factory=list)
    details: dict = dataclasses.field(default_factory=dict)
