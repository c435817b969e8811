"""From uniform to greedy, compared: constant tau vs annealed tau vs learned policies.

Runs (or reuses, if already in ``results/``) the flagship sweep and the three anneal
configs with the same testbed, seeds and horizon, picks each study's best setting by
average reward, and writes a table: average reward over all steps and % optimal
action over the final 100 steps, each with a 95% confidence interval.

    python experiments/anneal_comparison.py                 # full size (minutes)
    python experiments/anneal_comparison.py --num-seeds 50  # quick look

Note that "best of a sweep" is chosen on the same runs it is scored on, a small
optimistic bias shared by every row (the confidence intervals ignore it).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rl_softmax import cli, config, results

CONFIGS = (
    "bandit_tau_sweep",
    "anneal_boltzmann_schedule",
    "anneal_target_entropy",
    "anneal_gradient_bandit",
)
_CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


def _format(mean: float, sem: float, scale: float = 1.0, digits: int = 3) -> str:
    return f"{scale * mean:.{digits}f} ± {scale * 1.96 * sem:.{digits}f}"


def _best_rows(out: Path, study: config.StudyConfig) -> dict:
    result = results.load_study(out, study.name)
    rows = results.summary_rows(
        study.name, result, label=study.label, param=study.param
    )
    refs = set(study.references.values())

    def pick(metric, window, value):
        return next(
            r for r in rows
            if (r["metric"], r["window"], r["value"]) == (metric, window, value)
        )  # fmt: skip

    rewards = [
        r for r in rows
        if (r["metric"], r["window"]) == ("reward", "all") and r["value"] not in refs
    ]  # fmt: skip
    best = max(rewards, key=lambda r: r["mean"])
    return {
        "label": study.label,
        "setting": f"{study.param} = {best['value']:.4g}",
        "reward": best,
        "optimal": pick("optimal", "final", best["value"]),
        "entropy": pick("entropy", "final", best["value"]),
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
    table = []
    for name in CONFIGS:
        out = Path(args.out) / (
            name if args.num_seeds == 2000 and args.num_steps == 1000
            else f"{name}_{args.num_seeds}x{args.num_steps}"
        )  # fmt: skip
        argv_run = ["run", str(_CONFIG_DIR / f"{name}.toml"), "--out", str(out)]
        argv_run += ["--quiet", *(a for o in overrides for a in ("--set", o))]
        if cli.main(argv_run):
            raise SystemExit(f"rl-softmax run failed for {name}")
        experiment = config.load(_CONFIG_DIR / f"{name}.toml", overrides)
        table += [_best_rows(out, study) for study in experiment.studies]

    lines = [
        "| method (best setting) | average reward | % optimal, last 100 steps "
        "| entropy, last 100 steps |",
        "|---|---:|---:|---:|",
    ]
    for row in table:
        lines.append(
            f"| {row['label']} ({row['setting']}) "
            f"| {_format(row['reward']['mean'], row['reward']['sem'])} "
            f"| {_format(row['optimal']['mean'], row['optimal']['sem'], 100, 1)} "
            f"| {_format(row['entropy']['mean'], row['entropy']['sem'], 1, 2)} |"
        )
    text = "\n".join(lines)
    print(
        f"10-armed testbed, {args.num_seeds} runs x {args.num_steps} steps, "
        "same seeds for every row (mean ± 95% CI):"
    )
    print(text)
    path = Path(args.out) / f"anneal_comparison_{args.num_seeds}x{args.num_steps}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    print(f"wrote {path}")
    assert all(np.isfinite(r["reward"]["mean"]) for r in table)
    return table


if __name__ == "__main__":
    main()
