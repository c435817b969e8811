"""Benchmark suite ``cartpole``: CartPole-v1 env-steps per second with a softmax MLP
acting (issue #11; ``rl-softmax bench --only cartpole``).

The workload: 4096 CartPole-v1 environments stepped 1000 times in one ``lax.scan``,
each environment reset on the step its episode ends (terminated, or truncated at 500
steps) and, in the policy rows, a ``[4, 64, 64, 2]`` tanh MLP
(:func:`rl_softmax.agents.networks.init_mlp` with ``out_scale=0.01``, so a
near-uniform policy) acting every step: one forward pass per environment, the action
drawn from the softmax of its logits at ``tau = 1`` with one uniform per environment
(:func:`rl_softmax.policies.sample_from_uniform`). Rows, as environment steps per
second, all timed in the same rounds (:mod:`harness`), each against gymnasium:

* **gymnasium**: ``gymnasium.make_vec("CartPole-v1", vectorization_mode=
  "vector_entry_point")``, gymnasium's own NumPy vector environment, with random
  actions (``action_space.sample()``): the baseline. It resets in its next-step
  mode: the call after an episode ends is a reset, counted as a step.
* **gymnax**: ``gymnax.make("CartPole-v1")`` (its ``step`` resets ended episodes on
  the same step) with the same policy and the same scan, jitted as a gymnax user
  writes it, on JAX's default device; reported as unavailable when gymnax is not
  installed (it is not one of rl_softmax's dependencies).
* **rl_softmax**: :class:`rl_softmax.envs.classic.CartPole` with the same policy and
  scan, float32, jitted with the environment axis split over every CPU device
  (:func:`rl_softmax.engine.executor.use_cpu_cores`); our environment does not reset
  itself, so :func:`autoreset_step` does what gymnax's ``step`` does.
* **rl_softmax, random actions**: the same without the MLP, to show the
  environment alone.
* references, not targets: **gymnax split over the devices**, driven exactly as
  ours (the two rows then differ only in the environment's code), and the
  **softmax MLP alone**, the same rollout with a stand-in environment of next to no
  cost (:func:`no_env`): the most any environment could reach with this policy.

Compilation happens before the first round and is reported apart.

Correctness, cheaply: every JAX row also counts its finished episodes and their
lengths (``[num_envs]`` integers in the carry). The mean episode length under the
initial MLP (about 22 steps) must agree between ours and gymnax, and under random
actions between ours and gymnasium (an untimed run that counts them too), as a
z-score of the difference over its standard error. Both sides of each comparison
have the same number of environments and steps, so the bias of counting only
episodes that end inside the window (short ones) is the same on both sides.
"""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import harness
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from rl_softmax.agents.networks import init_mlp, mlp
from rl_softmax.envs.classic import CartPole
from rl_softmax.policies import sample_from_uniform
from rl_softmax.softmax import softmax

_LAYERS = (4, 64, 64, 2)
_UNIT = "env-steps"
_Z_AGREE = 4.0  # |z| below this: the mean episode lengths agree


class EpisodeStats(NamedTuple):
    """Per environment: episodes finished in the rollout and their lengths.

    Attributes:
      count: ``[num_envs]`` int32 episodes that ended (terminated or truncated).
      length_sum: ``[num_envs]`` int32 sum of their lengths in steps.
      length_sq_sum: ``[num_envs]`` int32 sum of their squared lengths (at most
        ``500 * steps``, so at most 4 million steps fit).
    """

    count: jax.Array
    length_sum: jax.Array
    length_sq_sum: jax.Array


# ----------------------------------------------------------------------- policies


def softmax_mlp_action(params: Any, obs: jax.Array, u: jax.Array) -> jax.Array:
    """An action drawn from ``softmax(mlp(params, obs))`` (``tau = 1``) with the
    uniform ``u`` (inverse CDF); ``obs: [4]``."""
    return sample_from_uniform(u, softmax(mlp(params, obs)))


def random_action(params: Any, obs: jax.Array, u: jax.Array) -> jax.Array:
    """Push left or right with probability 1/2 each (``params``, ``obs`` unused)."""
    del params, obs
    return (u >= 0.5).astype(jnp.int32)


# ------------------------------------------------------------------- environments


