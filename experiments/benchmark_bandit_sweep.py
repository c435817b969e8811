"""Benchmark suite ``bandit``: the tau sweep against a vectorised NumPy loop.

Two workloads, each timed against its NumPy baseline in the same rounds
(``rl-softmax bench --only bandit``; :mod:`harness` does the timing):

* **steady state** (in this process): the README's flagship workload, Boltzmann
  exploration with sample averages on the 10-armed testbed, 10 temperatures x 2000
  runs x 1000 steps = 20M agent-steps, all per-step metrics. The sweep runs through
  :func:`rl_softmax.experiment.run_experiment` (its ``run`` timing, compile timed
  apart) against ``experiments/numpy_reference.py`` with all runs of one
  temperature as one NumPy batch; and, as an ablation, the same sweep compiled with
  XLA's default options.
* **end to end** (fresh processes): ``rl-softmax run configs/bandit_tau_sweep.toml``
  (import, compile, run, write, plot: 42M agent-steps) with an empty compilation
  cache and again with the cache warm, against the NumPy script doing the same
  sweep and writing its CSV (``numpy_reference.py --flagship``). The command's own
  breakdown of its wall time is each row's note.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness
import jax
import numpy_reference

from rl_softmax.experiment import build_run, config, run_experiment

_REPO = Path(__file__).resolve().parents[1]
_FLAGSHIP = _REPO / "rl_softmax" / "configs" / "bandit_tau_sweep.toml"
_UNIT = "agent-steps"


def sizes(quick: bool) -> dict:
    """The steady-state workload's sizes and the flagship's overrides."""
    if quick:
        return {
            "num_taus": 3, "num_runs": 64, "num_steps": 50,
            "flagship_set": ["num_seeds=64", "num_steps=50", "final_steps=10"],
        }  # fmt: skip
    return {"num_taus": 10, "num_runs": 2000, "num_steps": 1000, "flagship_set": []}


def _workload(num_taus: int, num_runs: int, num_steps: int) -> dict:
    return {
        "name": "benchmark",
        "num_seeds": num_runs,
        "num_steps": num_steps,
        "final_steps": min(100, num_steps),
        "studies": [
            {"name": "boltzmann", "rule": "boltzmann", "param": "tau",
             "log2_range": [-7, 2], "num_values": num_taus},
        ],
    }  # fmt: skip


def steady_state(settings: harness.Settings) -> list[harness.Row]:
    """NumPy, the sweep and the sweep with XLA's default options, in this process."""
    size = sizes(settings.quick)
    num_runs, num_steps = size["num_runs"], size["num_steps"]
    workload = _workload(size["num_taus"], num_runs, num_steps)
    experiment = config.from_dict(workload)
    taus = experiment.studies[0].values
    agent_steps = len(taus) * num_runs * num_steps
    title = (
        f"bandit steady state: Boltzmann sweep, 10-armed testbed, {len(taus)} taus x "
        f"{num_runs} runs x {num_steps} steps"
    )

    def numpy_sweep():
        for tau in taus:
            numpy_reference.run_bandit(
                "boltzmann", float(tau), num_runs=num_runs, num_steps=num_steps
            )

    compile_seconds = []

    def ours():
        results = run_experiment(workload, write=False, progress=False)
        compile_seconds.append(results.timings["compile"])
        return harness.Lap(results.timings["run"])

    settings.progress("compiling the sweep with XLA's default options")
    xla_defaults = harness.CompiledSweep(
        build_run(experiment, experiment.studies[0]), taus, num_runs,
        key=jax.random.key(0), compiler_options={},
    )  # fmt: skip
    times = harness.time_rounds(
        {"numpy": numpy_sweep, "ours": ours, "xla": xla_defaults},
        repeats=settings.rounds, progress=settings.progress,
    )  # fmt: skip

    def row(implementation, name, key, **extra):
        return harness.Row(
            "bandit", title, implementation, name, _UNIT, agent_steps,
            times[key].seconds, **extra,
        )  # fmt: skip

    numpy_row = row("NumPy, all runs of a tau as one batch", "NumPy", "numpy")
    devices = len(jax.devices())
    return [
        numpy_row,
        row(
            f"rl_softmax sweep (run_experiment), {devices} device(s)", "sweep", "ours",
            compile_seconds=compile_seconds[0],
        ).compared_with(numpy_row),
        row(
            "the same sweep with XLA's default options", "XLA defaults", "xla",
            compile_seconds=xla_defaults.compile_seconds,
        ).compared_with(numpy_row),
    ]  # fmt: skip


