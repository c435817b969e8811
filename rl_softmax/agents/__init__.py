"""Agents: each is ``(init, act, learn)``, pure and keyed, with its state a pytree.

The contract (:class:`Agent`, :class:`Transition`) is in :mod:`rl_softmax.agents.base`.
:mod:`.rules` holds the exploration rules that value-based agents act with (the
bandit agents of :mod:`.action_value`, the tables of :mod:`.td`, :mod:`.dqn`);
:mod:`.networks` the MLPs and their clipped, annealed optimizers;
:mod:`.policy_gradient` the pieces of the softmax policy-gradient learner (the
actor-critic networks, GAE, the A2C and clipped-surrogate losses with the entropy
temperature); :mod:`.actor_critic` puts them together into an agent that learns from
rollouts (``per_step=False``); :mod:`.dqn` is the deep Q-network that learns from
a replay buffer (:mod:`.replay`), also from rollouts.
"""

from rl_softmax.agents import (
    action_value,
    actor_critic,
    dqn,
    networks,
    policy_gradient,
    replay,
    rules,
    td,
)
from rl_softmax.agents.action_value import (
    ActionValueParams,
    ActionValueState,
    make_action_value_agent,
)
from rl_softmax.agents.actor_critic import PGParams, PGState, make_actor_critic_agent
from rl_softmax.agents.auto_temperature import (
    AutoTemperatureParams,
    AutoTemperatureState,
    make_auto_temperature_agent,
)
from rl_softmax.agents.base import Agent, Transition, learn_each_step, one_step
from rl_softmax.agents.dqn import DQNParams, DQNState, make_dqn_agent
from rl_softmax.agents.gradient_bandit import (
    GradientBanditParams,
    GradientBanditState,
    make_gradient_bandit,
)
from rl_softmax.agents.td import TDParams, TDState, make_td_agent

__all__ = [
    "ActionValueParams",
    "ActionValueState",
    "Agent",
    "AutoTemperatureParams",
    "AutoTemperatureState",
    "DQNParams",
    "DQNState",
    "GradientBanditParams",
    "GradientBanditState",
    "PGParams",
    "PGState",
    "TDParams",
    "TDState",
    "Transition",
    "action_value",
    "actor_critic",
    "dqn",
    "networks",
    "policy_gradient",
    "replay",
    "rules",
    "make_action_value_agent",
    "make_actor_critic_agent",
    "make_auto_temperature_agent",
    "make_dqn_agent",
    "make_gradient_bandit",
    "make_td_agent",
    "learn_each_step",
    "one_step",
    "td",
]
