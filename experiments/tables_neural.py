"""The generated tables of the neural agents: Boltzmann and soft DQN, softmax PPO,
and one DQN config compiled for three CPU targets (experiments/tables.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from table_cells import SOLVED, caption, count, interval, per_run, tau_label

from rl_softmax.experiment import stats


def _dqn_row(label: str, result, i: int) -> str:
    ev, greedy = per_run(result, "eval_return")[i], per_run(result, "greedy_return")[i]
    return (
        f"| {label} | {interval(ev)} | {interval(greedy)} "
        f"| {int(np.sum(ev >= SOLVED))} / {int(np.sum(greedy >= SOLVED))} "
        f"of {int(np.sum(~np.isnan(ev)))} "
        f"| {interval(per_run(result, 'return')[i])} "
        f"| {interval(per_run(result, 'entropy')[i], 2)} "
        f"| {interval(per_run(result, 'value_spread')[i], 2)} |"
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
        h_ev, s_ev = (
            per_run(hard, "eval_return")[match],
            per_run(soft, "eval_return")[j],
        )
        lines.append(
            f"| {tau_label(value)} | {interval(h_ev)} | {interval(s_ev)} "
            f"| {interval(per_run(hard, 'greedy_return')[match])} "
            f"| {interval(per_run(soft, 'greedy_return')[j])} "
            f"| {interval(per_run(hard, 'return')[match])} "
            f"| {interval(per_run(soft, 'return')[j])} "
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
            solved = per_run(result, "solved")[i]
            setting = tau_label(value) if study.param == "tau" else f"{value:.3g}"
            lines.append(
                f"| {study.label} | {study.param} = {setting} "
                f"| {interval(per_run(result, 'eval_return')[i])} "
                f"| {interval(per_run(result, 'greedy_return')[i])} "
                f"| {count(solved == 1, ~np.isnan(solved))} "
                f"| {interval(per_run(result, 'entropy', 'final')[i], 2)} |"
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


def host_vs_jax_runs(root: Path) -> dict[str, object]:
    """FrozenLake's tau sweep and CartPole's PPO on both backends, at
    ``experiments/host_vs_jax.py``'s full size, into ``root/host_vs_jax``."""
    import host_vs_jax

    lake, pole = host_vs_jax.runs(
        host_vs_jax.NUM_SEEDS, host_vs_jax.NUM_STEPS, host_vs_jax.UPDATES,
        root / "host_vs_jax",
    )  # fmt: skip
    return {"host_vs_jax:lake": lake, "host_vs_jax:pole": pole}


def _backend_cells(jax_runs, host_runs) -> str:
    """``| JAX | host | z |``: both means with t intervals, and the difference in
    combined standard errors."""
    (m_j, s_j, _), (m_h, s_h, _) = (
        stats.mean_sem(np.asarray(x, np.float64)) for x in (jax_runs, host_runs)
    )
    z = (m_h - m_j) / np.hypot(s_j, s_h) if np.hypot(s_j, s_h) > 0 else 0.0
    return f"| {interval(jax_runs, None)} | {interval(host_runs, None)} | {z:+.2f} |"


def host_vs_jax_table(results: Mapping[str, object]) -> str:
    """The same configs stepped by the JAX ports and by gymnasium on the host."""
    lake, pole = results["host_vs_jax:lake"], results["host_vs_jax:pole"]
    lines = [
        "| environment | setting | JAX port | gymnasium on the host "
        "| difference / combined SE |",
        "|---|---|---:|---:|---:|",
    ]
    (jax_lake,), (host_lake,) = (
        lake["jax"].studies.values(),
        lake["host"].studies.values(),
    )
    for i, value in enumerate(np.asarray(jax_lake.values, np.float64)):
        lines.append(
            f"| FrozenLake-v1, return while learning | tau = {tau_label(value)} "
            + _backend_cells(
                per_run(jax_lake, "return")[i], per_run(host_lake, "return")[i]
            )
        )
    (jax_pole,), (host_pole,) = (
        pole["jax"].studies.values(),
        pole["host"].studies.values(),
    )
    lines.append(
        "| CartPole-v1, PPO, return over the final steps "
        f"| tau = {float(jax_pole.values[0]):.3g} "
        + _backend_cells(
            per_run(jax_pole, "return", "final")[0],
            per_run(host_pole, "return", "final")[0],
        )
    )
    for name, what in (
        ("eval_return", "final policy's return, sampling"),
        ("greedy_return", "final policy's return, greedy"),
        ("solved", "runs solved (share)"),
    ):  # fmt: skip
        lines.append(
            f"| CartPole-v1, PPO, {what} | tau = {float(jax_pole.values[0]):.3g} "
            + _backend_cells(per_run(jax_pole, name)[0], per_run(host_pole, name)[0])
        )
    lake_config, pole_config = lake["jax"].config, pole["jax"].config
    return (
        "\n".join(lines)
        + "\n\n"
        + caption(
            lake["jax"],
            f"; CartPole: `{pole_config.name}`'s constant study, "
            f"{pole_config.num_seeds} seeds x {pole_config.num_steps:,} steps. The "
            "two backends draw different random numbers (gymnasium seeds its own "
            "environments), so they agree in distribution: the difference in "
            "combined standard errors is about N(0, 1) per row (the "
            f"{lake_config.name} rows share seeds, so they are correlated)",
        )
    )


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
        ev = per_run(result, "eval_return")[i]
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
