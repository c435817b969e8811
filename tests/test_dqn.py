"""The DQN agents (agents.dqn, agents.replay): the ring buffer against a deque, the
backups and one learn step against NumPy, the Polyak update's closed form, the
value_spread metric, a compiled tau sweep through run_experiment and the config's
errors."""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rl_softmax import policies
from rl_softmax.agents import dqn, replay, rules
from rl_softmax.agents.base import Agent, Transition
from rl_softmax.engine import make_rollout_run, metrics
from rl_softmax.envs.classic import CartPole
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import run_experiment

OBS_SIZE, NUM_ACTIONS = 3, 3


def _transitions(key, num: int, start: int = 0) -> Transition:
    """``num`` transitions whose rewards count up from ``start`` (their identity)."""
    keys = jax.random.split(key, 3)
    return Transition(
        obs=jax.random.normal(keys[0], (num, OBS_SIZE)),
        action=jax.random.randint(keys[1], (num,), 0, NUM_ACTIONS),
        reward=jnp.arange(start, start + num, dtype=jnp.float32),
        next_obs=jax.random.normal(keys[2], (num, OBS_SIZE)),
        terminated=jnp.arange(num) % 3 == 0,
        truncated=jnp.arange(num) % 3 == 1,
    )


# --------------------------------------------------------------------- replay


def test_replay_ring_keeps_the_newest_transitions_like_a_deque():
    capacity = 7
    example = jax.tree.map(lambda x: x[0], _transitions(jax.random.key(0), 1))
    buffer = replay.init_replay(example, capacity)
    reference = collections.deque(maxlen=capacity)
    slots = [None] * capacity
    position, added = 0, 0
    add = jax.jit(replay.add)
    for i, size in enumerate([3, 2, 4, 1, 5, 7, 2]):
        batch = _transitions(jax.random.key(i), size, start=added)
        buffer = add(buffer, batch)
        for j in range(size):
            reference.append(added + j)
            slots[position] = added + j
            position = (position + 1) % capacity
        added += size
        assert int(buffer.size) == len(reference)
        assert int(buffer.position) == position
        stored = np.asarray(buffer.data.reward[: len(reference)])
        assert sorted(stored) == sorted(reference)  # the newest, each once
        np.testing.assert_array_equal(stored, np.array(slots[: len(reference)]))
    # every field moved with its transition
    last = _transitions(jax.random.key(6), 2, start=added - 2)
    np.testing.assert_array_equal(buffer.data.obs[np.array(slots) == added - 1][0],
                                  last.obs[1])  # fmt: skip


def test_replay_samples_uniformly_from_the_filled_slots_only():
    example = jax.tree.map(lambda x: x[0], _transitions(jax.random.key(0), 1))
    buffer = replay.add(
        replay.init_replay(example, 10), _transitions(jax.random.key(1), 4, start=1)
    )
    drawn = replay.sample(jax.random.key(2), buffer, 40_000)
    counts = np.bincount(np.asarray(drawn.reward, int), minlength=5)
    assert counts[0] == 0  # empty slots hold reward 0: never drawn
    np.testing.assert_allclose(counts[1:] / 40_000, 0.25, atol=0.01)  # > 4 sem
    row = np.asarray(drawn.reward[0], int) - 1
    np.testing.assert_array_equal(drawn.obs[0], buffer.data.obs[row])


# -------------------------------------------------------------------- backups


def test_soft_backup_tends_to_the_max_and_equals_it_at_tau_zero():
    q = jax.random.normal(jax.random.key(0), (50, NUM_ACTIONS)) * 3.0
    exact_max = np.max(np.asarray(q, np.float64), axis=1)
    np.testing.assert_array_equal(jax.vmap(dqn.soft_backup, (0, None))(q, 0.0),
                                  jax.vmap(dqn.max_backup)(q))  # fmt: skip
    gaps = []
    for tau in (1.0, 0.1, 0.01, 1e-3):
        soft = np.asarray(jax.vmap(dqn.soft_backup, (0, None))(q, tau), np.float64)
        shifted = (np.asarray(q, np.float64) - exact_max[:, None]) / tau
        reference = tau * np.log(np.sum(np.exp(shifted), 1)) + exact_max
        np.testing.assert_allclose(soft, reference, rtol=1e-5, atol=1e-5)
        assert np.all(soft >= exact_max - 1e-5)  # max <= soft max <= max + tau log K
        assert np.all(soft <= exact_max + tau * np.log(NUM_ACTIONS) + 1e-5)
        gaps.append(np.max(soft - exact_max))
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-2


