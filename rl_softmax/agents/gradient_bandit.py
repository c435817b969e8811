"""The gradient bandit: softmax preferences trained by an optax optimizer.

Sutton & Barto (2018), Sec. 2.8. The agent keeps a preference ``H(a)`` per arm and
acts with the Boltzmann policy ``pi = softmax(H / tau)``. After taking ``A`` and
receiving ``R`` it ascends the score-function (REINFORCE) estimate of the gradient
of the expected reward,

    ``(R - Rbar) * grad_H log pi(A) = (R - Rbar) * (onehot(A) - pi) / tau``,

by handing its negation to an optax optimizer (optax minimises). With
``optax.sgd(alpha)`` and ``tau = 1`` this is exactly the book's update
``H(A) += alpha (R - Rbar) (1 - pi(A))``, ``H(a) -= alpha (R - Rbar) pi(a)``;
any other optax optimizer (Adam, RMSProp, SGD with momentum) follows the same
gradient with its own preconditioning.

Baseline convention: ``Rbar`` is the running mean of the rewards INCLUDING the
current one, ``Rbar_t = Rbar_{t-1} + (R_t - Rbar_{t-1}) / t`` with ``t`` counted
from 1, updated before the preference update (as in the widely used public
reproduction, ShangtongZhang/reinforcement-learning-an-introduction, and in
``experiments/numpy_reference.py``). ``baseline=False`` uses ``Rbar = 0``.

Everything a sweep may vary (``step_size`` = ``alpha``, ``explore`` = ``tau``) is in
:class:`GradientBanditParams`. The optimizer is wrapped in
``optax.inject_hyperparams`` and its learning rate is set from
``params.step_size`` at every update, so sweeping ``alpha`` never recompiles.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from rl_softmax import schedules
from rl_softmax import softmax as sm
from rl_softmax.agents.base import Agent, Transition, learn_each_step
from rl_softmax.agents.rules import Estimates, boltzmann_rule, constant_temperature

__all__ = [
    "GradientBanditParams",
    "GradientBanditState",
    "make_gradient_bandit",
]

OptimizerFactory = Callable[..., optax.GradientTransformation]
"""An optax factory called as ``factory(learning_rate=...)``, e.g. ``optax.adam``."""

_LEARNING_RATE = "learning_rate"


class GradientBanditParams(NamedTuple):
    """Sweepable numbers of a gradient bandit.

    Attributes:
      step_size: ``alpha``, the optimizer's learning rate.
      explore: the temperature ``tau > 0`` of ``pi = softmax(H / tau)``, or the
        parameter of the agent's ``temperature(step, explore)`` schedule.
    """

    step_size: ArrayLike = 0.1
    explore: ArrayLike = 1.0


class GradientBanditState(NamedTuple):
    """State of a gradient bandit.

    Attributes:
      preferences: ``[num_actions]`` float32 preferences ``H`` (0 at first: uniform).
      opt_state: the ``optax.inject_hyperparams`` optimizer state.
      mean_reward: running mean ``Rbar`` of all rewards so far, current included;
        the baseline when the agent is built with ``baseline=True``.
      step: number of updates so far (int32).
    """

    preferences: jax.Array
    opt_state: Any
    mean_reward: jax.Array
    step: jax.Array


def _check_optimizer(optimizer: Any) -> None:
    if not callable(optimizer):
        raise ValueError(
            f"optimizer={optimizer!r}: expected an optax factory such as optax.adam "
            "(called as optimizer(learning_rate=...)), not a built transformation."
        )
    try:
        parameters = inspect.signature(optimizer).parameters
    except (TypeError, ValueError):
        return  # No introspectable signature: let optax report any problem.
    if _LEARNING_RATE not in parameters:
        raise ValueError(
            f"optimizer={optimizer!r} takes no `learning_rate` argument; expected a "
            "factory like optax.sgd or `lambda learning_rate: optax.sgd("
            "learning_rate, momentum=0.9)`."
        )


def _policy_gradient_loss(
    preferences: jax.Array, action: jax.Array, advantage: jax.Array, tau: jax.Array
) -> jax.Array:
    """``-(R - Rbar) log pi(A)``: its gradient is minus the ascent direction."""
    return -advantage * sm.log_softmax(preferences, tau)[action]


def make_gradient_bandit(
    num_actions: int,
    optimizer: OptimizerFactory | None = None,
    *,
    baseline: bool = True,
    temperature: schedules.Temperature = constant_temperature,
) -> Agent:
    """Builds a gradient bandit agent (Sutton & Barto 2018, Sec. 2.8).

    Args:
      num_actions: number of arms (static: sets shapes).
      optimizer: an optax factory taking ``learning_rate``, e.g. ``optax.sgd``
        (the default, which gives the book's update), ``optax.adam``,
        ``optax.rmsprop`` or ``lambda learning_rate: optax.sgd(learning_rate,
        momentum=0.9)``. It is wrapped in ``optax.inject_hyperparams``, and the
        learning rate is overwritten with ``params.step_size`` at every update;
        its other numeric arguments are fixed when the agent is built.
      baseline: subtract the running mean reward ``Rbar`` (which includes the
        current reward) from ``R``; ``False`` uses a baseline of 0.
      temperature: ``(step, explore) -> tau`` at the 0-based step; the default is
        ``tau = explore``. ``tau`` must be positive.

    Returns:
      an :class:`Agent` whose parameters are :class:`GradientBanditParams`.
    """
    if not isinstance(num_actions, int) or num_actions < 2:
        raise ValueError(f"num_actions={num_actions!r}: expected an integer >= 2.")
    optimizer = optax.sgd if optimizer is None else optimizer
    _check_optimizer(optimizer)
    default_params = GradientBanditParams()
    rule = boltzmann_rule(temperature)
    no_counts = jnp.zeros((num_actions,), jnp.float32)
    # The placeholder learning rate is replaced by params.step_size in the state.
    transform = optax.inject_hyperparams(optimizer)(
        **{_LEARNING_RATE: default_params.step_size}
    )

    def with_learning_rate(opt_state, step_size):
        # A new dict: assigning into `opt_state.hyperparams` would mutate the
        # caller's state outside jit.
        hyperparams = dict(opt_state.hyperparams)
        hyperparams[_LEARNING_RATE] = jnp.asarray(step_size, jnp.float32)
        return opt_state._replace(hyperparams=hyperparams)

    def init(key, params):
        del key
        preferences = jnp.zeros((num_actions,), jnp.float32)
        opt_state = with_learning_rate(transform.init(preferences), params.step_size)
        zero = jnp.zeros((), jnp.float32)
        return GradientBanditState(
            preferences, opt_state, zero, jnp.zeros((), jnp.int32)
        )

    def act(key, state, obs, params):
        del obs  # one state
        estimates = Estimates(state.preferences, no_counts, state.step)
        return rule(key, estimates, params.explore)

    def update(state, transition: Transition, params):
        preferences = state.preferences
        action = transition.action
        reward = jnp.asarray(transition.reward, preferences.dtype)
        count = (state.step + 1).astype(preferences.dtype)
        mean_reward = state.mean_reward + (reward - state.mean_reward) / count
        advantage = reward - mean_reward if baseline else reward
        # The policy the action was drawn from: the temperature at this step.
        tau = jnp.asarray(temperature(state.step, params.explore), preferences.dtype)
        grads = jax.grad(_policy_gradient_loss)(preferences, action, advantage, tau)
        opt_state = with_learning_rate(state.opt_state, params.step_size)
        updates, opt_state = transform.update(grads, opt_state, preferences)
        preferences = optax.apply_updates(preferences, updates)
        return GradientBanditState(preferences, opt_state, mean_reward, state.step + 1)

    return Agent(init, act, learn_each_step(update), default_params, num_actions)
