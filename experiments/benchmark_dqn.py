"""Benchmark: environment steps per second of the compiled Boltzmann DQN sweep
against a plain Python loop over one gymnasium CartPole-v1 (issue #14).

Both rows train the same agent (:func:`rl_softmax.agents.dqn.make_dqn_agent`: a
64x64 ReLU Q-network, Adam, replay of 50,000 transitions, minibatch 64, Boltzmann
behaviour) and take one optimizer step per 4 environment steps:

* **compiled sweep**: :func:`rl_softmax.experiment.run_experiment` on a dict config,
  ``--taus`` temperatures x ``--seeds`` seeds, each run 4 JAX CartPole-v1
  environments x 1 step per learn for ``--steps`` environment steps, the whole
  grid in one compiled program (its compilation is reported apart);
* **Python loop**: ``gymnasium.make("CartPole-v1")``, one environment; every step
  calls the agent's jitted ``act``, steps gymnasium and calls the same agent's
  jitted ``learn`` on that one transition (``train_every = 4``, so the optimizer
  steps as often per environment step as in the sweep), for ``--loop-steps`` steps
  after an untimed warm-up that compiles both.

The ratio of their rates is printed and written to ``results/benchmark/dqn.json``.

    python experiments/benchmark_dqn.py            # the full workload
    python experiments/benchmark_dqn.py --quick    # seconds, for tests
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

from rl_softmax.agents import action_value, dqn
from rl_softmax.agents.base import Transition
from rl_softmax.experiment import run_experiment

_NUM_ENVS = 4  # the sweep's environments per learn; the loop's train_every


def sweep_config(num_taus: int, num_seeds: int, num_steps: int, starts: int) -> dict:
    """The compiled sweep's config: Boltzmann DQN on CartPole-v1, taus 2^-6, ...."""
    return {
        "name": "benchmark_dqn", "num_seeds": num_seeds, "num_steps": num_steps,
        "final_steps": min(num_steps, 1000), "env": {"name": "CartPole-v1"},
        "studies": [{
            "name": "boltzmann", "agent": "dqn", "rule": "boltzmann", "param": "tau",
            "values": [2.0 ** (-6 + i) for i in range(num_taus)],
            "num_envs": _NUM_ENVS, "learning_starts": starts,
        }],
    }  # fmt: skip


def measure_sweep(num_taus: int, num_seeds: int, num_steps: int, starts: int) -> dict:
    """Compiles and runs the sweep once: its environment steps, seconds, compile."""
    config = sweep_config(num_taus, num_seeds, num_steps, starts)
    results = run_experiment(config, write=False, progress=False, cache_dir=False)
    info = results.metadata["studies"]["boltzmann"]
    env_steps = num_taus * num_seeds * num_steps
    return {
        "env_steps": env_steps, "seconds": info["run_seconds"],
        "compile_seconds": info["compile_seconds"],
        "env_steps_per_second": env_steps / info["run_seconds"],
        "eval_return": float(np.mean(
            results.studies["boltzmann"].metrics["eval_return"].run_mean
        )),
    }  # fmt: skip


def loop_agent(starts: int):
    """The agent the loop trains: the sweep's, learning from one transition a call."""
    return dqn.make_dqn_agent(
        4, 2, action_value.boltzmann(), learning_starts=starts,
        train_every=_NUM_ENVS,
    )  # fmt: skip


def python_loop(num_steps: int, starts: int, *, tau: float = 0.125, seed: int = 0):
    """Trains on one gymnasium CartPole-v1 for ``num_steps`` steps, calling the
    jitted ``act`` and ``learn`` every step. Returns ``(seconds, episodes)``;
    ``num_steps = 0`` only compiles."""
    agent = loop_agent(starts)
    params = agent.default_params._replace(explore=jnp.float32(tau))
    act, learn = jax.jit(agent.act), jax.jit(agent.learn)
    key = jax.random.key(seed)
    state = agent.init(key, params)
    env = gymnasium.make("CartPole-v1")
    obs, _ = env.reset(seed=seed)
    episodes = 0
    start = time.perf_counter()
    for t in range(max(num_steps, 1)):
        key_act, key_learn = jax.random.split(jax.random.fold_in(key, t))
        action, _ = act(key_act, state, jnp.asarray(obs, jnp.float32), params)
        action = int(action)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        one = Transition(
            obs=np.asarray(obs, np.float32)[None, None],
            action=np.array([[action]], np.int32),
            reward=np.array([[reward]], np.float32),
            next_obs=np.asarray(next_obs, np.float32)[None, None],
            terminated=np.array([[terminated]]),
            truncated=np.array([[truncated]]),
        )
        state = learn(key_learn, state, one, params)
        obs = next_obs
        if terminated or truncated:
            episodes += 1
            obs, _ = env.reset()
    jax.block_until_ready(state)
    env.close()
    return time.perf_counter() - start, episodes


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--taus", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--steps", type=int, default=100_000, help="per sweep run")
    parser.add_argument("--loop-steps", type=int, default=5000)
    parser.add_argument("--learning-starts", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--out", default="results/benchmark")
    args = parser.parse_args(argv)
    if args.quick:
        args.taus, args.seeds, args.steps = 2, 2, 1024
        args.loop_steps, args.learning_starts = 200, 64
    for name in ("taus", "seeds", "steps", "loop_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.steps % _NUM_ENVS or args.learning_starts >= args.steps:
        parser.error(
            f"--steps must be a multiple of {_NUM_ENVS} above --learning-starts"
        )
    return args


def measure(args: argparse.Namespace) -> dict:
    """Both rows on the workload ``args`` sets, measured in this process."""
    load_before = os.getloadavg()[0]
    sweep = measure_sweep(args.taus, args.seeds, args.steps, args.learning_starts)
    start = time.perf_counter()
    python_loop(0, args.learning_starts)  # compiles act and learn
    loop_compile = time.perf_counter() - start
    seconds, episodes = python_loop(args.loop_steps, args.learning_starts)
    loop = {
        "env_steps": args.loop_steps, "seconds": seconds,
        "compile_seconds": loop_compile, "episodes": episodes,
        "env_steps_per_second": args.loop_steps / seconds,
    }  # fmt: skip
    return {
        "workload": (
            f"Boltzmann DQN on CartPole-v1: sweep of {args.taus} taus x {args.seeds} "
            f"seeds x {args.steps} env steps ({_NUM_ENVS} envs per learn) vs a Python "
            f"loop of {args.loop_steps} gymnasium steps (jitted act + learn each step)"
        ),
        "sweep": sweep, "loop": loop,
        "ratio": sweep["env_steps_per_second"] / loop["env_steps_per_second"],
        "load_average_before": load_before, "cpu_count": os.cpu_count(),
        "devices": [str(d) for d in jax.devices()],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    args = _parse(argv)
    report = measure(args)
    sweep, loop = report["sweep"], report["loop"]
    print(report["workload"])
    print(f"{'':<34}{'env-steps/s':>14}{'seconds':>10}{'compile s':>11}")
    for name, row in (("compiled sweep (run_experiment)", sweep),
                      ("Python loop, gymnasium, 1 env", loop)):  # fmt: skip
        print(
            f"{name:<34}{row['env_steps_per_second']:>14,.0f}{row['seconds']:>10.2f}"
            f"{row['compile_seconds']:>11.2f}"
        )
    print(f"ratio sweep / loop: {report['ratio']:.1f}x")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "dqn.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out / 'dqn.json'}")
    return report


if __name__ == "__main__":
    main()
