"""Functional environments in JAX (the contract: :mod:`.base`).

Bandits (:mod:`.bandits`), gymnasium's toy-text MDPs from their tables
(:mod:`.tabular`) and its classic control in JAX (:mod:`.classic`); :func:`make`
takes a gymnasium id. :func:`from_gymnax` adapts a gymnax-API environment
(:mod:`.gymnax_api`). :mod:`.host` describes any gymnasium id with discrete actions
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
from rl_softmax.envs.gymnax_api import GymnaxEnv, from_gymnax
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
