"""Functional environments with gymnax's 1.0 API (contract: :mod:`.base`)."""

from rl_softmax.envs.bandits import (
    BanditState,
    BernoulliBandit,
    BernoulliParams,
    GaussianBandit,
    GaussianParams,
)
from rl_softmax.envs.base import Environment

__all__ = [
    "BanditState",
    "BernoulliBandit",
    "BernoulliParams",
    "Environment",
    "GaussianBandit",
    "GaussianParams",
]
