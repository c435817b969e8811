"""The rollout run (engine.rollout): a batch of environments stepped together, then a
learn; episode bookkeeping against NumPy on the recorded rollouts, the solve rule
against gymnasium's definition, evaluation against gymnasium, bit-identical blocks.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from typing import NamedTuple

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_softmax import envs, schedules
from rl_softmax.agents import Agent, make_actor_critic_agent
from rl_softmax.agents.policy_gradient import policy_logits
from rl_softmax.engine import make_rollout_run, sweep
from rl_softmax.engine.rollout import SOLVE_WINDOW

NUM_ENVS, ROLLOUT_STEPS, NUM_UPDATES = 3, 40, 6


class _SpyParams(NamedTuple):
    tau: float = 0.0


def _spy_agent(num_actions: int, num_updates: int, obs_size: int) -> Agent:
    """Acts uniformly at random and keeps every rollout it is given (its state)."""

    def init(key, params):
        shape = (num_updates, ROLLOUT_STEPS, NUM_ENVS)
        return {
            "obs": jnp.zeros((*shape, obs_size)),
            "next_obs": jnp.zeros((*shape, obs_size)),
            "reward": jnp.zeros(shape),
            "done": jnp.zeros(shape, bool),
            "terminated": jnp.zeros(shape, bool),
            "update": jnp.zeros((), jnp.int32),
        }

    def act(key, state, obs, params):
        probs = jnp.full((num_actions,), 1.0 / num_actions)
        return jax.random.randint(key, (), 0, num_actions), {"probs": probs}

    def learn(key, state, rollout, params):
        u = state["update"]
        return {
            "obs": state["obs"].at[u].set(rollout.obs),
            "next_obs": state["next_obs"].at[u].set(rollout.next_obs),
            "reward": state["reward"].at[u].set(rollout.reward),
            "done": state["done"].at[u].set(rollout.terminated | rollout.truncated),
            "terminated": state["terminated"].at[u].set(rollout.terminated),
            "update": u + 1,
        }

    return Agent(init, act, learn, _SpyParams(), num_actions, per_step=False)


@dataclasses.dataclass(frozen=True)
class _EasyCartPole(envs.CartPole):
    """CartPole with a threshold a random policy reaches (the solve rule's test)."""

    reward_threshold = 15.0  # a class constant, as in CartPole


def _spy_run(env=None, num_updates=NUM_UPDATES):
    env = env or envs.CartPole()
    agent = _spy_agent(2, num_updates, 4)
    run = make_rollout_run(
        env, agent, num_updates, num_envs=NUM_ENVS, rollout_steps=ROLLOUT_STEPS,
        num_eval_episodes=0,
    )  # fmt: skip
    carry = run.init(jax.random.key(3), jnp.float32(0.0))
    step = jax.jit(run.step)
    outs = []
    for t in range(num_updates):
        carry, out = step(carry, jnp.int32(t))
        outs.append(out)
    state = jax.tree.map(np.asarray, carry.agent_state)
    return run, carry, outs, state


def _episodes(state):
    """NumPy: per update, the returns of the episodes that ended in it (each env's
    running sum from the run's start or its last end)."""
    reward, done = state["reward"], state["done"]
    num_updates = reward.shape[0]
    running = np.zeros(NUM_ENVS)
    per_update = []
    for u in range(num_updates):
        ended = []
        for t in range(ROLLOUT_STEPS):
            running += reward[u, t]
            for n in range(NUM_ENVS):
                if done[u, t, n]:
                    ended.append(running[n])
                    running[n] = 0.0
        per_update.append(ended)
    return per_update


def test_step_metrics_match_the_recorded_rollouts():
    run, _, outs, state = _spy_run()
    assert run.env_steps_per_step == NUM_ENVS * ROLLOUT_STEPS
    episodes = _episodes(state)
    assert sum(map(len, episodes)) > 10  # random CartPole episodes are short
    for u, out in enumerate(outs):
        np.testing.assert_allclose(
            float(out.values["reward"]), state["reward"][u].mean(), rtol=1e-6
        )
        assert float(out.ended) == len(episodes[u])
        np.testing.assert_allclose(
            float(out.values["return"]), sum(episodes[u]), rtol=1e-6
        )
        # reward 1 per step: an episode's return is its length
        np.testing.assert_allclose(
            float(out.values["length"]), sum(episodes[u]), rtol=1e-6
        )
        np.testing.assert_allclose(
            float(out.values["entropy"]),
            np.log(2.0),
            rtol=1e-5,  # float32 mean
        )


def test_next_obs_is_the_true_next_observation_and_ends_reset():
    _, _, _, state = _spy_run()
    obs, next_obs, done = state["obs"], state["next_obs"], state["done"]
    terminated = state["terminated"]
    flat = lambda x: x.reshape(-1, *x.shape[2:])  # noqa: E731 (time-major over updates)
    obs, next_obs, done, terminated = map(flat, (obs, next_obs, done, terminated))
    for n in range(NUM_ENVS):
        for t in range(len(obs) - 1):
            if done[t, n]:
                # a fresh start: every variable within CartPole's reset range
                assert np.all(np.abs(obs[t + 1, n]) <= 0.05)
            else:
                np.testing.assert_array_equal(next_obs[t, n], obs[t + 1, n])
            if terminated[t, n]:  # the terminal observation, past a threshold
                x, _, theta, _ = next_obs[t, n]
                assert abs(x) > 2.4 or abs(theta) > 12 * 2 * np.pi / 360
    assert terminated.any() and (done == terminated).all()  # no 500-step episode


def test_solved_is_gymnasiums_rule_on_the_last_100_episodes():
    num_updates = 40
    run, carry, _, state = _spy_run(_EasyCartPole(), num_updates)
    returns = []
    expected = np.nan
    for u, ended in enumerate(_episodes(state)):
        returns += ended
        recent = returns[-SOLVE_WINDOW:]
        if len(returns) >= SOLVE_WINDOW and np.mean(recent) >= 15.0:
            expected = (u + 1) * NUM_ENVS * ROLLOUT_STEPS
            break
    assert np.isfinite(expected), "the random policy should reach 15 on average"
    end = run.end(carry)
    assert float(end["solved"]) == 1.0
    assert float(end["steps_to_solve"]) == expected


def _trained_agent_and_run(num_updates: int, temperature=None):
    env = envs.CartPole()
    agent = make_actor_critic_agent(
        4, 2, anneal_steps=num_updates * 512, temperature=temperature
    )
    run = make_rollout_run(
        env, agent, num_updates, num_envs=4, rollout_steps=128, num_eval_episodes=100
    )
    return env, agent, run


def test_evaluation_returns_agree_with_gymnasium():
    """The final policy of a short training run, greedy and sampling, played in
    gymnasium's own CartPole-v1: the mean returns agree within their errors."""
    env, agent, run = _trained_agent_and_run(num_updates=12)
    carry = run.init(jax.random.key(0), jnp.float32(0.01))
    carry, _ = jax.lax.scan(jax.jit(run.step), carry, jnp.arange(12))
    end = run.end(carry)
    network = carry.agent_state.network
    logits = jax.jit(policy_logits)
    rng = np.random.default_rng(0)
    gym_env = gym.make("CartPole-v1")
    for greedy, name in ((True, "greedy_return"), (False, "eval_return")):
        totals = []
        for episode in range(100):
            obs, _ = gym_env.reset(seed=episode)
            total, done = 0.0, False
            while not done:
                probs = np.asarray(jax.nn.softmax(logits(network, obs)), np.float64)
                action = (
                    int(np.argmax(probs))
                    if greedy
                    else int(rng.choice(2, p=probs / probs.sum()))
                )
                obs, reward, terminated, truncated, _ = gym_env.step(action)
                total += reward
                done = terminated or truncated
            totals.append(total)
        totals = np.asarray(totals)
        ours = float(end[name])
        # 100 episodes on each side: the difference within 4.5 standard errors
        se = np.sqrt(2 * totals.var(ddof=1) / 100) + 1e-9
        assert abs(ours - totals.mean()) <= 4.5 * se + 1e-6, (name, ours, totals.mean())
    assert totals.mean() > 30  # trained above random (about 22)


def test_learning_raises_the_return_as_the_falling_temperature_anneals_entropy():
    """Four seeds, 40,960 steps, tau falling linearly from 0.05 to 0: every seed's
    last returns are far above random (a uniform policy averages about 22 steps),
    and the policy's entropy starts at log 2 (uniform) and falls."""
    num_updates = 80
    temperature = schedules.make_temperature(
        schedules.linear, end_value=0.0, transition_steps=num_updates * 512
    )
    _, _, run = _trained_agent_and_run(num_updates, temperature)
    result = sweep(
        run, [0.05], 4, key=jax.random.key(0), final_steps=10, curve_stride=1
    )
    np.testing.assert_array_equal(result.steps, np.arange(1, num_updates + 1) * 512)
    final = result.metrics["return"].run_final[0]
    assert np.all(final > 100), final
    assert result.metrics["return"].curve_mean[0, 0] < 40  # it started near random
    assert np.all(result.metrics["greedy_return"].run_final[0] > 100)
    # tau of update u is the schedule at its first step, u * 512
    np.testing.assert_allclose(
        result.metrics["tau"].curve_mean[0],
        0.05 * (1 - np.arange(num_updates) / num_updates), rtol=1e-5, atol=1e-8,
    )  # fmt: skip
    entropy = result.metrics["entropy"].curve_mean[0]
    assert abs(entropy[0] - np.log(2)) < 0.005  # the first policy is near uniform
    assert entropy[-10:].mean() < np.log(2) - 0.1  # and it turned toward greedy


def test_results_are_bit_identical_whatever_the_blocks():
    env = envs.CartPole()
    agent = make_actor_critic_agent(4, 2, hidden=(8,), num_minibatches=2)
    run = make_rollout_run(
        env, agent, 4, num_envs=2, rollout_steps=16, num_eval_episodes=5
    )
    kwargs = dict(key=jax.random.key(1), final_steps=2)
    whole = sweep(run, [0.0, 0.1], 3, **kwargs)
    pieces = sweep(run, [0.0, 0.1], 3, max_block_runs=1, **kwargs)
    for name, metric in whole.metrics.items():
        for field in ("run_mean", "run_final", "curve_mean", "curve_sem"):
            np.testing.assert_array_equal(
                getattr(metric, field), getattr(pieces.metrics[name], field),
                err_msg=f"{name}.{field}",
            )  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_envs": 0}, "num_envs=0"),
        ({"rollout_steps": 1.5}, "rollout_steps=1.5"),
        ({"num_eval_episodes": -1}, "num_eval_episodes=-1"),
        ({"swept": "epsilon"}, "swept='epsilon'"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    agent = make_actor_critic_agent(4, 2)
    args = {"num_envs": 2, "rollout_steps": 4, **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make_rollout_run(envs.CartPole(), agent, 2, **args)


def test_action_counts_must_agree():
    agent = make_actor_critic_agent(6, 3)
    with pytest.raises(ValueError, match="3 actions but the environment 2"):
        make_rollout_run(envs.CartPole(), agent, 2, num_envs=2, rollout_steps=4)


def test_sharded_rollout_sweep_equals_unsharded_and_does_not_hang(tmp_path):
    """Seeds split over 1 and 2 devices give the same bits. With 2 devices, the
    batched QR of jax's orthogonal initializer deadlocked XLA:CPU's thread pool;
    init_mlp avoids it (the timeout is the regression check)."""
    script = textwrap.dedent(
        """
        import sys
        import jax, numpy as np
        from rl_softmax import envs, schedules
        from rl_softmax.agents import make_actor_critic_agent
        from rl_softmax.engine import make_rollout_run, sweep
        agent = make_actor_critic_agent(4, 2, hidden=(16, 16), num_minibatches=2)
        run = make_rollout_run(envs.CartPole(), agent, 3, num_envs=2,
                               rollout_steps=16, num_eval_episodes=4)
        for _ in range(2):  # a second call of the same program too
            r = sweep(run, [0.01, 0.1], 5, key=jax.random.key(1), final_steps=1)
        arrays = {f"{m}.{f}": getattr(r.metrics[m], f) for m in r.metrics
                  for f in ("run_mean", "run_final", "curve_mean", "curve_sem")}
        np.savez(sys.argv[1], devices=len(jax.devices()), **arrays)
        """
    )
    outputs = []
    for count in (1, 2):
        env = dict(
            os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={count}"
        )
        path = tmp_path / f"devices{count}.npz"
        subprocess.run(
            [sys.executable, "-c", script, str(path)], env=env, check=True, timeout=300
        )
        outputs.append(np.load(path))
    assert outputs[0]["devices"] == 1 and outputs[1]["devices"] == 2
    for name in outputs[0].files:
        if name != "devices":
            np.testing.assert_array_equal(
                outputs[0][name], outputs[1][name], err_msg=name
            )
