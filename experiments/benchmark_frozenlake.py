"""Benchmark: the FrozenLake 4x4 tau sweep against a Python loop, NumPy and gymnax.

The workload is ``configs/frozenlake_tau_sweep.toml``: Boltzmann Q-learning on
gymnasium's FrozenLake-v1 (4x4, slippery), step size 0.1, discount 0.99, ``Q0 = 0``,
13 temperatures (2^-8..2^2, 0 and inf) x 1000 seeds x 20,000 steps. Four
implementations of it are timed in this one process, as environment steps per second:

* **Python loop**: what a user writes first: ``gymnasium.make("FrozenLake-v1")``, a
  NumPy ``Q`` table, a max-shifted softmax, an inverse-CDF draw, ``env.step``, a
  reset when the episode terminates or is truncated. One run per temperature, a few
  thousand steps each.
* **NumPy**: all ``13 x seeds`` runs as one batch (``Q [R, 16, 4]``, dense outcome
  tables from gymnasium's ``P``, per step: softmax rows, inverse-CDF draws of the
  action and of the outcome, the TD update by fancy indexing, autoreset, time limit
  100), for fewer steps (``--numpy-steps``): the rate is per step.
* **rl_softmax**: the config's study built by
  :func:`rl_softmax.experiment.build_run`, compiled once by
  :func:`rl_softmax.engine.sweep.compile_sweep` and run by
  :func:`rl_softmax.engine.sweep.sweep` (what :func:`run_experiment` does); compile
  time is reported apart, and every sweep's XLA compilations are counted.
* **gymnax**: gymnax's own JAX FrozenLake (``gymnax.make("FrozenLake-misc")``)
  behind our environment contract (:class:`GymnaxFrozenLake`), driven by the same
  agent through the same engine; skipped when gymnax cannot be imported.

Each implementation runs once per round for ``--repeats`` rounds and its fastest
round counts, so a disturbance of a shared machine slows one round of all rather
than every round of one; the engines compile before the first round.

The NumPy batch is also a correctness check: per temperature, its mean reward per
step over the first ``--numpy-steps`` steps is compared with the sweep's (the same
seeds count, independent random numbers) as a z-score of the difference over its
standard error. Results go to ``results/benchmark/frozenlake.json``.

    python experiments/benchmark_frozenlake.py            # the full workload
    python experiments/benchmark_frozenlake.py --quick    # seconds, for tests
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rl_softmax.engine import executor, make_run
from rl_softmax.engine.sweep import SweepResult, compile_sweep, sweep
from rl_softmax.envs.base import Environment
from rl_softmax.experiment import build_run, config, registry
from rl_softmax.experiment.config import SHIPPED_DIR

_CONFIG = SHIPPED_DIR / "frozenlake_tau_sweep.toml"
_TARGETS = {"x Python loop": 300.0, "x NumPy": 4.0, "x gymnax": 1.0}


# ------------------------------------------------------------------ Python loop


def _boltzmann_probs(q_row: np.ndarray, tau: float) -> np.ndarray:
    """``softmax(q_row / tau)``, max shifted out; argmax at 0, uniform at inf."""
    if tau == 0.0:
        top = q_row == q_row.max()
        return top / top.sum()
    if np.isinf(tau):
        return np.full(q_row.shape, 1.0 / q_row.size)
    weights = np.exp((q_row - q_row.max()) / tau)
    return weights / weights.sum()


def python_loop(
    tau: float,
    num_steps: int,
    *,
    seed: int = 0,
    step_size: float = 0.1,
    discount: float = 0.99,
) -> float:
    """One Boltzmann Q-learning run on ``gymnasium.make("FrozenLake-v1")``.

    Returns:
      the mean reward per step.
    """
    import gymnasium

    env = gymnasium.make("FrozenLake-v1")
    rng = np.random.default_rng(seed)
    q = np.zeros((env.observation_space.n, env.action_space.n))
    last_action = env.action_space.n - 1
    obs, _ = env.reset(seed=seed)
    total_reward = 0.0
    for _ in range(num_steps):
        cdf = np.cumsum(_boltzmann_probs(q[obs], tau))
        action = min(
            int(np.searchsorted(cdf, rng.random() * cdf[-1], "right")), last_action
        )
        next_obs, reward, terminated, truncated, _ = env.step(action)
        target = reward + (0.0 if terminated else discount * q[next_obs].max())
        q[obs, action] += step_size * (target - q[obs, action])
        total_reward += reward
        obs = env.reset()[0] if terminated or truncated else next_obs
    env.close()
    return total_reward / num_steps


# ------------------------------------------------------------------------ NumPy


def numpy_sweep(
    tables: dict[str, np.ndarray],
    taus: np.ndarray,
    num_seeds: int,
    num_steps: int,
    *,
    seed: int = 0,
    step_size: float = 0.1,
    discount: float = 0.99,
    max_steps: int = 100,
) -> np.ndarray:
    """Every (tau, seed) run of Boltzmann Q-learning advanced as one NumPy batch.

    Args:
      tables: ``probs, next_states, rewards, terminated`` ``[S, A, K]`` and
        ``initial`` ``[S]`` of the MDP (gymnasium's ``P``, dense).
      taus: ``[V]`` temperatures (0: greedy, ties split evenly; inf: uniform).
      num_seeds: runs per temperature.
      num_steps: steps per run.
      seed: of NumPy's generator.
      step_size, discount: of the Q-learning update.
      max_steps: the time limit of an episode.

    Returns:
      ``[V, num_seeds]`` mean reward per step of each run.
    """
    rng = np.random.default_rng(seed)
    num_states, num_actions, num_outcomes = tables["probs"].shape
    # Per-step arrays are action-major ([A, R], [K, R]): NumPy reduces over a short
    # leading axis with whole-row vector operations, far faster than over a short
    # trailing one. A (state, action) pair is one flat index into the tables.
    outcome_probs = tables["probs"].reshape(-1, num_outcomes).T
    next_states = tables["next_states"].reshape(-1)
    rewards = tables["rewards"].reshape(-1)
    terminated = tables["terminated"].reshape(-1)
    initial_cdf = np.cumsum(tables["initial"])
    tau = np.repeat(np.asarray(taus, np.float64), num_seeds)  # [R]
    num_runs = tau.size
    greedy, uniform = tau == 0.0, np.isinf(tau)
    safe_tau = np.where(greedy | uniform, 1.0, tau)
    q = np.zeros((num_runs, num_states, num_actions))
    flat_q = q.reshape(-1)  # a view: updates through it change q
    run_offsets = np.arange(num_runs) * (num_states * num_actions)
    actions = np.arange(num_actions)[:, None]

    def q_rows(states: np.ndarray) -> np.ndarray:
        """``[A, R]`` ``Q(states[r], a)`` of every run ``r``."""
        return np.take(flat_q, run_offsets + states * num_actions + actions)

    def draw(weights: np.ndarray) -> np.ndarray:
        """Inverse-CDF draws, one uniform per column of ``weights: [K, R]``."""
        cdf = weights.copy()
        for k in range(1, cdf.shape[0]):  # np.cumsum over a short axis is slow
            cdf[k] += cdf[k - 1]
        below = cdf <= rng.random(cdf.shape[1]) * cdf[-1]
        return np.minimum(below.sum(axis=0), cdf.shape[0] - 1)

    def reset(count: int) -> np.ndarray:
        return np.searchsorted(
            initial_cdf, rng.random(count) * initial_cdf[-1], "right"
        )

    obs = reset(num_runs)
    time_in_episode = np.zeros(num_runs, np.int64)
    reward_sums = np.zeros(num_runs)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(num_steps):
            q_obs = q_rows(obs)
            shifted = q_obs - q_obs.max(axis=0)
            greedy_logits = np.where(shifted == 0.0, 0.0, -np.inf)
            logits = np.where(greedy, greedy_logits, shifted / safe_tau)
            weights = np.exp(np.where(uniform, 0.0, logits))
            action = draw(weights)
            pair = obs * num_actions + action
            outcome = pair * num_outcomes + draw(np.take(outcome_probs, pair, axis=1))
            next_obs, reward = next_states[outcome], rewards[outcome]
            ends = terminated[outcome]  # a hole or the goal: no bootstrap
            bootstrap = np.where(ends, 0.0, q_rows(next_obs).max(axis=0))
            chosen = run_offsets + pair
            flat_q[chosen] += step_size * (
                reward + discount * bootstrap - flat_q[chosen]
            )
            reward_sums += reward
            time_in_episode += 1
            ended = ends | (time_in_episode >= max_steps)
            obs = next_obs
            num_ended = int(ended.sum())
            if num_ended:
                obs[ended] = reset(num_ended)
                time_in_episode[ended] = 0
    return (reward_sums / num_steps).reshape(len(taus), num_seeds)


# ----------------------------------------------------------------------- gymnax


@dataclasses.dataclass(frozen=True, eq=False)
class GymnaxFrozenLake(Environment):
    """gymnax's FrozenLake behind our environment contract (our engine resets).

    ``reset`` and ``step`` call gymnax's ``reset_env`` and ``step_env`` (no
    autoreset); ``truncated`` is gymnax's time limit, ``time >= max_steps_in_episode``.
    ``info`` carries what the tabular environment reports (``Q*`` of the state acted
    in and ``success``), so the engine computes the same per-step metrics.

    Attributes:
      env: the gymnax environment.
      params: its ``EnvParams``.
      num_states, num_actions: table sizes (the agent's ``Q`` is ``[S, A]``).
      action_values: ``[S, A]`` ``Q*`` of the same MDP.
    """

    env: Any
    params: Any
    num_states: int
    num_actions: int
    action_values: np.ndarray

    @property
    def default_params(self) -> Any:
        return self.params

    def reset(self, key: jax.Array, params: Any) -> tuple[jax.Array, Any]:
        obs, state = self.env.reset_env(key, params)
        # gymnax starts `time` as a Python 0; the scan carry needs one dtype.
        state = state.replace(
            position=jnp.asarray(state.position, jnp.int32),
            time=jnp.asarray(state.time, jnp.int32),
        )
        return jnp.asarray(obs, jnp.int32), state

    def step(self, key: jax.Array, state: Any, action: jax.Array, params: Any):
        obs, next_state, reward, terminated, _ = self.env.step_env(
            key, state, action, params
        )
        terminated = jnp.asarray(terminated, bool)
        reward = jnp.asarray(reward, jnp.float32)
        info = {
            "action_values": jnp.asarray(self.action_values)[state.position],
            "success": terminated & (reward > 0),
        }
        truncated = next_state.time >= params.max_steps_in_episode
        return (
            jnp.asarray(obs, jnp.int32),
            next_state,
            reward,
            terminated,
            truncated,
            info,
        )


def _gymnax_env(reference) -> tuple[GymnaxFrozenLake | None, str]:
    """``(adapter, gymnax version)``, or ``(None, why not)``."""
    try:
        import gymnax

        version = importlib.metadata.version("gymnax")
        env, params = gymnax.make("FrozenLake-misc")
    except Exception as error:  # not installed, or broken: the row is skipped
        return None, f"unavailable ({type(error).__name__}: {error})"
    adapter = GymnaxFrozenLake(
        env, params, reference.num_states, reference.num_actions,
        reference.action_values,
    )  # fmt: skip
    return adapter, version


def _run_on(env, experiment, study):
    """:func:`build_run`'s run of ``study`` with ``env`` in place of the config's."""
    agent = registry.AGENTS[study.agent].make(study, env, experiment.num_steps)
    specs = registry.agent_params(study.agent, study.rule, env.num_actions)
    agent_params = agent.default_params._replace(
        **{specs[k].field: jnp.float32(v) for k, v in study.fixed.items()}
    )
    return make_run(
        env, agent, experiment.num_steps, agent_params=agent_params,
        swept=specs[study.param].field, track_probs=study.track_probs,
        num_episodes=experiment.num_episodes,
    )  # fmt: skip


# ------------------------------------------------------------------------ timing


def _rounds(repeats: int, timed: dict) -> tuple[dict, dict]:
    """Calls every ``timed[name]()`` once per round, ``repeats`` rounds, so that a
    disturbance of the machine slows one round of all, not all rounds of one.

    Returns:
      ``({name: [seconds of each call]}, {name: its last result})``.
    """
    times, results = {name: [] for name in timed}, {}
    for _ in range(repeats):
        for name, fn in timed.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    return times, results


class _CompileCounter:
    """Counts XLA backend compilations while open (a context manager)."""

    def __enter__(self):
        self.count = 0
        jax.monitoring.register_event_duration_secs_listener(self._listen)
        return self

    def __exit__(self, *exc_info):
        jax.monitoring.unregister_event_duration_listener(self._listen)

    def _listen(self, event, duration, **kwargs):
        if "backend_compile" in event:
            self.count += 1


class _Sweep:
    """A study's run compiled once (timed, compilations counted), swept on demand."""

    def __init__(self, run, values: np.ndarray, experiment):
        self.run, self.values = run, values
        self.num_seeds = experiment.num_seeds
        self.key = jax.random.key(experiment.seed)
        self.settings = {
            "final_steps": experiment.final_steps,
            "max_block_runs": experiment.max_block_runs or None,
        }  # as run_experiment sweeps a study
        with _CompileCounter() as counter:
            start = time.perf_counter()
            program = compile_sweep(
                run, len(values), self.num_seeds, key=self.key, **self.settings
            )
            self.compile_seconds = time.perf_counter() - start
        self.compiles, self.curve_stride = counter.count, program.curve_stride

        self.recompiles = 0

    def __call__(self) -> SweepResult:
        """One sweep (per-run curves kept); counts any XLA compilation it needs."""
        with _CompileCounter() as counter:
            result = sweep(
                self.run, self.values, self.num_seeds, key=self.key, keep_runs=True,
                **self.settings,
            )  # fmt: skip
        self.recompiles += counter.count
        return result


# ------------------------------------------------------------------------ checks


def _first_steps_reward(result: SweepResult, num_steps: int) -> np.ndarray:
    """``[V, S]`` each run's mean reward over its first ``num_steps`` steps."""
    windows = num_steps // int(result.steps[0])
    return result.metrics["reward"].curves[:, :, :windows].mean(axis=2)


def agreement(ours: np.ndarray, theirs: np.ndarray) -> dict[str, list[float]]:
    """Per value, means and standard errors over seeds of two ``[V, S]`` arrays of
    per-run numbers and the z-score of their difference (``ours - theirs``)."""
    mean_a, mean_b = ours.mean(axis=1), theirs.mean(axis=1)
    sem_a = ours.std(axis=1, ddof=1) / np.sqrt(ours.shape[1])
    sem_b = theirs.std(axis=1, ddof=1) / np.sqrt(theirs.shape[1])
    diff, sem = mean_a - mean_b, np.hypot(sem_a, sem_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sem > 0, diff / sem, np.where(diff == 0, 0.0, np.inf))
    return {
        "ours_mean": mean_a.tolist(), "ours_sem": sem_a.tolist(),
        "theirs_mean": mean_b.tolist(), "theirs_sem": sem_b.tolist(),
        "z": z.tolist(),
    }  # fmt: skip


# ------------------------------------------------------------------------ report


def _row(name: str, env_steps: int, times: list[float] | None, **extra) -> dict:
    """A table row; its rate is from the fastest repeat (the least disturbed)."""
    seconds = None if times is None else min(times)
    return {
        "implementation": name, "env_steps": env_steps, "seconds": seconds,
        "repeat_seconds": times,
        "env_steps_per_second": None if seconds is None else env_steps / seconds,
        "compile_seconds": None, **extra,
    }  # fmt: skip


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, help="default: the config's (1000)")
    parser.add_argument("--steps", type=int, help="default: the config's (20,000)")
    parser.add_argument("--numpy-steps", type=int, default=2000)
    parser.add_argument("--loop-steps", type=int, default=3000, help="per tau")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--devices", type=int, default=None, help="JAX CPU devices (default: cores)"
    )
    parser.add_argument("--no-gymnax", action="store_true", help="skip gymnax's row")
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--out", default="results/benchmark")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.steps, args.numpy_steps = 300, 1000, 1000
        args.loop_steps, args.repeats = 200, 1
    return args


