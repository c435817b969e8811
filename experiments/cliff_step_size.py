"""In the spirit of Sutton & Barto (2018) Figure 6.3: TD control against the step size.

Sarsa, expected Sarsa and Q-learning with epsilon-greedy exploration (epsilon 0.1, no
discount) on gymnasium's CliffWalking-v1, for step sizes alpha = 0.1 ... 1.0
(``configs/cliff_step_size.toml``). Two performance measures per setting, each a mean
over runs with its standard error:

* interim: the mean return of each run's first ``num_episodes`` (100) episodes, from
  the recorded per-episode returns;
* asymptotic: the mean return per episode over the run's final steps (the book runs
  100,000 episodes; here 50,000 steps, so "asymptotic" means "late in a long run").

The book's shape to look for: expected Sarsa is best over most step sizes and does not
degrade at large alpha; Sarsa degrades at large alpha; Q-learning's online return is the
worst (it learns the cliff-edge path and falls while exploring).

    python experiments/cliff_step_size.py                  # the config as shipped
    python experiments/cliff_step_size.py --num-seeds 10   # quick look
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from rl_softmax.experiment import run_experiment, stats
from rl_softmax.experiment.config import SHIPPED_DIR

CONFIG = SHIPPED_DIR / "cliff_step_size.toml"


def interim(result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, sem, runs)`` over seeds of each run's mean return over its recorded
    episodes (``[V]`` each; ``runs`` counts the runs that finished them all)."""
    returns = result.metrics["episode_returns"].run_mean.astype(np.float64)
    complete = ~np.isnan(returns).any(axis=2)  # runs that reached episode N
    per_run = np.where(complete, np.nan_to_num(returns).mean(axis=2), np.nan)
    mean, sem, n = stats.mean_sem(per_run, axis=1)
    return mean, sem, n


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-seeds", type=int, default=None)
    parser.add_argument("--num-steps", type=int, default=None)
    parser.add_argument("--out", default="results/cliff_step_size")
    args = parser.parse_args(argv)
    overrides = []
    if args.num_seeds:
        overrides.append(f"num_seeds={args.num_seeds}")
    if args.num_steps:
        overrides += [f"num_steps={args.num_steps}", f"final_steps={args.num_steps}"]
    out = Path(args.out)
    results = run_experiment(
        CONFIG, out / "runs", overrides=overrides, overwrite=True,
        log=print,
    )  # fmt: skip
    config = results.config
    fig = Figure(figsize=(6.5, 4.4), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    report = {"num_seeds": config.num_seeds, "num_steps": config.num_steps, "rows": []}
    colors = ("#1b9e77", "#d95f02", "#7570b3")
    for color, study in zip(colors, config.studies, strict=False):
        result = results.studies[study.name]
        alphas = np.asarray(result.values, np.float64)
        early, early_sem, complete = interim(result)
        late, late_sem, _ = stats.seed_stats(result, "return", "final")
        for i, alpha in enumerate(alphas):
            report["rows"].append(
                {
                    "agent": study.label,
                    "step_size": float(alpha),
                    "interim": _number(early[i]),
                    "interim_sem": _number(early_sem[i]),
                    "interim_runs": int(complete[i]),
                    "asymptotic": _number(late[i]),
                    "asymptotic_sem": _number(late_sem[i]),
                }
            )
        ax.plot(alphas, late, "-", marker="o", ms=3, color=color,
                label=f"{study.label}, asymptotic")  # fmt: skip
        ax.plot(alphas, early, "--", marker="s", ms=3, color=color,
                label=f"{study.label}, interim")  # fmt: skip
    ax.set_xlabel("step size α")
    ax.set_ylabel("sum of rewards per episode")
    ax.set_title(
        f"Cliff walking, ε = 0.1: interim (first {config.num_episodes} episodes) "
        f"and asymptotic\n(last {config.final_steps} steps) performance, "
        f"{config.num_seeds} runs each",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.savefig(out / "cliff_step_size.png")
    (out / "cliff_step_size.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'agent':<16} {'alpha':>5} {'interim':>16} {'asymptotic':>16}")
    for row in report["rows"]:
        print(
            f"{row['agent']:<16} {row['step_size']:>5.1f} "
            f"{_text(row['interim'], row['interim_sem'])}"
            f"{_text(row['asymptotic'], row['asymptotic_sem'])}"
        )
    print(f"wrote {out / 'cliff_step_size.png'}, {out / 'cliff_step_size.json'}")
    return report


def _number(value) -> float | None:
    """A float for JSON; None where undefined (no run finished the episodes)."""
    value = float(value)
    return None if math.isnan(value) else value


def _text(mean: float | None, sem: float | None) -> str:
    return f"{'undefined':>17}" if mean is None else f"{mean:>9.2f} ± {sem:<6.2f}"


if __name__ == "__main__":
    from rl_softmax.engine import executor

    # a command, as `rl-softmax run`: every core and the compilation cache
    executor.use_cpu_cores()
    executor.enable_compilation_cache()
    main()