def autoreset_step(env: CartPole, params: Any) -> Callable:
    """``step(key, state, action) -> (obs, state, terminated, truncated)`` of one
    environment, starting a new episode on the step the old one ends (what gymnax's
    ``Environment.step`` does: it draws a reset every step and selects it)."""

    def step(key, state, action):
        key_step, key_reset = jax.random.split(key)
        obs, next_state, _, terminated, truncated, _ = env.step(
            key_step, state, action, params
        )
        obs_reset, state_reset = env.reset(key_reset, params)
        done = terminated | truncated
        next_state = jax.tree.map(
            lambda reset, stepped: jnp.where(done, reset, stepped),
            state_reset,
            next_state,
        )
        return jnp.where(done, obs_reset, obs), next_state, terminated, truncated

    return step


def ours() -> tuple[Callable, Callable]:
    """``(reset(key), step(key, state, action))`` of our CartPole-v1, float32."""
    env = CartPole()
    params = env.default_params
    return (lambda key: env.reset(key, params)), autoreset_step(env, params)


def gymnax_env() -> tuple[Callable, Callable, str]:
    """``(reset, step, version)`` of gymnax's CartPole-v1 (``step`` autoresets).

    Raises:
      ImportError: gymnax is not installed.
    """
    import gymnax

    env, params = gymnax.make("CartPole-v1")

    def reset(key):
        obs, state = env.reset(key, params)
        # gymnax starts `time` as a Python 0; the scan carry needs one dtype.
        return obs, state.replace(time=jnp.asarray(state.time, jnp.int32))

    def step(key, state, action):
        obs, state, _, terminated, truncated, _ = env.step(key, state, action, params)
        return obs, state, terminated, truncated

    return reset, step, importlib.metadata.version("gymnax")


def no_env() -> tuple[Callable, Callable]:
    """``(reset, step)`` of a stand-in with next to no cost whose episodes never
    end: the observation drifts with the action (from 0.01 towards at most 1), so
    each step's policy input depends on the last action and XLA can neither hoist
    the policy out of the loop nor drop it."""

    def reset(key):
        del key
        obs = jnp.full((4,), 0.01, jnp.float32)
        return obs, obs

    def step(key, state, action):
        del key
        obs = 0.999 * state + 0.001 * action
        # never true, but XLA cannot know: the counts returned depend on the loop
        never = obs[0] > 1.0
        return obs, obs, never, never

    return reset, step


# ------------------------------------------------------------------------ rollout


def env_sharding() -> NamedSharding:
    """Splits a leading environment axis evenly over all JAX devices."""
    return NamedSharding(
        Mesh(np.array(jax.devices()), ("envs",)), PartitionSpec("envs")
    )


def make_rollout(
    reset: Callable,
    step: Callable,
    policy: Callable,
    *,
    num_envs: int,
    num_steps: int,
    sharding: NamedSharding | None = None,
) -> Callable[[jax.Array, Any], EpisodeStats]:
    """``rollout(key, policy_params) -> EpisodeStats``: ``num_envs`` environments
    stepped ``num_steps`` times in one ``lax.scan``, ``policy`` acting in each.

    Args:
      reset: ``reset(key) -> (obs, state)`` of one environment.
      step: ``step(key, state, action) -> (obs, state, terminated, truncated)`` of
        one environment, resetting it on the step its episode ends.
      policy: ``policy(policy_params, obs, u) -> action`` with ``u ~ U[0, 1)``.
      num_envs: environments stepped side by side.
      num_steps: steps of each.
      sharding: of the environment axis (every array of the carry), or None to
        leave placement to JAX (one device).
    """

    def place(tree):
        if sharding is None:
            return tree
        return jax.lax.with_sharding_constraint(tree, sharding)

    def rollout(key: jax.Array, policy_params: Any) -> EpisodeStats:
        def body(carry, key):
            obs, state, length, stats = carry
            key_act, key_env = jax.random.split(key)
            u = jax.random.uniform(key_act, (num_envs,))
            action = jax.vmap(policy, (None, 0, 0))(policy_params, obs, u)
            obs, state, terminated, truncated = jax.vmap(step)(
                jax.random.split(key_env, num_envs), state, action
            )
            done = terminated | truncated
            length = length + 1
            ended = jnp.where(done, length, 0)
            stats = EpisodeStats(
                stats.count + done, stats.length_sum + ended,
                stats.length_sq_sum + ended * ended,
            )  # fmt: skip
            return place((obs, state, jnp.where(done, 0, length), stats)), None

        key_reset, key_steps = jax.random.split(key)
        obs, state = jax.vmap(reset)(jax.random.split(key_reset, num_envs))
        zeros = jnp.zeros((num_envs,), jnp.int32)
        carry = place((obs, state, zeros, EpisodeStats(zeros, zeros, zeros)))
        carry, _ = jax.lax.scan(body, carry, jax.random.split(key_steps, num_steps))
        return carry[-1]

    return rollout


