"""Every results table of the docs, generated from results directories.

    python experiments/tables.py            # run what is missing, rewrite every table
    python experiments/tables.py dqn ppo    # only these tables
    python experiments/tables.py --check    # exit 1 if a page differs from its table

A table is a function from its configs' results to markdown. This script runs each
config into ``results/<config>`` (a complete results directory is reused, not run
again), writes the table with its caption to ``docs/tables/<name>.md``, and puts
that text into every page that shows it, between ``<!-- table: name -->`` and
``<!-- /table -->``. Nothing inside those markers is typed by hand; a test checks
that every page's block equals its generated file.

Every cell is a mean over seeds (each seed one replicate) with its 95% interval:
``± t sem`` with Student's t for the seeds' count
(:func:`rl_softmax.experiment.stats.half_width`). A count of seeds that pass a
threshold is a rate, and the caption names the CPU it was measured on: neural runs
agree across CPU models only statistically (docs/guide/reproducibility.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from rl_softmax.experiment import run_experiment, stats
from rl_softmax.experiment.config import SHIPPED_DIR

REPO = Path(__file__).resolve().parents[1]
TABLES_DIR = REPO / "docs" / "tables"
PAGES = (
    REPO / "README.md",
    *sorted(p for p in (REPO / "docs").rglob("*.md") if TABLES_DIR not in p.parents),
)
SOLVED = 475.0
"""CartPole-v1's reward threshold: a final policy at or above it solves the task."""

_BLOCK = re.compile(r"(<!-- table: ([\w-]+) -->\n)(.*?)(<!-- /table -->)", re.S)


# ---------------------------------------------------------------------- formatting


def interval(samples, digits: int | None = 0, scale: float = 1.0) -> str:
    """``mean ± half`` of per-run values (NaN runs left out), t interval;
    ``digits=None``: decimals for two significant digits of the half width."""
    mean, sem, n = stats.mean_sem(np.asarray(samples, np.float64) * scale)
    if n == 0:
        return "n/a"
    half = stats.half_width(sem, n)
    if digits is None:
        exponent = np.floor(np.log10(half)) if half > 0 else 0.0
        digits = int(np.clip(1 - exponent, 0, 4))
    if np.isnan(half):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def count(passed, defined) -> str:
    """``k / n`` seeds."""
    return f"{int(np.sum(passed))} / {int(np.sum(defined))}"


def tau_label(value: float) -> str:
    """``1/8``, ``2``, ``0``, ``inf``: a power of two as a fraction."""
    if value == 0 or not np.isfinite(value):
        return "0" if value == 0 else "inf"
    fraction = Fraction(float(value)).limit_denominator(1 << 20)
    return str(fraction)


def caption(results, extra: str = "") -> str:
    """What a table's numbers rest on: seeds, size, interval, versions, CPU."""
    meta = results.metadata
    config = results.config
    versions = meta["versions"]
    machine = meta.get("machine", {})
    libraries = ", ".join(
        f"{name} {versions[name]}" for name in ("jax", "optax", "gymnasium", "numpy")
    )
    return (
        f"*Config `{config.name}`: {config.num_seeds} seeds x {config.num_steps:,} "
        f"steps; mean ± 95% t interval over seeds{extra}. Measured with {libraries} "
        f"on {machine.get('cpu', 'an unrecorded CPU')} "
        f"({machine.get('cores', '?')} cores).*"
    )


# -------------------------------------------------------------------------- tables


@dataclasses.dataclass(frozen=True)
class Table:
    """A generated table: the configs it reads and how it renders them."""

    configs: tuple[str, ...]
    render: Callable[[Mapping[str, object]], str]
    extra: Callable[[Path], Mapping[str, object]] | None = None
    """Runs (or reads) what the table needs beyond its configs' results, from the
    results root: e.g. a config compiled for other CPU targets."""


def _runs(result, metric: str, window: str = "all") -> np.ndarray:
    m = result.metrics[metric]
    return np.asarray(m.run_mean if window == "all" else m.run_final, np.float64)


def _dqn_row(label: str, result, i: int) -> str:
    ev, greedy = _runs(result, "eval_return")[i], _runs(result, "greedy_return")[i]
    return (
        f"| {label} | {interval(ev)} | {interval(greedy)} "
        f"| {int(np.sum(ev >= SOLVED))} / {int(np.sum(greedy >= SOLVED))} "
        f"of {int(np.sum(~np.isnan(ev)))} "
        f"| {interval(_runs(result, 'return')[i])} "
        f"| {interval(_runs(result, 'entropy')[i], 2)} "
        f"| {interval(_runs(result, 'value_spread')[i], 2)} |"
    )


