"""The engine's run on an episodic MDP: transitions, same-step autoreset, episode
metrics, against hand-computed values and an independent NumPy simulation."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from chain_mdp import ChainMDP, FixedParams, fixed_boltzmann, ratio_se, simulate

from rl_softmax.agents import Agent, Transition, learn_each_step, one_step
from rl_softmax.engine import make_run, sweep

SIGMAS = 4.0


def _recording_agent(action: int) -> Agent:
    """Always takes ``action``; its state is the last transition it was given."""

    def init(key, params):
        del key, params
        zero = jnp.zeros((), jnp.int32)
        false = jnp.zeros((), bool)
        return Transition(zero, zero, jnp.zeros(()), zero, false, false)

    def act(key, state, obs, params):
        del key, state, obs, params
        return jnp.int32(action), {"probs": jax.nn.one_hot(action, 2)}

    def update(state, transition, params):
        del state, params
        return transition

    return Agent(init, act, learn_each_step(update), FixedParams(), 2)


def _transitions(env, agent, num_steps):
    run = make_run(env, agent, num_steps, swept="tau")
    carry = run.init(jax.random.key(0), jnp.float32(0.0))
    step = jax.jit(run.step)
    seen, outs = [], []
    for t in range(num_steps):
        carry, out = step(carry, t)
        seen.append(jax.tree.map(int, carry.agent_state))
        outs.append(jax.tree.map(np.asarray, out))
    return seen, outs


def test_terminal_step_gives_true_next_obs_then_the_episode_resets():
    seen, outs = _transitions(ChainMDP(length=3), _recording_agent(1), 7)
    obs = [t.obs for t in seen]
    next_obs = [t.next_obs for t in seen]
    assert obs == [0, 1, 2, 0, 1, 2, 0]  # the action after the goal starts at 0
    assert next_obs == [1, 2, 3, 1, 2, 3, 1]  # the learner sees the goal state 3
    assert [t.terminated for t in seen] == [0, 0, 1, 0, 0, 1, 0]
    assert not any(t.truncated for t in seen)
    assert [float(o.ended) for o in outs] == [0, 0, 1, 0, 0, 1, 0]
    assert [float(o.values["reward"]) for o in outs] == [0, 0, 1, 0, 0, 1, 0]


def test_time_limit_truncates_without_terminating():
    # left forever: stays at 0 until the limit of 4 steps cuts the episode
    seen, outs = _transitions(ChainMDP(length=3, max_steps=4), _recording_agent(0), 9)
    assert [t.truncated for t in seen] == [0, 0, 0, 1, 0, 0, 0, 1, 0]
    assert not any(t.terminated for t in seen)
    ended = [o for o in outs if o.ended]
    assert len(ended) == 2
    for out in ended:  # hand-computed: 4 steps, no reward, no success
        assert float(out.values["length"]) == 4.0
        assert float(out.values["return"]) == 0.0
        assert float(out.values["success"]) == 0.0
    # every left step is suboptimal by Q*(0, right) - Q*(0, left) = g**2 - g**3
    gamma = 0.9
    regret = [float(o.values["regret"]) for o in outs]
    np.testing.assert_allclose(regret, gamma**2 - gamma**3, rtol=1e-6)
    assert all(float(o.values["optimal"]) == 0.0 for o in outs)


def test_episode_metrics_exist_only_for_episodic_environments():
    run = make_run(ChainMDP(), fixed_boltzmann(), 10, swept="tau")
    names = [m.name for m in run.metrics]
    assert names == [
        "reward", "optimal", "regret", "entropy", "prob_optimal", "tau",
        "return", "length", "success",
    ]  # fmt: skip
    assert [m.per_episode for m in run.metrics].count(True) == 3


def test_greedy_runs_give_the_hand_computed_episodes():
    # tau = 0: always right, an episode every 3 steps: 3 in 10 steps, return 1 each
    length, num_steps = 3, 10
    run = make_run(ChainMDP(length=length), fixed_boltzmann(), num_steps, swept="tau")
    result = sweep(run, [0.0], 5, key=jax.random.key(0), final_steps=4)
    metrics = result.metrics
    np.testing.assert_array_equal(metrics["return"].run_weight, 3.0)
    np.testing.assert_array_equal(metrics["return"].final_weight, 1.0)  # step 9
    np.testing.assert_array_equal(metrics["return"].run_mean, 1.0)
    np.testing.assert_array_equal(metrics["length"].run_mean, float(length))
    np.testing.assert_array_equal(metrics["success"].run_mean, 1.0)
    np.testing.assert_allclose(metrics["reward"].run_mean, 3 / num_steps, rtol=1e-6)
    np.testing.assert_array_equal(metrics["optimal"].run_mean, 1.0)
    np.testing.assert_array_equal(metrics["regret"].run_mean, 0.0)
    # per window (1 step each): an episode ended at steps 3, 6 and 9
    np.testing.assert_array_equal(
        metrics["length"].curve_mean[0], np.where(np.arange(1, 11) % 3 == 0, 3, np.nan)
    )


def test_runs_without_an_ended_episode_are_undefined_not_zero():
    run = make_run(ChainMDP(length=3), fixed_boltzmann(), 2, swept="tau")
    result = sweep(run, [0.0], 3, key=jax.random.key(0), final_steps=2)
    assert np.isnan(result.metrics["return"].run_mean).all()
    np.testing.assert_array_equal(result.metrics["return"].run_weight, 0.0)


@pytest.mark.parametrize("tau", [0.5, 2.0, math.inf])
def test_episode_metrics_match_an_independent_numpy_simulation(tau):
    length, max_steps, num_steps, num_runs = 4, 12, 300, 400
    env = ChainMDP(length=length, max_steps=max_steps)
    run = make_run(env, fixed_boltzmann(), num_steps, swept="tau")
    result = sweep(run, [tau], num_runs, key=jax.random.key(1), final_steps=50)
    reference = simulate(tau, length, max_steps, num_steps, num_runs, seed=2)
    for name in ("return", "length", "success"):
        ours = result.metrics[name]
        count, total = ours.run_weight[0], ours.run_mean[0] * ours.run_weight[0]
        ours_mean = total.sum() / count.sum()
        theirs_mean = reference[name].sum() / reference["episodes"].sum()
        # ratio-estimator standard errors of both pooled means
        se = math.hypot(
            ratio_se(total, count), ratio_se(reference[name], reference["episodes"])
        )
        assert abs(ours_mean - theirs_mean) <= SIGMAS * se + 1e-9, (name, tau)
    ours_reward = result.metrics["reward"].run_mean[0].astype(np.float64)
    se = math.hypot(ours_reward.std(ddof=1), reference["reward"].std(ddof=1))
    assert abs(ours_reward.mean() - reference["reward"].mean()) <= SIGMAS * se / 20


def test_sweep_curves_average_each_runs_episode_mean_over_runs():
    env = ChainMDP(length=3, max_steps=8)
    run = make_run(env, fixed_boltzmann(), 40, swept="tau")
    result = sweep(run, [1.0], 30, key=jax.random.key(4), curve_stride=10)
    keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(4), np.arange(30))
    per_step = jax.vmap(run, (0, None))(keys, jnp.float32(1.0))
    ended = np.asarray(per_step.ended, np.float64).reshape(30, 4, 10)
    lengths = np.asarray(per_step.values["length"], np.float64).reshape(30, 4, 10)
    sums, counts = lengths.sum(-1), ended.sum(-1)  # [seeds, windows]
    curve = result.metrics["length"]
    for w in range(4):
        # each run with an episode in the window is one replicate: its own mean
        had = counts[:, w] > 0
        per_run = sums[had, w] / counts[had, w]
        assert curve.curve_count[0, w] == had.sum() > 1
        np.testing.assert_allclose(curve.curve_mean[0, w], per_run.mean(), rtol=1e-12)
        np.testing.assert_allclose(
            curve.curve_sem[0, w],
            per_run.std(ddof=1) / math.sqrt(per_run.size),
            rtol=1e-9,
        )
        # not the pooled mean over all episodes, which weighs runs by their count
        pooled = sums[:, w].sum() / counts[:, w].sum()
        assert not np.isclose(curve.curve_mean[0, w], pooled, rtol=1e-9)
    # a step metric's windows are over every seed
    np.testing.assert_array_equal(result.metrics["reward"].curve_count[0], 30)


def test_a_per_step_agent_learns_from_one_step_and_refuses_a_rollout():
    agent = _recording_agent(1)
    state = agent.init(jax.random.key(0), FixedParams())
    step = Transition(jnp.int32(2), jnp.int32(1), jnp.float32(0.5), jnp.int32(3),
                      jnp.bool_(True), jnp.bool_(False))  # fmt: skip
    learned = agent.learn(jax.random.key(1), state, one_step(step), FixedParams())
    assert learned._fields == step._fields  # the recording agent keeps the step
    for got, given in zip(learned, step, strict=True):
        assert got.shape == () and got == given
    rollout = jax.tree.map(lambda x: jnp.stack([one_step(x)[0]] * 2), step)  # [2, 1]
    with pytest.raises(ValueError) as refused:
        agent.learn(jax.random.key(1), state, rollout, FixedParams())
    message = str(refused.value)
    assert "\n" not in message and "got a batch of shape [2, 1]" in message


def test_the_swept_parameter_defaults_to_the_agents_first_for_either_constructor():
    """One rule for both constructors: the first field of the agent's params (the
    issue-23 case: make_rollout_run with a DQN agent used to assume 'tau')."""
    from rl_softmax.agents import make_actor_critic_agent, make_dqn_agent
    from rl_softmax.engine import make_rollout_run
    from rl_softmax.envs import CartPole

    chain = make_run(ChainMDP(), fixed_boltzmann(), 8)
    assert chain.swept == FixedParams._fields[0] == "tau"
    rollout = {"num_envs": 2, "rollout_steps": 4, "num_eval_episodes": 0}
    dqn = make_rollout_run(CartPole(), make_dqn_agent(4, 2), 1, **rollout)
    ppo = make_rollout_run(CartPole(), make_actor_critic_agent(4, 2), 1, **rollout)
    assert (dqn.swept, ppo.swept) == ("explore", "tau")