class _Compiled:
    """A rollout compiled once (timed apart), then run on demand to the host."""

    def __init__(self, rollout: Callable, key: jax.Array, policy_params: Any):
        self.key, self.policy_params = key, policy_params
        start = time.perf_counter()
        self.compiled = jax.jit(rollout).lower(key, policy_params).compile()
        self.compile_seconds = time.perf_counter() - start

    def __call__(self) -> EpisodeStats:
        stats = self.compiled(self.key, self.policy_params)
        return EpisodeStats(*(np.asarray(x) for x in stats))


# ---------------------------------------------------------------------- gymnasium


def gymnasium_vector_env(num_envs: int):
    """gymnasium's NumPy ``CartPoleVectorEnv`` with ``num_envs`` environments."""
    import gymnasium

    return gymnasium.make_vec(
        "CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point"
    )


def gymnasium_random(env, num_steps: int, *, seed: int, count: bool = False):
    """``num_steps`` calls of ``env.step(env.action_space.sample())`` after a reset.

    Args:
      env: from :func:`gymnasium_vector_env`.
      num_steps: step calls.
      seed: of the reset and of the action space.
      count: also count the episodes that end and their lengths (the timed runs
        do not, to time gymnasium alone).

    Returns:
      ``EpisodeStats`` of NumPy arrays when ``count``, else None.
    """
    env.reset(seed=seed)
    env.action_space.seed(seed)
    if not count:
        for _ in range(num_steps):
            env.step(env.action_space.sample())
        return None
    stats = [np.zeros(env.num_envs, np.int64) for _ in EpisodeStats._fields]
    length = np.zeros(env.num_envs, np.int64)
    was_done = np.zeros(env.num_envs, bool)
    for _ in range(num_steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        # next-step autoreset: the call after an episode ends only resets
        length = np.where(was_done, 0, length + 1)
        was_done = terminated | truncated
        ended = np.where(was_done, length, 0)
        for total, add in zip(stats, (was_done, ended, ended * ended), strict=True):
            total += add
    return EpisodeStats(*stats)


# ------------------------------------------------------------------------- checks


def episode_lengths(stats: EpisodeStats) -> dict[str, float]:
    """Mean length of the finished episodes and its standard error (episodes of
    a fixed policy from fresh starts are independent)."""
    count = float(np.sum(stats.count, dtype=np.float64))
    mean = np.sum(stats.length_sum, dtype=np.float64) / count
    variance = np.sum(stats.length_sq_sum, dtype=np.float64) / count - mean**2
    variance *= count / (count - 1)
    return {
        "episodes": count,
        "mean": float(mean),
        "sem": float(np.sqrt(variance / count)),
    }


def agreement(ours_stats: EpisodeStats, theirs_stats: EpisodeStats) -> dict:
    """Both mean episode lengths and the z-score of ``ours - theirs``."""
    a, b = episode_lengths(ours_stats), episode_lengths(theirs_stats)
    z = (a["mean"] - b["mean"]) / np.hypot(a["sem"], b["sem"])
    return {"ours": a, "theirs": b, "z": float(z), "agree": bool(abs(z) < _Z_AGREE)}


# -------------------------------------------------------------------------- suite


def sizes(quick: bool) -> dict[str, int]:
    return (
        {"num_envs": 256, "steps": 200} if quick else {"num_envs": 4096, "steps": 1000}
    )


def _check(name: str, numbers: dict) -> harness.Check:
    a, b = numbers["ours"], numbers["theirs"]
    return harness.Check(
        name, numbers["agree"],
        f"mean length of the finished episodes {a['mean']:.2f} +- {a['sem']:.2f} vs "
        f"{b['mean']:.2f} +- {b['sem']:.2f} steps, z = {numbers['z']:+.2f}",
    )  # fmt: skip


def suite(settings: harness.Settings) -> harness.Section:
    """Times every row in the same rounds; checks the episode lengths."""
    size = sizes(settings.quick)
    num_envs, num_steps = size["num_envs"], size["steps"]
    num_devices = len(jax.devices())
    if num_envs % num_devices:
        raise ValueError(
            f"num_envs={num_envs}: expected a multiple of the {num_devices} JAX "
            "devices it is split over."
        )
    key_policy, key_ours, key_random, key_gymnax = jax.random.split(
        jax.random.key(0), 4
    )
    policy_params = init_mlp(key_policy, _LAYERS, out_scale=0.01)
    placement = {"num_envs": num_envs, "num_steps": num_steps}
    gymnax, gymnax_note = None, "left out (gymnax=False)"
    if settings.gymnax:
        try:
            *gymnax, gymnax_note = gymnax_env()
        except ImportError as error:
            gymnax_note = f"gymnax not installed ({error})"

    split = env_sharding()

    def compiled(env, policy, key, sharding=split):
        rollout = make_rollout(*env, policy, sharding=sharding, **placement)
        return _Compiled(rollout, key, policy_params)

    vector_env = gymnasium_vector_env(num_envs)
    calls: dict[str, Callable] = {
        "gymnasium": lambda: gymnasium_random(vector_env, num_steps, seed=0)
    }
    settings.progress("compiling the rollouts")
    if gymnax is not None:  # as a gymnax user jits it: JAX's default placement
        calls["gymnax"] = compiled(gymnax, softmax_mlp_action, key_gymnax, None)
    calls["ours"] = compiled(ours(), softmax_mlp_action, key_ours)
    calls["ours_random"] = compiled(ours(), random_action, key_random)
    if gymnax is not None:
        calls["gymnax_split"] = compiled(gymnax, softmax_mlp_action, key_gymnax)
    calls["policy_alone"] = compiled(no_env(), softmax_mlp_action, key_ours)
    times = harness.time_rounds(
        calls, repeats=settings.rounds, progress=settings.progress
    )
    gymnasium_counted = gymnasium_random(vector_env, num_steps, seed=1, count=True)
    vector_env.close()

    env_steps = num_envs * num_steps
    title = (
        f"CartPole-v1, {num_envs} envs x {num_steps} steps, autoreset, "
        f"[{', '.join(map(str, _LAYERS))}] tanh MLP (softmax, tau = 1) acting"
    )
    devices = f"{num_devices} device{'s' if num_devices > 1 else ''}"
    names = {
        "gymnasium": "gymnasium vector env (NumPy), random actions",
        "gymnax": "gymnax, softmax MLP, jit, default placement",
        "ours": f"rl_softmax, softmax MLP, jit, {devices}",
        "ours_random": f"rl_softmax, random actions, jit, {devices}",
        "gymnax_split": f"gymnax, softmax MLP, jit, {devices} (reference)",
        "policy_alone": f"softmax MLP alone, no env, jit, {devices} (reference)",
    }
    short = {
        "gymnasium": "gymnasium", "gymnax": "gymnax", "ours": "rl_softmax",
        "ours_random": "rl_softmax random", "gymnax_split": "gymnax split",
        "policy_alone": "MLP alone",
    }  # fmt: skip
    baseline = harness.Row(
        "cartpole", title, names["gymnasium"], short["gymnasium"], _UNIT, env_steps,
        times["gymnasium"].seconds,
    )  # fmt: skip
    rows = [baseline]
    for key in list(names)[1:]:
        if key not in calls:
            rows.append(
                harness.unavailable(
                    "cartpole", title, names[key], short[key], _UNIT, gymnax_note
                )
            )
            continue
        rows.append(
            harness.Row(
                "cartpole", title, names[key], short[key], _UNIT, env_steps,
                times[key].seconds, compile_seconds=calls[key].compile_seconds,
            ).compared_with(baseline)
        )  # fmt: skip
    results = {key: timing.result for key, timing in times.items()}
    agreements = {
        "random: ours vs gymnasium": agreement(
            results["ours_random"], gymnasium_counted
        )
    }
    identical = None
    if gymnax is not None:
        agreements["policy: ours vs gymnax"] = agreement(
            results["ours"], results["gymnax"]
        )
        # the same key: placement must not change a number
        identical = all(
            np.array_equal(a, b)
            for a, b in zip(results["gymnax"], results["gymnax_split"], strict=True)
        )
    checks = [_check(name, numbers) for name, numbers in agreements.items()]
    if identical is not None:
        checks.append(
            harness.Check(
                "gymnax on the default placement and split over the devices",
                identical, "identical episode counts and lengths" if identical
                else "DIFFERENT episode counts or lengths",
            )
        )  # fmt: skip
    return harness.Section(
        rows,
        checks,
        {
            "num_envs": num_envs, "num_steps": num_steps,
            "agreement": agreements, "gymnax_split_identical": identical,
            "dtype": str(jnp.zeros(()).dtype),
            "gymnax": None if gymnax is None else gymnax_note,
        },
    )  # fmt: skip
