"""Agents: each is ``(init, act, update)``, pure, with its state a pytree."""

from rl_softmax.agents.action_value import (
    RULES,
    ActionValueParams,
    ActionValueState,
    constant_temperature,
    make_action_value_agent,
)
from rl_softmax.agents.agent import Agent
from rl_softmax.agents.auto_temperature import (
    AutoTemperatureParams,
    AutoTemperatureState,
    make_auto_temperature_agent,
)
from rl_softmax.agents.gradient_bandit import (
    GradientBanditParams,
    GradientBanditState,
    make_gradient_bandit,
)

__all__ = [
    "RULES",
    "ActionValueParams",
    "ActionValueState",
    "Agent",
    "AutoTemperatureParams",
    "AutoTemperatureState",
    "GradientBanditParams",
    "GradientBanditState",
    "constant_temperature",
    "make_action_value_agent",
    "make_auto_temperature_agent",
    "make_gradient_bandit",
]
