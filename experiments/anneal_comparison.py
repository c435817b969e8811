"""From uniform to greedy, compared: constant tau vs annealed tau vs learned policies.

Runs (or reuses, if already in ``results/``) the flagship sweep and the three anneal
configs with the same testbed, seeds and horizon, picks each study's best setting by
average reward, and writes a table: average reward over all steps and % optimal
action and entropy over the final 100 steps, each with a 95% confidence interval.

    python experiments/anneal_comparison.py                 # full size (minutes)
    python experiments/anneal_comparison.py --num-seeds 50  # quick look

Note that "best of a sweep" is chosen on the same runs it is scored on, a small
optimistic bias shared by every row (the confidence intervals ignore it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rl_softmax.experiment import run_experiment, stats

CONFIGS = (
    "bandit_tau_sweep",
    "anneal_boltzmann_schedule",
    "anneal_target_entropy",
    "anneal_gradient_bandit",
)
_CONFIG_DIR = Path(__file__).resolve().parents[1] / "rl_softmax" / "configs"


def _format(
    mean: float, sem: float, n: float, scale: float = 1.0, digits: int = 3
) -> str:
    half = float(stats.half_width(sem, n))
    return f"{scale * mean:.{digits}f} ± {scale * half:.{digits}f}"


def _row(results, study) -> dict:
    result = results.studies[study.name]
    best = results.best(study.name)
    final = {
        name: [float(x[best.index]) for x in stats.seed_stats(result, name, "final")]
        for name in ("optimal", "entropy")
    }
    return {
        "label": study.label,
        "setting": f"{study.param} = {best.value:.4g}",
        "best": best,
        "optimal": final["optimal"],
        "entropy": final["entropy"],
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-seeds", type=int, default=2000)
    parser.add_argument("--num-steps", type=int, default=1000)
    parser.add_argument("--out", default="results", help="parent of the results dirs")
    args = parser.parse_args(argv)
    overrides = [
        f"num_seeds={args.num_seeds}",
        f"num_steps={args.num_steps}",
        f"final_steps={min(100, args.num_steps)}",
    ]
    full_size = args.num_seeds == 2000 and args.num_steps == 1000
    table = []
    for name in CONFIGS:
        out = Path(args.out) / (
            name if full_size else f"{name}_{args.num_seeds}x{args.num_steps}"
        )
        results = run_experiment(
            _CONFIG_DIR / f"{name}.toml", out, overrides=overrides, progress=False
        )
        table += [_row(results, study) for study in results.config.studies]

    lines = [
        "| method (best setting) | average reward | % optimal, last 100 steps "
        "| entropy, last 100 steps |",
        "|---|---:|---:|---:|",
    ]
    for row in table:
        best = row["best"]
        lines.append(
            f"| {row['label']} ({row['setting']}) "
            f"| {_format(best.mean, best.sem, best.num_seeds)} "
            f"| {_format(*row['optimal'], 100, 1)} "
            f"| {_format(*row['entropy'], 1, 2)} |"
        )
    text = "\n".join(lines)
    print(
        f"10-armed testbed, {args.num_seeds} runs x {args.num_steps} steps, "
        "same seeds for every row (mean ± 95% t interval):"
    )
    print(text)
    path = Path(args.out) / f"anneal_comparison_{args.num_seeds}x{args.num_steps}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    print(f"wrote {path}")
    return table


if __name__ == "__main__":
    from rl_softmax.engine import executor

    # a command, as `rl-softmax run`: every core and the compilation cache
    executor.use_cpu_cores()
    executor.enable_compilation_cache()
    main()
