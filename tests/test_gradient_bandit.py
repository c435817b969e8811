"""Tests for rl_softmax/agents/gradient_bandit.py: NumPy loops, published figures.

References: Sutton & Barto (2018), Sec. 2.8: ``pi = softmax(H)``,
``H(A) += alpha (R - Rbar)(1 - pi(A))``, ``H(a) -= alpha (R - Rbar) pi(a)``, with
``Rbar`` the running mean of the rewards including the current one (the convention
of the public reproduction and of ``experiments/numpy_reference.py``). At a
temperature ``tau`` the ascent direction is ``(R - Rbar)(onehot(A) - pi) / tau``.
The optimizers are re-implemented in NumPy float64 from their papers' update rules
(Adam: Kingma & Ba 2015; RMSProp: Tieleman & Hinton 2012; heavy-ball momentum),
with optax's defaults. Figure 2.5 (``q* ~ N(4, 1)``) numbers are the public
reproduction's, 2000 runs; tolerances are 4 combined standard errors plus half the
published range.

Compiling a sweep costs seconds on a 2-core CPU, so the tests share compiled
programs: one jitted ``update`` per agent, one run per Figure 2.5 agent (its sweep
program is compiled once per block shape) and one per optimizer.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rl_softmax import softmax as sm
from rl_softmax.agents import Transition
from rl_softmax.agents.base import one_step
from rl_softmax.agents.gradient_bandit import (
    GradientBanditParams,
    GradientBanditState,
    _policy_gradient_loss,
    make_gradient_bandit,
)
from rl_softmax.engine import MetricResult, Run, compile_sweep, make_run, sweep
from rl_softmax.envs import GaussianBandit, GaussianParams


def _update(agent):
    """The agent's ``learn`` on one step of one environment, as an update
    ``(state, transition, params) -> state`` (a per-step agent ignores the key)."""
    return lambda state, transition, params: agent.learn(
        jax.random.key(0), state, one_step(transition), params
    )


_SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "numpy_reference.py"
_spec = importlib.util.spec_from_file_location("numpy_reference", _SCRIPT)
numpy_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(numpy_reference)

K = 5
SIGMAS = 4.0
SEQUENCE_LENGTH = 50
FIG_2_5_ENV = GaussianParams(mean=4.0)
OBS = jnp.zeros(())  # a bandit's one observation


def _momentum(learning_rate):
    return optax.sgd(learning_rate, momentum=0.9)


OPTIMIZERS = {
    "sgd": None,
    "momentum": _momentum,
    "adam": optax.adam,
    "rmsprop": optax.rmsprop,
}


def _annealed(step, explore):
    return explore / (1.0 + 0.1 * step)


@functools.cache
def _agent(optimizer: str = "sgd", baseline: bool = True, schedule: bool = False):
    kwargs = {"temperature": _annealed} if schedule else {}
    return make_gradient_bandit(K, OPTIMIZERS[optimizer], baseline=baseline, **kwargs)


@functools.cache
def _jitted_update(optimizer: str = "sgd", baseline: bool = True, schedule=False):
    return jax.jit(_update(_agent(optimizer, baseline, schedule)))


@functools.cache
def _jitted_act():
    return jax.jit(_agent().act)


def _transition(action, reward):
    done = jnp.zeros((), bool)
    return Transition(OBS, action, reward, OBS, done, done)


# A batch of transitions: actions and rewards batched, the rest shared.
_BATCHED_TRANSITION = Transition(None, 0, 0, None, None, None)


# ---------------------------------------------------------------- NumPy reference


def _np_softmax(h: np.ndarray, tau: float) -> np.ndarray:
    z = np.exp((h - h.max()) / tau)
    return z / z.sum()


class _NumpyOptimizer:
    """Minimising steps ``x -= update(g)`` of SGD, momentum, Adam and RMSProp."""

    def __init__(self, name: str, learning_rate: float):
        self.name, self.lr, self.t = name, learning_rate, 0
        self.m = self.v = np.zeros(K)

    def update(self, g: np.ndarray) -> np.ndarray:
        self.t += 1
        if self.name == "sgd":
            return -self.lr * g
        if self.name == "momentum":  # optax.trace: m = g + 0.9 m
            self.m = g + 0.9 * self.m
            return -self.lr * self.m
        if self.name == "adam":  # b1 = 0.9, b2 = 0.999, eps = 1e-8
            self.m = 0.9 * self.m + 0.1 * g
            self.v = 0.999 * self.v + 0.001 * g**2
            m_hat = self.m / (1 - 0.9**self.t)
            v_hat = self.v / (1 - 0.999**self.t)
            return -self.lr * m_hat / (np.sqrt(v_hat) + 1e-8)
        # rmsprop: decay = 0.9, eps = 1e-8 inside the square root, nu_0 = 0
        self.v = 0.9 * self.v + 0.1 * g**2
        return -self.lr * g / np.sqrt(self.v + 1e-8)


def _np_gradient_bandit(actions, rewards, alpha, tau, optimizer, baseline, schedule):
    """Preferences after each update, float64: ``[len(actions), K]``."""
    h, mean_reward, out = np.zeros(K), 0.0, []
    opt = _NumpyOptimizer(optimizer, alpha)
    for t, (a, r) in enumerate(zip(actions, rewards, strict=True), start=1):
        tau_t = tau / (1.0 + 0.1 * (t - 1)) if schedule else tau
        pi = _np_softmax(h, tau_t)
        mean_reward += (r - mean_reward) / t  # includes R_t, before the H update
        advantage = r - mean_reward if baseline else r
        if optimizer == "sgd":  # Sutton & Barto's form, scaled by 1 / tau
            h = h - alpha * advantage * pi / tau_t
            h[a] += alpha * advantage / tau_t
        else:
            ascent = -advantage * pi / tau_t
            ascent[a] += advantage / tau_t
            h = h + opt.update(-ascent)
        out.append(h.copy())
    return np.array(out)


def _sequence(seed: int = 1):
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, K, size=SEQUENCE_LENGTH).astype(np.int32)
    rewards = rng.normal(actions.astype(float), 1.0).astype(np.float32)
    return actions, rewards


def _drive(optimizer, baseline, alpha, tau, schedule=False):
    """The agent's preferences after each update of the fixed sequence."""
    agent = _agent(optimizer, baseline, schedule)
    update = _jitted_update(optimizer, baseline, schedule)
    params = GradientBanditParams(
        step_size=jnp.float32(alpha), explore=jnp.float32(tau)
    )
    # Built with the default alpha: update must take alpha from the params it gets.
    state = agent.init(jax.random.key(0), agent.default_params)
    out = []
    for a, r in zip(*_sequence(), strict=True):
        state = update(state, _transition(jnp.int32(a), jnp.float32(r)), params)
        out.append(np.asarray(state.preferences, np.float64))
    return np.array(out), state


