"""Benchmark suite ``dqn``: environment steps per second of the compiled Boltzmann DQN
sweep against a plain Python loop over one gymnasium CartPole-v1 (issue #14;
``rl-softmax bench --only dqn``).

Both rows train the same agent (:func:`rl_softmax.agents.dqn.make_dqn_agent`: a
64x64 ReLU Q-network, Adam, replay of 50,000 transitions, minibatch 64, Boltzmann
behaviour) and take one optimizer step per 4 environment steps, timed in the same
rounds (:mod:`harness`):

* **compiled sweep**: the study of a dict config built by
  :func:`rl_softmax.experiment.build_run` and swept as
  :func:`rl_softmax.experiment.run_experiment` sweeps it, 8 temperatures x 10 seeds,
  each run 4 JAX CartPole-v1 environments x 1 step per learn for 100,000
  environment steps, the whole grid in one compiled program (its compilation is
  reported apart);
* **Python loop**: ``gymnasium.make("CartPole-v1")``, one environment; every step
  calls the agent's jitted ``act``, steps gymnasium and calls the same agent's
  jitted ``learn`` on that one transition (``train_every = 4``, so the optimizer
  steps as often per environment step as in the sweep), for 5000 steps a round
  after a step that compiles both (timed apart) and the ``learning_starts`` steps
  before it learns. The baseline.
"""

from __future__ import annotations

import time

import gymnasium
import harness
import jax
import jax.numpy as jnp
import numpy as np

from rl_softmax.agents import dqn, rules
from rl_softmax.agents.base import Transition
from rl_softmax.experiment import build_run, config

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


def loop_agent(starts: int):
    """The agent the loop trains: the sweep's, learning from one transition a call."""
    return dqn.make_dqn_agent(
        4, 2, rules.boltzmann_rule(), learning_starts=starts,
        train_every=_NUM_ENVS,
    )  # fmt: skip


def make_python_loop(starts: int, *, tau: float = 0.125, seed: int = 0):
    """``loop(num_steps) -> episodes``: trains on one gymnasium CartPole-v1 for
    ``num_steps`` steps, calling the jitted ``act`` and ``learn`` every step. The
    agent, its jitted calls and the environment are made once: a second call goes
    on training where the first stopped."""
    agent = loop_agent(starts)
    params = agent.default_params._replace(explore=jnp.float32(tau))
    act, learn = jax.jit(agent.act), jax.jit(agent.learn)
    key = jax.random.key(seed)
    env = gymnasium.make("CartPole-v1")
    obs, _ = env.reset(seed=seed)
    carry = {"state": agent.init(key, params), "obs": obs, "t": 0}

    def loop(num_steps: int) -> int:
        state, obs, episodes = carry["state"], carry["obs"], 0
        for t in range(carry["t"], carry["t"] + num_steps):
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
        carry.update(state=state, obs=obs, t=carry["t"] + num_steps)
        return episodes

    return loop


def sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"taus": 2, "seeds": 2, "steps": 1024, "loop_steps": 200, "starts": 64}
    return {"taus": 8, "seeds": 10, "steps": 100_000, "loop_steps": 5000,
            "starts": 1000}  # fmt: skip


def suite(settings: harness.Settings) -> harness.Section:
    """Both rows in the same rounds (each compiled first, timed apart)."""
    size = sizes(settings.quick)
    num_taus, num_seeds, num_steps = size["taus"], size["seeds"], size["steps"]
    loop_steps, starts = size["loop_steps"], size["starts"]
    experiment = config.from_dict(sweep_config(num_taus, num_seeds, num_steps, starts))
    (study,) = experiment.studies
    run = build_run(experiment, study)
    settings.progress("compiling the sweep")
    compiled = harness.CompiledSweep(
        run, np.asarray(study.values, np.float32), num_seeds,
        key=jax.random.key(experiment.seed),
        # as run_experiment: final_steps counts environment steps, a run's updates
        final_steps=max(1, experiment.final_steps // run.env_steps_per_step),
    )  # fmt: skip
    settings.progress("compiling the loop's act and learn")
    loop = make_python_loop(starts)
    start = time.perf_counter()
    loop(1)
    loop_compile = time.perf_counter() - start
    loop(starts)  # past learning_starts: every counted step learns, as in the sweep
    times = harness.time_rounds(
        {"loop": lambda: loop(loop_steps), "sweep": compiled},
        repeats=settings.rounds, warmup=0, progress=settings.progress,
    )  # fmt: skip
    title = (
        f"Boltzmann DQN on CartPole-v1, {_NUM_ENVS} envs per learn in the sweep, "
        "one optimizer step per 4 env steps"
    )
    loop_row = harness.Row(
        "dqn", title,
        f"Python loop over one gymnasium CartPole-v1, jitted act + learn per step, "
        f"{loop_steps} steps", "Python loop", "env-steps", loop_steps,
        times["loop"].seconds, compile_seconds=loop_compile,
    )  # fmt: skip
    sweep_row = harness.Row(
        "dqn", title,
        f"compiled sweep, {num_taus} taus x {num_seeds} seeds x {num_steps} steps "
        "in one program", "sweep", "env-steps", num_taus * num_seeds * num_steps,
        times["sweep"].seconds, compile_seconds=compiled.compile_seconds,
    ).compared_with(loop_row)  # fmt: skip
    result = times["sweep"].result
    return harness.Section(
        [loop_row, sweep_row],
        details={
            "sizes": size,
            "loop_episodes": times["loop"].result,
            "eval_return": float(np.mean(result.metrics["eval_return"].run_mean)),
        },
    )
