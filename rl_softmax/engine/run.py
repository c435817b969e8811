"""One experiment run as a pure function: ``run(key, value) -> per-step metrics``.

``make_run(env, agent, num_steps)`` builds a :class:`Run` (the shape of purejaxrl's
``make_train``): ``init`` makes the carry from a key and the swept value, ``step``
advances one step and reports the run's metrics (:mod:`rl_softmax.engine.metrics`),
and calling the run is one ``lax.scan``. :mod:`rl_softmax.engine.sweep` evaluates
runs over a value x seed grid.

Episodes reset on the same step (gymnasium's "same-step" autoreset): the step that
ends an episode hands the learner its reward and the true next observation in the
:class:`~rl_softmax.agents.Transition`, reports the episode's metrics, and the next
action is chosen in a freshly reset state. A continuing environment
(``episodic = False``, e.g. a bandit) never resets.

What the run's final state holds is reported once, at its end (``Run.end``): the
exact score of the agent's final greedy policy where the environment can evaluate
one, the agent's state visits, and the returns of the first ``num_episodes``
episodes (learning curves indexed by episode).

Per step, ``fold_in(key, t)`` is split into the agent's, the environment's and the
reset's keys, so every random draw is traceable to the run's key and the step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rl_softmax.agents.base import Agent, Transition, one_step
from rl_softmax.engine import metrics as metrics_lib
from rl_softmax.engine.executor import computed_once
from rl_softmax.envs.base import Environment

__all__ = [
    "Episode",
    "Run",
    "StepOutput",
    "autoreset",
    "checked_agent",
    "checked_agent_params",
    "episode_step",
    "learned_state",
    "make_run",
    "swept_params",
    "value_shape",
]


class StepOutput(NamedTuple):
    """What one step reports, by metric name (float32).

    Attributes:
      values: every metric's value; a per-episode metric's is its episode's value on
        the step that ended the episode and 0 elsewhere.
      ended: how many episodes the step ended, ``1.0`` or ``0.0`` for one
        environment (the weight of the per-episode values, which are then sums; a
        scalar, absent for continuing environments).
    """

    values: dict[str, jax.Array]
    ended: jax.Array | None


class Episode(NamedTuple):
    """Running sums of the episode under way (its reward and its steps)."""

    reward: jax.Array
    length: jax.Array


class _Returns(NamedTuple):
    """The returns of the first episodes (NaN until recorded) and how many ended."""

    returns: jax.Array
    count: jax.Array


class _Carry(NamedTuple):
    key: jax.Array
    obs: Any
    env_state: Any
    agent_state: Any
    episode: Episode | None
    value: jax.Array
    returns: _Returns | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class Run:
    """A pure experiment ``run(key, value)`` of ``num_steps`` steps.

    ``init`` and ``step`` are exposed so that a sweep can fold reductions into the
    scan; calling the object runs the plain scan and returns every step's
    :class:`StepOutput` (each value ``[num_steps, ...]``).

    Attributes:
      init: ``(key, value) -> carry``.
      step: ``(carry, t) -> (carry, StepOutput)`` for the 0-based step ``t``.
      end: ``carry -> {name: value}`` of the per-run metrics (``at_end``), from
        the carry after the last step.
      num_steps: steps per run (static).
      num_actions: size of the action space (static).
      swept: name of the agent parameter that ``value`` sets, or a tuple of
        names (``value`` is then a vector with one entry per name, in order).
      metrics: the :class:`~rl_softmax.engine.metrics.Metric` s the run reports.
      env_steps_per_step: environment steps one ``step`` takes (1; a rollout
        run's ``step`` is a rollout of a batch of environments and an update).
      checked_state: ``carry -> pytree``, the part of the carry that must never
        hold a NaN (the agent's and the environment's state): a sweep checks it
        once per curve window and flags a run in which it does as diverged.
    """

    init: Callable[[jax.Array, jax.Array], Any]
    step: Callable[[Any, jax.Array], tuple[Any, StepOutput]]
    end: Callable[[Any], dict[str, jax.Array]]
    num_steps: int
    num_actions: int
    swept: str | tuple[str, ...]
    metrics: tuple[metrics_lib.Metric, ...]
    env_steps_per_step: int = 1
    checked_state: Callable[[Any], Any] = lambda carry: ()

    @property
    def value_shape(self) -> tuple[int, ...]:
        """The shape of one run's ``value``: ``()``, or ``(k,)`` for k swept
        parameters."""
        return value_shape(self.swept)

    @property
    def step_metrics(self) -> tuple[metrics_lib.Metric, ...]:
        """The metrics reported at every step (per step and per episode)."""
        return tuple(m for m in self.metrics if not m.at_end)

    def __call__(self, key: jax.Array, value: ArrayLike) -> StepOutput:
        """Every step's :class:`StepOutput` (see :meth:`run_with_end`)."""
        return self.run_with_end(key, value)[0]

    def run_with_end(
        self, key: jax.Array, value: ArrayLike
    ) -> tuple[StepOutput, dict[str, jax.Array]]:
        """``(every step's StepOutput, the per-run values of Run.end)``."""
        carry = self.init(key, jnp.asarray(value, jnp.float32))
        carry, out = jax.lax.scan(self.step, carry, jnp.arange(self.num_steps))
        return out, self.end(carry)


def _select(condition: jax.Array, if_true: Any, if_false: Any) -> Any:
    return jax.tree.map(lambda a, b: jnp.where(condition, a, b), if_true, if_false)


class Autoreset(NamedTuple):
    """One environment after a step, with gymnasium's same-step autoreset.

    Attributes:
      obs: the observation the next action is chosen in (a reset one if the step
        ended the episode).
      env_state: the matching state.
      episode: the running sums of the episode under way (zeros after an end).
      finished: the sums of the episode including this step.
      ended: the step ended the episode (terminated or truncated).
      values: the per-episode metrics of ``finished``, 0 unless ``ended``.
    """

    obs: Any
    env_state: Any
    episode: Episode
    finished: Episode
    ended: jax.Array
    values: dict[str, jax.Array]


def episode_step(
    metrics, episode: Episode, reward, ended, info
) -> tuple[Episode, Episode, dict[str, jax.Array]]:
    """The episode bookkeeping of one step of one environment.

    Returns ``(episode, finished, values)``: the sums of the episode under way
    after the step (zeros if it ended), the sums including the step, and the
    per-episode metrics of ``finished`` (0 unless ``ended``). Shared by every
    loop: :func:`make_run`, the rollout runs and the host loop (where gymnasium
    resets the environment).
    """
    finished = Episode(episode.reward + reward, episode.length + 1)
    at_end = metrics_lib.episode_values(metrics, *finished, info)
    values = {k: jnp.where(ended, v, 0.0) for k, v in at_end.items()}
    zeros = Episode(*jax.tree.map(jnp.zeros_like, finished))
    return _select(ended, zeros, finished), finished, values


def autoreset(env, env_params, metrics, key_reset, episode, stepped) -> Autoreset:
    """One environment after a step (``stepped`` is what ``env.step`` returned):
    :func:`episode_step`, and a reset on the same step if the episode ended."""
    next_obs, env_state, reward, terminated, truncated, info = stepped
    ended = terminated | truncated
    episode, finished, values = episode_step(metrics, episode, reward, ended, info)
    reset_obs, reset_state = env.reset(key_reset, env_params)
    return Autoreset(
        obs=_select(ended, reset_obs, next_obs),
        env_state=_select(ended, reset_state, env_state),
        episode=episode,
        finished=finished,
        ended=ended,
        values=values,
    )


# The run constructor of each kind of agent (Agent.per_step): what it takes, a call.
_CONSTRUCTORS = {
    True: ("make_run", "an agent that learns from each step (per_step=True)",
           "make_run(env, agent, num_steps)"),
    False: ("make_rollout_run", "an agent that learns from rollouts (per_step=False)",
            "make_rollout_run(env, agent, num_updates, num_envs=..., "
            "rollout_steps=...)"),
}  # fmt: skip


def checked_agent(agent: Any, per_step: bool) -> None:
    """Refuses, in one line naming the right constructor, what is not an
    :class:`~rl_softmax.agents.Agent` of the kind (``per_step``) a constructor
    runs."""
    name, takes, _ = _CONSTRUCTORS[per_step]
    if not isinstance(agent, Agent):
        raise TypeError(
            f"{name} takes {takes}; got {type(agent).__name__}, not an "
            "rl_softmax.agents.Agent (init, act, learn)."
        )
    if agent.per_step != per_step:
        call = _CONSTRUCTORS[agent.per_step][2]
        raise TypeError(f"{name} takes {takes}; this agent runs with {call}.")


def value_shape(swept: str | tuple[str, ...]) -> tuple[int, ...]:
    """The shape of a run's ``value`` for ``swept``: ``()`` for one parameter
    name, ``(k,)`` for a tuple of k names."""
    return () if isinstance(swept, str) else (len(swept),)


def swept_params(agent_params: Any, swept: str | tuple[str, ...], value) -> Any:
    """``agent_params`` with the swept field(s) set from ``value``: a scalar for
    one name, a ``[..., k]`` array (one entry per name, last axis) for k names."""
    if isinstance(swept, str):
        return agent_params._replace(**{swept: value})
    return agent_params._replace(**{f: value[..., i] for i, f in enumerate(swept)})


def checked_agent_params(
    env, agent, agent_params: Any, swept: str | tuple[str, ...] | None
) -> tuple[Any, str | tuple[str, ...]]:
    """``(agent_params, swept)``: the parameters (default: the agent's) checked to
    hold ``swept`` (default: their first field; a tuple of distinct fields sweeps
    them together), and the agent checked to have the environment's number of
    actions."""
    agent_params = agent.default_params if agent_params is None else agent_params
    swept = agent_params._fields[0] if swept is None else swept
    if not isinstance(swept, str):
        swept = tuple(swept)
        if not swept or len(set(swept)) != len(swept):
            raise ValueError(
                f"swept={swept!r}: expected a field name or a tuple of distinct ones."
            )
    for name in (swept,) if isinstance(swept, str) else swept:
        if name not in agent_params._fields:
            raise ValueError(
                f"swept={name!r} is not a parameter of this agent; "
                f"expected one of {agent_params._fields}."
            )
    if agent.num_actions != env.num_actions:
        raise ValueError(
            f"the agent has {agent.num_actions} actions but the environment "
            f"{env.num_actions}."
        )
    return agent_params, swept


def make_run(
    env: Environment,
    agent: Agent,
    num_steps: int,
    *,
    env_params: Any = None,
    agent_params: Any = None,
    swept: str | tuple[str, ...] | None = None,
    track_probs: bool = False,
    num_episodes: int = 0,
) -> Run:
    """Builds the pure run of ``agent`` on ``env`` (purejaxrl's ``make_train`` shape).

    Args:
      env: an :class:`~rl_softmax.envs.Environment`.
      agent: an :class:`~rl_softmax.agents.Agent` that learns from each step
        (``per_step``); it learns from one ``[1, 1]`` batch per step.
      num_steps: steps per run (static).
      env_params: environment parameters (default: ``env.default_params``).
      agent_params: agent parameters (default: ``agent.default_params``).
      swept: the field of ``agent_params`` that the run's ``value`` replaces
        (default: the first, e.g. ``explore``), or a tuple of fields set from a
        vector ``value`` (several parameters swept together).
      track_probs: also report ``prob_by_rank``, the action probabilities with
        arms ordered by true value.
      num_episodes: also report ``episode_returns``, the returns of the first
        ``num_episodes`` episodes of each run (episodic environments only).

    Returns:
      a :class:`Run`.
    """
    checked_agent(agent, per_step=True)
    env_params = env.default_params if env_params is None else env_params
    agent_params, swept = checked_agent_params(env, agent, agent_params, swept)
    if not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(f"num_steps={num_steps!r}: expected an integer >= 1.")
    episodic = bool(env.episodic)
    if not isinstance(num_episodes, int) or num_episodes < 0:
        raise ValueError(f"num_episodes={num_episodes!r}: expected an integer >= 0.")
    if num_episodes and not episodic:
        raise ValueError(
            f"num_episodes={num_episodes}: this environment's episodes never end."
        )

    def init(key, value):
        key_reset, key_agent, key_steps = jax.random.split(key, 3)
        params = swept_params(agent_params, swept, value)
        obs, env_state = env.reset(key_reset, env_params)
        episode = Episode(jnp.zeros(()), jnp.zeros((), jnp.int32)) if episodic else None
        agent_state = agent.init(key_agent, params)
        returns = None
        if num_episodes:
            nan = jnp.full((num_episodes,), jnp.nan, jnp.float32)
            returns = _Returns(nan, jnp.zeros((), jnp.int32))
        return _Carry(key_steps, obs, env_state, agent_state, episode, value, returns)

    def end(carry):
        """The per-run values: the final greedy policy's exact score, the visits
        and the first episodes' returns."""
        out = {}
        if agent.summary is not None:
            params = swept_params(agent_params, swept, carry.value)
            summary = agent.summary(carry.agent_state, params)
            if "greedy_policy" in summary and hasattr(env, "evaluate"):
                score = env.evaluate(summary["greedy_policy"], env_params)
                out["greedy_success"] = score["success"]
                out["greedy_return"] = score["return"]
            if "visits" in summary:
                out["visits"] = summary["visits"]
        if carry.returns is not None:
            out["episode_returns"] = carry.returns.returns
        return {k: jnp.asarray(v, jnp.float32) for k, v in out.items()}

    def act_and_step(carry, t):
        """The step's draws, action and environment step."""
        # split(k, 4)[:2] == split(k, 2): a continuing run's draws do not depend on
        # whether the reset key exists, nor any draw on the learn key.
        key_act, key_env, key_reset, key_learn = jax.random.split(
            jax.random.fold_in(carry.key, t), 4
        )
        params = swept_params(agent_params, swept, carry.value)
        action, policy_info = agent.act(key_act, carry.agent_state, carry.obs, params)
        action = computed_once(action)
        stepped = env.step(key_env, carry.env_state, action, env_params)
        return action, policy_info, stepped, params, (key_reset, key_learn)

    def transition(carry, t):
        """The step's draws and results, before any metric."""
        action, policy_info, stepped, params, keys = act_and_step(carry, t)
        key_reset, key_learn = keys
        next_obs, env_state, reward, terminated, truncated, info = stepped
        experience = Transition(
            carry.obs, action, reward, next_obs, terminated, truncated
        )
        batch = one_step(experience)
        agent_state = agent.learn(key_learn, carry.agent_state, batch, params)
        return experience, policy_info, info, env_state, agent_state, key_reset

    # What the agent and the environment report decides the metrics (no update
    # needs tracing for that).
    carry_shape = jax.eval_shape(
        init, jax.random.key(0), jnp.zeros(value_shape(swept), jnp.float32)
    )
    shapes = jax.eval_shape(act_and_step, carry_shape, jnp.int32(0))
    end_shapes = jax.eval_shape(end, carry_shape)
    metrics = metrics_lib.available(
        shapes[1], shapes[2][-1], episodic=episodic, track_probs=track_probs,
        end=end_shapes,
    )  # fmt: skip

    def step(carry, t):
        experience, policy_info, info, env_state, agent_state, key_reset = transition(
            carry, t
        )
        values = metrics_lib.step_values(
            metrics, experience.reward, experience.action, policy_info, info
        )
        carry = carry._replace(
            obs=experience.next_obs, env_state=env_state, agent_state=agent_state
        )
        if not episodic:
            return carry, StepOutput(values, None)
        stepped = (
            experience.next_obs, env_state, experience.reward, experience.terminated,
            experience.truncated, info,
        )  # fmt: skip
        after = autoreset(env, env_params, metrics, key_reset, carry.episode, stepped)
        values.update(after.values)
        episode, ended = after.finished, after.ended
        if carry.returns is not None:
            count = carry.returns.count
            slot = jnp.minimum(count, num_episodes - 1)
            record = ended & (count < num_episodes)
            returns = carry.returns.returns
            returns = returns.at[slot].set(
                jnp.where(record, episode.reward, returns[slot])
            )
            carry = carry._replace(
                returns=_Returns(returns, count + ended.astype(jnp.int32))
            )
        carry = carry._replace(
            obs=after.obs, env_state=after.env_state, episode=after.episode
        )
        return carry, StepOutput(values, ended.astype(jnp.float32))

    return Run(
        init=init, step=step, end=end, num_steps=num_steps,
        num_actions=env.num_actions, swept=swept, metrics=metrics,
        checked_state=learned_state,
    )  # fmt: skip


def learned_state(carry: Any) -> tuple[Any, Any, Any]:
    """What must stay finite in a run's carry: the observation, the environment's
    and the agent's state (not the NaN placeholders of episodes not yet reached)."""
    return carry.obs, carry.env_state, carry.agent_state
