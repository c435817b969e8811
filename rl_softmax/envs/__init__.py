"""Functional environments with gymnax's 1.0 API (contract: :mod:`.base`)."""

from rl_softmax.envs.bandits import (
    BanditState,
    BernoulliBandit,
    BernoulliParams,
    GaussianBandit,
    GaussianParams,
)
from rl_softmax.envs.base import Environment
from rl_softmax.envs.tabular import (
    TabularEnv,
    TabularParams,
    TabularState,
    make,
    one_hot,
    value_iteration,
)

__all__ = [
    "BanditState",
    "BernoulliBandit",
    "BernoulliParams",
    "Environment",
    "GaussianBandit",
    "GaussianParams",
    "TabularEnv",
    "TabularParams",
    "TabularState",
    "make",
    "one_hot",
    "value_iteration",
]