def dqn_table(results: Mapping[str, object]) -> str:
    """Boltzmann DQN on CartPole: every tau, the best epsilon and greedy."""
    res = results["cartpole_boltzmann_dqn"]
    lines = [
        "| behaviour | eval | greedy | seeds >= 475 (eval / greedy) of all | AUC "
        "| entropy (nats) | value spread |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    sweep = res.studies["boltzmann"]
    refs = res.metadata["studies"]["boltzmann"]["references"].values()
    for i, value in enumerate(np.asarray(sweep.values, np.float64)):
        if value in refs:
            continue
        lines.append(_dqn_row(f"Boltzmann tau = {tau_label(value)}", sweep, i))
    eps = res.studies["epsilon_greedy"]
    best = res.best("epsilon_greedy", metric="eval_return", window="final")
    lines.append(
        _dqn_row(f"epsilon-greedy, best (epsilon = {best.value:.3g})", eps, best.index)
    )
    lines.append(_dqn_row("greedy (tau = 0)", res.studies["greedy"], 0))
    note = (
        '; "eval" and "greedy": mean return of the final policy over evaluation '
        'episodes, sampling its softmax or taking its argmax; "AUC": the mean '
        "training-episode return over the run (per run, then over seeds)"
    )
    return "\n".join(lines) + "\n\n" + caption(res, note)


def soft_dqn_table(results: Mapping[str, object]) -> str:
    """The max backup against the soft (free-energy) backup at matched tau."""
    res = results["cartpole_soft_dqn"]
    hard, soft = res.studies["dqn"], res.studies["soft_dqn"]
    lines = [
        "| tau | DQN eval | soft DQN eval | DQN greedy | soft DQN greedy "
        "| DQN AUC | soft DQN AUC | seeds >= 475 eval, DQN vs soft |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    hard_values = np.asarray(hard.values, np.float64)
    for j, value in enumerate(np.asarray(soft.values, np.float64)):
        (match,) = np.flatnonzero(hard_values == value)
        h_ev, s_ev = _runs(hard, "eval_return")[match], _runs(soft, "eval_return")[j]
        lines.append(
            f"| {tau_label(value)} | {interval(h_ev)} | {interval(s_ev)} "
            f"| {interval(_runs(hard, 'greedy_return')[match])} "
            f"| {interval(_runs(soft, 'greedy_return')[j])} "
            f"| {interval(_runs(hard, 'return')[match])} "
            f"| {interval(_runs(soft, 'return')[j])} "
            f"| {int(np.sum(h_ev >= SOLVED))} vs {int(np.sum(s_ev >= SOLVED))} |"
        )
    return "\n".join(lines) + "\n\n" + caption(res)


def _ppo_table(res) -> str:
    lines = [
        "| study | tau | eval | greedy | runs solved | final entropy (nats) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for study in res.config.studies:
        result = res.studies[study.name]
        for i, value in enumerate(np.asarray(result.values, np.float64)):
            solved = _runs(result, "solved")[i]
            setting = tau_label(value) if study.param == "tau" else f"{value:.3g}"
            lines.append(
                f"| {study.label} | {study.param} = {setting} "
                f"| {interval(_runs(result, 'eval_return')[i])} "
                f"| {interval(_runs(result, 'greedy_return')[i])} "
                f"| {count(solved == 1, ~np.isnan(solved))} "
                f"| {interval(_runs(result, 'entropy', 'final')[i], 2)} |"
            )
    return (
        "\n".join(lines)
        + "\n\n"
        + caption(
            res,
            '; "runs solved": the mean return of 100 training episodes reached '
            "the reward threshold",
        )
    )


def cartpole_ppo_table(results: Mapping[str, object]) -> str:
    """Softmax PPO on CartPole-v1, the entropy temperature swept."""
    return _ppo_table(results["cartpole_entropy_sweep"])


def acrobot_ppo_table(results: Mapping[str, object]) -> str:
    """Softmax PPO on Acrobot-v1, the entropy temperature swept."""
    return _ppo_table(results["acrobot_entropy_sweep"])


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
                f"| {interval(_runs(result, 'reward')[i], 3)} "
                f"| {interval(_runs(result, 'optimal', 'final')[i], 1, 100.0)} "
                f"| {interval(_runs(result, 'entropy', 'final')[i], 2)} |"
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
            f"| {interval(_runs(result, 'return')[i], 3)} "
            f"| {interval(_runs(result, 'success')[i], 1, 100.0)} "
            f"| {interval(_runs(result, greedy_metric)[i], 1, scale)} |"
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


def _sibling(name: str):
    """``experiments/<name>.py`` as a module (the scripts are not a package)."""
    if name not in sys.modules:
        path = Path(__file__).resolve().parent / f"{name}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses and NamedTuples look it up
        spec.loader.exec_module(module)
    return sys.modules[name]


def atlas_table(results: Mapping[str, object]) -> str:
    """The temperature atlas: each family's best tau, raw and relative."""
    atlas = _sibling("temperature_atlas")

    lines = [
        "| environment | value spread | best tau (95% bootstrap) | best tau / spread "
        "| value gap | best tau / gap | tau½ / spread | performance at best |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for family in atlas.FAMILIES:
        res = results[family.config]
        curve, row = atlas.analyse(family, res)
        result = res.studies[family.study]
        i = int(np.flatnonzero(np.asarray(result.values) == np.float32(row.best))[0])
        gap = "" if np.isnan(row.gap) else f"{row.gap:.3g}"
        by_gap = "" if np.isnan(row.gap) else f"{row.best / row.gap:.2g}"
        half = atlas.half_temperature(curve, "relative")
        scale = {"learned": " (learned)", "unit": " (standardised)"}.get(
            family.scale, ""
        )
        lines.append(
            f"| {family.name} ({family.metric}, {family.window}) "
            f"| {row.scale:.3g}{scale} "
            f"| {tau_label(row.best)} ({tau_label(row.low)} to {tau_label(row.high)}) "
            f"| {row.best_relative:.2g} | {gap} | {by_gap} "
            f"| {'' if np.isnan(half) else f'{half:.3g}'} "
            f"| {interval(_runs(result, family.metric, family.window)[i], None)} |"
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
            score = _runs(result, best.metric)
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
    return _sibling("mellowmax_paper").results_table(report).rstrip("\n")


ISA_TARGETS = (("native", ""), ("AVX2", "AVX2"), ("SSE4.2", "SSE4_2"))
"""XLA CPU targets of the ISA table: (label, ``--xla_cpu_max_isa``; "": none)."""
ISA_STUDY = (
    'studies=[{name = "boltzmann", label = "Boltzmann DQN, constant τ", '
    'agent = "dqn", anneal_lr = true, rule = "boltzmann", param = "tau", '
    "values = [0.125]}]"
)
"""cartpole_boltzmann_dqn's Boltzmann study at tau = 1/8 alone (a seed's run is the
same whatever values run beside it)."""


def isa_runs(root: Path) -> dict[str, object]:
    """``cartpole_boltzmann_dqn`` at tau = 1/8, compiled for each XLA CPU target, in
    a fresh process each (``XLA_FLAGS`` is read when JAX starts); a complete
    results directory is reused."""
    from rl_softmax.experiment import results as results_io

    found = {}
    for label, isa in ISA_TARGETS:
        out = root / f"isa_{isa or 'native'}"
        complete = (out / "metadata.json").exists() and (
            results_io.load_metadata(out).get("status") == "complete"
        )
        if not complete:
            env = dict(os.environ, XLA_FLAGS=f"--xla_cpu_max_isa={isa}" if isa else "")
            subprocess.run(
                [sys.executable, "-m", "rl_softmax", "run", "cartpole_boltzmann_dqn",
                 "--set", ISA_STUDY, "--out", str(out), "--no-plots", "--no-cache",
                 "--quiet"],
                env=env, check=True,
            )  # fmt: skip
        found[f"isa:{label}"] = (
            results_io.load_study(out, "boltzmann"),
            results_io.load_metadata(out),
        )
    return found


def isa_table(results: Mapping[str, object]) -> str:
    """The same DQN config and seeds compiled for three CPU targets on one machine."""
    lines = [
        "| XLA CPU target | `XLA_FLAGS` | eval at tau = 1/8 | seeds >= 475 "
        "| each seed's eval return |",
        "|---|---|---:|---:|---|",
    ]
    for label, isa in ISA_TARGETS:
        result, metadata = results[f"isa:{label}"]
        assert metadata["machine"]["xla_flags"] == (
            f"--xla_cpu_max_isa={isa}" if isa else ""
        ), metadata["machine"]
        (i,) = np.flatnonzero(np.asarray(result.values) == np.float32(0.125))
        ev = _runs(result, "eval_return")[i]
        flags = f"`--xla_cpu_max_isa={isa}`" if isa else "(none)"
        lines.append(
            f"| {label} | {flags} | {interval(ev)} "
            f"| {int(np.sum(ev >= SOLVED))} of {ev.size} "
            f"| {' '.join(f'{x:.0f}' for x in ev)} |"
        )
    machine = metadata["machine"]
    versions = metadata["versions"]
    return (
        "\n".join(lines)
        + "\n\n"
        + (
            "*Config `cartpole_boltzmann_dqn`, its Boltzmann study at tau = 1/8 alone, "
            f"{result.seeds.size} seeds; mean ± 95% t interval over seeds; one process "
            f"per target. Measured with jax {versions['jax']} on {machine['cpu']} "
            f"({machine['cores']} cores).*"
        )
    )


TABLES: dict[str, Table] = {
    "dqn": Table(("cartpole_boltzmann_dqn",), dqn_table),
    "soft-dqn": Table(("cartpole_soft_dqn",), soft_dqn_table),
    "cartpole-ppo": Table(("cartpole_entropy_sweep",), cartpole_ppo_table),
    "acrobot-ppo": Table(("acrobot_entropy_sweep",), acrobot_ppo_table),
    "anneal": Table(ANNEAL, anneal_table),
    "isa": Table((), isa_table, isa_runs),
    "mellowmax-paper": Table((), mellowmax_paper_table),
    "temperature-rules": Table(
        tuple(dict.fromkeys(c for _, studies in RULES for c, _, _ in studies)),
        temperature_rules_table,
    ),
    "toy-text": Table(("frozenlake_tau_sweep", "cliff_tau_sweep"), toy_text_table),
    "atlas": Table(
        (
            "bandit_tau_sweep",
            "frozenlake_tau_sweep",
            "cliff_tau_sweep",
            "taxi_tau_sweep",
            "cartpole_boltzmann_dqn",
            "cartpole_entropy_sweep",
        ),
        atlas_table,
    ),  # fmt: skip
}
"""Every generated table, by the name its pages mark it with."""


# ----------------------------------------------------------------------- the pages


def blocks(text: str) -> list[tuple[str, str]]:
    """``(name, content)`` of every generated block of a page."""
    return [(m.group(2), m.group(3)) for m in _BLOCK.finditer(text)]


def fill(text: str, tables: Mapping[str, str]) -> str:
    """``text`` with each block whose table is in ``tables`` replaced by it."""

    def replace(match: re.Match) -> str:
        name = match.group(2)
        if name not in tables:
            return match.group(0)
        return match.group(1) + tables[name].rstrip("\n") + "\n" + match.group(4)

    return _BLOCK.sub(replace, text)


def stale_pages(
    pages: Sequence[Path] = PAGES, tables_dir: Path = TABLES_DIR
) -> list[str]:
    """The blocks of ``pages`` that differ from their generated files."""
    stale = []
    for page in pages:
        for name, content in blocks(page.read_text(encoding="utf-8")):
            path = tables_dir / f"{name}.md"
            if not path.exists():
                stale.append(f"{page.name}: table {name!r} has no {path.name}")
            elif content.rstrip("\n") != path.read_text(encoding="utf-8").rstrip("\n"):
                stale.append(f"{page.name}: table {name!r} differs from {path.name}")
    return stale


def results_of(
    configs: Sequence[str], root: Path, overrides: Sequence[str] = ()
) -> dict[str, object]:
    """Each config's results, run into ``root/<config>`` unless already there."""
    return {
        name: run_experiment(
            SHIPPED_DIR / f"{name}.toml", root / name, overrides=overrides,
            progress=True, log=print,
        )
        for name in configs
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, str]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "names", nargs="*", help=f"tables (default all: {list(TABLES)})"
    )
    parser.add_argument("--results", default="results", help="parent of the results")
    parser.add_argument("--out", default=str(TABLES_DIR), help="where tables go")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="config override for every config (a reduced run; the pages are then "
        "left alone)",
    )  # fmt: skip
    parser.add_argument("--check", action="store_true", help="only compare pages")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_pages()
        print("\n".join(stale) or "every table in the pages is its generated file")
        return {} if stale else {"ok": ""}
    unknown = sorted(set(args.names) - set(TABLES))
    if unknown:
        parser.error(f"unknown tables {unknown}: expected some of {list(TABLES)}")
    names = args.names or list(TABLES)
    configs = list(dict.fromkeys(c for n in names for c in TABLES[n].configs))
    results = results_of(configs, Path(args.results), args.set)
    for name in names:
        if TABLES[name].extra is not None:
            results.update(TABLES[name].extra(Path(args.results)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tables = {}
    for name in names:
        text = TABLES[name].render(results)
        tables[name] = text
        (out / f"{name}.md").write_text(text + "\n", encoding="utf-8")
        print(f"wrote {out / f'{name}.md'}")
    if not args.set and out.resolve() == TABLES_DIR.resolve():
        for page in PAGES:
            text = page.read_text(encoding="utf-8")
            filled = fill(text, tables)
            if filled != text:
                page.write_text(filled, encoding="utf-8")
                print(f"updated {page.relative_to(REPO)}")
    return tables


if __name__ == "__main__":
    from rl_softmax.engine import executor

    executor.use_cpu_cores()
    executor.enable_compilation_cache()
    tables = main()
    sys.exit(0 if tables else 1)
