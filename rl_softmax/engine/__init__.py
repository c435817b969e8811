"""The engine: one pure run (:mod:`.run`; :mod:`.rollout` for agents that learn from
rollouts of a batch of environments), its metrics (:mod:`.metrics`), the value x seed
sweep (:mod:`.sweep`) and how it is compiled and placed (:mod:`.executor`)."""

from rl_softmax.engine.metrics import METRICS, Metric
from rl_softmax.engine.reductions import MetricResult
from rl_softmax.engine.rollout import make_rollout_run
from rl_softmax.engine.run import Run, StepOutput, make_run
from rl_softmax.engine.sweep import SweepResult, compile_sweep, sweep

__all__ = [
    "METRICS",
    "Metric",
    "MetricResult",
    "Run",
    "StepOutput",
    "SweepResult",
    "compile_sweep",
    "make_rollout_run",
    "make_run",
    "sweep",
]
