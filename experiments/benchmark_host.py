"""Benchmark suite ``host``: what the jitted agent adds to gymnasium's own stepping in
the host loop, and what the JAX path gains over it (``rl-softmax bench --only
host``).

For FrozenLake-v1 (Boltzmann Q-learning, one environment per run) and CartPole-v1
(the PPO softmax policy network, 4 environments per run, 128 steps per update),
at several numbers of environments, timed in the same rounds (:mod:`harness`):

* ``gymnasium``: gymnasium's synchronous vector environment with same-step autoreset
  (what the host loop steps) driven by random actions: the environment's own time;
* ``host loop``: :func:`rl_softmax.engine.host.host_sweep`, the same vector
  environment with the agents acting and learning in jitted, vmapped calls,
  compared with gymnasium (its note: the loop's overhead over gymnasium, ``host
  time / gymnasium time - 1``);
* ``JAX path``: the JAX port in the compiled sweep (:func:`rl_softmax.engine.sweep`),
  compared with the host loop.

Compilation is left out: gymnasium and the JAX path run once before the rounds (the
sweep compiles then, and is reused), and the host loop, which compiles its jitted
calls in its first steps, is timed from 10% of the run to its end.
"""

from __future__ import annotations

import dataclasses
import time

import harness
import jax
import numpy as np

from rl_softmax import envs
from rl_softmax.agents import make_actor_critic_agent, make_td_agent, rules
from rl_softmax.engine import make_rollout_run, make_run, sweep
from rl_softmax.engine.host import host_sweep
from rl_softmax.envs.host import make_host

PPO_ENVS, PPO_STEPS = 4, 128
_UNIT = "env-steps"


def sizes(quick: bool) -> dict:
    """Numbers of environments, and environment steps of one timed call."""
    if quick:
        return {"envs": [8], "env_steps": 512}
    return {"envs": [64, 256, 1024], "env_steps": 2**17}


