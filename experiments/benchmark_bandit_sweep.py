"""Benchmark: the jit-compiled tau sweep against a vectorised NumPy loop, same run.

The workload is the README's flagship: Boltzmann exploration with sample averages
on the 10-armed testbed, 10 temperatures x 2000 runs x 1000 steps = 20M agent-steps.
Both sides compute the same per-step metrics (reward, optimal action, regret, policy
entropy, probability of the optimal arm). The baseline is
``experiments/numpy_reference.py``: all runs of one temperature as one NumPy batch,
a Python loop over steps only. Throughput is printed as agent-steps per second and
as a ratio against the baseline measured in this same process, so the ratio is
meaningful on any machine. Results also go to ``results/benchmark/benchmark.json``.

The sweep runs as the ``rl-softmax`` command runs it: one JAX CPU device per core
(:func:`rl_softmax.backend.use_cpu_cores`) and the sweep's own XLA options. With
``--ablation`` the same run also times the sweep with XLA's default options
(YNNPACK library fusions on) and on a single device, the two choices that made the
largest difference.

    python experiments/benchmark_bandit_sweep.py              # full size
    python experiments/benchmark_bandit_sweep.py --ablation   # and the variants
    python experiments/benchmark_bandit_sweep.py --quick      # seconds, for smoke tests
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

from rl_softmax import backend, sweep  # noqa: E402
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
    parser.add_argument(
        "--devices", type=int, default=None, help="JAX CPU devices (default: cores)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat")
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="also time XLA's default options and a single device",
    )
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

    num_devices = backend.use_cpu_cores(args.devices)
    env = GaussianBandit(10)
    run = sweep.make_run(env, make_action_value_agent(10, "boltzmann"), args.num_steps)
    final_steps = min(100, args.num_steps)
    settings = {"chunk_size": chunk_size, "final_steps": final_steps}

    def timed_compile(**options) -> float:
        start = time.perf_counter()
        sweep.compile_sweep(run, **settings, **options)
        return time.perf_counter() - start

    def jax_sweep(**options):
        result = sweep.sweep(
            run, taus, args.num_runs, key=jax.random.key(0), **settings, **options
        )
        return result.run_mean.reward

    compile_seconds = timed_compile()
    numpy_seconds = _best_of(args.repeats, numpy_sweep)
    jax_seconds = _best_of(args.repeats, jax_sweep)
    rows = [
        ("NumPy, all runs as one batch", numpy_seconds, None),
        (f"rl_softmax sweep, {num_devices} device(s)", jax_seconds, compile_seconds),
    ]
    if args.ablation:
        xla_defaults = {"compiler_options": {}}
        default_compile = timed_compile(**xla_defaults)
        default_seconds = _best_of(args.repeats, lambda: jax_sweep(**xla_defaults))
        rows.append(("  with XLA's default options", default_seconds, default_compile))
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
        "rows": [
            {
                "implementation": name.strip(),
                "agent_steps_per_second": num_agent_steps / seconds,
                "ratio_to_numpy": numpy_seconds / seconds,
                "compile_seconds": compiled,
            }
            for name, seconds, compiled in rows
        ],
        "chunk_size": chunk_size,
        "devices": [str(d) for d in jax.devices()],
        "cpu_count": os.cpu_count(),
        "versions": {"jax": jax.__version__, "numpy": np.__version__},
    }
    print(report["workload"], f"= {num_agent_steps / 1e6:g}M agent-steps")
    print(f"{'implementation':<38}{'agent-steps/s':>14}{'ratio':>8}{'compile':>10}")
    for name, seconds, compiled in rows:
        rate = num_agent_steps / seconds / 1e6
        compiled = "" if compiled is None else f"{compiled:.2f} s"
        print(f"{name:<38}{rate:>13.2f}M{numpy_seconds / seconds:>8.2f}{compiled:>10}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out / 'benchmark.json'}")
    return report


if __name__ == "__main__":
    main()
