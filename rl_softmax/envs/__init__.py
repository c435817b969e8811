"""Functional environments with gymnax's 1.0 API."""

from rl_softmax.envs.bandits import (
    BanditState,
    BernoulliBandit,
    BernoulliParams,
    GaussianBandit,
    GaussianParams,
)

__all__ = [
    "BanditState",
    "BernoulliBandit",
    "BernoulliParams",
    "GaussianBandit",
    "GaussianParams",
]
