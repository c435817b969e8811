"""Boltzmann exploration whose temperature is learned to track a target entropy.

The discrete soft actor-critic rule (Haarnoja et al. 2018, "Soft Actor-Critic
Algorithms and Applications", Sec. 5; discrete actions as in Christodoulou 2019):
the policy is ``pi = softmax(Q / tau)`` and ``log tau`` is trained by an optax
optimizer on

    J(tau) = E_{a ~ pi}[-tau (log pi(a) + H_target)] = tau (H(pi) - H_target),

with the expectation taken exactly over the action probabilities and ``pi`` held
fixed. Its gradient in ``log tau`` is ``tau (H(pi) - H_target)``: when the policy is
more random than the target the temperature falls, and vice versa, so the entropy
follows the target schedule from ``log K`` (uniform) down towards 0 (greedy).

The value estimates are those of :func:`~rl_softmax.agents.make_action_value_agent`
(sample averages or a constant step size).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from rl_softmax import policies, schedules
from rl_softmax import softmax as sm
from rl_softmax.agents.action_value import (
    ActionValueParams,
    ActionValueState,
    make_action_value_agent,
    update_estimates,
)
from rl_softmax.agents.base import Agent, Transition, learn_each_step

__all__ = [
    "AutoTemperatureParams",
    "AutoTemperatureState",
    "make_auto_temperature_agent",
]


class AutoTemperatureParams(NamedTuple):
    """Sweepable numbers.

    Attributes:
      tau_learning_rate: learning rate of the optimizer on ``log tau``.
      initial_tau: the temperature at step 0.
      step_size: constant step size of the value estimates (when not averaging).
      initial_value: initial estimate ``Q0``.
    """

    tau_learning_rate: ArrayLike = 0.05
    initial_tau: ArrayLike = 1.0
    step_size: ArrayLike = 0.1
    initial_value: ArrayLike = 0.0


class AutoTemperatureState(NamedTuple):
    """Value estimates, ``log tau`` and the optimizer's state for it."""

    values: ActionValueState
    log_tau: jax.Array
    opt_state: Any


def make_auto_temperature_agent(
    num_actions: int,
    entropy_target: Callable[[jax.Array], jax.Array],
    *,
    optimizer: Callable[..., optax.GradientTransformation] = optax.adam,
    sample_average: bool = True,
) -> Agent:
    """Builds the auto-tuned-temperature Boltzmann agent.

    Args:
      num_actions: number of arms (static).
      entropy_target: ``step -> target entropy`` in nats (e.g.
        :func:`rl_softmax.schedules.entropy_target`).
      optimizer: optax factory taking ``learning_rate``; wrapped in
        ``optax.inject_hyperparams`` so the swept learning rate is a traced array.
      sample_average: value estimates by sample average (else constant step).

    Returns:
      an :class:`~rl_softmax.agents.Agent` with :class:`AutoTemperatureParams`.
    """
    values_agent = make_action_value_agent(num_actions, sample_average=sample_average)
    tau_optimizer = optax.inject_hyperparams(optimizer)(learning_rate=0.0)

    def value_params(params):
        # explore is unused: only the estimates' init is borrowed.
        return ActionValueParams(1.0, params.step_size, params.initial_value)

    def init(key, params):
        log_tau = jnp.log(jnp.asarray(params.initial_tau, jnp.float32))
        opt_state = tau_optimizer.init(log_tau)
        return AutoTemperatureState(
            values_agent.init(key, value_params(params)), log_tau, opt_state
        )

    def act(key, state, obs, params):
        del obs  # one state
        tau = jnp.exp(state.log_tau)
        probs = policies.boltzmann(tau).probs(state.values.q)
        return policies.sample_categorical(key, probs), {"probs": probs, "tau": tau}

    def update(state, transition: Transition, params):
        target = entropy_target(state.values.step)
        entropy = sm.entropy(state.values.q, jnp.exp(state.log_tau))
        learning_rate = jnp.asarray(params.tau_learning_rate, jnp.float32)
        hyperparams = {**state.opt_state.hyperparams, "learning_rate": learning_rate}
        opt_state = state.opt_state._replace(hyperparams=hyperparams)
        log_tau, opt_state = schedules.temperature_step(
            tau_optimizer, state.log_tau, opt_state, entropy, target
        )
        step_size = None if sample_average else params.step_size
        values = update_estimates(state.values, transition, step_size)
        return AutoTemperatureState(values, log_tau, opt_state)

    return Agent(
        init, act, learn_each_step(update), AutoTemperatureParams(), num_actions
    )
