"""rl_softmax: softmax (Boltzmann) action selection in reinforcement learning, in JAX.

Public modules: :mod:`rl_softmax.softmax` (the maths), :mod:`rl_softmax.policies`
(jit/vmap-ready action selection), :mod:`rl_softmax.schedules` (temperature
schedules), :mod:`rl_softmax.envs`, :mod:`rl_softmax.agents`, :mod:`rl_softmax.run`
(one experiment run as a pure function), :mod:`rl_softmax.sweep` (the tau x seed
sweep engine), :mod:`rl_softmax.backend` (how the sweep is compiled and placed on
CPU) and :mod:`rl_softmax.prng` (JAX's threefry bits, faster to compile).
"""

from rl_softmax import (
    agents,
    backend,
    envs,
    policies,
    prng,
    run,
    schedules,
    softmax,
    sweep,
)

__all__ = [
    "agents",
    "backend",
    "envs",
    "policies",
    "prng",
    "run",
    "schedules",
    "softmax",
    "sweep",
]
__version__ = "0.1.0"