# ------------------------------------------------------------ exact update rules


@pytest.mark.parametrize("baseline", [True, False])
@pytest.mark.parametrize("tau", [1.0, 0.5, 2.5])
def test_sgd_matches_sutton_barto_update(baseline, tau):
    alpha = 0.1 if baseline else 0.02  # no baseline: larger |R|, keep H moderate
    got, state = _drive("sgd", baseline, alpha, tau)
    actions, rewards = _sequence()
    want = _np_gradient_bandit(actions, rewards, alpha, tau, "sgd", baseline, False)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert np.abs(want[-1]).max() > 0.1  # the preferences did move
    np.testing.assert_allclose(float(state.mean_reward), rewards.mean(), rtol=1e-5)
    assert int(state.step) == SEQUENCE_LENGTH


def test_first_update_with_baseline_is_zero():
    # Rbar_1 = R_1, so the first advantage is exactly zero under this convention.
    agent = _agent()
    state = agent.init(jax.random.key(0), agent.default_params)
    state = _jitted_update()(state, _transition(2, 3.7), agent.default_params)
    np.testing.assert_array_equal(np.asarray(state.preferences), np.zeros(K))
    np.testing.assert_allclose(float(state.mean_reward), 3.7)


def test_temperature_schedule_is_used_at_each_step():
    got, _ = _drive("sgd", True, 0.1, 2.0, schedule=True)
    want = _np_gradient_bandit(*_sequence(), 0.1, 2.0, "sgd", True, True)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    constant = _np_gradient_bandit(*_sequence(), 0.1, 2.0, "sgd", True, False)
    assert np.abs(constant[-1] - want[-1]).max() > 1e-2


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "rmsprop"])
def test_other_optimizers_follow_the_same_gradient(optimizer):
    alpha, tau, baseline = 0.05, 0.8, True
    got, state = _drive(optimizer, baseline, alpha, tau)
    want = _np_gradient_bandit(*_sequence(), alpha, tau, optimizer, baseline, False)
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * max(scale, 1.0))
    sgd = _np_gradient_bandit(*_sequence(), alpha, tau, "sgd", baseline, False)
    assert np.abs(sgd[-1] - want[-1]).max() > 1e-2  # the optimizer matters
    assert float(state.opt_state.hyperparams["learning_rate"]) == np.float32(alpha)


