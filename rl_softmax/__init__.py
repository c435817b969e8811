"""rl_softmax: softmax (Boltzmann) action selection in reinforcement learning, in JAX.

Public modules: :mod:`rl_softmax.softmax` (the maths), :mod:`rl_softmax.policies`
(jit/vmap-ready action selection), :mod:`rl_softmax.schedules` (temperature
schedules), :mod:`rl_softmax.planning` (generalised value iteration with any backup
operator), :mod:`rl_softmax.envs` and :mod:`rl_softmax.agents` (the contracts and
their implementations), :mod:`rl_softmax.engine` (one run as a pure function and the
value x seed sweep) and :mod:`rl_softmax.experiment` (configs, the registry of
names, ``run_experiment``, results and statistics). Subpackages are imported when
first used, so ``import rl_softmax`` stays cheap.
"""

import importlib

__all__ = [
    "agents",
    "engine",
    "envs",
    "experiment",
    "planning",
    "policies",
    "schedules",
    "softmax",
]
__version__ = "0.2.0"


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"rl_softmax.{name}")
    raise AttributeError(f"module 'rl_softmax' has no attribute {name!r}")
