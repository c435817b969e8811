"""Every figure in the README, regenerated: runs (or reuses) the shipped configs
through ``run_experiment`` and copies the figures it drew into
``experiments/figures/``, plus the softmax demo and Sutton & Barto's Figure 2.5.

    python experiments/readme_figures.py                    # full size (minutes)
    python experiments/readme_figures.py --num-seeds 20 --num-steps 50 --out /tmp/f
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
from pathlib import Path

from rl_softmax import plotting
from rl_softmax.experiment import run_experiment

_HERE = Path(__file__).resolve().parent
_CONFIGS = _HERE.parent / "configs"

# config -> {plot it draws: README figure}
FIGURES = {
    "bandit_tau_sweep": {
        "boltzmann_sweep.png": "boltzmann_sweep.png",
        "boltzmann_curves_optimal.png": "boltzmann_curves.png",
    },
    "parameter_study": {"parameter_study.png": "parameter_study.png"},
    "anneal_gradient_bandit": {
        "sgd_entropy.png": "sgd_entropy.png",
        "sgd_action_probs.png": "sgd_action_probs.png",
    },
    "anneal_boltzmann_schedule": {"inverse_log_tau.png": "inverse_log_tau.png"},
    "anneal_target_entropy": {"learned_tau_entropy.png": "learned_tau_entropy.png"},
}


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-seeds", type=int, default=2000)
    parser.add_argument("--num-steps", type=int, default=1000)
    parser.add_argument("--results", default="results", help="parent of results dirs")
    parser.add_argument("--out", default=str(_HERE / "figures"))
    args = parser.parse_args(argv)
    full_size = args.num_seeds == 2000 and args.num_steps == 1000
    overrides = [
        f"num_seeds={args.num_seeds}",
        f"num_steps={args.num_steps}",
        f"final_steps={min(100, args.num_steps)}",
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, figures in FIGURES.items():
        suffix = "" if full_size else f"_{args.num_seeds}x{args.num_steps}"
        results = run_experiment(
            _CONFIGS / f"{name}.toml", Path(args.results) / f"{name}{suffix}",
            overrides=overrides, progress=False,
        )  # fmt: skip
        for plot, figure in figures.items():
            written.append(
                Path(
                    shutil.copyfile(
                        results.out / plotting.PLOTS_DIR / plot, out / figure
                    )
                )
            )
    written.append(
        plotting.save_figure(plotting.plot_probs_vs_tau(), out / "probs_vs_tau.png")
    )
    spec = importlib.util.spec_from_file_location("figure_2_5", _HERE / "figure_2_5.py")
    figure_2_5 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figure_2_5)
    results_dir = Path(args.results) / "figure_2_5"
    figure_2_5.main(
        ["--num-runs", str(args.num_seeds), "--num-steps", str(args.num_steps),
         "--out", str(results_dir)]
    )  # fmt: skip
    written.append(
        Path(shutil.copyfile(results_dir / "figure_2_5.png", out / "figure_2_5.png"))
    )
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    main()