def test_autodiff_gradient_equals_closed_form():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(200, K)).astype(np.float32) * 3
    actions = rng.integers(0, K, 200).astype(np.int32)
    advantages = rng.normal(size=200).astype(np.float32)
    taus = rng.uniform(0.1, 5.0, 200).astype(np.float32)
    grad = jax.jit(jax.vmap(jax.grad(_policy_gradient_loss)))
    got = np.asarray(grad(h, actions, advantages, taus))
    h64, tau64 = h.astype(np.float64), taus.astype(np.float64)
    pi = np.array([_np_softmax(row, t) for row, t in zip(h64, tau64, strict=True)])
    onehot = np.eye(K)[actions]
    want = -advantages[:, None] * (onehot - pi) / tau64[:, None]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


# ------------------------------------------------- initial policy, jit and vmap


@pytest.mark.parametrize("tau", [0.1, 1.0, 7.0])
def test_initial_policy_is_uniform(tau):
    agent = _agent()
    params = GradientBanditParams(explore=jnp.float32(tau))
    state = jax.jit(agent.init)(jax.random.key(0), params)
    _, info = _jitted_act()(jax.random.key(1), state, OBS, params)
    assert set(info) == {"probs", "tau"}
    probs = info["probs"]
    np.testing.assert_allclose(np.asarray(probs), np.full(K, 1 / K), rtol=1e-6)
    assert float(info["tau"]) == np.float32(tau)
    entropy = float(jax.jit(sm.entropy)(state.preferences, tau))
    np.testing.assert_allclose(entropy, np.log(K), rtol=1e-6)
    probs64 = np.asarray(probs, np.float64)
    np.testing.assert_allclose(-np.sum(probs64 * np.log(probs64)), np.log(K), 1e-6)


