"""Benchmark: the tau sweep against a vectorised NumPy loop, measured in the same run.

Two measurements, each printed as a ratio against its NumPy baseline:

* **steady state** (in this process): the README's flagship workload, Boltzmann
  exploration with sample averages on the 10-armed testbed, 10 temperatures x 2000
  runs x 1000 steps = 20M agent-steps, all per-step metrics. The sweep runs through
  :func:`rl_softmax.experiment.run_experiment` (its ``run`` timing, compile excluded)
  against ``experiments/numpy_reference.py`` with all runs of one temperature as one
  NumPy batch. ``--ablation`` also times the sweep with XLA's default options.
* **end to end** (``--end-to-end``, fresh processes): ``rl-softmax run
  configs/bandit_tau_sweep.toml`` (import, compile, run, write, plot: 42M
  agent-steps) with an empty compilation cache and again with the cache warm,
  against the NumPy script doing the same sweep and writing its CSV
  (``numpy_reference.py --flagship``). The command's own breakdown of its wall time
  is reported.

Results also go to ``results/benchmark/benchmark.json``.

    python experiments/benchmark_bandit_sweep.py                 # steady state
    python experiments/benchmark_bandit_sweep.py --end-to-end    # and fresh processes
    python experiments/benchmark_bandit_sweep.py --quick         # seconds, for tests
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy_reference  # noqa: E402

from rl_softmax.engine import executor, sweep  # noqa: E402
from rl_softmax.experiment import build_run, config, run_experiment  # noqa: E402

_REPO = Path(__file__).resolve().parents[1]
_FLAGSHIP = _REPO / "rl_softmax" / "configs" / "bandit_tau_sweep.toml"


def _best_of(repeats: int, fn) -> float:
    """Shortest wall time of ``repeats`` calls (the least disturbed by the machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


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


def steady_state(args) -> tuple[list, dict]:
    """``(rows, info)``: agent-steps/s of NumPy and of the sweep, in this process."""
    workload = _workload(args.num_taus, args.num_runs, args.num_steps)
    taus = config.from_dict(workload).studies[0].values
    agent_steps = len(taus) * args.num_runs * args.num_steps

    def numpy_sweep():
        for tau in taus:
            numpy_reference.run_bandit(
                "boltzmann", float(tau), num_runs=args.num_runs,
                num_steps=args.num_steps,
            )  # fmt: skip

    def ours():
        results = run_experiment(workload, write=False, progress=False)
        return results.timings["compile"], results.timings["run"]

    numpy_seconds = _best_of(args.repeats, numpy_sweep)
    timings = [ours() for _ in range(args.repeats)]
    rows = [
        ("NumPy, all runs of a tau as one batch", numpy_seconds, None),
        (
            f"rl_softmax sweep, {len(jax.devices())} device(s)",
            min(t[1] for t in timings),
            timings[0][0],
        ),
    ]
    if args.ablation:
        experiment = config.from_dict(workload)
        run = build_run(experiment, experiment.studies[0])

        def xla_defaults():
            sweep(run, taus, args.num_runs, key=jax.random.key(0), compiler_options={})

        start = time.perf_counter()
        xla_defaults()
        compile_and_run = time.perf_counter() - start
        seconds = _best_of(args.repeats, xla_defaults)
        rows.append(
            ("  with XLA's default options", seconds, compile_and_run - seconds)
        )
    info = {
        "workload": (
            f"Boltzmann sweep, 10-armed testbed: {len(taus)} taus x "
            f"{args.num_runs} runs x {args.num_steps} steps"
        ),
        "agent_steps": agent_steps,
    }
    return rows, info


_BREAKDOWN = re.compile(r"wall time ([\d.]+) s: (.*)$", re.MULTILINE)


def _timed(command: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def end_to_end(args) -> tuple[list, dict]:
    """Fresh processes: the NumPy script, the command cold, the command warm."""
    raw = config.load(_FLAGSHIP, args.flagship_set)
    study = raw.studies[0]
    agent_steps = (
        (len(study.values) + len(study.references)) * raw.num_seeds * raw.num_steps
    )
    scratch = Path(tempfile.mkdtemp(prefix="rl_softmax_bench_"))
    env = dict(os.environ, RL_SOFTMAX_CACHE_DIR=str(scratch / "cache"))
    script = Path(sys.executable).with_name("rl-softmax")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "rl_softmax"]
    try:
        overrides = [a for item in args.flagship_set for a in ("--set", item)]
        flagship_config = _FLAGSHIP
        if args.flagship_set:  # the NumPy script reads the same (overridden) sizes
            flagship_config = scratch / "flagship.toml"
            flagship_config.write_text(_overridden_toml(args.flagship_set))
        numpy_seconds, _ = _timed(
            [sys.executable, str(Path(__file__).with_name("numpy_reference.py")),
             "--flagship", str(flagship_config), str(scratch / "numpy.csv")], env,
        )  # fmt: skip
        rows, breakdowns = [("NumPy script (sweep + CSV)", numpy_seconds, None)], {}
        for label in ("cold cache", "warm cache"):
            out = scratch / label.replace(" ", "_")
            seconds, stdout = _timed(
                [*command, "run", str(_FLAGSHIP), "--out", str(out), "--quiet",
                 *overrides], env,
            )  # fmt: skip
            match = _BREAKDOWN.search(stdout)
            breakdowns[label] = match.group(2) if match else ""
            rows.append((f"rl-softmax run, {label}", seconds, None))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    info = {
        "workload": f"rl-softmax run {_FLAGSHIP.name} as a fresh process",
        "agent_steps": agent_steps,
        "breakdown": breakdowns,
    }
    return rows, info


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


def _table(title: str, rows: list, agent_steps: int) -> list[dict]:
    baseline = rows[0][1]
    print(f"{title} = {agent_steps / 1e6:g}M agent-steps")
    print(f"{'implementation':<40}{'agent-steps/s':>14}{'ratio':>8}{'compile':>10}")
    out = []
    for name, seconds, compiled in rows:
        rate = agent_steps / seconds
        shown = "" if compiled is None else f"{compiled:.2f} s"
        print(f"{name:<40}{rate / 1e6:>13.2f}M{baseline / seconds:>8.2f}{shown:>10}")
        out.append(
            {
                "implementation": name.strip(),
                "seconds": seconds,
                "agent_steps_per_second": rate,
                "ratio_to_numpy": baseline / seconds,
                "compile_seconds": compiled,
            }
        )
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-taus", type=int, default=10)
    parser.add_argument("--num-runs", type=int, default=2000)
    parser.add_argument("--num-steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--devices", type=int, default=None, help="JAX CPU devices (default: cores)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat")
    parser.add_argument(
        "--ablation", action="store_true", help="also time XLA's default options"
    )
    parser.add_argument(
        "--end-to-end", action="store_true",
        help="also time the flagship command and the NumPy script as new processes",
    )  # fmt: skip
    parser.add_argument("--out", default="results/benchmark")
    args = parser.parse_args(argv)
    args.flagship_set = []
    if args.quick:
        args.num_taus, args.num_runs, args.num_steps, args.repeats = 3, 64, 50, 1
        args.flagship_set = ["num_seeds=64", "num_steps=50", "final_steps=10"]
    executor.use_cpu_cores(args.devices)
    rows, info = steady_state(args)
    report = {
        "steady_state": {
            **info,
            "rows": _table(info["workload"], rows, info["agent_steps"]),
        },
        "devices": [str(d) for d in jax.devices()],
        "cpu_count": os.cpu_count(),
        "versions": {"jax": jax.__version__, "numpy": np.__version__},
    }
    if args.end_to_end:
        rows, info = end_to_end(args)
        print()
        report["end_to_end"] = {
            **info,
            "rows": _table(info["workload"], rows, info["agent_steps"]),
        }
        for label, text in info["breakdown"].items():
            print(f"  {label}: {text}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out / 'benchmark.json'}")
    return report


if __name__ == "__main__":
    main()
