"""The host loop's cost: what the jitted agent adds to gymnasium's own stepping, and
what the JAX path gains over the host path, measured in one process.

For FrozenLake-v1 (Boltzmann Q-learning, one environment per run) and CartPole-v1
(the PPO softmax policy network, 4 environments per run, 128 steps per update),
at several numbers of environments:

* ``gymnasium``: gymnasium's synchronous vector environment with same-step autoreset
  (what the host loop steps) driven by random actions: the environment's own time;
* ``host``: :func:`rl_softmax.engine.host.host_sweep`, the same vector environment
  with the agents acting and learning in jitted, vmapped calls;
* ``jax``: the JAX port in the compiled sweep (:func:`rl_softmax.engine.sweep`).

Compilation is left out: the JAX rate is the difference of two compiled runs of
different lengths (``(n2 - n1) / (t2 - t1)``), the host rate is timed from 10% of
the run to its end (the jitted calls are compiled in its first steps). Printed as
environment steps per second and as the host loop's overhead over gymnasium (``host
time / gymnasium time - 1``) and the JAX path's speedup over the host path.

    python experiments/benchmark_host.py
    python experiments/benchmark_host.py --envs 64 --steps 200   # a quick look
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from rl_softmax import envs
from rl_softmax.agents import action_value, make_actor_critic_agent, make_td_agent
from rl_softmax.engine import make_rollout_run, make_run, sweep
from rl_softmax.engine.host import host_sweep
from rl_softmax.envs.host import make_host

PPO_ENVS, PPO_STEPS = 4, 128


def _rate(timed, short: int, long: int) -> float:
    """Steps per second from two lengths, compilation and set-up cancelled."""
    t_short, t_long = timed(short), timed(long)
    return (long - short) / max(t_long - t_short, 1e-9)


def _host_rate(sweep_on_host, steps: int) -> float:
    """Steps per second of a host sweep past its first 10% of steps (by then its
    jitted calls are compiled), from the progress callback's clock."""
    marks = {}

    def on_step(done):
        marks.setdefault(done, time.perf_counter())

    sweep_on_host(steps, on_step)
    done = sorted(marks)
    first = next(d for d in done if d >= steps // 10)
    return (done[-1] - first) / (marks[done[-1]] - marks[first])


def _seconds(f) -> float:
    start = time.perf_counter()
    jax.block_until_ready(f())
    return time.perf_counter() - start


def gymnasium_rate(env_id: str, num_envs: int, steps: int) -> float:
    """Vector steps per second of gymnasium's own vector env, random actions."""
    vector = make_host(env_id).vector(num_envs)
    rng = np.random.default_rng(0)
    try:
        vector.reset(seed=0)

        def timed(n):
            actions = rng.integers(0, vector.single_action_space.n, (n, num_envs))
            start = time.perf_counter()
            for a in actions:
                vector.step(a)
            return time.perf_counter() - start

        return _rate(timed, steps // 2, steps)
    finally:
        vector.close()


def frozenlake_rates(num_envs: int, steps: int) -> dict[str, float]:
    agent = make_td_agent(16, 4, action_value.boltzmann(), target="q_learning")
    host_env = make_host("FrozenLake-v1")
    jax_env, _ = envs.make("FrozenLake-v1")
    key = jax.random.key(0)

    def host(n, on_step):
        host_sweep(host_env, agent, n, [0.5], num_envs, key=key, on_step=on_step)

    jax_steps = steps * 100  # the compiled sweep needs longer runs to time

    def on_device(n):
        run = make_run(jax_env, agent, n)
        sweep(run, [0.5], num_envs, key=key)  # compile
        return _seconds(lambda: sweep(run, [0.5], num_envs, key=key).values)

    return {
        "gymnasium": gymnasium_rate("FrozenLake-v1", num_envs, steps) * num_envs,
        "host": _host_rate(host, steps) * num_envs,
        "jax": _rate(on_device, jax_steps // 2, jax_steps) * num_envs,
    }


def cartpole_rates(num_runs: int, updates: int) -> dict[str, float]:
    agent = make_actor_critic_agent(4, 2)
    host_env = make_host("CartPole-v1")
    key = jax.random.key(0)
    per_update = PPO_ENVS * PPO_STEPS

    def host(n, on_step):
        host_sweep(
            host_env, agent, n, [0.01], num_runs, key=key, swept="tau",
            rollout_shape=(PPO_ENVS, PPO_STEPS), on_step=on_step,
        )  # fmt: skip

    def on_device(n):
        run = make_rollout_run(
            envs.CartPole(), agent, n, num_envs=PPO_ENVS, rollout_steps=PPO_STEPS,
            swept="tau", num_eval_episodes=0,
        )  # fmt: skip
        sweep(run, [0.01], num_runs, key=key)  # compile
        return _seconds(lambda: sweep(run, [0.01], num_runs, key=key).values)

    num_envs = num_runs * PPO_ENVS
    steps = updates * PPO_STEPS
    jax_updates = updates * 2  # learning dominates: as long as the host runs
    return {
        "gymnasium": gymnasium_rate("CartPole-v1", num_envs, steps) * num_envs,
        "host": _host_rate(host, updates) * per_update * num_runs,
        "jax": _rate(on_device, jax_updates // 2, jax_updates) * per_update * num_runs,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--steps", type=int, default=2000, help="host steps timed")
    args = parser.parse_args(argv)
    rows = []
    print(
        f"{'workload':<34} {'envs':>5} {'gymnasium':>11} {'host':>11} {'jax':>11}"
        f" {'host overhead':>14} {'jax / host':>10}"
    )
    for num_envs in args.envs:
        for name, rates in (
            ("FrozenLake-v1, Q-learning", frozenlake_rates(num_envs, args.steps)),
            (
                f"CartPole-v1, PPO ({PPO_ENVS} envs/run)",
                cartpole_rates(
                    max(1, num_envs // PPO_ENVS), max(2, args.steps // PPO_STEPS)
                ),
            ),
        ):
            row = {
                "workload": name,
                "envs": num_envs,
                **rates,
                "host_overhead": rates["gymnasium"] / rates["host"] - 1,
                "jax_speedup": rates["jax"] / rates["host"],
            }
            rows.append(row)
            print(
                f"{name:<34} {num_envs:>5} {rates['gymnasium'] / 1e3:>9.1f}k/s "
                f"{rates['host'] / 1e3:>9.1f}k/s {rates['jax'] / 1e6:>9.2f}M/s "
                f"{row['host_overhead']:>13.0%} {row['jax_speedup']:>9.0f}x"
            )
    return rows


if __name__ == "__main__":
    main()