def test_double_backup_takes_the_online_argmax_and_the_target_value():
    online = jnp.array([[1.0, 5.0, 2.0], [0.0, -1.0, 3.0]])
    target = jnp.array([[9.0, 0.5, 1.0], [4.0, 8.0, -2.0]])
    got = jax.vmap(dqn.double_backup)(online, target)
    np.testing.assert_array_equal(got, [0.5, -2.0])
    np.testing.assert_array_equal(jax.vmap(dqn.max_backup)(target), [9.0, 8.0])


def test_td_target_cuts_the_bootstrap_at_termination_only():
    reward = np.array([1.0, 1.0, 1.0])
    terminated = np.array([True, False, False])
    next_value = np.array([10.0, 10.0, 10.0])
    got = dqn.td_target(reward, terminated, 0.9, next_value)  # the 3rd: truncated
    np.testing.assert_allclose(got, [1.0, 10.0, 10.0])


def test_polyak_update_matches_its_closed_form():
    online = {"w": jnp.array([1.0, -2.0]), "b": jnp.array(3.0)}
    target = {"w": jnp.array([0.0, 4.0]), "b": jnp.array(-1.0)}
    rate, steps = 0.1, 25
    moved = target
    for _ in range(steps):
        moved = dqn.polyak_update(online, moved, rate)
    decay = (1 - rate) ** steps
    for name in ("w", "b"):
        expected = decay * np.asarray(target[name]) + (1 - decay) * np.asarray(
            online[name]
        )
        np.testing.assert_allclose(moved[name], expected, rtol=1e-5)
    copied = dqn.polyak_update(online, target, 1.0)
    np.testing.assert_array_equal(copied["w"], online["w"])


# ----------------------------------------------------------------- the agent


def _numpy_q(params, obs):
    h = np.asarray(obs, np.float64)
    *hidden, (w, b) = [(np.asarray(w, np.float64), np.asarray(b, np.float64))
                       for w, b in params]  # fmt: skip
    for wh, bh in hidden:
        h = np.maximum(h @ wh + bh, 0.0)
    return h @ w + b


