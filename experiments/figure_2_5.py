"""Sutton & Barto (2018) Figure 2.5: the gradient bandit, trained by optax.

The 10-armed testbed with ``q* ~ N(4, 1)``; softmax preferences trained by
``optax.sgd(alpha)`` on the score-function objective, which is exactly the book's
update; alpha in {0.1, 0.4}, with and without the average-reward baseline. Writes
the % optimal action curves and the numbers at step 1000 (mean of the last
``--final-steps`` steps, with the standard error) next to the published values.

    python experiments/figure_2_5.py                   # 2000 runs x 1000 steps
    python experiments/figure_2_5.py --num-runs 100    # quick look
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import jax
import numpy as np
import optax
from matplotlib.figure import Figure

from rl_softmax.agents import make_gradient_bandit
from rl_softmax.engine import make_run, sweep
from rl_softmax.envs import GaussianBandit, GaussianParams

# Published % optimal action at step 1000 (public reproductions, 2000 runs).
PUBLISHED = {
    (0.1, True): (0.85, 0.87),
    (0.4, True): (0.73, 0.75),
    (0.1, False): (0.48, 0.49),
    (0.4, False): (0.27, 0.28),
}
STEP_SIZES = (0.1, 0.4)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-runs", type=int, default=2000)
    parser.add_argument("--num-steps", type=int, default=1000)
    parser.add_argument("--final-steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/figure_2_5")
    args = parser.parse_args(argv)
    env = GaussianBandit(10)
    env_params = GaussianParams(mean=4.0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    fig = Figure(figsize=(6.5, 4.2), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    report = {"num_runs": args.num_runs, "num_steps": args.num_steps, "rows": []}
    for baseline, style in ((True, "-"), (False, "--")):
        agent = make_gradient_bandit(10, optax.sgd, baseline=baseline)
        run = make_run(
            env, agent, args.num_steps, env_params=env_params, swept="step_size"
        )
        result = sweep(
            run, STEP_SIZES, args.num_runs, key=jax.random.key(args.seed),
            final_steps=args.final_steps, curve_stride=1,
        )  # fmt: skip
        optimal = result.metrics["optimal"]
        for i, alpha in enumerate(STEP_SIZES):
            final = optimal.run_final[i].astype(np.float64)
            mean, sem = final.mean(), final.std(ddof=1) / math.sqrt(final.size)
            low, high = PUBLISHED[(alpha, baseline)]
            report["rows"].append(
                {
                    "step_size": alpha,
                    "baseline": baseline,
                    "percent_optimal": 100 * mean,
                    "sem": 100 * sem,
                    "published": [100 * low, 100 * high],
                }
            )
            label = f"α = {alpha}, {'with' if baseline else 'without'} baseline"
            ax.plot(
                result.steps, 100 * optimal.curve_mean[i], style,
                color="C0" if alpha == 0.1 else "C1", lw=1.2, label=label,
            )  # fmt: skip
    ax.set(
        xlabel="steps",
        ylabel="% optimal action",
        ylim=(0, 100),
        title=f"Gradient bandit, optax.sgd, q* ~ N(4, 1), {args.num_runs} runs",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    fig.savefig(out / "figure_2_5.png")
    (out / "figure_2_5.json").write_text(json.dumps(report, indent=2) + "\n")

    print(f"Sutton & Barto Fig. 2.5, {args.num_runs} runs x {args.num_steps} steps:")
    print(f"{'setting':<32}{'% optimal (±SE)':>18}{'published':>12}")
    for row in report["rows"]:
        setting = (
            f"alpha = {row['step_size']}, "
            f"{'with' if row['baseline'] else 'without'} baseline"
        )
        low, high = row["published"]
        print(
            f"{setting:<32}{row['percent_optimal']:>10.1f} ± {row['sem']:<5.1f}"
            f"{low:>8.0f}-{high:.0f}"
        )
    print(f"wrote {out / 'figure_2_5.png'}, {out / 'figure_2_5.json'}")
    return report


if __name__ == "__main__":
    main()
