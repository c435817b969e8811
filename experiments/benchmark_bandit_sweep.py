"""Benchmark: the jit-compiled tau sweep against a vectorised NumPy loop, same run.

The workload is the README's flagship: Boltzmann exploration with sample averages
on the 10-armed testbed, 10 temperatures x 2000 runs x 1000 steps = 20M agent-steps.
Both sides compute the same per-step metrics (reward, optimal action, regret, policy
entropy, probability of the optimal arm). The baseline is
``experiments/numpy_reference.py``: all runs of one temperature as one NumPy batch,
a Python loop over steps only. Throughput is printed as agent-steps per second and
as a ratio against the baseline measured in this same process, so the ratio is
meaningful on any machine. Results also go to ``results/benchmark/benchmark.json``.

    python experiments/benchmark_bandit_sweep.py            # full size
    python experiments/benchmark_bandit_sweep.py --quick    # seconds, for smoke tests
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy_reference  # noqa: E402

from rl_softmax import sweep  # noqa: E402
from rl_softmax.agents import make_action_value_agent  # noqa: E402
from rl_softmax.envs import GaussianBandit  # noqa: E402


def _best_of(repeats: int, fn) -> float:
    """Shortest wall time of ``repeats`` calls (the least disturbed by the machine)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-taus", type=int, default=10)
    parser.add_argument("--num-runs", type=int, default=2000)
    parser.add_argument("--num-steps", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat")
    parser.add_argument("--out", default="results/benchmark")
    args = parser.parse_args(argv)
    if args.quick:
        args.num_taus, args.num_runs, args.num_steps, args.repeats = 3, 64, 50, 1
    taus = 2.0 ** np.linspace(-7, 2, args.num_taus)
    num_agent_steps = args.num_taus * args.num_runs * args.num_steps
    chunk_size = args.chunk_size or args.num_taus * 2048  # all taus in one block

    def numpy_sweep():
        for tau in taus:
            numpy_reference.run_bandit(
                "boltzmann", float(tau),
                num_runs=args.num_runs, num_steps=args.num_steps,
            )  # fmt: skip

    env = GaussianBandit(10)
    run = sweep.make_run(env, make_action_value_agent(10, "boltzmann"), args.num_steps)
    final_steps = min(100, args.num_steps)
    start = time.perf_counter()
    sweep.compile_sweep(run, chunk_size=chunk_size, final_steps=final_steps)
    compile_seconds = time.perf_counter() - start

    def jax_sweep():
        result = sweep.sweep(
            run, taus, args.num_runs, key=jax.random.key(0),
            final_steps=final_steps, chunk_size=chunk_size,
        )  # fmt: skip
        return result.run_mean.reward

    numpy_seconds = _best_of(args.repeats, numpy_sweep)
    jax_seconds = _best_of(args.repeats, jax_sweep)
    report = {
        "workload": (
            f"Boltzmann sweep, 10-armed testbed: {args.num_taus} taus x "
            f"{args.num_runs} runs x {args.num_steps} steps"
        ),
        "agent_steps": num_agent_steps,
        "numpy_agent_steps_per_second": num_agent_steps / numpy_seconds,
        "jax_agent_steps_per_second": num_agent_steps / jax_seconds,
        "speedup_vs_numpy": numpy_seconds / jax_seconds,
        "jax_compile_seconds": compile_seconds,
        "chunk_size": chunk_size,
        "devices": [str(d) for d in jax.devices()],
        "cpu_count": os.cpu_count(),
        "versions": {"jax": jax.__version__, "numpy": np.__version__},
    }
    print(report["workload"], f"= {num_agent_steps / 1e6:g}M agent-steps")
    print(f"{'implementation':<34}{'agent-steps/s':>16}{'ratio':>8}")
    numpy_rate = report["numpy_agent_steps_per_second"]
    print(f"{'NumPy, all runs as one batch':<34}{numpy_rate / 1e6:>15.2f}M{1.0:>8.2f}")
    jax_rate = report["jax_agent_steps_per_second"]
    ratio = report["speedup_vs_numpy"]
    name = "rl_softmax sweep (jit/vmap/scan)"
    print(f"{name:<34}{jax_rate / 1e6:>15.2f}M{ratio:>8.2f}")
    print(f"JAX compile time (once per config): {compile_seconds:.2f} s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out / 'benchmark.json'}")
    return report


if __name__ == "__main__":
    main()