@pytest.mark.parametrize("target", ["dqn", "double_dqn", "soft_dqn", "mellowmax_dqn"])
def test_one_learn_is_one_sgd_step_on_the_huber_loss_of_numpy_targets(target):
    tau, gamma, lr = 0.5, 0.9, 0.05  # tau is omega for the mellowmax rule
    rule = rules.mellowmax_rule() if target == "mellowmax_dqn" else None
    agent = dqn.make_dqn_agent(
        OBS_SIZE, NUM_ACTIONS, rule or rules.boltzmann_rule(), target=target,
        optimizer=optax.sgd, hidden=(5,), buffer_size=16, batch_size=8,
        learning_starts=0, target_update=1,
    )  # fmt: skip
    params = dqn.DQNParams(
        explore=tau, learning_rate=lr, discount=gamma, target_rate=0.25,
        max_grad_norm=1e9,
    )  # fmt: skip
    state = agent.init(jax.random.key(0), params)
    # a target network unlike the online one, so the backups differ
    state = state._replace(target=jax.tree.map(lambda x: x * 1.5 + 0.1, state.online))
    rollout = jax.tree.map(
        lambda x: x.reshape(2, 3, *x.shape[1:]), _transitions(jax.random.key(1), 6)
    )
    key = jax.random.key(2)
    learned = agent.learn(key, state, rollout, params)

    flat = jax.tree.map(lambda x: x.reshape(6, *x.shape[2:]), rollout)
    batch = replay.sample(key, replay.add(state.replay, flat), 8)
    q_next = _numpy_q(state.target, batch.next_obs)
    if target == "dqn":
        bootstrap = q_next.max(1)
    elif target == "double_dqn":
        pick = _numpy_q(state.online, batch.next_obs).argmax(1)
        bootstrap = q_next[np.arange(8), pick]
    elif target == "mellowmax_dqn":  # log(mean(exp(omega Q'))) / omega
        log_sum = np.logaddexp.reduce(tau * q_next, axis=1)
        bootstrap = (log_sum - np.log(NUM_ACTIONS)) / tau
    else:
        top = q_next.max(1, keepdims=True)
        bootstrap = (tau * np.log(np.exp((q_next - top) / tau).sum(1)))[:, None] + top
        bootstrap = bootstrap[:, 0]
    terminated = np.asarray(batch.terminated)
    assert terminated.any() and np.asarray(batch.truncated).any()
    y = np.asarray(batch.reward) + gamma * np.where(terminated, 0.0, bootstrap)

    def loss(online):
        q = jax.vmap(dqn.q_values, (None, 0))(online, batch.obs)
        taken = q[jnp.arange(8), batch.action]
        return jnp.mean(optax.huber_loss(taken, jnp.asarray(y, jnp.float32)))

    grads = jax.grad(loss)(state.online)
    expected = jax.tree.map(lambda p, g: p - lr * g, state.online, grads)
    for got, want in zip(jax.tree.leaves(learned.online), jax.tree.leaves(expected),
                         strict=True):  # fmt: skip
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    for got, online, old in zip(
        jax.tree.leaves(learned.target), jax.tree.leaves(learned.online),
        jax.tree.leaves(state.target), strict=True,
    ):  # fmt: skip
        np.testing.assert_allclose(got, old + 0.25 * (online - old), rtol=1e-5)
    assert int(learned.step) == 6 and int(learned.updates) == 1


def test_annealed_learning_rate_falls_linearly_to_zero():
    """With SGD the parameter change is proportional to the learning rate: after 6
    of 24 annealing steps it is 3/4 of the constant rate's change; past the end,
    nothing moves."""
    params = dqn.DQNParams(learning_rate=0.05, max_grad_norm=1e9)
    rollout = jax.tree.map(
        lambda x: x.reshape(2, 3, *x.shape[1:]), _transitions(jax.random.key(1), 6)
    )

    def change(anneal_steps, step=0):
        agent = dqn.make_dqn_agent(
            OBS_SIZE, NUM_ACTIONS, optimizer=optax.sgd, hidden=(5,),
            buffer_size=16, batch_size=8, learning_starts=0,
            anneal_steps=anneal_steps,
        )  # fmt: skip
        state = agent.init(jax.random.key(0), params)
        state = state._replace(step=jnp.int32(step))
        learned = agent.learn(jax.random.key(2), state, rollout, params)
        return [
            np.asarray(a) - np.asarray(b)
            for a, b in zip(jax.tree.leaves(learned.online),
                            jax.tree.leaves(state.online), strict=True)
        ]  # fmt: skip

    for constant, annealed in zip(change(None), change(24), strict=True):
        np.testing.assert_allclose(annealed, 0.75 * constant, rtol=1e-4, atol=1e-8)
    assert all((d == 0).all() for d in change(24, step=30))


def test_no_step_before_learning_starts_and_every_train_every_learns():
    agent = dqn.make_dqn_agent(
        OBS_SIZE, NUM_ACTIONS, hidden=(4,), buffer_size=32, batch_size=4,
        learning_starts=12, train_every=2,
    )  # fmt: skip
    params = agent.default_params
    state = agent.init(jax.random.key(0), params)
    learn = jax.jit(agent.learn)
    taken = []
    for i in range(8):  # 4 transitions per learn: steps 4, 8, ..., 32
        rollout = jax.tree.map(
            lambda x: x[None], _transitions(jax.random.key(i), 4, start=4 * i)
        )
        state = learn(jax.random.key(10 + i), state, rollout, params)
        taken.append(int(state.updates))
    # steps >= 12 at learns 3..8; of those, the even learn counts (4, 6, 8) step
    assert taken == [0, 0, 0, 1, 1, 2, 2, 3]