def _host_lap(sweep_on_host, steps: int) -> harness.Lap:
    """A host sweep timed past its first 10% of steps (by then its jitted calls
    are compiled), from the progress callback's clock; its result is the number
    of steps timed."""
    marks = {}

    def on_step(done):
        marks.setdefault(done, time.perf_counter())

    sweep_on_host(steps, on_step)
    done = sorted(marks)
    first = next(d for d in done if d >= steps // 10)
    return harness.Lap(marks[done[-1]] - marks[first], result=done[-1] - first)


def _gymnasium(env_id: str, num_envs: int, steps: int):
    """``(step_random, close)``: ``steps`` vector steps of random actions a call."""
    vector = make_host(env_id).vector(num_envs)
    rng = np.random.default_rng(0)
    vector.reset(seed=0)
    num_actions = vector.single_action_space.n

    def step_random():
        for actions in rng.integers(0, num_actions, (steps, num_envs)):
            vector.step(actions)

    return step_random, vector.close


def _jax_sweep(run, value: float, num_runs: int, key):
    def call():
        return sweep(run, [value], num_runs, key=key).values

    return call


def _rows(settings, title, calls, work, host_work) -> list[harness.Row]:
    """Times gymnasium, the host loop and the JAX path in the same rounds.

    Args:
      settings: the suite's.
      title: the workload.
      calls: ``{"gymnasium", "host", "jax"}`` calls (the host's returns a Lap).
      work: env-steps of one call of gymnasium and of the JAX path.
      host_work: env-steps of the host loop from the steps it timed.
    """
    for name in ("gymnasium", "jax"):  # their compilation and first steps
        calls[name]()
    times = harness.time_rounds(
        calls, repeats=settings.rounds, warmup=0, progress=settings.progress
    )
    steps_timed = {times["host"].result}
    if len(steps_timed) != 1:
        raise RuntimeError(f"host rounds timed different steps: {steps_timed}")

    def row(implementation, name, key, units):
        return harness.Row(
            "host", title, implementation, name, _UNIT, units, times[key].seconds
        )

    gymnasium = row("gymnasium vector env, random actions", "gymnasium",
                    "gymnasium", work["gymnasium"])  # fmt: skip
    host = row(
        "host loop (host_sweep), agents jitted", "host loop", "host",
        host_work(times["host"].result),
    ).compared_with(gymnasium)  # fmt: skip
    overhead = 1 / host.ratio.median - 1
    host = dataclasses.replace(
        host, note=f"host loop overhead over gymnasium {overhead:.0%}"
    )
    on_device = row("JAX path (compiled sweep)", "JAX path", "jax", work["jax"])
    return [gymnasium, host, on_device.compared_with(host)]


def frozenlake(settings, num_envs: int, steps: int) -> list[harness.Row]:
    agent = make_td_agent(16, 4, rules.boltzmann_rule(), target="q_learning")
    host_env = make_host("FrozenLake-v1")
    jax_env, _ = envs.make("FrozenLake-v1")
    key = jax.random.key(0)
    jax_steps = steps * 100  # the compiled sweep needs longer runs to time

    def host(n, on_step):
        host_sweep(host_env, agent, n, [0.5], num_envs, key=key, on_step=on_step)

    step_random, close = _gymnasium("FrozenLake-v1", num_envs, steps)
    try:
        return _rows(
            settings,
            f"host loop, FrozenLake-v1, Boltzmann Q-learning, {num_envs} envs",
            {
                "gymnasium": step_random,
                "host": lambda: _host_lap(host, steps),
                "jax": _jax_sweep(
                    make_run(jax_env, agent, jax_steps), 0.5, num_envs, key
                ),  # fmt: skip
            },
            {"gymnasium": steps * num_envs, "jax": jax_steps * num_envs},
            lambda timed: timed * num_envs,
        )
    finally:
        close()


def cartpole(settings, num_envs: int, steps: int) -> list[harness.Row]:
    agent = make_actor_critic_agent(4, 2)
    host_env = make_host("CartPole-v1")
    key = jax.random.key(0)
    num_runs, updates = max(1, num_envs // PPO_ENVS), max(2, steps // PPO_STEPS)
    num_envs = num_runs * PPO_ENVS

    def host(n, on_step):
        host_sweep(
            host_env, agent, n, [0.01], num_runs, key=key, swept="tau",
            rollout_shape=(PPO_ENVS, PPO_STEPS), on_step=on_step,
        )  # fmt: skip

    run = make_rollout_run(
        envs.CartPole(), agent, updates, num_envs=PPO_ENVS, rollout_steps=PPO_STEPS,
        swept="tau", num_eval_episodes=0,
    )  # fmt: skip
    per_update = PPO_ENVS * PPO_STEPS * num_runs
    step_random, close = _gymnasium("CartPole-v1", num_envs, updates * PPO_STEPS)
    try:
        return _rows(
            settings,
            f"host loop, CartPole-v1, PPO ({PPO_ENVS} envs per run, learning "
            f"included), {num_envs} envs",
            {
                "gymnasium": step_random,
                "host": lambda: _host_lap(host, updates),
                "jax": _jax_sweep(run, 0.01, num_runs, key),
            },
            {"gymnasium": updates * per_update, "jax": updates * per_update},
            lambda timed: timed * per_update,
        )
    finally:
        close()


def suite(settings: harness.Settings) -> harness.Section:
    size = sizes(settings.quick)
    rows = []
    for num_envs in size["envs"]:
        steps = max(1, size["env_steps"] // num_envs)
        settings.progress(f"FrozenLake-v1, {num_envs} envs")
        rows += frozenlake(settings, num_envs, steps)
        settings.progress(f"CartPole-v1 PPO, {num_envs} envs")
        rows += cartpole(settings, num_envs, steps)
    return harness.Section(rows, details={"sizes": size})
