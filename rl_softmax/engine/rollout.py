"""A run of a rollout agent: ``num_envs`` environments stepped together, then a learn.

``make_rollout_run(env, agent, num_updates, num_envs=..., rollout_steps=...)``
builds a :class:`~rl_softmax.engine.run.Run` whose ``step`` is one update of a
:class:`~rl_softmax.agents.base.Agent` that learns from rollouts (``per_step=False``):
``rollout_steps`` steps of
``num_envs`` environments (the agent's ``act`` and the environment's ``step``
vmapped over them, in a ``lax.scan``), then ``agent.learn`` on the time-major
rollout. Everything :mod:`rl_softmax.engine.sweep` does with a run (the value x
seed grid, reductions in the scan, blocks) works unchanged; a curve's x axis is
``env_steps_per_step = num_envs * rollout_steps`` environment steps per update.

Episodes reset on the same step, as in :func:`~rl_softmax.engine.run.make_run`.
A step's per-step metrics are means over the rollout's ``rollout_steps x
num_envs`` steps; its per-episode metrics are sums over the episodes that ended in
the rollout, weighted by their count, so every episode weighs the same.

At the end of a run (``Run.end``) the final policy plays ``num_eval_episodes``
fresh episodes (up to the environment's ``max_steps``) twice from the same start
states: sampling from its softmax (``eval_return``) and taking its most probable
action (``greedy_return``). Where the environment has a ``reward_threshold``
(gymnasium's), the run also reports whether the mean return of the last 100
training episodes reached it (``solved``) and after how many environment steps
(``steps_to_solve``, NaN if never).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from rl_softmax.agents.base import Agent, Transition
from rl_softmax.engine import metrics as metrics_lib
from rl_softmax.engine.run import (
    Episode,
    Run,
    StepOutput,
    autoreset,
    checked_agent,
    checked_agent_params,
    learned_state,
    swept_params,
    value_shape,
)
from rl_softmax.envs.base import Environment

__all__ = [
    "SOLVE_WINDOW",
    "RecentReturns",
    "evaluation_action",
    "make_rollout_run",
    "record_returns",
    "rollout_output",
    "solved_at",
]

SOLVE_WINDOW = 100
"""Training episodes whose mean return decides ``solved`` (gymnasium's rule)."""


class RecentReturns(NamedTuple):
    """The returns of the last :data:`SOLVE_WINDOW` episodes, as a ring."""

    returns: jax.Array
    count: jax.Array

    @classmethod
    def empty(cls) -> RecentReturns:
        return cls(jnp.zeros((SOLVE_WINDOW,), jnp.float32), jnp.zeros((), jnp.int32))


class _Carry(NamedTuple):
    key: jax.Array
    key_eval: jax.Array
    obs: Any
    env_state: Any
    agent_state: Any
    episode: Episode
    recent: RecentReturns
    solved_at: jax.Array
    value: jax.Array


def record_returns(
    recent: RecentReturns, returns: jax.Array, ended: jax.Array
) -> RecentReturns:
    """Writes the returns (``[N]``) of the episodes that ended (``ended: [N]``, in
    environment order) into the ring; of more than fit, the last ones."""
    ended_count = jnp.sum(ended, dtype=jnp.int32)
    rank = jnp.cumsum(ended, dtype=jnp.int32) - 1
    keep = ended & (rank >= ended_count - SOLVE_WINDOW)
    slot = jnp.where(keep, (recent.count + rank) % SOLVE_WINDOW, SOLVE_WINDOW)
    ring = recent.returns.at[slot].set(returns.astype(jnp.float32), mode="drop")
    return RecentReturns(ring, recent.count + ended_count)


def solved_at(
    recent: RecentReturns, solved: jax.Array, threshold: float, env_steps: jax.Array
) -> jax.Array:
    """The environment steps at which the run solved the task (``solved``, NaN
    until then), after an update that brings the run to ``env_steps``: solved when
    the mean return of the last :data:`SOLVE_WINDOW` training episodes reaches
    ``threshold`` (gymnasium's rule)."""
    reached = (recent.count >= SOLVE_WINDOW) & (jnp.mean(recent.returns) >= threshold)
    steps = jnp.asarray(env_steps).astype(jnp.float32)
    return jnp.where(jnp.isnan(solved) & reached, steps, solved)


def evaluation_action(
    action: jax.Array, policy_info: dict[str, jax.Array], greedy: jax.Array
) -> jax.Array:
    """An evaluation episode's action: the policy's sample, or where ``greedy``
    its most probable action (a value-based agent's: the argmax of its values, as
    its behaviour may be uniform to float32 precision at tau = inf, 1e30)."""
    scores = policy_info.get("values", policy_info.get("probs"))
    best = jnp.argmax(scores, axis=-1).astype(action.dtype)
    return jnp.where(greedy, best, action)


def rollout_output(
    metrics, experience: Transition, policy_info, info, episode_values, ended
) -> StepOutput:
    """What one update reports, from its rollout (``[T, N, ...]`` arrays).

    Per-step metrics are means over the ``T x N`` steps; per-episode metrics are
    sums over the episodes that ended in the rollout (``episode_values``, 0 where
    none ended, from :func:`~rl_softmax.engine.run.episode_step`) beside their
    count. Shared by the rollout runs and the host loop.
    """
    per_episode = {m.name for m in metrics if m.per_episode}

    def step_values(reward, action, policy_info, info):
        return metrics_lib.step_values(metrics, reward, action, policy_info, info)

    values = jax.vmap(jax.vmap(step_values))(
        experience.reward, experience.action, policy_info, info
    )
    out = {k: jnp.mean(v, axis=(0, 1)) for k, v in values.items()}
    out.update({k: jnp.sum(episode_values[k], axis=(0, 1)) for k in per_episode})
    return StepOutput(out, jnp.sum(ended, dtype=jnp.float32))


def make_rollout_run(
    env: Environment,
    agent: Agent,
    num_updates: int,
    *,
    num_envs: int,
    rollout_steps: int,
    num_eval_episodes: int = 100,
    env_params: Any = None,
    agent_params: Any = None,
    swept: str | tuple[str, ...] | None = None,
) -> Run:
    """Builds the pure run of a rollout ``agent`` on ``num_envs`` copies of ``env``.

    Args:
      env: an :class:`~rl_softmax.envs.Environment` with episodes.
      agent: an :class:`~rl_softmax.agents.base.Agent` that learns from rollouts
        (``per_step=False``).
      num_updates: rollouts (and learns) per run (static); the run takes
        ``num_updates * num_envs * rollout_steps`` environment steps.
      num_envs: environments stepped together.
      rollout_steps: steps of each environment per rollout.
      num_eval_episodes: evaluation episodes of the final policy, stochastic and
        greedy (0: none; needs the environment's ``max_steps``).
      env_params: environment parameters (default: ``env.default_params``).
      agent_params: agent parameters (default: ``agent.default_params``).
      swept: the field of ``agent_params`` that the run's ``value`` replaces
        (a tuple of fields: ``value`` is a vector, one entry per field)
        (default: the first, e.g. ``tau`` of the actor-critic, ``explore`` of DQN).

    Returns:
      a :class:`~rl_softmax.engine.run.Run` whose ``step`` is one update.
    """
    checked_agent(agent, per_step=False)
    env_params = env.default_params if env_params is None else env_params
    for name, value in (
        ("num_updates", num_updates), ("num_envs", num_envs),
        ("rollout_steps", rollout_steps),
    ):  # fmt: skip
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name}={value!r}: expected an integer >= 1.")
    if not isinstance(num_eval_episodes, int) or num_eval_episodes < 0:
        raise ValueError(
            f"num_eval_episodes={num_eval_episodes!r}: expected an integer >= 0."
        )
    agent_params, swept = checked_agent_params(env, agent, agent_params, swept)
    if not env.episodic:
        raise ValueError("a rollout run needs an environment whose episodes end.")
    horizon = getattr(env, "max_steps", None) if num_eval_episodes else None
    threshold = getattr(env, "reward_threshold", None)
    act_batch = jax.vmap(agent.act, (0, None, 0, None))
    step_batch = jax.vmap(env.step, (0, 0, 0, None))
    reset_batch = jax.vmap(env.reset, (0, None))

    def params_of(value):
        return swept_params(agent_params, swept, value)

    def init(key, value):
        key_reset, key_agent, key_steps, key_eval = jax.random.split(key, 4)
        obs, env_state = reset_batch(jax.random.split(key_reset, num_envs), env_params)
        zeros = Episode(
            jnp.zeros((num_envs,), jnp.float32), jnp.zeros((num_envs,), jnp.int32)
        )
        recent = RecentReturns.empty()
        return _Carry(
            key=key_steps, key_eval=key_eval, obs=obs, env_state=env_state,
            agent_state=agent.init(key_agent, params_of(value)), episode=zeros,
            recent=recent, solved_at=jnp.full((), jnp.nan, jnp.float32), value=value,
        )  # fmt: skip

    def env_step(inner, key, agent_state, params):
        """One step of every environment: ``(obs, env_state, episode, recent)`` and
        the transition, the policy's info, the env's info, the episode ends."""
        obs, env_state, episode, recent = inner
        key_act, key_env, key_reset = jax.random.split(key, (3, num_envs))
        action, policy_info = act_batch(key_act, agent_state, obs, params)
        stepped = step_batch(key_env, env_state, action, env_params)
        next_obs, _, reward, terminated, truncated, info = stepped
        after = jax.vmap(lambda k, e, s: autoreset(env, env_params, metrics, k, e, s))(
            key_reset, episode, stepped
        )
        recent = record_returns(recent, after.finished.reward, after.ended)
        experience = Transition(obs, action, reward, next_obs, terminated, truncated)
        inner = (after.obs, after.env_state, after.episode, recent)
        return inner, (experience, policy_info, info, after)

    def rollout(carry, key):
        """``rollout_steps`` steps of every environment by the carry's policy."""
        params = params_of(carry.value)

        def one(inner, i):
            return env_step(
                inner, jax.random.fold_in(key, i), carry.agent_state, params
            )

        start = (carry.obs, carry.env_state, carry.episode, carry.recent)
        return jax.lax.scan(one, start, jnp.arange(rollout_steps))

    # What the agent and the environment report decides the metrics.
    carry_shape = jax.eval_shape(
        init, jax.random.key(0), jnp.zeros(value_shape(swept), jnp.float32)
    )
    obs_shape = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape[1:], x.dtype), carry_shape.obs
    )
    policy_shape = jax.eval_shape(
        agent.act,
        jax.random.key(0),
        carry_shape.agent_state,
        obs_shape,
        params_of(jnp.zeros(value_shape(swept), jnp.float32)),
    )[1]
    info_shape = jax.eval_shape(
        env.step,
        jax.random.key(0),
        jax.tree.map(
            lambda x: jax.ShapeDtypeStruct(x.shape[1:], x.dtype), carry_shape.env_state
        ),
        jnp.int32(0),
        env_params,
    )[-1]
    end_names = {"eval_return": True, "greedy_return": True} if horizon else {}
    if threshold is not None:
        end_names.update(solved=True, steps_to_solve=True)
    metrics = metrics_lib.available(
        policy_shape, info_shape, episodic=True, end=end_names
    )

    def step(carry, t):
        key_rollout, key_learn = jax.random.split(jax.random.fold_in(carry.key, t))
        params = params_of(carry.value)
        (obs, env_state, episode, recent), outputs = rollout(carry, key_rollout)
        experience, policy_info, info, after = outputs

        out = rollout_output(
            metrics, experience, policy_info, info, after.values, after.ended
        )
        agent_state = agent.learn(key_learn, carry.agent_state, experience, params)
        solved = carry.solved_at
        if threshold is not None:
            steps = (t + 1) * num_envs * rollout_steps
            solved = solved_at(recent, solved, threshold, steps)
        carry = carry._replace(
            obs=obs, env_state=env_state, agent_state=agent_state, episode=episode,
            recent=recent, solved_at=solved,
        )  # fmt: skip
        return carry, out

    def evaluate(carry):
        """Mean returns of ``num_eval_episodes`` episodes of the final policy,
        sampling and greedy, from the same start states (one scan for both)."""
        params = params_of(carry.value)
        key_reset, key_play = jax.random.split(carry.key_eval)
        obs, env_state = reset_batch(
            jax.random.split(key_reset, num_eval_episodes), env_params
        )
        # [2 * E]: the first E episodes sample, the last E take the argmax
        obs, env_state = jax.tree.map(
            lambda x: jnp.concatenate([x, x]), (obs, env_state)
        )
        greedy = jnp.arange(2 * num_eval_episodes) >= num_eval_episodes

        def play(inner, i):
            obs, env_state, total, alive = inner
            key_act, key_env = jax.random.split(
                jax.random.fold_in(key_play, i), (2, 2 * num_eval_episodes)
            )
            action, policy_info = act_batch(key_act, carry.agent_state, obs, params)
            action = evaluation_action(action, policy_info, greedy)
            obs, env_state, reward, terminated, truncated, _ = step_batch(
                key_env, env_state, action, env_params
            )
            total = total + jnp.where(alive, reward, 0.0)
            alive = alive & ~(terminated | truncated)
            return (obs, env_state, total, alive), None

        start = (
            obs, env_state, jnp.zeros((2 * num_eval_episodes,), jnp.float32),
            jnp.ones((2 * num_eval_episodes,), bool),
        )  # fmt: skip
        (_, _, total, _), _ = jax.lax.scan(play, start, jnp.arange(horizon))
        total = total.reshape(2, num_eval_episodes)
        return jnp.mean(total[0]), jnp.mean(total[1])

    def end(carry):
        out = {}
        if horizon:
            out["eval_return"], out["greedy_return"] = evaluate(carry)
        if threshold is not None:
            out["solved"] = (~jnp.isnan(carry.solved_at)).astype(jnp.float32)
            out["steps_to_solve"] = carry.solved_at
        return {k: jnp.asarray(v, jnp.float32) for k, v in out.items()}

    return Run(
        init=init, step=step, end=end, num_steps=num_updates,
        num_actions=env.num_actions, swept=swept, metrics=metrics,
        env_steps_per_step=num_envs * rollout_steps, checked_state=learned_state,
    )  # fmt: skip
