"""Experiments: configs (:mod:`.config`), the registry of names (:mod:`.registry`),
``run_experiment`` (:mod:`.pipeline`), the results directory and its lock
(:mod:`.outdir`), results on disk (:mod:`.results`) and statistics over seeds
(:mod:`.stats`)."""

from rl_softmax.experiment.config import ConfigError, ExperimentConfig, load
from rl_softmax.experiment.pipeline import (
    Results,
    RunDiverged,
    build_run,
    run_experiment,
)

__all__ = [
    "ConfigError",
    "ExperimentConfig",
    "Results",
    "RunDiverged",
    "build_run",
    "load",
    "run_experiment",
]