def test_act_and_update_under_jit_and_vmap():
    agent = _agent("adam")
    n = 4000
    batched = GradientBanditParams(step_size=0, explore=0)
    params = GradientBanditParams(
        step_size=jnp.linspace(0.0, 0.5, n, dtype=jnp.float32),
        explore=jnp.linspace(0.5, 2.0, n, dtype=jnp.float32),
    )
    states = jax.jit(jax.vmap(agent.init, (None, batched)))(jax.random.key(0), params)
    assert isinstance(states, GradientBanditState)
    assert states.preferences.shape == (n, K)
    assert states.preferences.dtype == jnp.float32
    assert states.mean_reward.shape == (n,) and states.mean_reward.dtype == jnp.float32
    assert states.step.shape == (n,) and states.step.dtype == jnp.int32
    np.testing.assert_array_equal(
        np.asarray(states.opt_state.hyperparams["learning_rate"]),
        np.asarray(params.step_size),
    )

    keys = jax.random.split(jax.random.key(1), n)
    act = jax.jit(jax.vmap(agent.act, (0, 0, None, batched)))
    actions, info = act(keys, states, OBS, params)
    probs = info["probs"]
    assert actions.shape == (n,) and actions.dtype == jnp.int32
    assert probs.shape == (n, K) and probs.dtype == jnp.float32
    assert info["tau"].shape == (n,) and info["tau"].dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(info["tau"]), np.asarray(params.explore))
    # Uniform initial policy: each arm's frequency is 1/K within SIGMAS SEs.
    freq = np.bincount(np.asarray(actions), minlength=K) / n
    assert np.all(np.abs(freq - 1 / K) <= SIGMAS * math.sqrt((1 / K) * (1 - 1 / K) / n))

    rewards = jnp.asarray(np.random.default_rng(0).normal(size=n), jnp.float32)
    update = jax.jit(jax.vmap(_update(agent), (0, _BATCHED_TRANSITION, batched)))
    new = update(states, _transition(actions, rewards), params)
    for _ in range(2):  # past the first step, whose advantage is 0
        new = update(new, _transition(actions, rewards + 1.0), params)
    assert new.preferences.shape == (n, K) and new.preferences.dtype == jnp.float32
    assert new.mean_reward.dtype == jnp.float32 and new.step.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(new.step), np.full(n, 3))

    # A row equals the plain (unbatched, unjitted) computation.
    for i in (n - 1,):  # one row: eager dispatch is slow
        row = jax.tree.map(lambda x, i=i: x[i], (states, params))
        plain = _update(agent)(row[0], _transition(actions[i], rewards[i]), row[1])
        for _ in range(2):
            plain = _update(agent)(
                plain, _transition(actions[i], rewards[i] + 1.0), row[1]
            )
        np.testing.assert_allclose(
            np.asarray(plain.preferences), np.asarray(new.preferences[i]), 1e-5, 1e-6
        )
        plain_action, plain_info = agent.act(keys[i], row[0], OBS, row[1])
        assert int(plain_action) == int(actions[i])
        np.testing.assert_allclose(
            np.asarray(plain_info["probs"]), np.asarray(probs[i])
        )


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="num_actions"):
        make_gradient_bandit(1)
    with pytest.raises(ValueError, match="factory"):
        make_gradient_bandit(K, optax.sgd(0.1))
    with pytest.raises(ValueError, match="learning_rate"):
        make_gradient_bandit(K, lambda lr: optax.sgd(lr))


# ---------------------------------------------------------------- sweeps

# (baseline, alpha) -> published % optimal action at step 1000 (low, high).
FIG_2_5 = {
    (True, 0.1): (0.86, 0.86),
    (True, 0.4): (0.73, 0.75),
    (False, 0.1): (0.48, 0.49),
    (False, 0.4): (0.27, 0.28),
}
FIG_2_5_STEPS = 1000
FIG_2_5_RUNS = 300
FINAL_STEPS = 10  # steps 991..1000, where the curves are flat
SWEEP_SETTINGS = {"final_steps": FINAL_STEPS, "curve_stride": 100}


@functools.cache
def _fig_2_5_run(baseline: bool) -> Run:
    return make_run(
        GaussianBandit(10),
        make_gradient_bandit(10, baseline=baseline),
        FIG_2_5_STEPS,
        env_params=FIG_2_5_ENV,
        swept="step_size",
    )


