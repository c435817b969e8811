"""Benchmark suite ``tune``: trials per second of ``rl-softmax tune`` against the
loop a user would write around Optuna's ``optimize`` (``rl-softmax bench --only
tune``).

The workload is a search of tau for ``configs/frozenlake_tau_sweep.toml`` (Boltzmann
Q-learning on FrozenLake 4x4): the same number of TPE trials, each on the same
seeds and steps, timed in the same rounds (:mod:`harness`), compilation included
(both pay it: it is part of what a search costs):

* **Optuna loop**: ``study.optimize(objective, n_trials)`` where the objective calls
  :func:`rl_softmax.experiment.run_experiment` on a one-value config of the
  trial's tau (``write=False``): one trial at a time, a program built and compiled
  per trial.
* **rl-softmax tune**: :func:`rl_softmax.experiment.tune` with batches of 8
  trials, each batch one call of one compiled program; its storage is a SQLite
  file of a temporary directory, as by default.

Both report the best trial's value; the check is that both searches found a
setting and that the tune compiled one program for its batches.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import harness

from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import run_experiment, stats
from rl_softmax.experiment.tuning import tune

__all__ = ["suite"]

_UNIT = "trials"


def sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"trials": 8, "seeds": 16, "steps": 2000}
    return {"trials": 24, "seeds": 100, "steps": 5000}


def _config(size: dict[str, int]) -> config_lib.ExperimentConfig:
    config = config_lib.load(
        "frozenlake_tau_sweep",
        [f"num_seeds={size['seeds']}", f"num_steps={size['steps']}",
         "final_steps=500", f"tune.trials={size['trials']}", "tune.batch=8",
         f"tune.seeds={size['seeds']}", "tune.eval_seeds=2"],
    )  # fmt: skip
    return config


def optuna_loop(config: config_lib.ExperimentConfig, trials: int) -> float:
    """The loop a user writes: one ``run_experiment`` per trial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    (study,) = config.studies
    low, high = min(study.values), max(study.values)

    def objective(trial) -> float:
        tau = trial.suggest_float("tau", low, high, log=True)
        one = dataclasses.replace(study, values=(tau,), references={})
        results = run_experiment(
            dataclasses.replace(config, studies=(one,)), write=False, progress=False
        )
        return float(stats.seed_stats(results.studies[study.name], "return")[0][0])

    search = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=0)
    )
    search.optimize(objective, n_trials=trials)
    return search.best_value


def ours(config: config_lib.ExperimentConfig) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as out:
        result = tune(config, Path(out), write=False)
    (tuned,) = result.studies.values()
    return tuned.best["search_mean"], tuned.programs


def suite(settings: harness.Settings) -> harness.Section:
    size = sizes(settings.quick)
    config = _config(size)
    calls = {
        "loop": lambda: optuna_loop(config, size["trials"]),
        "tune": lambda: ours(config),
    }
    # no warm-up round: a search compiles, and a user's search pays for it
    times = harness.time_rounds(
        calls, repeats=settings.rounds, warmup=0, progress=settings.progress
    )
    title = (
        f"FrozenLake 4x4 tau search: {size['trials']} TPE trials x {size['seeds']} "
        f"seeds x {size['steps']} steps, compilation included"
    )
    loop_row = harness.Row(
        "tune", title, "Optuna optimize, run_experiment per trial", "Optuna loop",
        _UNIT, size["trials"], times["loop"].seconds,
    )  # fmt: skip
    tune_row = harness.Row(
        "tune", title, "rl-softmax tune, batches of 8 in one compiled program",
        "rl-softmax tune", _UNIT, size["trials"], times["tune"].seconds,
        note="the answer's re-evaluation on 2 fresh seeds included",
    ).compared_with(loop_row)  # fmt: skip
    best, programs = times["tune"].result
    checks = [
        harness.Check(
            "tune compiled at most one program for its batches and one for the "
            "answer", programs <= 2, f"{programs} compiled program(s)",
        ),
        harness.Check(
            "both searches found a setting with a defined return",
            best == best and times["loop"].result == times["loop"].result,
            f"best return: tune {best:.4f}, loop {times['loop'].result:.4f}",
        ),
    ]  # fmt: skip
    return harness.Section([loop_row, tune_row], checks, {"sizes": size})


if __name__ == "__main__":
    # python experiments/benchmark_tune.py [--quick]: the suite's table alone (it
    # joins rl-softmax bench's suites with the next full --update-docs run)
    import sys

    import bench

    from rl_softmax.engine import executor

    executor.use_cpu_cores()
    section = suite(harness.Settings(quick="--quick" in sys.argv))
    print("\n".join(bench.table_lines(section.rows)))
    print("\n".join(bench.check_lines(section.checks)))