def _load_config(num_seeds: int | None, num_steps: int | None):
    base = config.load(_CONFIG)
    num_seeds, num_steps = num_seeds or base.num_seeds, num_steps or base.num_steps
    return config.load(_CONFIG, [
        f"num_seeds={num_seeds}", f"num_steps={num_steps}",
        f"final_steps={min(base.final_steps, num_steps)}",
    ])  # fmt: skip


def measure(args: argparse.Namespace) -> dict:
    """Times the four implementations on the workload ``args`` sets: the report."""
    load_before = os.getloadavg()[0]  # other processes: the machine may be shared
    experiment = _load_config(args.seeds, args.steps)
    (study,) = experiment.studies
    values = np.asarray(study.values + tuple(study.references.values()), np.float32)
    num_seeds, num_steps = experiment.num_seeds, experiment.num_steps
    step_size, discount = study.fixed["step_size"], study.fixed["discount"]
    entry = registry.ENVS[experiment.env.name]
    env = entry.make(**experiment.env.sizes, **experiment.env.options)
    ours = _Sweep(build_run(experiment, study), values, experiment)
    if args.numpy_steps > num_steps or args.numpy_steps % ours.curve_stride:
        raise ValueError(
            f"--numpy-steps={args.numpy_steps}: expected a multiple of the sweep's "
            f"curve window ({ours.curve_stride} steps) up to --steps={num_steps}."
        )

    def loop():
        for tau in values:
            python_loop(float(tau), args.loop_steps, step_size=step_size,
                        discount=discount)  # fmt: skip

    def numpy_batch():
        tables = {
            name: np.asarray(getattr(env, name))
            for name in ("probs", "next_states", "rewards", "terminated", "initial")
        }
        return numpy_sweep(
            tables, values, num_seeds, args.numpy_steps, step_size=step_size,
            discount=discount, max_steps=env.max_steps,
        )  # fmt: skip

    adapter, gymnax_version = None, "--no-gymnax"
    if not args.no_gymnax:
        adapter, gymnax_version = _gymnax_env(env)
    timed = {"loop": loop, "numpy": numpy_batch, "ours": ours}
    if adapter is not None:
        timed["gymnax"] = _Sweep(
            _run_on(adapter, experiment, study), values, experiment
        )
    times, results = _rounds(args.repeats, timed)
    env_steps = len(values) * num_seeds * num_steps

    def engine_row(name, key):
        if key not in timed:
            return _row(name, env_steps, None, note=gymnax_version)
        program = timed[key]
        return _row(
            name, env_steps, times[key], compile_seconds=program.compile_seconds,
            compiles=program.compiles, compiles_while_sweeping=program.recompiles,
        )  # fmt: skip

    rows = [
        _row("Python loop (gymnasium FrozenLake-v1)", len(values) * args.loop_steps,
             times["loop"]),
        _row(f"NumPy, {len(values) * num_seeds} runs as one batch",
             len(values) * num_seeds * args.numpy_steps, times["numpy"]),
        engine_row(f"rl_softmax sweep, {len(jax.devices())} device(s)", "ours"),
        engine_row("gymnax FrozenLake-misc, our engine and agent", "gymnax"),
    ]  # fmt: skip
    checks = {
        "numpy_vs_ours": agreement(
            _first_steps_reward(results["ours"], args.numpy_steps), results["numpy"]
        )
    }
    if "gymnax" in results:
        checks["gymnax_vs_ours"] = agreement(
            results["ours"].metrics["reward"].run_mean,
            results["gymnax"].metrics["reward"].run_mean,
        )
    loop_rate, numpy_rate, sweep_rate, gymnax_rate = (
        row["env_steps_per_second"] for row in rows
    )
    for row in rows:
        rate = row["env_steps_per_second"]
        row["x_python_loop"] = None if rate is None else rate / loop_rate
        row["x_numpy"] = None if rate is None else rate / numpy_rate
    ratios = {
        "x Python loop": sweep_rate / loop_rate,
        "x NumPy": sweep_rate / numpy_rate,
    }
    if gymnax_rate is not None:
        ratios["x gymnax"] = sweep_rate / gymnax_rate
    return {
        "workload": (
            f"FrozenLake-v1 4x4 slippery, Boltzmann Q-learning: {len(values)} taus x "
            f"{num_seeds} seeds x {num_steps} steps = {env_steps / 1e6:g}M env-steps"
        ),
        "values": values.tolist(), "num_seeds": num_seeds, "num_steps": num_steps,
        "numpy_steps": args.numpy_steps, "loop_steps_per_tau": args.loop_steps,
        "repeats": args.repeats, "rows": rows, "ratios": ratios,
        "targets": _TARGETS, "checks": checks,
        "load_average_before": load_before, "cpu_count": os.cpu_count(),
        "devices": [str(d) for d in jax.devices()],
        "compilation_cache": jax.config.jax_compilation_cache_dir,
        "versions": {
            "jax": jax.__version__, "numpy": np.__version__,
            "gymnasium": importlib.metadata.version("gymnasium"),
            "gymnax": gymnax_version if adapter is not None else None,
        },
    }  # fmt: skip


