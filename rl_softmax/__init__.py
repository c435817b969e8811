"""rl_softmax: softmax (Boltzmann) action selection in reinforcement learning, in JAX.

Public modules: :mod:`rl_softmax.softmax` (the maths), :mod:`rl_softmax.policies`
(jit/vmap-ready action selection), :mod:`rl_softmax.schedules` (temperature
schedules), :mod:`rl_softmax.envs`, :mod:`rl_softmax.agents` and
:mod:`rl_softmax.sweep` (the tau x seed sweep engine).
"""

from rl_softmax import agents, envs, policies, schedules, softmax, sweep

__all__ = ["agents", "envs", "policies", "schedules", "softmax", "sweep"]
__version__ = "0.1.0"
