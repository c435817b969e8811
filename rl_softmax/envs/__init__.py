"""Functional environments in JAX (the contract: :mod:`.base`).

Bandits (:mod:`.bandits`), gymnasium's toy-text MDPs from their tables
(:mod:`.tabular`) and its classic control in JAX (:mod:`.classic`); :func:`make`
takes a gymnasium id. :func:`from_gymnax` adapts a gymnax-API environment
(:mod:`.gymnax_api`). :mod:`.host` describes any gymnasium id with discrete actions
for the host executor (:mod:`rl_softmax.engine.host`).
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what __getattr__ below imports, for type checkers and the docs
    from rl_softmax.envs import classic, host
    from rl_softmax.envs.bandits import (
        BanditState,
        BernoulliBandit,
        BernoulliParams,
        GaussianBandit,
        GaussianParams,
    )
    from rl_softmax.envs.base import Environment
    from rl_softmax.envs.classic import Acrobot, CartPole, MountainCar
    from rl_softmax.envs.gymnax_api import GymnaxEnv, from_gymnax
    from rl_softmax.envs.ids import make
    from rl_softmax.envs.tabular import (
        TabularEnv,
        TabularParams,
        TabularState,
        one_hot,
        value_iteration,
    )

# where each public name lives: imported when first used, so that a host-loop worker
# process, which unpickles a HostEnv (:mod:`.host`, NumPy and gymnasium only), does
# not import JAX for the JAX environments it never steps
_WHERE = {
    "Acrobot": "classic", "CartPole": "classic", "MountainCar": "classic",
    "BanditState": "bandits", "BernoulliBandit": "bandits",
    "BernoulliParams": "bandits", "GaussianBandit": "bandits",
    "GaussianParams": "bandits", "Environment": "base",
    "GymnaxEnv": "gymnax_api", "from_gymnax": "gymnax_api", "make": "ids",
    "TabularEnv": "tabular", "TabularParams": "tabular", "TabularState": "tabular",
    "one_hot": "tabular", "value_iteration": "tabular",
}  # fmt: skip

__all__ = [
    "Acrobot",
    "BanditState",
    "BernoulliBandit",
    "BernoulliParams",
    "CartPole",
    "Environment",
    "GaussianBandit",
    "GaussianParams",
    "GymnaxEnv",
    "MountainCar",
    "TabularEnv",
    "TabularParams",
    "TabularState",
    "classic",
    "from_gymnax",
    "host",
    "make",
    "one_hot",
    "value_iteration",
]


def __getattr__(name: str):
    if name in ("classic", "host"):
        return importlib.import_module(f"rl_softmax.envs.{name}")
    if name in _WHERE:
        value = getattr(
            importlib.import_module(f"rl_softmax.envs.{_WHERE[name]}"), name
        )
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module 'rl_softmax.envs' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
