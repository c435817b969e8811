"""What keeps a long experiment safe: signals that stop it cleanly, memory checked
before anything is compiled, and time estimated as soon as it can be measured.

* :class:`StopSignals`: SIGINT / SIGTERM ask the sweep to stop after the block it
  is running (it saves a checkpoint and raises); a second signal stops at once.
* :func:`check_memory`: refuses a run whose results or blocks cannot fit, with the
  estimate and the knob to turn.
* :class:`TimeEstimate`: the time a study will take, from its first finished block
  (or, for a long block, its first windows): a calibration that costs nothing.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from rl_softmax.experiment.config import ConfigError

__all__ = [
    "COMPILER_BYTES",
    "PROGRAM_BYTES",
    "ROLLOUT_COMPILER_BYTES",
    "RunStopped",
    "StopSignals",
    "TimeEstimate",
    "available_memory",
    "check_memory",
    "format_bytes",
    "format_seconds",
    "peak_memory",
]


# Measured on the shipped configs (experiments/estimates.py): compiling a sweep of
# a per-step agent grows the process by about 150 MB, of a rollout agent (networks,
# minibatch epochs) by about 500 MB, and each compiled program that stays loaded
# keeps about 40 MB.
COMPILER_BYTES = 150_000_000
ROLLOUT_COMPILER_BYTES = 500_000_000
PROGRAM_BYTES = 40_000_000


class RunStopped(Exception):
    """A run stopped by a signal after saving what finished.

    Attributes:
      signal_number: the signal (``signal.SIGINT`` or ``signal.SIGTERM``).
    """

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.signal_number = signal_number


class StopSignals:
    """While active, SIGINT and SIGTERM set :attr:`received` instead of killing the
    process; a second one restores the defaults and raises ``KeyboardInterrupt``
    (the block in progress is lost; what was checkpointed is not).

    Does nothing outside the main thread (Python delivers signals only there).
    """

    _NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}

    def __init__(self, log: Callable[[str], None] | None = None):
        self.received: int | None = None
        self._log = log or (lambda line: print(line, file=sys.stderr))
        self._previous: dict[int, Any] = {}

    @property
    def name(self) -> str:
        return self._NAMES.get(self.received, str(self.received))

    def _handle(self, number, frame) -> None:
        if self.received is not None:  # the second signal: stop now
            self.__exit__()
            raise KeyboardInterrupt
        self.received = number
        self._log(
            f"\n  {self._NAMES[number]}: stopping after the current block "
            "(send it again to stop at once)"
        )

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for number in self._NAMES:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def format_seconds(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def available_memory() -> int:
    """Bytes this process can still take: ``MemAvailable`` (Linux), else the
    physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def current_memory() -> int:
    """Resident memory of this process now (bytes)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return peak_memory()


def peak_memory() -> int:
    """Peak resident memory of this process so far (bytes).

    Linux's ``VmHWM`` where it exists: ``ru_maxrss`` survives ``execve``, so a
    process started from a large one would report its parent's peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def check_memory(
    study: str,
    estimate,
    *,
    num_seeds: int,
    num_values: int,
    track_probs: str | None = None,
    num_episodes: int = 0,
    available: int | None = None,
) -> int:
    """Refuses a study whose estimated memory exceeds what is available.

    Args:
      study: the study's name (for the message).
      estimate: its :class:`~rl_softmax.engine.sweep.MemoryEstimate`.
      num_seeds, num_values: the config's knobs, quoted back.
      track_probs: the ``--set`` key of the study's ``track_probs`` if it is on
        (``"studies.0.track_probs"``), else None.
      num_episodes: the config's ``num_episodes`` (each run keeps that many
        returns), quoted back first when those returns are most of the memory.
      available: bytes available (default :func:`available_memory`).

    Returns:
      the estimated bytes the study adds to this process.

    Raises:
      ConfigError: it does not fit; the message gives the estimate and the knobs.
    """
    available = available_memory() if available is None else available
    needed = estimate.block_bytes + estimate.host_bytes
    if needed <= 0.9 * available:
        return needed
    knobs = [f"num_seeds ({num_seeds})", f"the number of values ({num_values})"]
    if estimate.block_bytes > estimate.host_bytes:
        knobs.insert(0, f"max_block_runs (now {estimate.block_runs} runs per block)")
    if track_probs:
        knobs.append(f"--set {track_probs}=false")
    episode_bytes = 4 * num_episodes * num_seeds * num_values
    if num_episodes and 2 * episode_bytes >= estimate.host_bytes:
        knobs.insert(0, f"num_episodes ({num_episodes})")
    raise ConfigError(
        f"study {study!r} needs about {format_bytes(needed)} of memory "
        f"({format_bytes(estimate.block_bytes)} per block of {estimate.block_runs} "
        f"runs, {format_bytes(estimate.host_bytes)} of results) but "
        f"{format_bytes(available)} is available; lower {', '.join(knobs)}."
    )


class TimeEstimate:
    """A study's total run time, extrapolated from its progress so far.

    Call :meth:`update` with the runs finished, first when the sweep starts. The
    first block (or window of a long block) that finishes carries the start-up
    costs of the sweep and of its block, so the rate is measured from there to the
    next one that finishes; :attr:`seconds` is the estimated total from then on.
    """

    def __init__(self, num_runs: int):
        self.num_runs = num_runs
        self.start = time.perf_counter()
        self.first: tuple[float, float] | None = None
        self.calibration: tuple[float, float] | None = None
        self.seconds: float | None = None

    def update(self, done: float) -> float | None:
        """Records progress; returns the estimated seconds left the first time an
        estimate exists (else None)."""
        now = time.perf_counter()
        if self.first is None:  # a resumed study starts with runs already done
            self.first = (now, done)
            return None
        finished = done >= self.num_runs  # nothing left to predict
        if self.seconds is not None or finished or done <= self.first[1]:
            return None
        if self.calibration is None:
            self.calibration = (now, done)
            return None
        t0, d0 = self.calibration
        if done <= d0 or now <= t0:
            return None
        rate = (done - d0) / (now - t0)
        self.seconds = (now - self.start) + (self.num_runs - done) / rate
        return (self.num_runs - done) / rate
