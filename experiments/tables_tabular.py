"""The generated tables of the exact environments: the testbed's anneal comparison,
FrozenLake and CliffWalking, the temperature atlas, the temperature rules and the
mellowmax paper's results (experiments/tables.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import mellowmax_paper
import numpy as np
import temperature_atlas
from table_cells import caption, interval, per_run, tau_label

from rl_softmax.experiment import stats

REPO = Path(__file__).resolve().parents[1]

ANNEAL = (
    "bandit_tau_sweep",
    "anneal_boltzmann_schedule",
    "anneal_target_entropy",
    "anneal_gradient_bandit",
)


def anneal_table(results: Mapping[str, object]) -> str:
    """From uniform to greedy on the testbed: each study's best setting."""
    lines = [
        "| method (best setting) | average reward | % optimal, last 100 steps "
        "| entropy, last 100 steps |",
        "|---|---:|---:|---:|",
    ]
    for name in ANNEAL:
        res = results[name]
        for study in res.config.studies:
            result = res.studies[study.name]
            best = res.best(study.name)
            i = best.index
            lines.append(
                f"| {study.label} ({study.param} = {best.value:.4g}) "
                f"| {interval(per_run(result, 'reward')[i], 3)} "
                f"| {interval(per_run(result, 'optimal', 'final')[i], 1, 100.0)} "
                f"| {interval(per_run(result, 'entropy', 'final')[i], 2)} |"
            )
    return (
        "\n".join(lines)
        + "\n\n"
        + caption(
            results[ANNEAL[0]],
            "; each row's setting is the best of its own sweep by average "
            "reward, chosen on the runs it is scored on (a small optimistic "
            "bias shared by every row)",
        )
    )


def _toy_text_rows(res, study: str, greedy_metric: str, scale: float) -> list[str]:
    result = res.studies[study]
    references = res.metadata["studies"][study]["references"]
    best = res.best(study)
    low, high = stats.best_value_interval(result, references=references)
    ties = stats.indistinguishable(result, best, references=references)
    values = np.asarray(result.values, np.float64)
    rows = [(f"best: tau = {tau_label(best.value)}", best.index)]
    rows += [(label, int(np.flatnonzero(values == v)[0])) for label, v in
             references.items()]  # fmt: skip
    name = res.config.env.name
    lines = []
    for label, i in rows:
        if i == best.index:
            label += f" (95% bootstrap {tau_label(low)} to {tau_label(high)}"
            label += f"; as good: {', '.join(map(tau_label, ties))})" if ties else ")"
        lines.append(
            f"| {name} | {label} "
            f"| {interval(per_run(result, 'return')[i], 3)} "
            f"| {interval(per_run(result, 'success')[i], 1, 100.0)} "
            f"| {interval(per_run(result, greedy_metric)[i], 1, scale)} |"
        )
    return lines


def toy_text_table(results: Mapping[str, object]) -> str:
    """FrozenLake and CliffWalking: the best tau while learning and the limits."""
    lines = [
        "| environment | behaviour | return while learning | % successful episodes "
        "| final greedy policy (exact) |",
        "|---|---|---:|---:|---:|",
    ]
    lines += _toy_text_rows(
        results["frozenlake_tau_sweep"], "q_learning", "greedy_success", 100.0
    )
    lines += _toy_text_rows(
        results["cliff_tau_sweep"], "q_learning", "greedy_return", 1
    )
    configs = ", ".join(f"`{n}`" for n in ("frozenlake_tau_sweep", "cliff_tau_sweep"))
    return (
        "\n".join(lines)
        + "\n\n"
        + (
            f"*Configs {configs}: "
            + "; ".join(
                f"{r.config.num_seeds} seeds x {r.config.num_steps:,} steps"
                for r in (results["frozenlake_tau_sweep"], results["cliff_tau_sweep"])
            )
            + ". Mean ± 95% t interval over seeds (each run's mean over its own "
            "episodes); the final greedy policy: FrozenLake's success probability (%), "
            'CliffWalking\'s return, both computed exactly from the tables. "As good": '
            "not distinguishable from the best by a paired t test. The exact "
            "environments give these numbers bit for bit on any x86-64 CPU with AVX2 "
            "and FMA (docs/guide/reproducibility.md).*"
        )
    )


_SCALE_NOTES = {"learned": " (learned)", "unit": " (standardised)"}