def test_step_size_sweep_does_not_recompile_and_is_reproducible(compile_events):
    run = _fig_2_5_run(True)

    def run_sweep(values, seed=0):
        return sweep(run, values, 6, key=jax.random.key(seed), **SWEEP_SETTINGS)

    compile_sweep(run, 3, 6, **SWEEP_SETTINGS)  # compiled here unless already cached
    jax.jit(lambda x: x * 3.0 + 1.0)(np.float32(2.0))  # a fresh program
    first = len(compile_events)
    first_result = run_sweep([0.0, 0.1, 0.4])
    again = run_sweep([0.0, 0.1, 0.4])
    other = run_sweep([0.05, 0.2, 0.8, 1.6, 3.2])
    assert first >= 1  # the listener sees compilations at all
    assert len(compile_events) == first, compile_events

    assert list(first_result.metrics) == list(again.metrics)
    assert {"reward", "optimal", "entropy", "prob_optimal", "tau"} <= set(again.metrics)
    for name, metric in first_result.metrics.items():
        for field in MetricResult._fields:
            a, b = getattr(metric, field), getattr(again.metrics[name], field)
            assert (a is None) == (b is None), (name, field)
            if a is not None:
                np.testing.assert_array_equal(a, b)
    metrics = first_result.metrics
    # alpha = 0 never moves H: the policy stays uniform at every step.
    np.testing.assert_allclose(metrics["entropy"].run_mean[0], np.log(10), 1e-5)
    np.testing.assert_allclose(metrics["prob_optimal"].run_mean[0], 0.1, 1e-5)
    # The temperature is the default explore = 1 in every run.
    np.testing.assert_array_equal(metrics["tau"].run_mean, 1.0)
    # The swept alpha reaches the optimizer: larger alpha, more concentrated policy.
    entropy = other.metrics["entropy"].run_mean.mean(axis=1)
    assert np.all(np.diff(entropy) < 0), entropy
    different_key = run_sweep([0.0, 0.1, 0.4], seed=1)
    assert not np.array_equal(
        metrics["reward"].run_mean, different_key.metrics["reward"].run_mean
    )


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "rmsprop"])
def test_other_optimizers_learn_the_testbed(optimizer):
    num_runs, num_steps = 200, 500
    run = make_run(
        GaussianBandit(10),
        make_gradient_bandit(10, OPTIMIZERS[optimizer]),
        num_steps,
        env_params=FIG_2_5_ENV,
        swept="step_size",
    )
    result = sweep(
        run,
        [0.1],
        num_runs,
        key=jax.random.key(0),
        final_steps=100,
        curve_stride=num_steps,
    )
    # fraction optimal over the last 100 steps
    per_run = result.metrics["optimal"].run_final[0]
    mean, se = per_run.mean(), per_run.std(ddof=1) / math.sqrt(num_runs)
    assert mean - SIGMAS * se > 0.4, (optimizer, mean, se)  # uniform is 0.1


# ------------------------------------------------------ Sutton & Barto Fig. 2.5


def _check_fig_2_5(baseline: bool, num_runs: int) -> dict:
    """Checks both alphas against the figure; returns ``{alpha: (mean, se, runs)}``."""
    alphas = [alpha for (b, alpha) in FIG_2_5 if b == baseline]
    result = sweep(
        _fig_2_5_run(baseline),
        alphas,
        num_runs,
        key=jax.random.key(0),
        **SWEEP_SETTINGS,
    )
    measured = {}
    optimal = result.metrics["optimal"].run_final
    for alpha, per_run in zip(alphas, optimal, strict=True):
        low, high = FIG_2_5[baseline, alpha]
        mean = per_run.mean()
        se = per_run.std(ddof=1) / math.sqrt(num_runs)
        published_se = math.sqrt(high * (1 - high) / 2000)  # one step, 2000 runs
        tolerance = SIGMAS * math.hypot(se, published_se) + (high - low) / 2
        centre = (low + high) / 2
        assert abs(mean - centre) <= tolerance, (baseline, alpha, mean, tolerance)
        measured[alpha] = (mean, se)
    return measured


@pytest.mark.parametrize("baseline", [True, False])
def test_fig_2_5_fast(baseline):
    measured = _check_fig_2_5(baseline, FIG_2_5_RUNS)
    # The independent NumPy implementation agrees within the SE of the difference.
    for alpha, (mean, se) in measured.items():
        out = numpy_reference.run_bandit(
            "gradient_bandit",
            alpha,
            num_runs=FIG_2_5_RUNS,
            num_steps=FIG_2_5_STEPS,
            q_star_mean=4.0,
            baseline=baseline,
        )
        ref = out["optimal"][:, -FINAL_STEPS:].mean(axis=1)
        ref_se = ref.std(ddof=1) / math.sqrt(FIG_2_5_RUNS)
        difference = abs(mean - ref.mean())
        assert difference <= SIGMAS * math.hypot(se, ref_se), (alpha, mean, ref.mean())
    assert measured[0.1][0] > measured[0.4][0]  # smaller alpha ends higher


@pytest.mark.slow
@pytest.mark.parametrize("baseline", [True, False])
def test_fig_2_5_full_size(baseline):
    measured = _check_fig_2_5(baseline, num_runs=2000)
    print(
        f"baseline={baseline}: "
        + ", ".join(f"alpha={a}: {m:.4f} ± {s:.4f}" for a, (m, s) in measured.items())
    )
