"""Functional environments with gymnax's 1.0 API (contract: :mod:`.base`).

Bandits (:mod:`.bandits`), gymnasium's toy-text MDPs from their tables
(:mod:`.tabular`) and its classic control in JAX (:mod:`.classic`); :func:`make`
takes a gymnasium id. :mod:`.host` describes any gymnasium id with discrete actions
for the host executor (:mod:`rl_softmax.engine.host`).
"""

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
from rl_softmax.envs.ids import make
from rl_softmax.envs.tabular import (
    TabularEnv,
    TabularParams,
    TabularState,
    one_hot,
    value_iteration,
)

__all__ = [
    "Acrobot",
    "BanditState",
    "BernoulliBandit",
    "BernoulliParams",
    "CartPole",
    "Environment",
    "GaussianBandit",
    "GaussianParams",
    "MountainCar",
    "TabularEnv",
    "TabularParams",
    "TabularState",
    "classic",
    "host",
    "make",
    "one_hot",
    "value_iteration",
]