def atlas_table(results: Mapping[str, object]) -> str:
    """The temperature atlas: each family's best tau, raw and relative."""

    lines = [
        "| environment | value spread | best tau (95% bootstrap) | best tau / spread "
        "| value gap | best tau / gap | tau½ / spread | performance at best |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for family in temperature_atlas.FAMILIES:
        res = results[family.config]
        curve, row = temperature_atlas.analyse(family, res)
        result = res.studies[family.study]
        i = int(np.flatnonzero(np.asarray(result.values) == np.float32(row.best))[0])
        gap = "" if np.isnan(row.gap) else f"{row.gap:.3g}"
        by_gap = "" if np.isnan(row.gap) else f"{row.best / row.gap:.2g}"
        half = temperature_atlas.half_temperature(curve, "relative")
        scale = {"learned": " (learned)", "unit": " (standardised)"}.get(
            family.scale, ""
        )
        lines.append(
            f"| {family.name} ({family.metric}, {family.window}) "
            f"| {row.scale:.3g}{scale} "
            f"| {tau_label(row.best)} ({tau_label(row.low)} to {tau_label(row.high)}) "
            f"| {row.best_relative:.2g} | {gap} | {by_gap} "
            f"| {'' if np.isnan(half) else f'{half:.3g}'} "
            f"| {interval(per_run(result, family.metric, family.window)[i], None)} |"
        )
    return (
        "\n".join(lines)
        + "\n\n"
        + caption(
            results["cartpole_boltzmann_dqn"],
            "; each family at its shipped config's size (the neural ones: the config "
            "named here; the others: `bandit_tau_sweep`, `frozenlake_tau_sweep`, "
            "`cliff_tau_sweep`, `taxi_tau_sweep`)",
        )
    )


RULES = (
    ("10-armed testbed", (
        ("bandit_tau_sweep", "boltzmann", "constant tau"),
        ("anneal_target_entropy", "solved_tau", "target entropy, tau solved per step"),
        ("anneal_target_entropy", "learned_tau", "automatic tau (SAC loss, Adam)"),
        ("bandit_mellowmax", "mellowmax", "mellowmax policy, tau per state"),
    )),
    ("FrozenLake 4x4", (
        ("frozenlake_tau_sweep", "q_learning", "constant tau"),
        ("frozenlake_temperature_rules", "target_entropy",
         "target entropy, tau solved per state"),
        ("frozenlake_temperature_rules", "mellowmax",
         "mellowmax policy, tau per state"),
    )),
    ("CliffWalking", (
        ("cliff_tau_sweep", "q_learning", "constant tau"),
        ("cliff_temperature_rules", "target_entropy",
         "target entropy, tau solved per state"),
        ("cliff_temperature_rules", "mellowmax", "mellowmax policy, tau per state"),
    )),
)  # fmt: skip
"""The temperature-rules table: (environment, ((config, study, how tau is set)))."""


def _setting(value: float, param: str) -> str:
    return tau_label(value) if param in ("tau", "omega") else f"{value:.3g}"


def temperature_rules_table(results: Mapping[str, object]) -> str:
    """Constant tau, target entropy, automatic tau and the mellowmax policy: each
    study's best setting on the same environment, seeds and size."""
    lines = [
        "| environment | how tau is set | best setting (95% bootstrap) "
        "| objective at best | settings as good as the best |",
        "|---|---|---|---:|---:|",
    ]
    for env, studies in RULES:
        for config, name, how in studies:
            res = results[config]
            result = res.studies[name]
            param = next(s.param for s in res.config.studies if s.name == name)
            references = res.metadata["studies"][name]["references"]
            best = res.best(name)
            low, high = stats.best_value_interval(result, references=references)
            ties = stats.indistinguishable(result, best, references=references)
            candidates = np.size(result.values) - len(references)
            score = per_run(result, best.metric)
            lines.append(
                f"| {env} | {how} | {param} = {_setting(best.value, param)} "
                f"({_setting(low, param)} to {_setting(high, param)}) "
                f"| {best.metric} {interval(score[best.index], None)} "
                f"| {len(ties)} of {candidates - 1} |"
            )
    return (
        "\n".join(lines)
        + "\n\n"
        + (
            "*Each study's best setting by its objective over all steps (the "
            "testbed: reward per step; the grids: return per episode while "
            "learning), mean ± 95% t interval over seeds; the best value with its "
            '95% bootstrap interval over seeds; "as good": the other swept '
            "settings a paired t test over the same seeds cannot tell from the "
            "best. Configs "
            + ", ".join(
                sorted({f"`{c}`" for _, studies in RULES for c, _, _ in studies})
            )
            + "; "
            + "; ".join(
                f"{env} {results[studies[0][0]].config.num_seeds} seeds x "
                f"{results[studies[0][0]].config.num_steps:,} steps"
                for env, studies in RULES
            )
            + ". Exact environments: the same bits on any x86-64 CPU with AVX2 "
            "and FMA.*"
        )
    )


def mellowmax_paper_table(results: Mapping[str, object]) -> str:
    """Asadi & Littman (2017) reproduced: from the committed report of
    ``experiments/mellowmax_paper.py`` (rerun it to refresh the report)."""
    del results  # not from a results directory: the script's own report
    report = json.loads(
        (REPO / "docs" / "figures" / "mellowmax_paper.json").read_text("utf-8")
    )
    return mellowmax_paper.results_table(report).rstrip("\n")
