"""How long the softmax policy gradient takes to solve CartPole-v1, wall clock.

Runs the ``constant`` study of ``configs/cartpole_softmax_pg.toml`` (PPO, tau = 0.01,
10 seeds trained together in one compiled, vmapped run, 200,704 environment steps
each) in this process, compilation included (the persistent compilation cache is
off), and counts the seeds whose final policy solves the task: mean return of at
least 475 over 100 evaluation episodes, sampling from its softmax and greedy.

    python experiments/cartpole_solve.py
    python experiments/cartpole_solve.py --set num_steps=51200   # a shorter budget
"""

from __future__ import annotations

import argparse
import time
import tomllib

import numpy as np

from rl_softmax.engine import executor
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import run_experiment
from rl_softmax.experiment.config import SHIPPED_DIR

CONFIG = SHIPPED_DIR / "cartpole_softmax_pg.toml"
SOLVED = 475.0


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="config override, e.g. num_seeds=4 (repeatable)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    start = time.perf_counter()
    executor.use_cpu_cores()
    raw = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    raw["studies"] = [s for s in raw["studies"] if s["name"] == "constant"]
    raw = config_lib.apply_overrides(raw, args.set)
    results = run_experiment(raw, write=False, progress=False, cache_dir=False)
    wall = time.perf_counter() - start
    result = results.studies["constant"]
    softmax = result.metrics["eval_return"].run_mean[0].astype(np.float64)
    greedy = result.metrics["greedy_return"].run_mean[0].astype(np.float64)
    report = {
        "seeds": int(softmax.size),
        "env_steps_per_seed": int(results.config.num_steps),
        "solved_softmax": int(np.sum(softmax >= SOLVED)),
        "solved_greedy": int(np.sum(greedy >= SOLVED)),
        "wall_seconds": wall,
        "compile_seconds": results.timings["compile"],
        "run_seconds": results.timings["run"],
    }
    print(
        f"CartPole-v1, PPO tau = 0.01: {report['solved_softmax']}/{report['seeds']} "
        f"seeds solve sampling from the softmax, {report['solved_greedy']}/"
        f"{report['seeds']} greedy (mean of 100 evaluation episodes >= {SOLVED:g}); "
        f"{report['env_steps_per_seed']} environment steps per seed; wall "
        f"{wall:.1f} s including compile {report['compile_seconds']:.1f} s, "
        f"run {report['run_seconds']:.1f} s"
    )
    print("evaluation returns, softmax:", np.round(softmax).astype(int).tolist())
    print("evaluation returns, greedy: ", np.round(greedy).astype(int).tolist())
    return report


if __name__ == "__main__":
    main()
