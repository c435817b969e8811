"""One experiment run as a pure function: ``run(key, value) -> per-step metrics``.

``make_run(env, agent, num_steps)`` builds a :class:`Run` (the shape of purejaxrl's
``make_train``): ``init`` makes the carry from a key and the swept value, ``step``
advances one step and reports :class:`Metrics`, and calling the run is one
``lax.scan``. :mod:`rl_softmax.sweep` evaluates runs over a value x seed grid.

Per step, ``fold_in(key, t)`` is split into the agent's key and the environment's
key, so every random draw is traceable to the run's key and the step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

__all__ = ["METRICS", "Metrics", "Run", "StepOutput", "make_run"]


class Metrics(NamedTuple):
    """Per-step metrics of one run (or their means).

    Attributes:
      reward: reward received.
      optimal: 1.0 when the action taken was the optimal one.
      regret: ``max q* - q*[A]``, the expected reward lost by the action.
      entropy: entropy (nats) of the distribution the action was drawn from.
      prob_optimal: probability that distribution gave the optimal action.
      tau: the policy's temperature (0 for greedy, NaN for rules without one).
    """

    reward: Any
    optimal: Any
    regret: Any
    entropy: Any
    prob_optimal: Any
    tau: Any


METRICS = Metrics._fields


def _entropy_of(probs: jax.Array) -> jax.Array:
    safe = jnp.where(probs > 0, probs, 1.0)
    return -jnp.sum(jnp.where(probs > 0, probs * jnp.log(safe), 0.0))


class _Carry(NamedTuple):
    key: jax.Array
    env_state: Any
    agent_state: Any
    value: jax.Array


class StepOutput(NamedTuple):
    """What one step reports: scalar ``metrics`` and ``ranked_probs``, the
    ``[num_actions]`` action probabilities with arms ordered by true value, best
    first (NaN where the environment has no true values or the policy no closed
    form)."""

    metrics: Metrics
    ranked_probs: jax.Array


@dataclasses.dataclass(frozen=True, eq=False)
class Run:
    """A pure experiment ``run(key, value) -> Metrics`` of ``num_steps`` steps.

    ``init`` and ``step`` are exposed so that :func:`sweep` can fold reductions into
    the scan; calling the object runs the plain scan and returns per-step metrics
    (each ``[num_steps]``).

    Attributes:
      init: ``(key, value) -> carry``.
      step: ``(carry, t) -> (carry, StepOutput)`` for the 0-based step ``t``.
      num_steps: steps per run (static).
      num_actions: size of the action space (static).
      swept: name of the agent parameter that ``value`` sets.
    """

    init: Callable[[jax.Array, jax.Array], Any]
    step: Callable[[Any, jax.Array], tuple[Any, StepOutput]]
    num_steps: int
    num_actions: int
    swept: str

    def __call__(self, key: jax.Array, value: ArrayLike) -> Metrics:
        carry = self.init(key, jnp.asarray(value, jnp.float32))
        _, out = jax.lax.scan(self.step, carry, jnp.arange(self.num_steps))
        return out.metrics


def make_run(
    env,
    agent,
    num_steps: int,
    *,
    env_params: Any = None,
    agent_params: Any = None,
    swept: str = "explore",
) -> Run:
    """Builds the pure run of ``agent`` on ``env`` (purejaxrl's ``make_train`` shape).

    Args:
      env: a functional environment (``reset``, ``step``, ``default_params``).
      agent: an :class:`~rl_softmax.agents.Agent`.
      num_steps: steps per run (static).
      env_params: environment parameters (default: ``env.default_params``).
      agent_params: agent parameters (default: ``agent.default_params``).
      swept: the field of ``agent_params`` that the run's ``value`` replaces.

    Returns:
      a :class:`Run`.
    """
    env_params = env.default_params if env_params is None else env_params
    agent_params = agent.default_params if agent_params is None else agent_params
    if swept not in agent_params._fields:
        raise ValueError(
            f"swept={swept!r} is not a parameter of this agent; "
            f"expected one of {agent_params._fields}."
        )
    if not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps={num_steps!r}: expected an integer >= 1.")

    def init(key, value):
        key_reset, key_agent, key_steps = jax.random.split(key, 3)
        params = agent_params._replace(**{swept: value})
        _, env_state = env.reset(key_reset, env_params)
        return _Carry(key_steps, env_state, agent.init(key_agent, params), value)

    def step(carry, t):
        key_act, key_env = jax.random.split(jax.random.fold_in(carry.key, t))
        params = agent_params._replace(**{swept: carry.value})
        action, probs = agent.act(key_act, carry.agent_state, params)
        _, env_state, reward, _, _, info = env.step(
            key_env, carry.env_state, action, env_params
        )
        if agent.temperature is None:
            tau = jnp.full((), jnp.nan)
        else:
            tau = agent.temperature(carry.agent_state, params)
        agent_state = agent.update(carry.agent_state, action, reward, params)
        best = info["optimal_action"]
        metrics = Metrics(
            reward=reward,
            optimal=action == best,
            regret=info["regret"],
            entropy=_entropy_of(probs),
            prob_optimal=probs[best],
            tau=tau,
        )
        if "action_values" in info:  # only computed when a sweep asks for it
            ranked = probs[jnp.argsort(-info["action_values"])]
        else:
            ranked = jnp.full_like(probs, jnp.nan)
        out = StepOutput(jax.tree.map(lambda x: x.astype(jnp.float32), metrics), ranked)
        carry = carry._replace(env_state=env_state, agent_state=agent_state)
        return carry, out

    return Run(
        init=init, step=step, num_steps=num_steps,
        num_actions=agent.num_actions, swept=swept,
    )  # fmt: skip
