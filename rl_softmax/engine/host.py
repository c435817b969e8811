"""The host executor: a gymnasium vector environment stepped by NumPy, the agent jitted.

``host_sweep(env, agent, num_steps, values, seeds, key=...)`` evaluates the same value
x seed grid as :func:`rl_softmax.engine.sweep`, with one gymnasium environment per
(value, seed) run, all in one vector environment with same-step autoreset
(:class:`rl_softmax.envs.host.HostEnv`). The agents act in a jitted call vmapped
over the whole grid, gymnasium steps every environment, and at the end of an update
(every step for a per-step agent) one jitted call updates the agents, adds the
metrics into window sums on the device and acts for the next step: one dispatch per
step, and what crosses to the host is the actions and what gymnasium returns. A
step costs little beside gymnasium's own: the metric sums are packed into one
array per reduction, the carried state is donated (updated in place), a window is
closed by a second compiled step rather than a branch, and the act keys of 256
steps are derived in one call. Results come back as a
:class:`~rl_softmax.engine.sweep.SweepResult` folded by the same
:class:`~rl_softmax.engine.reductions.Accumulator`.

An agent that learns from rollouts (``per_step=False``, ``rollout_shape =
(num_envs, rollout_steps)``) gets ``num_envs`` environments per run and learns every
``rollout_steps`` steps, as in :func:`~rl_softmax.engine.rollout.make_rollout_run`;
a per-step agent is the case of one environment and one step. Both learn through
the one contract (``agent.learn`` on a ``[T, N]`` batch). The bookkeeping is the
engine's: episodes by :func:`~rl_softmax.engine.run.episode_step`, an update's
output by :func:`~rl_softmax.engine.rollout.rollout_output`; the windows, totals,
final steps and divergence check by the
:class:`~rl_softmax.engine.reductions.WindowFold` of the compiled scan.

The environments are stepped in this process (gymnasium's sync vector env) or, with
``processes=k``, on ``k`` cores (:mod:`rl_softmax.engine.host_vector`),
with bit-identical results. With a ``checkpoint`` the study saves its state at the
end of an update and resumes from it, to the same bits: the loop's carry, and each
environment as how its episode began and the actions since
(:mod:`rl_softmax.envs.replay`).

At the end, each run reports what the JAX path's ``Run.end`` does. A tabular agent
(per step, with a ``"greedy_policy"`` in its summary) on an environment with a
transition table ``P`` gets its final greedy policy scored exactly
(``greedy_success``, ``greedy_return``) by the table's
:meth:`~rl_softmax.envs.tabular.TabularEnv.evaluate`. A rollout agent's final policy
plays ``num_eval_episodes`` episodes twice on a separate vector env, from the same
start states: sampling (``eval_return``) and taking its most probable action
(``greedy_return``), as in :func:`~rl_softmax.engine.rollout.make_rollout_run`
(needs the environment's time limit); where gymnasium registers a
``reward_threshold``, ``solved`` and ``steps_to_solve`` follow the same rule over
the last 100 training episodes.

Seeding: run ``(v, s)`` draws its agent keys from ``fold_in(key, s)`` (the seed only,
as on the JAX path; step ``i`` of update ``t`` acts with ``fold_in(fold_in(k, t), i)``
of its step key ``k``, split over its environments) and environment ``n`` of it is
gymnasium-seeded with ``env_seeds[s] * num_envs + n``, the same for every value
(common random numbers); its evaluation episode ``e`` with ``2**63 + env_seeds[s] *
num_eval_episodes + e`` (never a training seed). The environment's draws are
gymnasium's, so a host run matches a JAX run in distribution, and itself bit for
bit.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from rl_softmax.agents.base import Agent, Transition
from rl_softmax.engine import host_vector, reductions
from rl_softmax.engine import metrics as metrics_lib
from rl_softmax.engine.checkpoint import Checkpoint
from rl_softmax.engine.host_vector import make_vector
from rl_softmax.engine.rollout import (
    RecentReturns,
    evaluation_action,
    record_returns,
    rollout_output,
    solved_at,
)
from rl_softmax.engine.run import (
    Episode,
    StepOutput,
    checked_agent_params,
    episode_step,
    swept_params,
    value_shape,
)
from rl_softmax.engine.sweep import (
    SweepInterrupted,
    SweepResult,
    as_grid,
    check_int,
    default_stride,
)

__all__ = ["host_sweep"]

_KEY_BLOCK = 256
"""Steps whose act keys are derived in one call."""

_EVAL_SEED = 2**63
"""Evaluation episodes' gymnasium seeds start here, past any training seed."""


