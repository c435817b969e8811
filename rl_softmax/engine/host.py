"""The host executor: a gymnasium vector environment stepped by NumPy, the agent jitted.

``host_sweep(env, agent, num_steps, values, seeds, key=...)`` evaluates the same value
x seed grid as :func:`rl_softmax.engine.sweep`, with one gymnasium environment per
(value, seed) run, all in one vector environment with same-step autoreset
(:class:`rl_softmax.envs.host.HostEnv`). The agents act in a jitted call vmapped
over the whole grid, gymnasium steps every environment, and at the end of an update
(every step for a per-step agent) one jitted call updates the agents, adds the
metrics into window sums on the device and acts for the next step: one dispatch per
step, and what crosses to the host is the actions and what gymnasium returns.
Results come back as a :class:`~rl_softmax.engine.sweep.SweepResult` folded by the
same :class:`~rl_softmax.engine.reductions.Accumulator`.

A rollout agent (:class:`~rl_softmax.agents.base.RolloutAgent`, ``rollout_shape =
(num_envs, rollout_steps)``) gets ``num_envs`` environments per run and learns every
``rollout_steps`` steps, as in :func:`~rl_softmax.engine.rollout.make_rollout_run`;
a per-step agent is the case of one environment and one step.

Seeding: run ``(v, s)`` draws its agent keys from ``fold_in(key, s)`` (the seed only,
as on the JAX path) and environment ``n`` of it is gymnasium-seeded with
``env_seeds[s] * num_envs + n``, the same for every value (common random numbers).
The environment's draws are gymnasium's, so a host run matches a JAX run in
distribution, and itself bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from rl_softmax.agents.base import Transition
from rl_softmax.engine import metrics as metrics_lib
from rl_softmax.engine import reductions
from rl_softmax.engine.run import checked_agent_params
from rl_softmax.engine.sweep import SweepResult, _as_grid, _check_int, _default_stride

__all__ = ["host_sweep"]


class _Sums(NamedTuple):
    """On-device running sums of every metric, ``[V, S]`` each (a window's,
    the run's, the final steps'), the windows so far ``[W, V, S]`` and each run's
    first diverged window ``[V, S]`` (-1: never)."""

    window: dict[str, jax.Array]
    total: dict[str, jax.Array]
    final: dict[str, jax.Array]
    windows: dict[str, jax.Array]
    diverged: jax.Array


def host_sweep(
    env,
    agent,
    num_steps: int,
    values: ArrayLike,
    seeds: int | Sequence[int],
    *,
    key: jax.Array,
    env_seeds: Sequence[int] | None = None,
    agent_params: Any = None,
    swept: str = "explore",
    final_steps: int | None = None,
    curve_stride: int | None = None,
    rollout_shape: tuple[int, int] | None = None,
    on_step: Callable[[int], None] | None = None,
) -> SweepResult:
    """Evaluates a per-step ``agent`` on every (value, seed) pair, on the host.

    Args:
      env: a :class:`~rl_softmax.envs.host.HostEnv`.
      agent: an :class:`~rl_softmax.agents.Agent` (``init``, ``act``, ``update``).
      num_steps: steps per run.
      values: ``[V]`` values of the swept parameter.
      seeds: number of seeds or explicit seed indices.
      key: base PRNG key; seed ``s`` uses ``fold_in(key, s)``.
      env_seeds: gymnasium's seed of each seed's environment (default: the seed
        indices).
      agent_params: agent parameters (default: ``agent.default_params``).
      swept: the field of ``agent_params`` the value replaces.
      final_steps: the window at the end for ``run_final`` (default the last 100).
      curve_stride: steps per curve window (default: at most 250 windows).
      rollout_shape: ``(num_envs, rollout_steps)`` of a rollout agent (one of its
        steps is an update of that many environment steps); None for a per-step
        agent.
      on_step: called with the number of steps done, every 1% of the run.

    Returns:
      a :class:`~rl_softmax.engine.sweep.SweepResult`.
    """
    values, seeds = _as_grid(values, seeds)
    _check_int("num_steps", num_steps, 1, None)
    stride = _default_stride(num_steps) if curve_stride is None else curve_stride
    final_steps = min(100, num_steps) if final_steps is None else final_steps
    _check_int("final_steps", final_steps, 1, num_steps)
    _check_int("curve_stride", stride, 1, num_steps)
    if num_steps % stride:
        raise ValueError(f"curve_stride={stride} must divide num_steps={num_steps}.")
    agent_params = checked_agent_params(env, agent, agent_params, swept)
    env_seeds = [int(s) for s in (seeds if env_seeds is None else env_seeds)]
    if len(env_seeds) != seeds.size:
        raise ValueError(
            f"env_seeds has {len(env_seeds)} entries for {seeds.size} seeds."
        )
    num_values, num_seeds = values.size, seeds.size
    num_windows = num_steps // stride
    first_final = num_steps - final_steps
    if hasattr(agent, "learn"):  # a rollout agent: num_envs x rollout_steps updates
        if rollout_shape is None:
            raise ValueError(
                "a rollout agent needs rollout_shape=(num_envs, rollout_steps)."
            )
        (num_envs, horizon), learn_one = rollout_shape, agent.learn
    else:
        (num_envs, horizon), learn_one = (1, 1), _per_step_learn(agent.update)

    def grid(f, in_axes):
        """``f`` vmapped over seeds inside values."""
        return jax.vmap(jax.vmap(f, in_axes[1]), in_axes[0])

    run_keys = jax.vmap(jax.random.fold_in, (None, 0))(key, jnp.asarray(seeds))
    _, agent_keys, step_keys = jnp.moveaxis(
        jax.vmap(lambda k: jax.random.split(k, 3))(run_keys), 1, 0
    )
    params = agent_params._replace(**{swept: jnp.asarray(values)})
    params_axes = agent_params._replace(
        **{f: None for f in agent_params._fields}
    )._replace(**{swept: 0})
    states = jax.jit(grid(agent.init, ((None, params_axes), (0, None))))(
        agent_keys, params
    )

    def act(states, obs, t, i):
        """Every run's ``num_envs`` actions at step ``i`` of update ``t``."""

        def one(state, o, step_key, p):
            key = jax.random.fold_in(jax.random.fold_in(step_key, t), i)
            keys = jax.random.split(key, num_envs)
            return jax.vmap(agent.act, (0, None, 0, None))(keys, state, o, p)

        return grid(one, ((0, 0, None, params_axes), (0, 0, 0, None)))(
            states, obs, step_keys, params
        )

    act = jax.jit(act)
    obs_shape = (num_values, num_seeds, num_envs, *env.obs_shape)
    policy_shape = jax.eval_shape(
        act, states, jnp.zeros(obs_shape, env.obs_dtype), jnp.int32(0), jnp.int32(0)
    )[1]
    one_policy = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape[3:], x.dtype), policy_shape
    )
    metrics = metrics_lib.available(one_policy, {}, episodic=True)
    per_episode = {m.name for m in metrics if m.per_episode}

    def learn(states, sums, episode, experience, policy_info, t):
        """Learns from one update's ``[V, S, T, N]`` experience and adds its
        metrics (means over ``T x N`` steps; per-episode sums) to the sums."""

        def one(state, e, step_key, p):
            key = jax.random.fold_in(jax.random.fold_in(step_key, t), horizon)
            return learn_one(key, state, e, p)

        states = grid(one, ((0, 0, None, params_axes), (0, 0, 0, None)))(
            states, experience, step_keys, params
        )
        values = jax.vmap(
            jax.vmap(
                jax.vmap(
                    jax.vmap(
                        lambda r, a, pi: metrics_lib.step_values(metrics, r, a, pi, {})
                    )
                )
            )
        )(experience.reward, experience.action, policy_info)
        step = {k: jnp.mean(v, axis=(2, 3)) for k, v in values.items()}

        def episodes(carry, inputs):  # over the T steps, per environment
            returns, lengths = carry
            reward, ended = inputs
            returns, lengths = returns + reward, lengths + 1
            at_end = (jnp.where(ended, returns, 0.0),
                      jnp.where(ended, lengths, 0).astype(jnp.float32))  # fmt: skip
            carry = (jnp.where(ended, 0.0, returns), jnp.where(ended, 0, lengths))
            return carry, at_end

        ended = experience.terminated | experience.truncated
        episode, (returns, lengths) = jax.lax.scan(
            episodes, episode,
            (jnp.moveaxis(experience.reward, 2, 0), jnp.moveaxis(ended, 2, 0)),
        )  # fmt: skip
        at_end = {"return": returns, "length": lengths}
        for name in per_episode:
            step[name] = jnp.sum(at_end[name], axis=(0, 3))
        step["_ended"] = jnp.sum(ended, axis=(2, 3), dtype=jnp.float32)
        window = {k: sums.window[k] + v for k, v in step.items()}
        total = {k: sums.total[k] + v for k, v in step.items()}
        final = {
            k: jnp.where(t >= first_final, sums.final[k] + v, sums.final[k])
            for k, v in step.items()
        }
        closes = (t + 1) % stride == 0
        w = t // stride
        windows = {
            k: sums.windows[k]
            .at[w]
            .set(jnp.where(closes, window[k], sums.windows[k][w]))
            for k in window
        }
        # once per window, as on the JAX path: a run whose agent state holds a NaN
        # or whose window is not finite has diverged
        # (only when a window closes: the agent states may hold a replay buffer)
        metric_window = {k: v for k, v in window.items() if k != "_ended"}
        bad = jax.lax.cond(
            closes,
            lambda: grid(reductions.diverged, (0, 0))(metric_window, states),
            lambda: jnp.zeros(sums.diverged.shape, bool),
        )
        first = jnp.where((sums.diverged < 0) & bad, w, sums.diverged)
        window = {k: jnp.where(closes, 0.0, v) for k, v in window.items()}
        return states, _Sums(window, total, final, windows, first), episode

    def learn_and_act(states, sums, episode, steps, infos, t, obs):
        """Learns from update ``t``'s steps, then acts at the first step of update
        ``t + 1``: one dispatch per update (per step for a per-step agent)."""
        experience = jax.tree.map(lambda *x: jnp.stack(x, axis=2), *steps)
        policy_info = jax.tree.map(lambda *x: jnp.stack(x, axis=2), *infos)
        states, sums, episode = learn(states, sums, episode, experience, policy_info, t)
        action, policy_info = act(states, obs, t + 1, jnp.int32(0))
        return states, sums, episode, action, policy_info

    learn_and_act = jax.jit(learn_and_act)
    names = [m.name for m in metrics] + ["_ended"]
    zeros = jnp.zeros((num_values, num_seeds), jnp.float32)
    sums = _Sums(
        {k: zeros for k in names}, {k: zeros for k in names},
        {k: zeros for k in names},
        {k: jnp.zeros((num_windows, num_values, num_seeds)) for k in names},
        jnp.full((num_values, num_seeds), -1, jnp.int32),
    )  # fmt: skip
    batch = (num_values, num_seeds, num_envs)
    episode = (jnp.zeros(batch, jnp.float32), jnp.zeros(batch, jnp.int32))

    vector = env.vector(num_values * num_seeds * num_envs)
    try:
        obs, _ = vector.reset(
            seed=[
                env_seeds[s] * num_envs + n
                for _ in values for s in range(num_seeds) for n in range(num_envs)
            ]
        )  # fmt: skip
        obs = env.as_obs(obs).reshape(obs_shape)
        report_every = max(1, num_steps // 100)
        action, policy_info = act(states, obs, jnp.int32(0), jnp.int32(0))
        for t in range(num_steps):
            steps, infos = [], []
            for i in range(horizon):
                if i:
                    action, policy_info = act(states, obs, jnp.int32(t), jnp.int32(i))
                action = np.asarray(action)
                next_obs, reward, terminated, truncated, info = vector.step(
                    action.reshape(-1)
                )
                next_obs = env.as_obs(next_obs)
                true_next = next_obs
                if "_final_obs" in info and np.any(info["_final_obs"]):
                    ended = np.flatnonzero(info["_final_obs"])
                    true_next = next_obs.copy()
                    true_next[ended] = env.as_obs(np.stack(info["final_obs"][ended]))
                steps.append(Transition(
                    obs, action, np.asarray(reward, np.float32).reshape(batch),
                    true_next.reshape(obs_shape), np.asarray(terminated).reshape(batch),
                    np.asarray(truncated).reshape(batch),
                ))  # fmt: skip
                infos.append(policy_info)
                obs = next_obs.reshape(obs_shape)
            # stacked inside the jitted call: [V, S, T, N, ...], time-major per run
            states, sums, episode, action, policy_info = learn_and_act(
                states, sums, episode, tuple(steps), tuple(infos), jnp.int32(t), obs
            )
            if on_step is not None and (
                (t + 1) % report_every == 0 or t + 1 == num_steps
            ):
                on_step(t + 1)
    finally:
        vector.close()

    sums = jax.tree.map(np.asarray, sums)
    count_all, count_final = sums.total["_ended"], sums.final["_ended"]
    count_windows = np.moveaxis(sums.windows["_ended"], 0, -1)

    def means(total, count, steps):
        with np.errstate(invalid="ignore", divide="ignore"):
            return {
                k: total[k] / count if k in per_episode else total[k] / steps
                for k in total
                if k != "_ended"
            }

    mean = means(sums.total, count_all, num_steps)
    final = means(sums.final, count_final, final_steps)
    windows = {
        k: np.moveaxis(v, 0, -1) if k in per_episode else np.moveaxis(v, 0, -1) / stride
        for k, v in sums.windows.items()
        if k != "_ended"
    }
    acc = reductions.Accumulator(
        _RunShape(metrics, env.num_actions), num_values, num_seeds, num_windows, False
    )
    acc.add(
        slice(0, num_values), slice(0, num_seeds), mean, final, windows,
        (count_all, count_final, count_windows), {}, sums.diverged,
    )  # fmt: skip
    per_step = num_envs * horizon
    return SweepResult(
        values=values,
        seeds=seeds.astype(np.int64),
        steps=np.arange(1, num_windows + 1) * stride * per_step,
        final_steps=final_steps * per_step,
        metrics=acc.result(num_seeds),
        diverged=sums.diverged,
    )


def _per_step_learn(update):
    """A per-step agent's ``update`` as the ``learn`` of a one-step, one-environment
    rollout."""

    def learn(key, state, rollout, params):
        del key
        return update(state, jax.tree.map(lambda x: x[0, 0], rollout), params)

    return learn


class _RunShape(NamedTuple):
    """What the accumulator reads of a run: its metrics."""

    metrics: tuple
    num_actions: int