def _print_report(report: dict) -> None:
    print(report["workload"])
    print(
        f"  (Python loop {report['loop_steps_per_tau']} steps per tau, NumPy "
        f"{report['numpy_steps']} steps per run; best of {report['repeats']} rounds; "
        f"load average before {report['load_average_before']:.2f} on "
        f"{report['cpu_count']} CPUs)"
    )
    print(
        f"{'implementation':<46}{'env-steps/s':>12}{'x Python loop':>15}"
        f"{'x NumPy':>9}{'compile s':>11}"
    )
    for row in report["rows"]:
        if row["seconds"] is None:
            print(f"{row['implementation']:<46}skipped: {row['note']}")
            continue
        compiled = row["compile_seconds"]
        print(
            f"{row['implementation']:<46}{row['env_steps_per_second'] / 1e6:>11.2f}M"
            f"{row['x_python_loop']:>15.1f}{row['x_numpy']:>9.2f}"
            f"{'' if compiled is None else f'{compiled:.2f}':>11}"
        )
    print("targets for the rl_softmax sweep:")
    for target, ratio in report["ratios"].items():
        goal = report["targets"][target]
        print(f"  {target:<14}{ratio:>9.2f}  (>= {goal:g}) "
              f"{'met' if ratio >= goal else 'MISSED'}")  # fmt: skip
    for row in report["rows"]:
        if "compiles" in row:
            print(
                f"  {row['implementation']}: {row['compiles']} XLA compilation(s) "
                f"({row['compile_seconds']:.2f} s), {row['compiles_while_sweeping']} "
                f"more in {report['repeats']} sweep(s)"
            )
    for check, numbers in report["checks"].items():
        z = np.abs(numbers["z"])
        print(
            f"{check}: mean reward per step, max |z| over {z.size} taus = {z.max():.2f}"
        )


def main(argv: list[str] | None = None) -> dict:
    args = _parse(argv)
    executor.use_cpu_cores(args.devices)
    report = measure(args)
    _print_report(report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "frozenlake.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out / 'frozenlake.json'}")
    return report


if __name__ == "__main__":
    main()