class _Episodes(NamedTuple):
    """Every run's episodes under way, its last returns and when it solved (None
    without a reward threshold)."""

    episode: Episode
    recent: RecentReturns | None
    solved_at: jax.Array | None


def host_sweep(
    env,
    agent: Agent,
    num_steps: int,
    values: ArrayLike,
    seeds: int | Sequence[int],
    *,
    key: jax.Array,
    env_seeds: Sequence[int] | None = None,
    agent_params: Any = None,
    swept: str | tuple[str, ...] | None = None,
    final_steps: int | None = None,
    curve_stride: int | None = None,
    rollout_shape: tuple[int, int] | None = None,
    on_step: Callable[[int], None] | None = None,
    processes: int = 0,
    num_eval_episodes: int = 100,
    checkpoint: Checkpoint | None = None,
    stop: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> SweepResult:
    """Evaluates ``agent`` on every (value, seed) pair, on the host.

    Args:
      env: a :class:`~rl_softmax.envs.host.HostEnv`.
      agent: an :class:`~rl_softmax.agents.Agent`, per-step or learning from
        rollouts.
      num_steps: steps per run (updates, for an agent that learns from rollouts).
      values: ``[V]`` values of the swept parameter (``[V, k]`` for a tuple of
        k swept fields).
      seeds: number of seeds or explicit seed indices.
      key: base PRNG key; seed ``s`` uses ``fold_in(key, s)``.
      env_seeds: gymnasium's seed of each seed's environment (default: the seed
        indices).
      agent_params: agent parameters (default: ``agent.default_params``).
      swept: the field of ``agent_params`` the value replaces (default: the
        first), or a tuple of fields swept together.
      final_steps: the window at the end for ``run_final`` (default the last 100).
      curve_stride: steps per curve window (default: at most 250 windows).
      rollout_shape: ``(num_envs, rollout_steps)`` of an agent that learns from
        rollouts (one of its steps is an update of that many environment steps);
        None for a per-step agent.
      on_step: called with the number of steps done, every 1% of the run.
      processes: processes stepping the environments, this one included (0: this
        process alone);
        never changes a number.
      num_eval_episodes: evaluation episodes of a rollout agent's final policy,
        sampling and greedy (0: none).
      checkpoint: where the study's state is saved (every ``checkpoint.every``
        seconds, at the end of an update) and resumed from; the results are the
        same bits (see :mod:`rl_softmax.envs.replay` for the environments).
      stop: asked every 1% of the run; True saves the checkpoint and raises
        :class:`~rl_softmax.engine.sweep.SweepInterrupted`.
      log: where a resume (or why a checkpoint cannot be resumed) is told.

    In a run of several processes (``jax.distributed``; see
    :func:`rl_softmax.engine.executor.initialize_distributed`) each process steps
    its share of the values (all their seeds; the shares equal in size, the last
    value repeated where the values do not divide evenly) and every process gets
    the whole result: the same bits as one process, since every run's numbers
    depend on its value, seed and key only. ``checkpoint`` is then this process's
    own, and ``stop`` is asked of every process together.

    Returns:
      a :class:`~rl_softmax.engine.sweep.SweepResult`.
    """
    settings = dict(
        key=key, env_seeds=env_seeds, agent_params=agent_params, swept=swept,
        final_steps=final_steps, curve_stride=curve_stride,
        rollout_shape=rollout_shape, on_step=on_step, processes=processes,
        num_eval_episodes=num_eval_episodes, checkpoint=checkpoint, stop=stop,
        log=log,
    )  # fmt: skip
    if jax.process_count() == 1:
        return _sweep_here(env, agent, num_steps, values, seeds, **settings)
    _, swept = checked_agent_params(env, agent, agent_params, swept)
    values, seeds = as_grid(values, seeds, value_shape(swept))
    share, counts = _share(len(values), jax.process_count())
    mine = values[share[jax.process_index()]]
    result = _sweep_here(env, agent, num_steps, mine, seeds, **settings)
    return _gathered(result, counts)


def _share(num_values: int, num_processes: int) -> tuple[list[np.ndarray], list[int]]:
    """Each process's value indices (equal in number: the last value repeated to
    fill) and how many of them are its own."""
    size = -(-num_values // num_processes)
    share, counts = [], []
    for p in range(num_processes):
        own = np.arange(p * size, min((p + 1) * size, num_values))
        counts.append(own.size)
        share.append(np.concatenate([own, np.full(size - own.size, num_values - 1)]))
    return share, counts


def _gathered(result: SweepResult, counts: list[int]) -> SweepResult:
    """Every process's :class:`SweepResult` of its share, joined along the values
    (the repeated values dropped), on every process. The arrays travel as bytes,
    so every dtype (float64 sums, NaN patterns) arrives bit for bit."""
    from jax.experimental import multihost_utils

    leaves, tree = jax.tree.flatten((result.values, result.metrics, result.diverged))
    leaves = [np.ascontiguousarray(x) for x in leaves]
    sent = [np.frombuffer(x.tobytes(), np.uint8) for x in leaves]
    received = multihost_utils.process_allgather(sent)
    joined = [
        np.concatenate([
            np.frombuffer(np.asarray(rows[p]).tobytes(), x.dtype).reshape(x.shape)[:n]
            for p, n in enumerate(counts)
        ])
        for x, rows in zip(leaves, received, strict=True)
    ]  # fmt: skip
    values, metrics, diverged = jax.tree.unflatten(tree, joined)
    metrics = {name: metrics[name] for name in result.metrics}  # (sorted by jax)
    return result._replace(values=values, metrics=metrics, diverged=diverged)


def _sweep_here(
    env,
    agent: Agent,
    num_steps: int,
    values: ArrayLike,
    seeds: int | Sequence[int],
    *,
    key: jax.Array,
    env_seeds: Sequence[int] | None = None,
    agent_params: Any = None,
    swept: str | tuple[str, ...] | None = None,
    final_steps: int | None = None,
    curve_stride: int | None = None,
    rollout_shape: tuple[int, int] | None = None,
    on_step: Callable[[int], None] | None = None,
    processes: int = 0,
    num_eval_episodes: int = 100,
    checkpoint: Checkpoint | None = None,
    stop: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> SweepResult:
    """:func:`host_sweep` of this process's grid (every value given)."""
    agent_params, swept = checked_agent_params(env, agent, agent_params, swept)
    values, seeds = as_grid(values, seeds, value_shape(swept))
    check_int("num_steps", num_steps, 1, None)
    stride = default_stride(num_steps) if curve_stride is None else curve_stride
    final_steps = min(100, num_steps) if final_steps is None else final_steps
    check_int("final_steps", final_steps, 1, num_steps)
    check_int("curve_stride", stride, 1, num_steps)
    if num_steps % stride:
        raise ValueError(f"curve_stride={stride} must divide num_steps={num_steps}.")
    env_seeds = [int(s) for s in (seeds if env_seeds is None else env_seeds)]
    if len(env_seeds) != seeds.size:
        raise ValueError(
            f"env_seeds has {len(env_seeds)} entries for {seeds.size} seeds."
        )
    check_int("processes", processes, 0, None)
    check_int("num_eval_episodes", num_eval_episodes, 0, None)
    if agent.per_step:
        if rollout_shape not in (None, (1, 1)):
            raise ValueError(
                f"rollout_shape={rollout_shape}: this agent learns from each step "
                "(per_step=True); expected None."
            )
        num_envs, horizon = 1, 1
    elif rollout_shape is None:
        raise ValueError(
            "this agent learns from rollouts (per_step=False): it needs "
            "rollout_shape=(num_envs, rollout_steps)."
        )
    else:
        num_envs, horizon = rollout_shape
    num_values, num_seeds = len(values), seeds.size
    num_windows = num_steps // stride
    fold = reductions.WindowFold(num_steps, final_steps, stride)

    def grid(f, in_axes):
        """``f`` vmapped over seeds inside values."""
        return jax.vmap(jax.vmap(f, in_axes[1]), in_axes[0])

    run_keys = jax.vmap(jax.random.fold_in, (None, 0))(key, jnp.asarray(seeds))
    eval_keys, agent_keys, step_keys = jnp.moveaxis(
        jax.vmap(lambda k: jax.random.split(k, 3))(run_keys), 1, 0
    )
    params = swept_params(agent_params, swept, jnp.asarray(values))
    fields = (swept,) if isinstance(swept, str) else swept
    params_axes = agent_params._replace(
        **{f: None for f in agent_params._fields}
    )._replace(**dict.fromkeys(fields, 0))
    run_axes = ((0, 0, None, params_axes), (0, 0, 0, None))
    states = jax.jit(grid(agent.init, ((None, params_axes), (0, None))))(
        agent_keys, params
    )

    key_impl = jax.random.key_impl(key)
    block = max(1, _KEY_BLOCK // horizon)

    def derive_keys(t):
        """The keys of updates ``t`` to ``t + block - 1``, every step ``i`` of
        each: ``[block, horizon, S, num_envs]`` key data."""

        def one(step_key, t, i):
            key = jax.random.fold_in(jax.random.fold_in(step_key, t), i)
            return jax.random.key_data(jax.random.split(key, num_envs))

        for axes in ((0, None, None), (None, None, 0), (None, 0, None)):
            one = jax.vmap(one, axes)  # seeds inside steps inside updates
        return one(step_keys, t + jnp.arange(block), jnp.arange(horizon))

    derive_keys = jax.jit(derive_keys)

    @functools.lru_cache(maxsize=1)
    def key_block(start):
        return np.asarray(derive_keys(np.int32(start)))

    def act_keys(t):
        """Every run's keys at update ``t``: ``[horizon, S, num_envs]`` key data,
        derived a block of updates at a time (once, not at every step)."""
        return key_block(t - t % block)[t % block]

    def act(states, obs, keys):
        """Every run's ``num_envs`` actions, from its ``keys`` at that step."""

        def one(state, o, keys, p):
            keys = jax.random.wrap_key_data(keys, impl=key_impl)
            return jax.vmap(agent.act, (0, None, 0, None))(keys, state, o, p)

        return grid(one, run_axes)(states, obs, keys, params)

    act = jax.jit(act)
    obs_shape = (num_values, num_seeds, num_envs, *env.obs_shape)
    policy_shape = jax.eval_shape(
        act, states, jnp.zeros(obs_shape, env.obs_dtype), act_keys(0)[0]
    )[1]
    one_policy = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape[3:], x.dtype), policy_shape
    )
    table = None  # scores a tabular agent's greedy policy exactly, as env.evaluate
    if agent.per_step and agent.summary is not None:
        summarize = grid(agent.summary, ((0, params_axes), (0, None)))
        if "greedy_policy" in jax.eval_shape(summarize, states, params):
            table = env.table()
    horizon_eval = env.max_steps if num_eval_episodes and not agent.per_step else None
    threshold = None if agent.per_step else env.reward_threshold
    end_names = set()
    if table is not None:
        end_names |= {"greedy_success", "greedy_return"}
    if horizon_eval:
        end_names |= {"eval_return", "greedy_return"}
    if threshold is not None:
        end_names |= {"solved", "steps_to_solve"}
    metrics = metrics_lib.available(
        one_policy, {}, episodic=True, end=dict.fromkeys(end_names, True)
    )
    per_episode = {m.name for m in metrics if m.per_episode}

    def update(states, episodes, experience, policy_info, t):
        """Every run learns from update ``t``'s ``[T, N]`` experience; returns the
        states, the episodes under way and the update's output, ``[V, S]``."""

        def one(state, episodes, e, info, step_key, p):
            key = jax.random.fold_in(jax.random.fold_in(step_key, t), horizon)
            state = agent.learn(key, state, e, p)
            ended = e.terminated | e.truncated

            def step(carry, inputs):  # one step of the run's N environments
                episode, recent = carry
                reward, ended = inputs
                episode, finished, values = jax.vmap(
                    lambda ep, r, d: episode_step(metrics, ep, r, d, {})
                )(episode, reward, ended)
                if recent is not None:
                    recent = record_returns(recent, finished.reward, ended)
                return (episode, recent), values

            start = (episodes.episode, episodes.recent)
            (episode, recent), values = jax.lax.scan(step, start, (e.reward, ended))
            solved = episodes.solved_at
            if threshold is not None:
                solved = solved_at(
                    recent, solved, threshold, (t + 1) * horizon * num_envs
                )
            out = rollout_output(metrics, e, info, {}, values, ended)
            return state, _Episodes(episode, recent, solved), out

        axes = ((0, 0, 0, 0, None, params_axes), (0, 0, 0, 0, 0, None))
        return grid(one, axes)(
            states, episodes, experience, policy_info, step_keys, params
        )

    names = [m.name for m in metrics if not m.at_end]
    packing = _Packing(names)

    def learn_and_act(
        states, sums, windows, episodes, steps, infos, t, obs, keys, *, close
    ):
        """Learns from update ``t``'s steps and folds its metrics (closing window
        ``t // stride`` if ``close``), then acts at the first step of update
        ``t + 1`` with its ``keys``: one dispatch per update (per step for a
        per-step agent)."""
        # stacked here: [V, S, T, N, ...], time-major per run
        experience = jax.tree.map(lambda *x: jnp.stack(x, axis=2), *steps)
        policy_info = jax.tree.map(lambda *x: jnp.stack(x, axis=2), *infos)
        states, episodes, out = update(states, episodes, experience, policy_info, t)
        sums = fold.add_step(sums, packing.pack(out), t)
        # once per window, as on the JAX path (the agent states may hold a replay
        # buffer: the check runs only when a window closes)
        if close:
            window = packing.unpack(sums.window)
            bad = grid(reductions.diverged, (0, 0))(window.values, states)
            sums, window = fold.close(sums, t // stride, bad)
            windows = windows.at[t // stride].set(window)
        action, policy_info = act(states, obs, keys)
        return states, sums, windows, episodes, action, policy_info

    # the carry's old buffers are dead after each call: XLA updates them in place
    learn_and_act = jax.jit(
        learn_and_act, static_argnames="close", donate_argnums=(0, 1, 2, 3)
    )
    runs = (num_values, num_seeds)
    # the metric sums, packed as [V, S, metrics + 1] (the last: episodes ended):
    # a few large arrays cost a step less than many small ones
    sums = jax.tree.map(
        jnp.copy, fold.start(jnp.zeros((*runs, packing.size), jnp.float32), runs)
    )
    windows = jnp.zeros((num_windows, *runs, packing.size), jnp.float32)
    batch = (num_values, num_seeds, num_envs)
    episodes = _Episodes(
        Episode(jnp.zeros(batch, jnp.float32), jnp.zeros(batch, jnp.int32)),
        None if threshold is None else jax.tree.map(
            lambda x: jnp.broadcast_to(x, (*runs, *x.shape)), RecentReturns.empty()
        ),
        None if threshold is None else jnp.full(runs, jnp.nan, jnp.float32),
    )  # fmt: skip

    total_envs = num_values * num_seeds * num_envs
    env_seed_list = [
        env_seeds[s] * num_envs + n
        for _ in values for s in range(num_seeds) for n in range(num_envs)
    ]  # fmt: skip
    saver = None
    if checkpoint is not None:
        layout = _layout(
            env, key, values, seeds, env_seeds, rollout_shape, num_steps, stride,
            final_steps, num_eval_episodes,
        )  # fmt: skip
        saver = _Saver(checkpoint, layout, total_envs)
    report_every = max(1, num_steps // 100)
    vector = make_vector(env, total_envs, processes, record=saver is not None)
    try:
        obs, _ = vector.reset(seed=env_seed_list)
        obs = env.as_obs(obs).reshape(obs_shape)
        action, policy_info = act(states, obs, act_keys(0)[0])
        carry = (states, sums, windows, episodes, action, policy_info)
        first = 0
        if saver is not None:
            resumed = saver.resume(vector, env, carry, obs, horizon, num_steps, log)
            if resumed is None:  # start over: the environments as first reset
                vector.reset(seed=env_seed_list)
            else:
                first, carry, obs = resumed
                if on_step is not None:
                    on_step(first)
        states, sums, windows, episodes, action, policy_info = carry
        for t in range(first, num_steps):
            steps, infos = [], []
            for i in range(horizon):
                if i:
                    action, policy_info = act(states, obs, act_keys(t)[i])
                # the action goes back to the device as it came: not a transfer
                sent = np.asarray(action).reshape(-1)
                next_obs, reward, terminated, truncated, info = vector.step(sent)
                if saver is not None:
                    saver.stepped(sent, terminated | truncated)
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
            states, sums, windows, episodes, action, policy_info = learn_and_act(
                states, sums, windows, episodes, tuple(steps), tuple(infos),
                np.int32(t), obs, act_keys(t + 1)[0], close=(t + 1) % stride == 0,
            )  # fmt: skip
            done = t + 1
            if done % report_every and done != num_steps:
                continue
            if on_step is not None:
                on_step(done)
            carry = (states, sums, windows, episodes, action, policy_info)
            stopping = stop is not None and done < num_steps and stop()
            if saver is not None and done < num_steps:
                if stopping or saver.checkpoint.due():
                    saver.save(vector, done, carry, obs)
                saver.trim()
            if stopping:
                raise SweepInterrupted(
                    0, num_values * num_seeds, steps_done=done, num_steps=num_steps
                )
    finally:
        vector.close()

    total, final, windows = map(packing.unpack, (sums.total, sums.final, windows))
    mean = fold.means(total, total.ended, num_steps, per_episode)
    final_mean = fold.means(final, final.ended, final_steps, per_episode)
    window_values = {
        k: np.moveaxis(np.asarray(v if k in per_episode else v / stride), 0, -1)
        for k, v in windows.values.items()
    }
    counts = (
        np.asarray(total.ended), np.asarray(final.ended),
        np.moveaxis(np.asarray(windows.ended), 0, -1),
    )  # fmt: skip
    diverged = np.asarray(sums.first_diverged)
    end = {}
    if table is not None:
        end.update(_exact_scores(table, agent, grid, params_axes)(states, params))
    if horizon_eval:
        end.update(_evaluate(
            env, agent, grid, run_axes, states, eval_keys, params, env_seeds,
            num_values, num_eval_episodes, processes,
        ))  # fmt: skip
    if threshold is not None:
        end["solved"] = ~jnp.isnan(episodes.solved_at)
        end["steps_to_solve"] = episodes.solved_at
    end = {k: np.asarray(v, np.float32) for k, v in end.items()}
    acc = reductions.Accumulator(metrics, num_values, num_seeds, num_windows, False)
    acc.add(
        slice(0, num_values), slice(0, num_seeds),
        jax.tree.map(np.asarray, mean), jax.tree.map(np.asarray, final_mean),
        window_values, counts, end, diverged,
    )  # fmt: skip
    per_step = num_envs * horizon
    return SweepResult(
        values=values,
        seeds=seeds.astype(np.int64),
        steps=np.arange(1, num_windows + 1) * stride * per_step,
        final_steps=final_steps * per_step,
        metrics=acc.result(num_seeds),
        diverged=diverged,
    )


def _layout(
    env, key, values, seeds, env_seeds, rollout_shape, num_steps, stride,
    final_steps, num_eval_episodes,
) -> str:  # fmt: skip
    """The identity of a host study's grid and settings (for its checkpoint; the
    caller's tag identifies the agent)."""
    digest = hashlib.sha256()
    for part in (jax.random.key_data(key), values, seeds, np.int64(env_seeds)):
        digest.update(np.ascontiguousarray(part).tobytes())
    grid = "x".join(map(str, (*values.shape, seeds.size)))
    return (
        f"host 1, {env.env_id} {dict(env.kwargs)}, grid {grid} "
        f"{digest.hexdigest()[:16]}, rollout {rollout_shape}, steps {num_steps}, "
        f"stride {stride}, final {final_steps}, eval {num_eval_episodes}"
    )


class _Saver:
    """A host study's checkpoints: the loop's carry (agent states, metric sums,
    episodes under way, the next actions), the observations, and every environment
    as how its episode began and the actions since (:mod:`rl_softmax.envs.replay`),
    which this keeps as the loop steps."""

    def __init__(self, checkpoint: Checkpoint, layout: str, num_envs: int):
        self.checkpoint, self.layout = checkpoint, layout
        self.steps = 0  # environment steps taken
        self.base = 0  # the step of history[0]
        self.history: list[np.ndarray] = []  # every environment's action per step
        self.began = np.zeros(num_envs, np.int64)  # the step its episode began at

    def stepped(self, actions: np.ndarray, ended: np.ndarray) -> None:
        self.history.append(actions)
        self.steps += 1
        self.began[ended] = self.steps

    def trim(self) -> None:
        """Forgets the actions of episodes that have ended everywhere."""
        drop = int(self.began.min()) - self.base
        del self.history[:drop]
        self.base += drop

    def save(self, vector, done: int, carry, obs) -> None:
        history = np.zeros((0, self.began.size), np.int64)
        if self.history:
            history = np.stack(self.history).astype(np.int64)
        actions = [history[b - self.base :, n] for n, b in enumerate(self.began)]
        leaves = jax.tree.leaves(carry)
        self.checkpoint.save(self.layout, done, {
            "carry": {str(i): np.array(x) for i, x in enumerate(leaves)},
            "obs": np.array(obs),
            "envs": np.array(json.dumps(host_vector.snapshot(vector))),
            "actions": np.concatenate(actions),
            "lengths": np.array([len(a) for a in actions], np.int64),
        })  # fmt: skip

    def resume(self, vector, env, carry, obs, horizon: int, num_steps: int, log):
        """``(updates done, carry, obs)`` from the checkpoint, its environments
        rebuilt in ``vector``; None (told to ``log``) if there is none or it
        cannot be resumed exactly."""
        say = log or (lambda line: None)
        saved = self.checkpoint.load(self.layout)
        if saved is None:
            return None
        done, state = saved
        fresh = jax.tree.leaves(carry)
        leaves = [state["carry"].get(str(i)) for i in range(len(fresh))]
        fits = len(state["carry"]) == len(fresh) and all(
            x is not None and x.shape == f.shape and x.dtype == f.dtype
            for x, f in zip(leaves, fresh, strict=True)
        )
        if not fits or state["obs"].shape != obs.shape:
            say(f"the checkpoint {self.checkpoint.path} does not fit; starting over")
            return None
        lengths = state["lengths"]
        actions = np.split(state["actions"], np.cumsum(lengths)[:-1])
        rebuilt, problems = host_vector.restore(
            vector, json.loads(str(state["envs"])), actions
        )
        if not any(problems):
            flat = (len(rebuilt), -1)
            same = env.as_obs(np.stack(rebuilt)).reshape(flat) == state["obs"].reshape(
                flat
            )
            problems = [
                None if ok else "its observation differs after the replay"
                for ok in same.all(axis=1)
            ]
        bad = [(n, p) for n, p in enumerate(problems) if p]
        if bad:
            n, problem = bad[0]
            say(
                f"cannot resume from {self.checkpoint.path}: {env.env_id} is not "
                f"rebuilt exactly from its seed and actions (environment {n}: "
                f"{problem}); starting over"
            )
            return None
        self.steps = done * horizon
        longest = int(lengths.max(initial=0))
        history = np.zeros((longest, self.began.size), np.int64)
        for n, a in enumerate(actions):
            history[longest - len(a) :, n] = a
        self.history, self.base = list(history), self.steps - longest
        self.began = self.steps - lengths
        say(f"resuming after {done} of {num_steps} steps")
        carry = jax.tree.unflatten(
            jax.tree.structure(carry), [jnp.array(x) for x in leaves]
        )
        return done, carry, state["obs"]


class _Packing(NamedTuple):
    """A step's metrics (``[V, S]`` each) as one ``[V, S, len(names) + 1]`` array,
    the episodes ended last."""

    names: list[str]

    @property
    def size(self) -> int:
        return len(self.names) + 1

    def pack(self, out: StepOutput) -> jax.Array:
        return jnp.stack([*(out.values[k] for k in self.names), out.ended], -1)

    def unpack(self, packed: jax.Array) -> StepOutput:
        values = {k: packed[..., j] for j, k in enumerate(self.names)}
        return StepOutput(values, packed[..., -1])


def _exact_scores(table, agent, grid, params_axes):
    """``(states, params) -> {greedy_success, greedy_return}``, ``[V, S]``."""

    def one(state, p):
        score = table.evaluate(
            agent.summary(state, p)["greedy_policy"], table.default_params
        )
        return {"greedy_success": score["success"], "greedy_return": score["return"]}

    return jax.jit(grid(one, ((0, params_axes), (0, None))))


def _evaluate(
    env, agent, grid, run_axes, states, eval_keys, params, env_seeds, num_values,
    num_episodes, processes,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Mean returns (``[V, S]``) of ``num_episodes`` episodes of every run's final
    policy, sampling (``eval_return``) and greedy (``greedy_return``), from the
    same start states, on a vector env of their own."""
    num_seeds, num_envs = len(env_seeds), 2 * num_episodes
    runs = (num_values, num_seeds, num_envs)

    def act(states, obs, i):
        def one(state, o, key, p):
            keys = jax.random.split(jax.random.fold_in(key, i), num_envs)
            action, info = jax.vmap(agent.act, (0, None, 0, None))(keys, state, o, p)
            greedy = jnp.arange(num_envs) >= num_episodes
            return evaluation_action(action, info, greedy)

        return grid(one, run_axes)(states, obs, eval_keys, params)

    act = jax.jit(act)
    seeds = [
        _EVAL_SEED + env_seeds[s] * num_episodes + e
        for _ in range(num_values) for s in range(num_seeds)
        for _ in range(2) for e in range(num_episodes)
    ]  # fmt: skip
    # flat over every episode; an ended episode's environment is not stepped again
    total = np.zeros(math.prod(runs))
    alive = np.ones(math.prod(runs), bool)
    vector = make_vector(env, math.prod(runs), processes)
    try:
        obs, _ = vector.reset(seed=seeds)
        obs = env.as_obs(obs)
        for i in range(env.max_steps):
            shaped = obs.reshape(*runs, *env.obs_shape)
            action = np.asarray(act(states, shaped, jnp.int32(i))).reshape(-1)
            playing = np.flatnonzero(alive)
            stepped, reward, terminated, truncated = host_vector.step_some(
                vector, playing, action[playing]
            )
            obs[playing] = env.as_obs(stepped)
            total[playing] += reward
            alive[playing] = ~(terminated | truncated)
            if not alive.any():
                break
    finally:
        vector.close()
    returns = total.reshape(num_values, num_seeds, 2, num_episodes).mean(axis=-1)
    return {"eval_return": returns[..., 0], "greedy_return": returns[..., 1]}