def test_policy_reports_its_values_greedy_at_small_tau_uniform_at_large():
    agent = dqn.make_dqn_agent(OBS_SIZE, NUM_ACTIONS, hidden=(8,))
    params = agent.default_params
    state = agent.init(jax.random.key(0), params)
    obs = jnp.array([0.5, -1.0, 2.0])
    values = np.asarray(dqn.q_values(state.online, obs))
    for tau, expected in ((1e-6, np.eye(NUM_ACTIONS)[values.argmax()]),
                          (1e6, np.full(NUM_ACTIONS, 1 / NUM_ACTIONS))):  # fmt: skip
        _, info = agent.act(jax.random.key(1), state, obs, params._replace(explore=tau))
        np.testing.assert_allclose(info["values"], values, rtol=1e-6)
        np.testing.assert_allclose(info["probs"], expected, atol=1e-5)
        np.testing.assert_allclose(info["tau"], tau)


def test_value_spread_is_the_std_over_actions_of_the_reported_values():
    values = np.array([0.3, -1.2, 4.0, 0.0], np.float32)
    chosen = metrics.available({"values": values, "probs": values}, {}, episodic=True)
    assert "value_spread" in {m.name for m in chosen}
    assert "value_spread" not in {
        m.name for m in metrics.available({"probs": values}, {}, episodic=True)
    }
    out = metrics.step_values(chosen, 1.0, 0, {"values": values, "probs": values}, {})
    np.testing.assert_allclose(out["value_spread"], np.std(values), rtol=1e-6)


def test_the_rollout_engine_averages_value_spread_over_steps():
    """A stand-in agent whose values depend on the observation: the engine's mean
    of value_spread equals the NumPy std of the values it acted on."""

    def act(key, state, obs, params):
        values = jnp.stack([obs[0], 2.0 * obs[1], -obs[2]])
        return jnp.int32(0), {"values": values}

    def learn(key, state, rollout, params):
        return state + jnp.std(
            jnp.stack([rollout.obs[..., 0], 2.0 * rollout.obs[..., 1],
                       -rollout.obs[..., 2]], -1), -1,
        ).sum()  # fmt: skip

    agent = Agent(
        init=lambda key, params: jnp.zeros(()), act=act, learn=learn,
        default_params=dqn.DQNParams(), num_actions=2, per_step=False,
    )  # fmt: skip
    env = CartPole()
    num_envs, steps, updates = 3, 4, 5
    run = make_rollout_run(
        env, agent, updates, num_envs=num_envs, rollout_steps=steps,
        swept="explore", num_eval_episodes=0,
    )  # fmt: skip
    carry = run.init(jax.random.key(0), jnp.float32(0.1))
    spreads = []
    for t in range(updates):
        carry, out = run.step(carry, jnp.int32(t))
        spreads.append(out.values["value_spread"])
    # the stand-in's state sums the same stds, computed apart from the engine
    total = float(carry.agent_state)
    np.testing.assert_allclose(np.sum(spreads) * num_envs * steps, total, rtol=1e-5)
    assert total > 0


