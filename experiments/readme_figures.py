"""Every figure in the README and the docs, regenerated: runs (or reuses) the shipped
configs through ``run_experiment`` and copies the figures it drew into
``docs/figures/``, plus the figures of the "Why softmax?" page (the ones
``rl-softmax demo`` draws), Sutton & Barto's Figure 2.5, the cliff-walking step-size
study (Figure 6.3's shape), the host-vs-JAX comparison and the temperature atlas.
The bandit configs run at ``--num-seeds`` x ``--num-steps``; the gymnasium configs at
their own sizes unless those are changed from the defaults (a quick look; the
classic-control ones then run two updates).

    python experiments/readme_figures.py                    # full size (minutes)
    python experiments/readme_figures.py --num-seeds 20 --num-steps 50 --out /tmp/f
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import jax

from rl_softmax import plotting
from rl_softmax.experiment import run_experiment

_HERE = Path(__file__).resolve().parent
_CONFIGS = _HERE.parent / "rl_softmax" / "configs"

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
# The gymnasium configs run at their own sizes (overridden only for a quick look).
MDP_FIGURES = {
    "frozenlake_tau_sweep": {
        "q_learning_sweep.png": "frozenlake_sweep.png",
        "value_map.png": "frozenlake_value_map.png",
        "q_learning_visits.png": "frozenlake_visits.png",
    },
    "cliff_walking": {
        "sarsa_episodes.png": "cliff_sarsa_episodes.png",
        "q_learning_episodes.png": "cliff_q_learning_episodes.png",
        "q_learning_boltzmann_episodes.png": "cliff_boltzmann_episodes.png",
    },
}
# The softmax policy networks: their own sizes, or two updates for a quick look.
POLICY_FIGURES = {
    "cartpole_softmax_pg": {
        "studies_entropy.png": "cartpole_pg_entropy.png",
        "studies_return.png": "cartpole_pg_return.png",
    },
    "cartpole_entropy_sweep": {"ppo_sweep.png": "cartpole_entropy_sweep.png"},
    "lunarlander_host": {"ppo_curves_return.png": "lunarlander_host_return.png"},
}
QUICK_POLICY = ["num_seeds=2", "num_steps=1024", "final_steps=512"]
# mellowmax_paper.py's quick run: the smallest at which its test's checks hold
# (tests/test_mellowmax_paper.py reads this run)
QUICK_MELLOWMAX = [
    "--num-pairs", "2000", "--num-starts", "8", "--num-mdps", "24",
    "--sarsa-steps", "40000", "--sarsa-seeds", "2",
]  # fmt: skip


def _script(name: str) -> ModuleType:
    """``experiments/<name>.py``, imported (registered under its name, as
    dataclasses look their module up there)."""
    spec = importlib.util.spec_from_file_location(name, _HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-seeds", type=int, default=2000)
    parser.add_argument("--num-steps", type=int, default=1000)
    parser.add_argument("--results", default="results", help="parent of results dirs")
    parser.add_argument("--out", default=str(_HERE.parent / "docs" / "figures"))
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
    suffix = "" if full_size else f"_{args.num_seeds}x{args.num_steps}"
    jobs = [(name, figures, overrides) for name, figures in FIGURES.items()]
    jobs += [
        (name, figures, [] if full_size else overrides)
        for name, figures in MDP_FIGURES.items()
    ]
    jobs += [
        (name, figures, [] if full_size else QUICK_POLICY)
        for name, figures in POLICY_FIGURES.items()
    ]
    for name, figures, changes in jobs:
        results = run_experiment(
            _CONFIGS / f"{name}.toml", Path(args.results) / f"{name}{suffix}",
            overrides=changes, progress=False, draw=plotting.draw_experiment,
        )  # fmt: skip
        for plot, figure in figures.items():
            written.append(
                Path(
                    shutil.copyfile(
                        results.out / plotting.PLOTS_DIR / plot, out / figure
                    )
                )
            )
    # The tour's figures with the key `rl-softmax demo` draws them with (seed 0).
    _, key_figures = jax.random.split(jax.random.key(0))
    for name, figure in plotting.tour_figures(key_figures):
        written.append(plotting.save_figure(figure, out / name))
    figure_2_5 = _script("figure_2_5")
    results_dir = Path(args.results) / "figure_2_5"
    figure_2_5.main(
        ["--num-runs", str(args.num_seeds), "--num-steps", str(args.num_steps),
         "--out", str(results_dir)]
    )  # fmt: skip
    written.append(
        Path(shutil.copyfile(results_dir / "figure_2_5.png", out / "figure_2_5.png"))
    )
    cliff_step_size = _script("cliff_step_size")
    results_dir = Path(args.results) / f"cliff_step_size{suffix}"
    quick = [] if full_size else [
        "--num-seeds", str(args.num_seeds), "--num-steps", str(args.num_steps),
    ]  # fmt: skip
    cliff_step_size.main([*quick, "--out", str(results_dir)])
    written.append(
        Path(
            shutil.copyfile(
                results_dir / "cliff_step_size.png", out / "cliff_step_size.png"
            )
        )
    )
    host_vs_jax = _script("host_vs_jax")
    results_dir = Path(args.results) / f"host_vs_jax{suffix}"
    quick = [] if full_size else [
        "--num-seeds", "2", "--num-steps", "200", "--updates", "2",
        "--pole-seeds", "2",
    ]  # fmt: skip
    host_vs_jax.main([*quick, "--out", str(results_dir)])
    written.append(
        Path(shutil.copyfile(results_dir / "host_vs_jax.png", out / "host_vs_jax.png"))
    )
    atlas = _script("temperature_atlas")
    quick = [] if full_size else [
        "--families", "bandit_tau_sweep", "frozenlake_tau_sweep",
        "--set", f"num_seeds={args.num_seeds}", "--set", "num_steps=400",
        "--set", "final_steps=100",
    ]  # fmt: skip
    atlas.main([
        *quick, "--out", str(Path(args.results) / f"temperature_atlas{suffix}"),
        "--figure", str(out / "temperature_atlas.png"),
    ])  # fmt: skip
    written.append(out / "temperature_atlas.png")
    mellowmax_paper = _script("mellowmax_paper")
    # full size: its report and table land beside the figures (the docs read them)
    results_dir = out if full_size else Path(args.results) / "mellowmax_paper_quick"
    quick = [] if full_size else QUICK_MELLOWMAX
    mellowmax_paper.main([*quick, "--out", str(results_dir)])
    for name in ("mellowmax_sarsa.png", "mellowmax_fixed_points.png"):
        if results_dir != out:
            shutil.copyfile(results_dir / name, out / name)
        written.append(out / name)
    for path in written:
        print(f"wrote {path}")
    return written


if __name__ == "__main__":
    from rl_softmax.engine import executor

    # a command, as `rl-softmax run`: every core and the compilation cache
    executor.use_cpu_cores()
    executor.enable_compilation_cache()
    main()
