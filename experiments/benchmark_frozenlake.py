"""Benchmark suite ``frozenlake``: the FrozenLake 4x4 tau sweep against a Python
loop, NumPy and gymnax (``rl-softmax bench --only frozenlake``).

The workload is ``configs/frozenlake_tau_sweep.toml``: Boltzmann Q-learning on
gymnasium's FrozenLake-v1 (4x4, slippery), step size 0.1, discount 0.99, ``Q0 = 0``,
13 temperatures (2^-8..2^2, 0 and inf) x 1000 seeds x 20,000 steps. Four
implementations of it are timed in the same rounds (:mod:`harness`), as environment
steps per second:

* **Python loop**: what a user writes first: ``gymnasium.make("FrozenLake-v1")``, a
  NumPy ``Q`` table, a max-shifted softmax, an inverse-CDF draw, ``env.step``, a
  reset when the episode terminates or is truncated. One run per temperature, a few
  thousand steps each.
* **NumPy**: all ``13 x seeds`` runs as one batch (``Q [R, 16, 4]``, dense outcome
  tables from gymnasium's ``P``, per step: softmax rows, inverse-CDF draws of the
  action and of the outcome, the TD update by fancy indexing, autoreset, time limit
  100), for fewer steps (2000): the rate is per step. Compared with the loop.
* **rl_softmax**: the config's study built by
  :func:`rl_softmax.experiment.build_run`, compiled once by
  :func:`rl_softmax.engine.sweep.compile_sweep` and run by
  :func:`rl_softmax.engine.sweep.sweep` (what :func:`run_experiment` does); compile
  time is reported apart, and every sweep's XLA compilations are counted. Compared
  with NumPy.
* **gymnax**: gymnax's own JAX FrozenLake (``gymnax.make("FrozenLake-misc")``)
  behind our environment contract (:class:`GymnaxFrozenLake`), driven by the same
  agent through the same engine; reported as unavailable when gymnax cannot be
  imported. Compared with NumPy.

The NumPy batch is also a correctness check: per temperature, its mean reward per
step over its steps is compared with the sweep's over the same first steps (the same
seeds count, independent random numbers) as a z-score of the difference over its
standard error; gymnax's run means are compared with the sweep's the same way.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
from typing import Any

import harness
import jax
import jax.numpy as jnp
import numpy as np

from rl_softmax.engine import make_run
from rl_softmax.engine.sweep import SweepResult
from rl_softmax.envs.base import Environment
from rl_softmax.experiment import build_run, config, registry
from rl_softmax.experiment.config import SHIPPED_DIR

_CONFIG = SHIPPED_DIR / "frozenlake_tau_sweep.toml"
_UNIT = "env-steps"
_Z_AGREE = 4.0  # |z| below this: the means agree


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
    except ImportError as error:
        return None, f"gymnax not installed ({error})"
    except Exception as error:  # broken: the row says so
        return None, f"gymnax failed ({type(error).__name__}: {error})"
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


# ------------------------------------------------------------------------ suite


def sizes(quick: bool) -> dict[str, int | None]:
    """Seeds and steps of the sweep (None: the config's), steps of the NumPy batch
    per run, steps of the Python loop per tau."""
    if quick:
        return {"seeds": 300, "steps": 1000, "numpy_steps": 1000, "loop_steps": 200}
    return {"seeds": None, "steps": None, "numpy_steps": 2000, "loop_steps": 3000}


def _load_config(num_seeds: int | None, num_steps: int | None):
    base = config.load(_CONFIG)
    num_seeds, num_steps = num_seeds or base.num_seeds, num_steps or base.num_steps
    return config.load(_CONFIG, [
        f"num_seeds={num_seeds}", f"num_steps={num_steps}",
        f"final_steps={min(base.final_steps, num_steps)}",
    ])  # fmt: skip


def _check(name: str, numbers: dict) -> harness.Check:
    z = np.abs(numbers["z"])
    return harness.Check(
        name, bool(z.max() < _Z_AGREE),
        f"mean reward per step, max |z| = {z.max():.2f} over {z.size} taus "
        f"(agree below {_Z_AGREE:g})",
    )  # fmt: skip


def suite(settings: harness.Settings) -> harness.Section:
    """Times the four implementations in the same rounds, checks their rewards."""
    size = sizes(settings.quick)
    experiment = _load_config(size["seeds"], size["steps"])
    (study,) = experiment.studies
    values = np.asarray(study.values + tuple(study.references.values()), np.float32)
    num_seeds, num_steps = experiment.num_seeds, experiment.num_steps
    numpy_steps, loop_steps = size["numpy_steps"], size["loop_steps"]
    step_size, discount = study.fixed["step_size"], study.fixed["discount"]
    entry = registry.ENVS[experiment.env.name]
    env = entry.make(**experiment.env.sizes, **experiment.env.options)
    sweep_settings = {
        "key": jax.random.key(experiment.seed),
        "keep_runs": True,
        "final_steps": experiment.final_steps,
        "max_block_runs": experiment.max_block_runs or None,
    }  # as run_experiment sweeps a study
    settings.progress("compiling the sweep")
    ours = harness.CompiledSweep(
        build_run(experiment, study), values, num_seeds, **sweep_settings
    )
    if numpy_steps > num_steps or numpy_steps % ours.program.curve_stride:
        raise ValueError(
            f"numpy_steps={numpy_steps}: expected a multiple of the sweep's curve "
            f"window ({ours.program.curve_stride} steps) up to {num_steps}."
        )
    tables = {
        name: np.asarray(getattr(env, name))
        for name in ("probs", "next_states", "rewards", "terminated", "initial")
    }

    def loop():
        for tau in values:
            python_loop(float(tau), loop_steps, step_size=step_size,
                        discount=discount)  # fmt: skip

    def numpy_batch():
        return numpy_sweep(
            tables, values, num_seeds, numpy_steps, step_size=step_size,
            discount=discount, max_steps=env.max_steps,
        )  # fmt: skip

    calls = {"loop": loop, "numpy": numpy_batch, "ours": ours}
    adapter, gymnax_version = None, "left out (gymnax=False)"
    if settings.gymnax:
        adapter, gymnax_version = _gymnax_env(env)
    if adapter is not None:
        settings.progress("compiling gymnax's sweep")
        calls["gymnax"] = harness.CompiledSweep(
            _run_on(adapter, experiment, study), values, num_seeds, **sweep_settings
        )
    # the engines compiled above; the warm-up round runs the Python sides once
    times = harness.time_rounds(
        calls, repeats=settings.rounds, progress=settings.progress
    )
    env_steps = len(values) * num_seeds * num_steps
    title = (
        f"FrozenLake-v1 4x4 slippery, Boltzmann Q-learning: {len(values)} taus x "
        f"{num_seeds} seeds x {num_steps} steps"
    )

    def row(implementation, name, key, work, **extra):
        return harness.Row(
            "frozenlake", title, implementation, name, _UNIT, work,
            times[key].seconds, **extra,
        )  # fmt: skip

    loop_row = row(
        f"Python loop over gymnasium's FrozenLake-v1, {loop_steps} steps per tau",
        "Python loop", "loop", len(values) * loop_steps,
    )  # fmt: skip
    numpy_row = row(
        f"NumPy, {len(values) * num_seeds} runs as one batch, {numpy_steps} steps",
        "NumPy", "numpy", len(values) * num_seeds * numpy_steps,
    ).compared_with(loop_row)  # fmt: skip
    devices = len(jax.devices())
    rows = [
        loop_row,
        numpy_row,
        row(
            f"rl_softmax sweep, {devices} device(s)", "sweep", "ours", env_steps,
            compile_seconds=ours.compile_seconds,
        ).compared_with(numpy_row),
    ]  # fmt: skip
    gymnax_name = "gymnax FrozenLake-misc, our engine and agent"
    if adapter is None:
        rows.append(
            harness.unavailable(
                "frozenlake", title, gymnax_name, "gymnax", _UNIT, gymnax_version
            )
        )
    else:
        rows.append(
            row(
                f"{gymnax_name} (gymnax {gymnax_version})", "gymnax", "gymnax",
                env_steps, compile_seconds=calls["gymnax"].compile_seconds,
            ).compared_with(numpy_row)
        )  # fmt: skip
    result = times["ours"].result
    agreements = {
        "NumPy vs sweep": agreement(
            _first_steps_reward(result, numpy_steps), times["numpy"].result
        )
    }
    if adapter is not None:
        agreements["gymnax vs sweep"] = agreement(
            result.metrics["reward"].run_mean,
            times["gymnax"].result.metrics["reward"].run_mean,
        )
    compiles = {
        key: {"compiles": calls[key].compiles, "while_sweeping": calls[key].recompiles}
        for key in ("ours", "gymnax") if key in calls
    }  # fmt: skip
    return harness.Section(
        rows,
        [_check(name, numbers) for name, numbers in agreements.items()],
        {
            "values": values.tolist(), "num_seeds": num_seeds,
            "num_steps": num_steps, "numpy_steps": numpy_steps,
            "loop_steps_per_tau": loop_steps, "agreement": agreements,
            "compiles": compiles,
            "compilation_cache": jax.config.jax_compilation_cache_dir,
        },
    )  # fmt: skip