def test_greedy_evaluation_takes_the_argmax_of_the_values_not_of_the_probs():
    """At a huge tau a value-based behaviour is uniform to float32 precision; its
    greedy evaluation must still follow the values (it took action 0 every step,
    and CartPole DQN at tau = 1e30 scored a greedy return below the uniform one's).
    Two stand-ins act on the same values, one with uniform probabilities and one
    with the values' one-hot: their greedy evaluations are the same episodes."""

    def stand_in(uniform: bool) -> Agent:
        def act(key, state, obs, params):
            lean = obs[2] + obs[3]  # pole angle and angular velocity
            values = jnp.stack([-lean, lean])  # push the way the pole falls
            best = jax.nn.one_hot(jnp.argmax(values), 2)
            probs = jnp.full(2, 0.5) if uniform else best
            return policies.sample_categorical(key, probs), {
                "probs": probs, "values": values,
            }  # fmt: skip

        return Agent(
            init=lambda key, params: jnp.zeros(()), act=act,
            learn=lambda key, state, rollout, params: state,
            default_params=dqn.DQNParams(), num_actions=2, per_step=False,
        )  # fmt: skip

    ends = []
    for uniform in (True, False):
        run = make_rollout_run(
            CartPole(), stand_in(uniform), 1, num_envs=2, rollout_steps=4,
            swept="explore", num_eval_episodes=16,
        )  # fmt: skip
        carry = run.init(jax.random.key(0), jnp.float32(0.1))
        ends.append(jax.jit(run.end)(carry))
    uniform, follows = ends
    assert float(uniform["greedy_return"]) == float(follows["greedy_return"])
    # and the values' greedy policy balances far longer than uniform behaviour
    assert float(uniform["greedy_return"]) > 2 * float(uniform["eval_return"])


# ------------------------------------------------------------ configs, sweeps


def _config(**study) -> dict:
    return {
        "name": "dqn_test",
        "num_steps": 512,
        "num_seeds": 2,
        "final_steps": 256,
        "env": {"name": "CartPole-v1"},
        "studies": [{
            "name": "boltzmann", "agent": "dqn", "rule": "boltzmann", "param": "tau",
            "hidden": [8], "num_envs": 8, "buffer_size": 256, "batch_size": 16,
            "learning_starts": 64, **study,
        }],
    }  # fmt: skip


def test_a_tau_sweep_compiles_once_and_repeats_bit_for_bit(compile_events):
    config = _config(values=[0.01, 0.1, 1.0, 10.0])
    first = run_experiment(config, write=False, progress=False, cache_dir=False)
    compiles = len(compile_events)
    again = run_experiment(config, write=False, progress=False, cache_dir=False)
    repeat_compiles = len(compile_events) - compiles
    one = run_experiment(
        _config(values=[0.1]), write=False, progress=False, cache_dir=False
    )
    # as many programs for four taus as for one: tau is an argument, not a constant
    assert len(compile_events) - compiles - repeat_compiles == repeat_compiles
    a, b = first.studies["boltzmann"], again.studies["boltzmann"]
    assert set(a.metrics) >= {"eval_return", "entropy", "value_spread", "return"}
    for name, metric in a.metrics.items():
        for x, y in zip(jax.tree.leaves(metric), jax.tree.leaves(b.metrics[name]),
                        strict=True):  # fmt: skip
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    entropy = a.metrics["entropy"].run_mean.mean(1)
    assert np.all(np.diff(entropy) > 0)  # hotter: closer to uniform
    np.testing.assert_allclose(entropy[-1], np.log(2), atol=1e-3)
    # seed 0 of tau = 0.1 is the same run whatever runs beside it
    np.testing.assert_array_equal(
        one.studies["boltzmann"].metrics["value_spread"].run_mean[0],
        a.metrics["value_spread"].run_mean[1],
    )


@pytest.mark.parametrize(
    "study, field, value",
    [
        ({"buffer_size": 0}, "buffer_size", "0"),
        ({"batch_size": 300}, "buffer_size", "256"),
        ({"learning_starts": -5}, "learning_starts", "-5"),
        ({"train_every": -1}, "train_every", "-1"),
        ({"num_envs": 3}, "num_steps", "512"),
        ({"target_rate": 1.5}, "target_rate", "1.5"),
        ({"rule": "ucb", "param": "c"}, "rule", "'ucb'"),
        ({"agent": "soft_dqn", "rule": "epsilon_greedy", "param": "epsilon"},
         "rule", "'epsilon_greedy'"),
    ],
)  # fmt: skip
def test_bad_replay_settings_fail_in_one_line_naming_field_value_allowed(
    study, field, value
):
    config = _config(**{"values": [0.1], **study})
    with pytest.raises(config_lib.ConfigError) as error:
        config_lib.from_dict(config)
    message = str(error.value)
    assert "\n" not in message
    assert field in message and value in message and "expected" in message
