"""The temperature atlas: which tau is best, relative to what, across every
environment family the toolkit runs.

For each family it runs one tau sweep (a shipped config, every tau and seed in one
compiled program) and draws the performance-against-tau curves on one figure, with
tau both raw and divided by the environment's value scale:

* where an oracle exists, the spread of the optimal action values: the standard
  deviation over actions of ``Q*(s, .)`` (the bandit's ``q*``), averaged over the
  states where the actions differ (over the testbed's random draws for the bandit);
* where none does, the spread of the learned values: for Boltzmann DQN the
  per-step standard deviation over actions of the Q-network's values in the state
  acted in (the ``value_spread`` metric, at each tau); for the softmax policy
  gradient the advantages are standardised per batch, so the scale is 1 and the
  entropy temperature is already relative.

Performance is each family's own objective (mean reward per step, mean return per
episode over training, final evaluation return), rescaled per family to [0, 1] over
its swept taus (1: its best tau). The best tau comes with a 95% bootstrap interval
over seeds (:func:`rl_softmax.experiment.stats.best_value_interval`). The script
prints a table and says whether the best tau is a constant fraction of the value
scale: how far apart the families' best taus are, raw and relative.

    python experiments/temperature_atlas.py            # the configs as shipped
    python experiments/temperature_atlas.py --quick    # fewer seeds and steps

Results go to ``results/temperature_atlas/<family>`` (a rerun reuses them) and the
figure to ``docs/figures/temperature_atlas.png``.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from rl_softmax.experiment import run_experiment, stats

_HERE = Path(__file__).resolve().parent
_CONFIGS = _HERE.parent / "rl_softmax" / "configs"


class Family(NamedTuple):
    """One environment family of the atlas.

    Attributes:
      name: what the figure calls it.
      config: the shipped config (file stem) with its tau sweep.
      study: the study that sweeps tau.
      metric: the performance measure, ``window`` its window.
      scale: how the value scale is found: ``"bandit"``, ``"tabular"`` (an oracle),
        ``"learned"`` (the run's ``value_spread``) or ``"unit"`` (standardised).
      quick: overrides for ``--quick``.
    """

    name: str
    config: str
    study: str
    metric: str
    window: str
    scale: str
    quick: tuple[str, ...]


FAMILIES = (
    Family("10-armed testbed", "bandit_tau_sweep", "boltzmann", "reward", "all",
           "bandit", ("num_seeds=200",)),
    Family("FrozenLake 4x4", "frozenlake_tau_sweep", "q_learning", "return", "all",
           "tabular", ("num_seeds=100",)),
    Family("CliffWalking", "cliff_tau_sweep", "q_learning", "return", "all",
           "tabular", ("num_seeds=20",)),
    Family("Taxi", "taxi_tau_sweep", "q_learning", "return", "all", "tabular",
           ("num_seeds=10", "num_steps=50000", "final_steps=5000")),
    Family("CartPole, Boltzmann DQN", "cartpole_boltzmann_dqn", "boltzmann",
           "eval_return", "final", "learned", ("num_seeds=3",)),
    Family("CartPole, softmax PPO", "cartpole_entropy_sweep", "ppo", "eval_return",
           "final", "unit", ("num_seeds=3",)),
)  # fmt: skip


def _spread_and_gap(q: np.ndarray) -> tuple[float, float]:
    """``q: [N, A]`` action values: the mean std over actions and the median gap
    between the best and the second-best action, over rows whose actions differ."""
    q = np.asarray(q, np.float64)
    spread = q.std(axis=1)
    ranked = np.sort(q, axis=1)
    gap = ranked[:, -1] - ranked[:, -2]
    differ = spread > 1e-12
    return float(spread[differ].mean()), float(np.median(gap[differ]))


def _oracle_values(family: Family, config) -> np.ndarray:
    """``[N, A]`` true action values: Q* of every state, or draws of the bandit's q*
    from its own reset."""
    from rl_softmax.experiment import registry

    env = registry.ENVS[config.env.name].make(**config.env.sizes, **config.env.options)
    if family.scale == "tabular":
        return np.asarray(env.action_values)
    params = env.default_params._replace(
        **{k: float(v) for k, v in config.env.params.items()}
    )
    keys = jax.random.split(jax.random.key(config.seed), 100_000)
    _, state = jax.vmap(env.reset, (0, None))(keys, params)
    return np.asarray(state.q_star)


def value_scale(family: Family, results) -> tuple[np.ndarray, float]:
    """``([V] value spread at each swept value, value gap or NaN)``: an oracle's
    is one number; a learned one differs by tau."""
    result = results.studies[family.study]
    num_values = len(result.values)
    if family.scale in ("bandit", "tabular"):
        spread, gap = _spread_and_gap(_oracle_values(family, results.config))
        return np.full(num_values, spread), gap
    if family.scale == "learned":
        mean, _, _ = stats.seed_stats(result, "value_spread", "all")
        return mean, math.nan
    return np.ones(num_values), math.nan


class Row(NamedTuple):
    family: str
    scale: float
    best: float
    low: float
    high: float
    best_relative: float
    low_relative: float
    high_relative: float
    gap: float
    score: float


def analyse(family: Family, results) -> tuple[dict[str, np.ndarray], Row]:
    """The family's curve (taus, relative taus, rescaled performance) and its row."""
    result = results.studies[family.study]
    references = results.metadata["studies"][family.study]["references"]
    values = np.asarray(result.values, np.float64)
    candidate = ~np.isin(values, np.asarray(list(references.values()), np.float64))
    candidate &= (values > 0) & np.isfinite(values)
    mean, sem, n = stats.seed_stats(result, family.metric, family.window)
    half = stats.half_width(sem, n)
    scale, gap = value_scale(family, results)
    keep = candidate & ~np.isnan(mean)
    taus, perf, perf_half = values[keep], mean[keep], half[keep]
    order = np.argsort(taus)
    taus, perf, perf_half = taus[order], perf[order], perf_half[order]
    scale = scale[keep][order]
    low, high = perf.min(), perf.max()
    span = high - low if high > low else 1.0
    best = stats.best_setting(
        result, metric=family.metric, window=family.window, references=references
    )
    interval = stats.best_value_interval(
        result, metric=family.metric, window=family.window, references=references
    )
    at = {float(t): s for t, s in zip(taus, scale, strict=True)}
    curve = {
        "tau": taus,
        "relative": taus / scale,
        "score": (perf - low) / span,
        "score_half": perf_half / span,
    }
    row = Row(
        family.name, at[best.value], best.value, *interval,
        best.value / at[best.value], interval[0] / at[interval[0]],
        interval[1] / at[interval[1]], gap, best.mean,
    )  # fmt: skip
    return curve, row


def draw(curves: dict[str, dict], rows: list[Row], path: Path) -> Path:
    """Performance against raw and relative tau, and the best taus with intervals."""
    from matplotlib.figure import Figure

    from rl_softmax.plotting import style

    fig = Figure(figsize=(15.0, 4.4), dpi=style.DPI, layout="constrained")
    raw, rel, best = fig.subplots(1, 3)
    for ax in (raw, rel, best):
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(True, which="major", alpha=0.3, linewidth=0.6)
    for i, (name, curve) in enumerate(curves.items()):
        color = style.PALETTE[i % len(style.PALETTE)]
        for ax, x in ((raw, curve["tau"]), (rel, curve["relative"])):
            ax.plot(x, curve["score"], marker="o", ms=3, color=color, label=name)
            ax.fill_between(
                x, curve["score"] - curve["score_half"],
                curve["score"] + curve["score_half"], color=color, alpha=0.15, lw=0,
            )  # fmt: skip
    for j, row in enumerate(rows):
        color = style.PALETTE[j % len(style.PALETTE)]
        for x, lo, hi, marker in ((row.best, row.low, row.high, "o"),
                                  (row.best_relative, row.low_relative,
                                   row.high_relative, "s")):  # fmt: skip
            best.errorbar(
                x, j + (0.15 if marker == "s" else -0.15),
                xerr=[[x - lo], [hi - x]], fmt=marker, color=color, capsize=3,
                mfc="white" if marker == "s" else color,
            )  # fmt: skip
    for ax, label in ((raw, "temperature τ"), (rel, "τ / value scale")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel(label)
        ax.set_ylabel("performance (0: worst τ, 1: best τ)")
    raw.set_title("against τ")
    rel.set_title("against τ relative to the value scale")
    raw.legend(fontsize=7, loc="lower left")
    best.set_xscale("log", base=2)
    best.set_yticks(range(len(rows)), [r.family for r in rows], fontsize=7)
    best.invert_yaxis()
    best.set_xlabel("best τ, 95% bootstrap interval (● raw, □ relative)")
    best.set_title("best temperature")
    return style.save_figure(fig, path)


def half_temperature(curve: dict[str, np.ndarray], key: str = "tau") -> float:
    """The temperature above the best where the rescaled performance first falls
    below 1/2 (log-linear between the two swept values around it; NaN if never)."""
    x, y = np.log2(curve[key]), curve["score"]
    top = int(np.argmax(y))
    for i in range(top + 1, len(y)):
        if y[i] < 0.5:
            t = (y[i - 1] - 0.5) / (y[i - 1] - y[i])
            return float(2 ** (x[i - 1] + t * (x[i] - x[i - 1])))
    return math.nan


def _log2_range(xs) -> float:
    xs = np.log2(np.asarray(xs, np.float64))
    return float(xs.max() - xs.min())


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and steps")
    parser.add_argument(
        "--families", nargs="*", help="config stems to include (default: all)"
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="an override for every family's config (after --quick's)",
    )  # fmt: skip
    parser.add_argument("--out", default="results/temperature_atlas")
    parser.add_argument(
        "--figure",
        default=str(_HERE.parent / "docs" / "figures" / "temperature_atlas.png"),
    )
    args = parser.parse_args(argv)
    families = [f for f in FAMILIES if not args.families or f.config in args.families]
    curves, rows = {}, []
    for family in families:
        results = run_experiment(
            _CONFIGS / f"{family.config}.toml",
            Path(args.out) / (family.config + ("_quick" if args.quick else "")),
            overrides=[*(family.quick if args.quick else ()), *args.set],
            progress=True, log=print,
        )  # fmt: skip
        curve, row = analyse(family, results)
        curves[family.name] = curve
        rows.append(row)
    print()
    print(
        "| environment | value spread | best τ (95% interval) | best τ / spread "
        "(95% interval) | value gap | best τ / gap | τ½ / spread | performance "
        "at best |"
    )
    print("|---|---:|---|---|---:|---:|---:|---:|")
    halves = {}
    for r in rows:
        halves[r.family] = half_temperature(curves[r.family], "relative")
        print(
            f"| {r.family} | {r.scale:.3g} | {r.best:.3g} ({r.low:.3g}-{r.high:.3g}) "
            f"| {r.best_relative:.3g} ({r.low_relative:.3g}-{r.high_relative:.3g}) "
            f"| {r.gap:.3g} | {r.best / r.gap:.3g} | {halves[r.family]:.3g} "
            f"| {r.score:.4g} |"
        )
    if len(rows) > 1:
        raw = _log2_range([r.best for r in rows])
        rel = _log2_range([r.best_relative for r in rows])
        gaps = [r.best / r.gap for r in rows if not math.isnan(r.gap)]
        print(
            f"\nbest tau across families spans a factor {2**raw:.3g} raw, "
            f"{2**rel:.3g} relative to the value spread"
            + (f", {2 ** _log2_range(gaps):.3g} relative to the value gap "
               "(oracle families)" if len(gaps) > 1 else "") + "."
        )  # fmt: skip
    defined = [h for h in halves.values() if not math.isnan(h)]
    if len(defined) > 1:
        print(
            "performance falls to half at tau / spread = "
            f"{min(defined):.3g}-{max(defined):.3g} (τ½), a factor "
            f"{2 ** _log2_range(defined):.3g} across families."
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "atlas.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(Row._fields)
        writer.writerows(rows)
    path = draw(curves, rows, Path(args.figure))
    print(f"wrote {out / 'atlas.csv'} and {path}")
    return rows


if __name__ == "__main__":
    from rl_softmax.engine import executor

    # a command, as `rl-softmax run`: every core and the compilation cache
    executor.use_cpu_cores()
    executor.enable_compilation_cache()
    main()