_BREAKDOWN = re.compile(r"wall time ([\d.]+) s: (.*)$", re.MULTILINE)


def _overridden_toml(overrides: list[str]) -> str:
    """The flagship TOML with ``key=value`` overrides of top-level keys appended."""
    text = _FLAGSHIP.read_text()
    head, sep, rest = text.partition("\n[env]")
    lines = [item for item in overrides if "." not in item.split("=")[0]]
    kept = [
        line for line in head.splitlines()
        if line.split("=")[0].strip() not in {i.split("=")[0] for i in lines}
    ]  # fmt: skip
    return "\n".join(kept + lines) + "\n" + sep + rest


def end_to_end(settings: harness.Settings) -> list[harness.Row]:
    """Fresh processes: the NumPy script, the command cold, the command warm."""
    overrides = sizes(settings.quick)["flagship_set"]
    raw = config.load(_FLAGSHIP, overrides)
    study = raw.studies[0]
    num_values = len(study.values) + len(study.references)
    agent_steps = num_values * raw.num_seeds * raw.num_steps
    title = (
        f"bandit end to end: rl-softmax run {_FLAGSHIP.stem} as a fresh process, "
        f"{num_values} taus x {raw.num_seeds} runs x {raw.num_steps} steps"
    )
    scratch = Path(tempfile.mkdtemp(prefix="rl_softmax_bench_"))
    script = Path(sys.executable).with_name("rl-softmax")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "rl_softmax"]
    flagship_config = _FLAGSHIP
    if overrides:  # the NumPy script reads the same (overridden) sizes
        flagship_config = scratch / "flagship.toml"
        flagship_config.write_text(_overridden_toml(overrides))
    sets = [a for item in overrides for a in ("--set", item)]
    calls, breakdowns = itertools.count(), {}
    cache = {"dir": scratch / "cache"}

    def fresh(argv: list[str]) -> str:
        env = dict(os.environ, RL_SOFTMAX_CACHE_DIR=str(cache["dir"]))
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
        return done.stdout

    def numpy_script():
        script = Path(__file__).with_name("numpy_reference.py")
        csv = scratch / "numpy.csv"
        fresh(
            [sys.executable, str(script), "--flagship", str(flagship_config), str(csv)]
        )

    def command_run(label: str, cold: bool):
        def call():
            n = next(calls)
            if cold:  # an empty compilation cache, which the warm run then reads
                cache["dir"] = scratch / f"cache{n}"
            # a new results directory each time: a run would reuse saved studies
            out = scratch / f"out{n}"
            stdout = fresh(
                [*command, "run", str(_FLAGSHIP), "--out", str(out), "--quiet", *sets]
            )
            match = _BREAKDOWN.search(stdout)
            breakdowns[label] = match.group(2) if match else ""

        return call

    try:
        times = harness.time_rounds(
            {"numpy": numpy_script, "cold": command_run("cold cache", cold=True),
             "warm": command_run("warm cache", cold=False)},
            repeats=settings.rounds, warmup=0, progress=settings.progress,
        )  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def row(implementation, name, key, note=""):
        return harness.Row(
            "bandit", title, implementation, name, _UNIT, agent_steps,
            times[key].seconds, note=note,
        )  # fmt: skip

    numpy_row = row("NumPy script (sweep + CSV)", "NumPy script", "numpy")
    return [numpy_row] + [
        row(f"rl-softmax run, {label}", label, key, breakdowns[label]).compared_with(
            numpy_row
        )
        for key, label in (("cold", "cold cache"), ("warm", "warm cache"))
    ]


def suite(settings: harness.Settings) -> harness.Section:
    """The ``bandit`` suite: steady state, then end to end."""
    start = time.perf_counter()
    rows = steady_state(settings)
    settings.progress(f"steady state done in {time.perf_counter() - start:.0f} s")
    rows += end_to_end(settings)
    return harness.Section(rows, details={"sizes": sizes(settings.quick)})
