"""Tests for rl_softmax/schedules.py against optax itself and closed forms.

Where a schedule wraps optax it must give optax's numbers; the schedules optax lacks
are checked against NumPy float64 closed forms (``c / log(t + 2)``, Sutton & Barto
(2018) 1st ed. Sec. 2.3 / Cesa-Bianchi et al. (2017); ``c / sqrt(t + 1)``). The
target-entropy temperature is checked by recomputing the entropy of the Boltzmann
policy it produces, in float64.
"""

from __future__ import annotations

import doctest
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rl_softmax import schedules
from rl_softmax import softmax as sm
from rl_softmax.agents import (
    ActionValueParams,
    make_action_value_agent,
    rules,
)
from rl_softmax.experiment import registry
from rl_softmax.schedules import (
    constant,
    cosine,
    entropy_target,
    exponential,
    inverse_log,
    inverse_sqrt,
    join,
    linear,
    make_temperature,
    piecewise_constant,
    target_entropy_temperature,
)

STEPS = np.concatenate([np.arange(0, 300), [999, 10_000, 1_000_000]]).astype(np.int32)


def _np_softmax(q: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Rows of ``q: [N, K]`` at temperatures ``tau: [N]``, float64."""
    z = np.asarray(q, np.float64) / np.asarray(tau, np.float64)[:, None]
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


def _np_entropy(q: np.ndarray, tau: float) -> float:
    p = _np_softmax(np.asarray(q)[None], np.array([tau]))[0]
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _values(schedule, steps=STEPS) -> np.ndarray:
    out = schedule(jnp.asarray(steps))
    assert out.shape == steps.shape and out.dtype == jnp.float32
    return np.asarray(out, np.float64)


# ------------------------------------------------------- equal to optax where wrapped

OPTAX_PAIRS = {
    "constant": (constant(0.3), optax.constant_schedule(0.3)),
    "linear": (
        linear(2.0, 0.1, 50, transition_begin=5),
        optax.linear_schedule(2.0, 0.1, 50, 5),
    ),
    "linear_up": (linear(0.1, 2.0, 50), optax.linear_schedule(0.1, 2.0, 50)),
    "exponential": (
        exponential(2.0, 0.5, 20, floor=0.05),
        optax.exponential_decay(2.0, 20, 0.5, end_value=0.05),
    ),
    "exponential_staircase": (
        exponential(2.0, 0.7, 15, transition_begin=10, staircase=True),
        optax.exponential_decay(2.0, 15, 0.7, transition_begin=10, staircase=True),
    ),
    "cosine": (
        cosine(2.0, 120, alpha=0.1, exponent=2.0),
        optax.cosine_decay_schedule(2.0, 120, alpha=0.1, exponent=2.0),
    ),
    "piecewise_constant": (
        piecewise_constant(1.5, {10: 0.5, 30: 0.1}),
        optax.piecewise_constant_schedule(1.5, {10: 0.5, 30: 0.1}),
    ),
    "join": (
        join([constant(1.0), linear(1.0, 0.1, 20)], [10]),
        optax.join_schedules(
            [optax.constant_schedule(1.0), optax.linear_schedule(1.0, 0.1, 20)], [10]
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(OPTAX_PAIRS))
def test_wrapper_equals_optax(name):
    ours, theirs = OPTAX_PAIRS[name]
    expected = np.broadcast_to(np.asarray(theirs(jnp.asarray(STEPS))), STEPS.shape)
    np.testing.assert_allclose(_values(ours), expected, rtol=1e-6, atol=0)


def test_traced_decay_rate_equals_optax_per_rate():
    rates = np.array([0.3, 0.5, 0.9, 0.99, 1.0], np.float32)
    for staircase in (False, True):

        def curve(rate, staircase=staircase):
            schedule = exponential(
                2.0, rate, 20, floor=0.05, transition_begin=3, staircase=staircase
            )
            return schedule(jnp.asarray(STEPS))

        traced = np.asarray(jax.jit(jax.vmap(curve))(rates))
        assert traced.shape == (rates.size, STEPS.size)
        for row, rate in zip(traced, rates, strict=True):
            decay = optax.exponential_decay(
                2.0, 20, float(rate), transition_begin=3, staircase=staircase
            )
            expected = np.maximum(np.asarray(decay(jnp.asarray(STEPS))), 0.05)
            np.testing.assert_allclose(row, expected, rtol=2e-6)


def test_exponential_floor_is_a_floor_even_at_rate_one():
    # optax's end_value turns into a ceiling at decay_rate == 1; ours stays a floor.
    np.testing.assert_array_equal(_values(exponential(1.0, 1.0, 10, floor=0.1)), 1.0)
    floored = _values(exponential(0.01, 0.5, 10, floor=0.1))
    np.testing.assert_array_equal(floored, np.float32(0.1))


def test_linear_to_zero_never_goes_negative_under_jit():
    # optax's own ramp overshoots to about -7e-8 here under jit (fast division).
    steps = jnp.arange(0, 60)
    for schedule in (linear(5.0, 0.0, 40), linear(0.0, 5.0, 40)):
        values = np.asarray(jax.jit(schedule)(steps))
        assert values.min() == 0.0 and values.max() == 5.0


def test_exponential_closed_form():
    t = STEPS.astype(np.float64)
    expected = np.maximum(3.0 * 0.8 ** (t / 25.0), 0.02)
    np.testing.assert_allclose(
        _values(exponential(3.0, 0.8, 25, floor=0.02)), expected, rtol=1e-5
    )


# ---------------------------------------------------------------- own closed forms


@pytest.mark.parametrize("c, offset", [(1.0, 2.0), (0.3, 2.0), (5.0, 1.5), (2.0, 10)])
def test_inverse_log_equals_closed_form(c, offset):
    expected = c / np.log(STEPS.astype(np.float64) + offset)
    np.testing.assert_allclose(
        _values(inverse_log(c, offset=offset)), expected, rtol=2e-6
    )


@pytest.mark.parametrize("c, offset", [(1.0, 1.0), (0.3, 1.0), (5.0, 0.5)])
def test_inverse_sqrt_equals_closed_form(c, offset):
    expected = c / np.sqrt(STEPS.astype(np.float64) + offset)
    np.testing.assert_allclose(
        _values(inverse_sqrt(c, offset=offset)), expected, rtol=2e-6
    )


DECREASING = {
    "constant": constant(0.7),
    "linear": linear(2.0, 0.1, 100, transition_begin=7),
    "exponential": exponential(2.0, 0.9, 10, floor=0.01),
    "exponential_staircase": exponential(2.0, 0.5, 10, floor=1e-3, staircase=True),
    "cosine": cosine(2.0, 200, alpha=0.05),
    "piecewise_constant": piecewise_constant(1.0, {5: 0.5, 50: 0.2}),
    "inverse_log": inverse_log(1.0),
    "inverse_sqrt": inverse_sqrt(1.0),
    "entropy_linear": entropy_target(10, 150),
    "entropy_exponential": entropy_target(10, 150, shape="exponential"),
    "entropy_cosine": entropy_target(10, 150, shape="cosine"),
}


@pytest.mark.parametrize("name", sorted(DECREASING))
def test_schedule_is_non_increasing_and_positive(name):
    values = _values(DECREASING[name])
    assert np.all(np.diff(values) <= 0), np.diff(values).max()
    assert np.all(values > 0) and np.all(np.isfinite(values))
    if name != "constant":
        assert values[-1] < values[0]


# ---------------------------------------------------------------- entropy target


@pytest.mark.parametrize("shape", schedules.SHAPES)
@pytest.mark.parametrize(
    "num_actions, kwargs, final",
    [
        (10, {}, 0.01 * math.log(10)),
        (4, {"final_entropy": 0.5}, 0.5),
        (3, {"final_fraction": 0.25}, 0.25 * math.log(3)),
        (7, {"final_entropy": math.log(7)}, math.log(7)),
    ],
)
def test_entropy_target_runs_from_log_k_to_final(shape, num_actions, kwargs, final):
    num_steps = 80
    target = entropy_target(num_actions, num_steps, shape=shape, **kwargs)
    values = _values(target)
    np.testing.assert_allclose(values[0], math.log(num_actions), rtol=1e-6)
    np.testing.assert_allclose(values[num_steps <= STEPS], final, rtol=2e-6)
    assert np.all(values[num_steps > STEPS] >= final * (1 - 2e-6))
    assert np.all(np.diff(values) <= 0)


def test_entropy_target_with_zero_final_reaches_zero():
    for shape in ("linear", "cosine"):
        values = _values(entropy_target(5, 40, final_entropy=0.0, shape=shape))
        np.testing.assert_allclose(values[STEPS >= 40], 0.0, atol=1e-6)


def test_entropy_target_shapes_differ_in_the_middle():
    mid = {s: float(entropy_target(10, 100, shape=s)(50)) for s in schedules.SHAPES}
    log_k, final = math.log(10), 0.01 * math.log(10)
    np.testing.assert_allclose(mid["linear"], (log_k + final) / 2, rtol=1e-6)
    np.testing.assert_allclose(mid["cosine"], (log_k + final) / 2, rtol=1e-5)
    np.testing.assert_allclose(mid["exponential"], math.sqrt(log_k * final), rtol=1e-5)


# --------------------------------------------------- target-entropy temperature


def test_target_entropy_temperature_hits_scheduled_entropy():
    num_actions, num_steps = 6, 100
    target = entropy_target(num_actions, num_steps, shape="cosine")
    temperature = target_entropy_temperature(target)
    rng = np.random.default_rng(0)
    values = rng.normal(scale=rng.uniform(0.01, 100.0, (64, 1)), size=(64, 6))
    values = values.astype(np.float32)
    steps = rng.integers(0, num_steps + 20, 64).astype(np.int32)
    steps[:3] = [0, num_steps // 2, num_steps]
    taus = np.asarray(jax.vmap(temperature)(steps, values))
    assert taus.shape == (64,) and taus.dtype == np.float32
    assert np.all(np.isfinite(taus)) and np.all(taus > 0)
    for q, t, tau in zip(values, steps, taus, strict=True):
        goal = float(target(t))
        assert abs(_np_entropy(q, tau) - goal) < 1e-3, (q, t, tau, goal)


# One schedule for every K (the target is clipped to the reachable range anyway) and
# one compiled batch shape, [11] steps x [4] values, shared by the tests below.
_SOLVER = target_entropy_temperature(optax.linear_schedule(2.0, 0.0, 10))
_BATCH_SOLVER = jax.jit(jax.vmap(_SOLVER, (0, None)))
_BATCH_STEPS = jnp.arange(0, 22, 2)  # targets 2.0, 1.6, 1.2, ..., 0, 0, ...


def test_target_entropy_temperature_same_alone_and_batched():
    values = jnp.array([0.3, -1.2, 2.0, 0.9])
    batched = _BATCH_SOLVER(_BATCH_STEPS, values)
    for index in (2, 4):  # targets 1.2 and 0.4: inside [0, log 4]
        step = int(_BATCH_STEPS[index])
        alone = _SOLVER(step, values)
        assert alone.shape == () and alone.dtype == jnp.float32
        np.testing.assert_allclose(alone, batched[index], rtol=1e-5)
        goal = 2.0 * (1 - step / 10)
        assert abs(_np_entropy(values, float(alone)) - goal) < 1e-3


def test_target_entropy_temperature_clips_unreachable_targets():
    values = jnp.array([0.0, 1.0, 3.0, -1.0])
    taus = np.asarray(_BATCH_SOLVER(_BATCH_STEPS, values))
    # Step 0 asks for 2.0 > log 4: the uniform end of the bracket.
    np.testing.assert_allclose(_np_entropy(values, taus[0]), math.log(4), atol=1e-5)
    # Step 10 on asks for 0: the greedy end.
    np.testing.assert_allclose(sm.softmax(values, taus[5]), [0, 0, 1, 0], atol=1e-6)
    assert np.all(np.diff(taus) <= 0) and np.all(taus > 0)


@pytest.mark.parametrize(
    "values",
    [
        [0.0, 0.0, 0.0, 0.0],
        [1.5, 1.5, 1.5, 1.5],
        [2.0, -jnp.inf, -jnp.inf, -jnp.inf],
        [1.0, 1.0, -jnp.inf, -jnp.inf],
        [jnp.inf, 0.0, 1.0, jnp.inf],
        [-jnp.inf, -jnp.inf, -jnp.inf, -jnp.inf],
    ],
)
def test_target_entropy_temperature_degenerate_values_give_inf_and_no_nan(values):
    values = jnp.asarray(values, jnp.float32)
    taus = _BATCH_SOLVER(_BATCH_STEPS, values)
    assert taus.shape == _BATCH_STEPS.shape and taus.dtype == jnp.float32
    assert np.all(np.isposinf(taus))
    alone = _SOLVER(5, values)
    assert alone.shape == () and np.isposinf(alone)
    if np.all(np.isneginf(values)):
        return  # no distribution exists: softmax's own contract
    probs = np.asarray(sm.softmax(values, alone))
    assert not np.any(np.isnan(probs))
    top = np.asarray(values == values.max())
    np.testing.assert_allclose(probs, top / top.sum(), rtol=1e-6)


def test_target_entropy_temperature_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_iters"):
        target_entropy_temperature(entropy_target(3, 10), num_iters=0)
    with pytest.raises(ValueError, match="entropy_schedule"):
        target_entropy_temperature(0.5)
    with pytest.raises(ValueError, match="values"):
        target_entropy_temperature(entropy_target(3, 10))(0, jnp.zeros((2, 3)))


# ------------------------------------------------ plain, jit, vmap over a parameter

TRACED = {  # name: (build from the traced number, three valid values of it)
    "constant.tau": (lambda x: constant(x), [0.4, 0.0, 3.0]),
    "linear.init_value": (lambda x: linear(x, 0.1, 50), [2.0, 0.05, 7.0]),
    "linear.end_value": (lambda x: linear(2.0, x, 5), [0.3, 0.0, 4.0]),
    "exponential.init_value": (
        lambda x: exponential(x, 0.5, 10, floor=0.1),
        [2.0, 0.5, 0.01],
    ),
    "exponential.decay_rate": (lambda x: exponential(2.0, x, 10), [0.5, 0.9, 1.0]),
    "exponential.floor": (lambda x: exponential(2.0, 0.5, 3, floor=x), [0.2, 0.0, 1.0]),
    "cosine.init_value": (lambda x: cosine(x, 30), [1.5, 0.2, 9.0]),
    "cosine.alpha": (lambda x: cosine(1.5, 30, alpha=x), [0.1, 0.0, 1.0]),
    "cosine.exponent": (lambda x: cosine(1.5, 30, exponent=x), [2.0, 0.5, 1.0]),
    "piecewise_constant.init_value": (
        lambda x: piecewise_constant(x, {3: 0.5}),
        [1.0, 0.2, 4.0],
    ),
    "join.init_value": (
        lambda x: join([constant(x), inverse_log(x)], [4]),
        [0.8, 0.1, 2.0],
    ),
    "inverse_log.c": (lambda x: inverse_log(x), [0.7, 0.01, 30.0]),
    "inverse_log.offset": (lambda x: inverse_log(1.0, offset=x), [3.0, 1.1, 20.0]),
    "inverse_sqrt.c": (lambda x: inverse_sqrt(x), [0.7, 0.01, 30.0]),
    "inverse_sqrt.offset": (lambda x: inverse_sqrt(1.0, offset=x), [2.0, 0.1, 9.0]),
    "entropy_target.final_entropy": (
        lambda x: entropy_target(5, 9, final_entropy=x),
        [0.2, 0.0, 1.0],
    ),
    "entropy_target.exponential": (
        lambda x: entropy_target(5, 9, final_entropy=x, shape="exponential"),
        [0.2, 0.01, 1.5],
    ),
    "entropy_target.cosine": (
        lambda x: entropy_target(5, 9, final_fraction=x, shape="cosine"),
        [0.2, 0.0, 1.0],
    ),
}


@pytest.mark.parametrize("name", sorted(TRACED))
def test_schedule_plain_jit_and_vmap_over_traced_parameter(name):
    build, xs = TRACED[name]
    xs = jnp.asarray(xs, jnp.float32)
    step, steps = jnp.int32(7), jnp.arange(5)

    @jax.jit
    def traced(xs):
        return (
            build(xs[0])(step),
            jax.vmap(lambda x: build(x)(step))(xs),
            jax.vmap(build(xs[0]))(steps),
        )

    jitted, batched, over_steps = traced(xs)
    plain = [build(float(x))(step) for x in xs]
    assert plain[0].shape == () and plain[0].dtype == jnp.float32
    assert jitted.shape == () and jitted.dtype == jnp.float32
    assert batched.shape == (3,) and batched.dtype == jnp.float32
    assert over_steps.shape == (5,) and over_steps.dtype == jnp.float32
    np.testing.assert_allclose(jitted, plain[0], rtol=1e-6)
    np.testing.assert_allclose(batched, plain, rtol=1e-6)
    np.testing.assert_allclose(over_steps[4], build(float(xs[0]))(4), rtol=1e-6)


def test_traced_arguments_are_not_validated():
    tau = jax.jit(lambda c: inverse_log(c)(0))(-1.0)
    np.testing.assert_allclose(tau, -1.0 / math.log(2.0), rtol=1e-6)


# ------------------------------------------------------------- make_temperature

# Closed forms of make_temperature(factory, **kwargs)(t, explore) for every schedule
# the registry names (registry.SCHEDULES: name -> factory).
T_CLOSED_FORMS = {
    "constant": ({}, lambda t, e: e + 0.0 * t),
    "inverse_log": ({}, lambda t, e: e / np.log(t + 2.0)),
    "inverse_sqrt": ({}, lambda t, e: e / np.sqrt(t + 1.0)),
    "exponential": (
        {"decay_rate": 0.5, "transition_steps": 20, "floor": 0.05},
        lambda t, e: np.maximum(e * 0.5 ** (t / 20.0), 0.05),
    ),
    "linear": (
        {"end_value": 0.05, "transition_steps": 40},
        lambda t, e: e + np.minimum(t / 40.0, 1.0) * (0.05 - e),
    ),
    "cosine": (
        {"decay_steps": 40, "alpha": 0.1},
        lambda t, e: (
            e * (0.9 * 0.5 * (1 + np.cos(np.pi * np.minimum(t, 40) / 40)) + 0.1)
        ),
    ),
    "piecewise_constant": (
        {"boundaries_and_scales": {10: 0.5}},
        lambda t, e: e * np.where(t >= 10, 0.5, 1.0),
    ),
}


def test_registry_names_match_closed_forms():
    assert set(T_CLOSED_FORMS) == set(registry.SCHEDULES)
    # Each name is the schedules factory of that name.
    for name, factory in registry.SCHEDULES.items():
        assert factory is getattr(schedules, name), name


@pytest.mark.parametrize(
    ("name", "factory"),
    sorted(registry.SCHEDULES.items()),
    ids=sorted(registry.SCHEDULES),
)
def test_make_temperature_equals_closed_form_over_traced_explore(name, factory):
    kwargs, closed_form = T_CLOSED_FORMS[name]
    temperature = make_temperature(factory, **kwargs)
    explores = np.array([0.1, 0.5, 1.0, 2.0, 5.0], np.float32)
    steps = np.array([0, 1, 7, 15, 33, 100, 5000], np.int32)
    grid = jax.jit(
        jax.vmap(jax.vmap(temperature, (None, 0)), (0, None))
    )(jnp.asarray(steps), jnp.asarray(explores))  # fmt: skip
    assert grid.shape == (steps.size, explores.size) and grid.dtype == jnp.float32
    t, explore = steps[:, None].astype(np.float64), explores[None, :].astype(np.float64)
    # atol: optax's ramps lose an ulp of the initial value (5.0) at their end.
    np.testing.assert_allclose(grid, closed_form(t, explore), rtol=2e-6, atol=1e-6)


def test_boltzmann_agent_with_inverse_log_temperature_under_jit_and_vmap():
    num_actions = 10
    rule = rules.boltzmann_rule(make_temperature(inverse_log))
    agent = make_action_value_agent(num_actions, rule)
    explores = np.array([0.05, 0.2, 1.0, 4.0, 20.0], np.float32)
    q = np.random.default_rng(1).normal(size=num_actions).astype(np.float32)
    batched_params = ActionValueParams(explore=0, step_size=None, initial_value=None)
    act = jax.jit(jax.vmap(agent.act, (None, None, None, batched_params)))
    params = ActionValueParams(explore=jnp.asarray(explores))
    for t in (0, 1, 10, 999):
        state = rules.Estimates(
            jnp.asarray(q), jnp.zeros(num_actions), jnp.asarray(t, jnp.int32)
        )
        actions, info = act(jax.random.key(t), state, jnp.zeros(()), params)
        probs = info["probs"]
        assert actions.shape == (explores.size,) and actions.dtype == jnp.int32
        assert probs.shape == (explores.size, num_actions)
        assert probs.dtype == jnp.float32
        taus = explores.astype(np.float64) / np.log(t + 2.0)
        expected = _np_softmax(np.broadcast_to(q, (explores.size, num_actions)), taus)
        np.testing.assert_allclose(probs, expected, rtol=1e-4, atol=1e-6)
        assert info["tau"].shape == (explores.size,)
        np.testing.assert_allclose(info["tau"], taus, rtol=1e-6)


def test_make_temperature_names_explore_for_bad_concrete_explore():
    with pytest.raises(ValueError, match=r"explore.*c=-1\.0"):
        make_temperature(inverse_log)(0, -1.0)


# ------------------------------------------------------------------- bad arguments

BAD = [
    (lambda: constant(-0.1), "tau=-0.1"),
    (lambda: linear(-1.0, 0.1, 10), "init_value=-1.0"),
    (lambda: linear(1.0, -0.1, 10), "end_value=-0.1"),
    (lambda: linear(1.0, 0.1, 0), "transition_steps=0"),
    (lambda: linear(1.0, 0.1, 10.5), "transition_steps=10.5"),
    (lambda: linear(1.0, 0.1, 10, transition_begin=-2), "transition_begin=-2"),
    (lambda: exponential(1.0, 1.5, 10), "decay_rate=1.5"),
    (lambda: exponential(1.0, 0.0, 10), "decay_rate=0.0"),
    (lambda: exponential(1.0, 0.5, -5), "transition_steps=-5"),
    (lambda: exponential(1.0, 0.5, 10, floor=-0.01), "floor=-0.01"),
    (lambda: exponential(np.float32(-2.0), 0.5, 10), "init_value=-2.0"),
    (lambda: cosine(1.0, 0), "decay_steps=0"),
    (lambda: cosine(1.0, 10, alpha=1.5), "alpha=1.5"),
    (lambda: cosine(1.0, 10, exponent=0.0), "exponent=0.0"),
    (lambda: piecewise_constant(1.0, {10: -0.5}), r"boundaries_and_scales\[10\]"),
    (lambda: piecewise_constant(1.0, {-3: 0.5}), "boundaries_and_scales key=-3"),
    (lambda: join([constant(1.0), constant(0.5)], [5, 9]), "boundaries"),
    (lambda: join([constant(1.0)] * 3, [5, 5]), "boundaries"),
    (lambda: inverse_log(0.0), "c=0.0"),
    (lambda: inverse_log(-1.0), "c=-1.0"),
    (lambda: inverse_log(jnp.float32(-1.0)), "c=-1.0"),
    (lambda: inverse_log(1.0, offset=1.0), "offset=1.0"),
    (lambda: inverse_sqrt(-2.0), "c=-2.0"),
    (lambda: inverse_sqrt(1.0, offset=0.0), "offset=0.0"),
    (lambda: entropy_target(1, 10), "num_actions=1"),
    (lambda: entropy_target(4, 0), "num_steps=0"),
    (lambda: entropy_target(4, 10, final_entropy=2.0), "final_entropy=2.0"),
    (lambda: entropy_target(4, 10, final_entropy=-0.1), "final_entropy=-0.1"),
    (lambda: entropy_target(4, 10, final_fraction=1.2), "final_fraction=1.2"),
    (lambda: entropy_target(4, 10, shape="quadratic"), "shape='quadratic'"),
    (
        lambda: entropy_target(4, 10, final_entropy=0.0, shape="exponential"),
        "final_entropy",
    ),
    (
        lambda: entropy_target(4, 10, final_entropy=0.1, final_fraction=0.1),
        "final_entropy=0.1 and final_fraction",
    ),
    # make_temperature takes a factory now, not a name.
    (lambda: make_temperature("inverse_log"), "factory='inverse_log'"),
    (lambda: make_temperature(linear, end=0.1, transition_steps=10), "'end'"),
    (lambda: make_temperature(exponential, decay_rate=0.5), "transition_steps"),
    (
        lambda: make_temperature(exponential, decay_rate=2.0, transition_steps=9),
        "decay_rate=2.0",
    ),
    (lambda: make_temperature(inverse_log, offset=0.5), "offset=0.5"),
]


@pytest.mark.parametrize("make, message", BAD, ids=[m for _, m in BAD])
def test_bad_argument_raises_value_error_naming_it(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_docstring_examples_pass():
    result = doctest.testmod(schedules, extraglobs={"jnp": jnp}, verbose=False)
    assert result.attempted > 0 and result.failed == 0
