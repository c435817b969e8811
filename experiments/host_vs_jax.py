"""The host loop against the JAX path on the same configs: same numbers in
distribution.

Runs ``configs/frozenlake_tau_sweep.toml`` (Boltzmann Q-learning over tau) and the
``constant`` study of ``configs/cartpole_softmax_pg.toml`` (PPO) twice each, once
with ``backend = "jax"`` (the JAX ports in the compiled sweep) and once with
``backend = "host"`` (gymnasium's own environments stepped on the host, the agent
jitted), and draws both on one figure: FrozenLake's episode return against tau,
CartPole's return over training and its final policy's evaluation episodes (sampling,
``eval_return``, and greedy, ``greedy_return``, with the share of runs ``solved``),
each with 95% confidence intervals. It prints, per tau, the two means and their
difference in combined standard errors, and the same for CartPole's final return and
evaluation.

    python experiments/host_vs_jax.py                      # 200 seeds x 5000 steps
    python experiments/host_vs_jax.py --num-seeds 10 --num-steps 1000 --updates 20
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from rl_softmax.experiment import run_experiment, stats

_HERE = Path(__file__).resolve().parent
_CONFIGS = _HERE.parent / "rl_softmax" / "configs"
Z95 = stats.Z95  # two-sample z tests of many seeds


def _both(config: str, overrides: list[str], out: Path) -> dict:
    """``{backend: Results}`` of one config run on both backends."""
    return {
        backend: run_experiment(
            _CONFIGS / f"{config}.toml",
            out / f"{config}_{backend}",
            overrides=[*overrides, f"env.backend={backend}"],
            progress=False,
            overwrite=True,
        )  # fmt: skip
        for backend in ("jax", "host")
    }


_EVALUATION = ("eval_return", "greedy_return")
"""CartPole's evaluation of the final policy: sampling, then greedy."""

NUM_SEEDS, NUM_STEPS, UPDATES = 200, 5000, 196
"""The full size: FrozenLake's seeds and steps per tau, CartPole's PPO updates."""


