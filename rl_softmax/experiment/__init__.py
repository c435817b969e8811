"""Experiments: configs (:mod:`.config`), the registry of names (:mod:`.registry`),
``run_experiment`` (:mod:`.pipeline`), the results directory and its lock
(:mod:`.outdir`), results on disk (:mod:`.results`) and statistics over seeds
(:mod:`.stats`); ``tune`` searches a config's parameters with Optuna
(:mod:`.tuning`, its ``[tune]`` table :mod:`.tune_config`, its storage
:mod:`.tune_storage`)."""

from rl_softmax.experiment.config import ConfigError, ExperimentConfig, load
from rl_softmax.experiment.pipeline import (
    Results,
    RunDiverged,
    build_run,
    run_experiment,
)
from rl_softmax.experiment.tuning import TuneResult, tune

__all__ = [
    "ConfigError",
    "ExperimentConfig",
    "Results",
    "RunDiverged",
    "TuneResult",
    "build_run",
    "load",
    "run_experiment",
    "tune",
]