def runs(
    num_seeds: int, num_steps: int, updates: int, out: Path,
    pole_seeds: int | None = None,
):  # fmt: skip
    """``(lake, pole)``, each ``{backend: Results}``: FrozenLake's tau sweep and
    CartPole's constant-tau PPO on both backends (complete results are reused).
    CartPole runs the config's seeds unless ``pole_seeds`` is given."""
    lake = _both(
        "frozenlake_tau_sweep",
        [f"num_seeds={num_seeds}", f"num_steps={num_steps}",
         f"final_steps={min(1000, num_steps)}"],
        out,
    )  # fmt: skip
    steps = updates * 512
    pole = _both(
        "cartpole_softmax_pg",
        [f"num_steps={steps}", f"final_steps={min(20480, steps)}",
         "studies=[" + _constant_study() + "]",
         *([] if pole_seeds is None else [f"num_seeds={pole_seeds}"])],
        out,
    )  # fmt: skip
    return lake, pole


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-seeds", type=int, default=NUM_SEEDS)
    parser.add_argument("--num-steps", type=int, default=NUM_STEPS)
    parser.add_argument("--updates", type=int, default=UPDATES, help="PPO updates")
    parser.add_argument(
        "--pole-seeds", type=int, default=None,
        help="CartPole's seeds (default: its config's, 10)",
    )  # fmt: skip
    parser.add_argument("--out", default="results/host_vs_jax")
    args = parser.parse_args(argv)
    out = Path(args.out)
    lake, pole = runs(
        args.num_seeds, args.num_steps, args.updates, out, args.pole_seeds
    )
    fig = Figure(figsize=(14, 4), layout="constrained")
    ax_lake, ax_pole, ax_eval = fig.subplots(1, 3, width_ratios=(1, 1, 0.7))
    report = {"frozenlake": [], "cartpole": {}}
    for k, (backend, results) in enumerate(lake.items()):
        (study,) = results.studies.values()
        mean, sem, n = stats.seed_stats(study, "return", "all")
        half = stats.half_width(sem, n)
        swept = np.isfinite(study.values) & (study.values > 0)
        x = study.values[swept]
        ax_lake.plot(x, mean[swept], "o-", ms=3, color=f"C{k}", label=backend)
        ax_lake.fill_between(
            x, (mean - half)[swept], (mean + half)[swept], color=f"C{k}",
            alpha=0.2, lw=0,
        )  # fmt: skip
        report["frozenlake"].append((mean, sem))
    ax_lake.set_xscale("log", base=2)
    ax_lake.set_xlabel("temperature τ (log scale)")
    ax_lake.set_ylabel("episode return (success rate)")
    ax_lake.set_title(f"FrozenLake-v1, Q-learning: {args.num_seeds} runs", fontsize=10)
    for k, (backend, results) in enumerate(pole.items()):
        (study,) = results.studies.values()
        curve = study.metrics["return"]
        mean = curve.curve_mean[0]
        half = stats.half_width(curve.curve_sem[0], curve.curve_count[0])
        ax_pole.plot(study.steps, mean, color=f"C{k}", label=backend)
        ax_pole.fill_between(
            study.steps, mean - half, mean + half, color=f"C{k}", alpha=0.2, lw=0
        )
        final = study.metrics["return"].run_final[0].astype(np.float64)
        report["cartpole"][backend] = (
            final.mean(),
            final.std(ddof=1) / math.sqrt(final.size),
        )
        solved = study.metrics["solved"].run_mean[0].mean()
        for j, name in enumerate(_EVALUATION):
            per_run = study.metrics[name].run_mean[0].astype(np.float64)
            mean, sem = per_run.mean(), per_run.std(ddof=1) / math.sqrt(per_run.size)
            report["cartpole"][f"{backend} {name}"] = (mean, sem)
            ax_eval.errorbar(
                j + 0.15 * (2 * k - 1), mean, stats.half_width(sem, per_run.size),
                fmt="o", ms=4, capsize=3, color=f"C{k}",
                label=f"{backend}: {solved:.0%} of runs solved" if j == 0 else None,
            )  # fmt: skip
    ax_pole.set_xlabel("environment steps")
    ax_pole.set_ylabel("episode return")
    pole_runs = len(next(iter(pole["jax"].studies.values())).seeds)
    ax_pole.set_title(f"CartPole-v1, PPO (τ = 0.01): {pole_runs} runs", fontsize=10)
    ax_eval.set_xticks(range(len(_EVALUATION)), ["sampling", "greedy"])
    ax_eval.set_xlim(-0.6, len(_EVALUATION) - 0.4)
    ax_eval.set_ylabel("final policy's episode return")
    ax_eval.set_title("CartPole-v1, the final policies' evaluation", fontsize=10)
    for ax in (ax_lake, ax_pole, ax_eval):
        ax.legend(frameon=False)
        ax.grid(alpha=0.3)
    fig.suptitle("gymnasium on the host vs the JAX ports (mean, 95% CI)")
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "host_vs_jax.png", dpi=150)
    (jax_mean, jax_sem), (host_mean, host_sem) = report["frozenlake"]
    (study,) = lake["jax"].studies.values()
    z = (host_mean - jax_mean) / np.hypot(jax_sem, host_sem)
    agree = np.abs(z) <= Z95
    print(
        "FrozenLake-v1 episode return by tau: jax, host, z = difference / combined "
        "standard error (the taus share seeds, so their z are correlated):"
    )
    for value, a, b, zi in zip(study.values, jax_mean, host_mean, z, strict=True):
        print(f"  tau = {value:<10.4g} {a:.4f}  {b:.4f}  z = {zi:+.2f}")
    (a, sa), (b, sb) = report["cartpole"]["jax"], report["cartpole"]["host"]
    pole_agree = abs(a - b) <= Z95 * math.hypot(sa, sb)
    print(
        f"CartPole-v1 final return: jax {a:.1f} ± {sa:.1f}, host {b:.1f} ± {sb:.1f} "
        f"(agree within 95%: {'yes' if pole_agree else 'NO'})"
    )
    for name in _EVALUATION:
        (a, sa), (b, sb) = (report["cartpole"][f"{k} {name}"] for k in ("jax", "host"))
        agree = abs(a - b) <= Z95 * math.hypot(sa, sb)
        pole_agree = pole_agree and agree
        print(
            f"CartPole-v1 {name}: jax {a:.1f} ± {sa:.1f}, host {b:.1f} ± {sb:.1f} "
            f"(agree within 95%: {'yes' if agree else 'NO'})"
        )
    print(f"wrote {out / 'host_vs_jax.png'}")
    return {
        "frozenlake_agree": agree,
        "frozenlake_z": z,
        "cartpole": report["cartpole"],
        "cartpole_agree": pole_agree,
    }


def _constant_study() -> str:
    """The ``constant`` study of cartpole_softmax_pg.toml as an inline TOML table."""
    return (
        '{name = "constant", label = "PPO, constant τ", agent = "ppo", param = "tau", '
        "values = [0.01], learning_rate = 1e-3}"
    )


if __name__ == "__main__":
    from rl_softmax.engine import executor

    # a command, as `rl-softmax run`: every core and the compilation cache
    executor.use_cpu_cores()
    executor.enable_compilation_cache()
    main()
