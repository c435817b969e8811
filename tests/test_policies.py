"""Tests for ``rl_softmax.policies``: closed-form probabilities, sample frequencies."""

import math

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rl_softmax import policies as pol

NUM_DRAWS = 100_000

# --- independent NumPy references ---------------------------------------------------


def np_softmax(values, tau):
    """Boltzmann probabilities in float64; ``tau = 0`` splits the argmax evenly."""
    v = np.asarray(values, np.float64)
    finite = np.isfinite(v)
    top = v[finite].max()
    if tau == 0:
        is_top = v == top
        return is_top / is_top.sum()
    weights = np.zeros_like(v)
    weights[finite] = np.exp((v[finite] - top) / tau)
    return weights / weights.sum()


def np_epsilon_greedy(values, epsilon):
    return (1 - epsilon) * np_softmax(values, 0.0) + epsilon / len(values)


def np_entropy(probs):
    p = np.asarray(probs, np.float64)
    return -np.sum(p[p > 0] * np.log(p[p > 0]))


def assert_frequencies_match(actions, probs):
    """Counts within 5 binomial standard errors (+5 for tiny p); p == 0 never drawn."""
    actions = np.asarray(actions)
    probs = np.asarray(probs, np.float64)
    counts = np.bincount(actions, minlength=len(probs))
    assert len(counts) == len(probs), f"action out of range: {counts}"
    num = actions.size
    tolerance = 5 * np.sqrt(num * probs * (1 - probs)) + 5
    np.testing.assert_array_less(np.abs(counts - num * probs), tolerance)
    np.testing.assert_array_equal(counts[probs == 0], 0)


def draw(sample, values, num=NUM_DRAWS, seed=0):
    """``num`` independent draws of ``sample(key, values)``, one compiled call."""
    keys = jax.random.split(jax.random.key(seed), num)
    return jax.jit(jax.vmap(sample, in_axes=(0, None)))(keys, jnp.asarray(values))


FACTORIES = {
    "boltzmann": pol.boltzmann,
    "greedy": lambda param: pol.greedy(),
    "uniform": lambda param: pol.uniform(),
    "epsilon_greedy": pol.epsilon_greedy,
}


def _uniform_over_finite(values):
    finite = np.isfinite(values)
    return finite / finite.sum()


# name -> (factory, parameter, NumPy probabilities as a function of the values)
POLICIES = {
    "boltzmann_0.5": ("boltzmann", 0.5, lambda v: np_softmax(v, 0.5)),
    "boltzmann_0": ("boltzmann", 0.0, lambda v: np_softmax(v, 0.0)),
    "boltzmann_1e30": ("boltzmann", 1e30, _uniform_over_finite),
    "greedy": ("greedy", 0.0, lambda v: np_softmax(v, 0.0)),
    "uniform": ("uniform", 0.0, lambda v: np.full(len(v), 1 / len(v))),
    "epsilon_greedy_0": ("epsilon_greedy", 0.0, lambda v: np_epsilon_greedy(v, 0.0)),
    "epsilon_greedy_0.2": ("epsilon_greedy", 0.2, lambda v: np_epsilon_greedy(v, 0.2)),
    "epsilon_greedy_1": ("epsilon_greedy", 1.0, lambda v: np_epsilon_greedy(v, 1.0)),
}
POLICY_NAMES = list(POLICIES)


def _params(**overrides):
    """Each policy's parameter (tau or epsilon), as one traced float32 array."""
    params = {name: POLICIES[name][1] for name in POLICY_NAMES} | overrides
    return np.array([params[name] for name in POLICY_NAMES], np.float32)


def _policies(params):
    return {
        name: FACTORIES[POLICIES[name][0]](params[i])
        for i, name in enumerate(POLICY_NAMES)
    }


# Every policy at once, with traced parameters as in a sweep: one XLA compile per
# number of actions and dtype serves all the tests below.
@jax.jit
def _all_policy_outputs(params, values):
    actions = jnp.arange(values.shape[-1])
    return {
        name: {
            "probs": policy.probs(values),
            "log_probs": jax.vmap(policy.log_prob, in_axes=(None, 0))(values, actions),
            "entropy": policy.entropy(values),
        }
        for name, policy in _policies(params).items()
    }


@jax.jit
def _sample_all_policies(keys, params, values):
    def sample(key):
        return {
            name: policy.sample(key, values)
            for name, policy in _policies(params).items()
        }

    return jax.vmap(sample)(keys)


def draw_policies(values, params=None, num=NUM_DRAWS, seed=0):
    """``{policy name: [num] actions}``, ``num`` independent draws per policy."""
    keys = jax.random.split(jax.random.key(seed), num)
    params = _params() if params is None else params
    return _sample_all_policies(keys, params, jnp.asarray(values))


# --- policies and their closed forms -----------------------------------------------

# All with 5 actions, so that one compiled program serves them all.
VALUES = {
    "distinct": [1.0, 2.0, 0.5, 1.5, -0.5],
    "tied": [1.0, 3.0, 3.0, 0.0, 3.0],
    "masked": [-np.inf, 1.0, 2.0, -np.inf, 0.0],
}


def _policy_case(policy_name, values_name):
    """``(outputs, values, expected probabilities)`` for one policy and value set."""
    values = np.asarray(VALUES[values_name], np.float32)
    outputs = _all_policy_outputs(_params(), values)[policy_name]
    return outputs, values, POLICIES[policy_name][2](values)


@pytest.mark.parametrize("values_name", sorted(VALUES))
@pytest.mark.parametrize("policy_name", sorted(POLICIES))
def test_probs_match_closed_form(policy_name, values_name):
    outputs, values, expected = _policy_case(policy_name, values_name)
    probs = outputs["probs"]
    assert probs.shape == values.shape and probs.dtype == jnp.float32
    np.testing.assert_allclose(probs, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.sum(probs), 1.0, rtol=1e-6)


@pytest.mark.parametrize("values_name", sorted(VALUES))
@pytest.mark.parametrize("policy_name", sorted(POLICIES))
def test_log_prob_is_log_of_prob(policy_name, values_name):
    outputs, _, expected = _policy_case(policy_name, values_name)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(
            outputs["log_probs"], np.log(expected), rtol=1e-6, atol=1e-6
        )


@pytest.mark.parametrize("values_name", sorted(VALUES))
@pytest.mark.parametrize("policy_name", sorted(POLICIES))
def test_entropy_is_minus_sum_p_log_p(policy_name, values_name):
    outputs, _, expected = _policy_case(policy_name, values_name)
    np.testing.assert_allclose(outputs["entropy"], np_entropy(expected), atol=1e-6)


def test_plain_policies_match_closed_form():
    values = np.asarray(VALUES["masked"], np.float32)
    for policy_name, (factory, param, reference) in POLICIES.items():
        policy = FACTORIES[factory](param)
        assert isinstance(policy, pol.Policy)
        expected = reference(values)
        np.testing.assert_allclose(policy.probs(values), expected, atol=1e-7)
        np.testing.assert_allclose(
            policy.entropy(values), np_entropy(expected), atol=1e-6
        )
        with np.errstate(divide="ignore"):
            expected_log_prob = np.log(expected[2])
        np.testing.assert_allclose(
            policy.log_prob(values, 2),
            expected_log_prob,
            rtol=1e-6,
            err_msg=policy_name,
        )


def test_uniform_probs_are_floats_for_integer_values():
    probs = pol.uniform().probs(jnp.array([3, 1, 2]))
    assert probs.dtype == jnp.float32
    np.testing.assert_allclose(probs, np.full(3, 1 / 3), rtol=1e-7)


# --- sampling -------------------------------------------------------------------------

SAMPLED = [
    ("boltzmann_0.5", "distinct"),
    ("boltzmann_0.5", "masked"),
    ("uniform", "masked"),
    ("epsilon_greedy_0.2", "tied"),
    ("epsilon_greedy_0", "masked"),
]


@pytest.mark.parametrize(("policy_name", "values_name"), SAMPLED)
def test_sample_frequencies_match_probs(policy_name, values_name):
    values = np.asarray(VALUES[values_name], np.float32)
    actions = draw_policies(values)[policy_name]
    assert actions.dtype == jnp.int32 and actions.shape == (NUM_DRAWS,)
    assert_frequencies_match(actions, POLICIES[policy_name][2](values))


def test_greedy_breaks_ties_uniformly():
    actions = draw_policies(VALUES["tied"])["greedy"]
    assert_frequencies_match(actions, [0, 1 / 3, 1 / 3, 0, 1 / 3])


@pytest.mark.parametrize("policy_name", ["greedy", "epsilon_greedy_0", "boltzmann_0"])
def test_zero_probability_actions_are_never_sampled(policy_name):
    actions = draw_policies([-np.inf, 0.5, 2.0, -np.inf, 1.0])[policy_name]
    np.testing.assert_array_equal(actions, np.full(NUM_DRAWS, 2))


def test_masked_actions_are_never_sampled_at_any_tau():
    taus = {"boltzmann_0.5": 1e-30, "boltzmann_0": 1.0, "boltzmann_1e30": 1e30}
    draws = draw_policies([-np.inf, 1.0, 2.0, -np.inf, 0.0], _params(**taus))
    for name in taus:
        assert set(np.unique(np.asarray(draws[name]))) <= {1, 2, 4}


def test_traced_tau_sweep_matches_probs_without_recompiling():
    values = jnp.array([0.0, 1.0, 2.0, 0.5])
    num_traces = 0

    def sample(key, tau):
        nonlocal num_traces
        num_traces += 1
        return pol.boltzmann(tau).sample(key, values)

    sweep = jax.jit(jax.vmap(sample))
    per_tau = 25_000
    for seed, taus in enumerate([(0.1, 0.5, 2.0, 10.0), (0.0, 0.3, 1.0, 1e30)]):
        keys = jax.random.split(jax.random.key(seed), 4 * per_tau)
        actions = np.asarray(sweep(keys, jnp.repeat(jnp.asarray(taus), per_tau)))
        for i, tau in enumerate(taus):
            group = actions[i * per_tau : (i + 1) * per_tau]
            assert_frequencies_match(group, np_softmax(values, tau))
    assert num_traces == 1


def test_traced_epsilon_sweep_matches_probs():
    values = jnp.array([0.0, 2.0, 1.0])
    epsilons = jnp.array([0.0, 0.3, 1.0])
    per_epsilon = 20_000
    keys = jax.random.split(jax.random.key(4), 3 * per_epsilon)
    sweep = jax.jit(
        jax.vmap(lambda key, eps: pol.epsilon_greedy(eps).sample(key, values))
    )
    actions = np.asarray(sweep(keys, jnp.repeat(epsilons, per_epsilon)))
    for i, eps in enumerate(np.asarray(epsilons)):
        group = actions[i * per_epsilon : (i + 1) * per_epsilon]
        assert_frequencies_match(group, np_epsilon_greedy(values, float(eps)))


def test_sample_categorical_frequencies_match_probs():
    probs = np.array([0.0, 0.1, 0.25, 0.0, 0.65], np.float32)
    actions = draw(pol.sample_categorical, probs)
    assert_frequencies_match(actions, probs / probs.sum())


# --- inverse-CDF edge cases ----------------------------------------------------------

JUST_BELOW_ONE = float(np.nextafter(np.float32(1), np.float32(0)))
_jit_sample_from_uniform = jax.jit(pol.sample_from_uniform)


@pytest.mark.parametrize(
    ("u", "probs", "expected"),
    [
        (0.0, [0.5, 0.5], 0),
        (0.0, [0.0, 0.0, 0.3, 0.7], 2),  # zero-probability arms at the start
        (JUST_BELOW_ONE, [0.3, 0.7, 0.0, 0.0], 1),  # ... and at the end
        (JUST_BELOW_ONE, [0.1, 0.2, 0.7, 0.0, 0.0], 2),
        (JUST_BELOW_ONE, [0.25, 0.25, 0.25, 0.25], 3),
        (0.5, [0.5, 0.0, 0.5], 2),  # cdf == u * total moves past the empty arm
        (0.0, [0.0, 0.0, 1.0, 0.0, 0.0], 2),
        (JUST_BELOW_ONE, [0.0, 0.0, 1.0, 0.0, 0.0], 2),
        (JUST_BELOW_ONE, [2.0, 0.0, 1.0, 0.0], 2),  # unnormalised
        (0.6, [2.0, 0.0, 1.0, 0.0], 0),  # 0.6 * 3 = 1.8 < 2
        (0.7, [2.0, 0.0, 1.0, 0.0], 2),
    ],
)
def test_sample_from_uniform_edge_cases(u, probs, expected):
    # Under jit, one compile per size shared with the property test below; the plain
    # call is checked in test_public_function_plain_jit_vmap.
    probs = np.asarray(probs, np.float32)
    action = _jit_sample_from_uniform(np.float32(u), probs)
    assert action.dtype == jnp.int32 and action.shape == ()
    assert int(action) == expected


@given(
    hnp.arrays(
        np.float32,
        st.integers(2, 12),
        elements=st.one_of(st.just(0.0), st.floats(2.0**-10, 1.0, width=32)),
    ).filter(lambda p: p.sum() > 0),
    st.floats(0.0, 1.0, exclude_max=True, width=32),
)
def test_sample_from_uniform_inverts_the_cdf(probs, u):
    # The first action whose cumulative probability exceeds u * total (float64).
    action = int(_jit_sample_from_uniform(np.float32(u), probs))
    p = probs.astype(np.float64)
    assert p[action] > 0
    total = p.sum()
    before, after = p[:action].sum(), p[: action + 1].sum()
    assert before - 1e-6 * total <= u * total <= after + 1e-6 * total


# --- count-based rules -------------------------------------------------------------


_jit_ucb_scores = jax.jit(pol.ucb_scores)


@given(
    st.integers(2, 12).flatmap(
        lambda k: st.tuples(
            hnp.arrays(np.float32, k, elements=st.floats(-10, 10, width=32)),
            hnp.arrays(np.int32, k, elements=st.integers(0, 50)),
        )
    ),
    st.integers(1, 10_000),
    st.floats(0.0, 5.0),
)
def test_ucb_scores_match_numpy(values_and_counts, t, c):
    values, counts = values_and_counts
    scores = np.asarray(_jit_ucb_scores(values, counts, t, c))
    tried = counts > 0
    assert np.all(scores[~tried] == np.inf)
    expected = values[tried] + c * np.sqrt(math.log(t) / counts[tried])
    np.testing.assert_allclose(scores[tried], expected, rtol=1e-5, atol=1e-5)


def test_ucb_bonus_shrinks_with_counts_and_grows_with_time():
    values = jnp.zeros(3)
    counts = jnp.array([1, 4, 16])
    np.testing.assert_allclose(
        pol.ucb_scores(values, counts, 100, 2.0),
        2.0 * np.sqrt(math.log(100) / np.array([1, 4, 16])),
        rtol=1e-6,
    )
    np.testing.assert_allclose(pol.ucb_scores(values, counts, 1, 2.0), 0.0)


@jax.jit
def _boltzmann_gumbel_draws(keys, values, counts, c):
    sample = jax.vmap(pol.boltzmann_gumbel_sample, in_axes=(0, None, None, None))
    return sample(keys, values, counts, c)


def test_boltzmann_gumbel_tries_untried_arms_first_uniformly():
    keys = jax.random.split(jax.random.key(0), NUM_DRAWS)
    values = np.array([10.0, -5.0, 2.0, 0.0, 1.0], np.float32)
    counts = np.array([3, 0, 5, 0, 0], np.int32)
    actions = _boltzmann_gumbel_draws(keys, values, counts, np.float32(1.0))
    assert_frequencies_match(actions, [0, 1 / 3, 0, 1 / 3, 1 / 3])


@pytest.mark.parametrize(("c", "n"), [(1.0, 4), (2.0, 1), (0.5, 25)])
def test_boltzmann_gumbel_with_equal_counts_is_softmax_at_c_over_sqrt_n(c, n):
    # Gumbel-max trick: argmax(Q + beta * G) ~ softmax(Q / beta), beta = c / sqrt(n).
    keys = jax.random.split(jax.random.key(1), NUM_DRAWS)
    values = np.array([0.5, 1.0, 0.0, 0.8, -0.3], np.float32)
    counts = np.full(5, n, np.int32)
    actions = _boltzmann_gumbel_draws(keys, values, counts, np.float32(c))
    assert_frequencies_match(actions, np_softmax(values, c / math.sqrt(n)))


# --- low precision -------------------------------------------------------------------


@jax.jit
def _boltzmann_outputs(keys, tau, values):
    policy = pol.boltzmann(tau)
    actions = jnp.arange(values.shape[-1])
    return {
        "probs": policy.probs(values),
        "log_probs": jax.vmap(policy.log_prob, in_axes=(None, 0))(values, actions),
        "entropy": policy.entropy(values),
        "samples": jax.vmap(policy.sample, in_axes=(0, None))(keys, values),
    }


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_low_precision_values_give_valid_policies(dtype):
    values = jnp.asarray([-np.inf, 1.0, 3.0, -np.inf, 2.5], dtype)
    expected = np_softmax(np.asarray(values, np.float64), 0.5)
    keys = jax.random.split(jax.random.key(0), 2_000)
    outputs = _boltzmann_outputs(keys, np.float32(0.5), values)
    assert outputs["probs"].dtype == dtype
    probs = np.asarray(outputs["probs"], np.float64)
    np.testing.assert_allclose(probs, expected, atol=2e-2)
    assert not np.isnan(float(outputs["entropy"]))
    log_probs = np.asarray(outputs["log_probs"], np.float64)
    assert np.all(log_probs[expected == 0] == -np.inf)
    assert np.all(np.isfinite(log_probs[expected > 0]))
    assert set(np.unique(np.asarray(outputs["samples"]))) <= {1, 2, 4}


# --- every public function: plain, jit, vmap ----------------------------------------

K, B = 5, 3
_VALUES = np.array([0.5, -1.0, 2.0, 0.0, 1.5], np.float32)
_COUNTS = np.array([3, 1, 0, 7, 2], np.int32)

# member -> (output shape, dtype)
MEMBERS = {
    "sample": ((), jnp.int32),
    "probs": ((K,), jnp.float32),
    "log_prob": ((), jnp.float32),
    "entropy": ((), jnp.float32),
}


def _check_plain_jit_vmap(fn, args, batched_args, shape, dtype):
    plain = fn(*args)
    assert plain.shape == shape and plain.dtype == dtype
    jitted = jax.jit(fn)(*args)
    assert jitted.shape == shape and jitted.dtype == dtype
    np.testing.assert_allclose(jitted, plain, rtol=1e-6)
    batched = jax.jit(jax.vmap(fn))(*batched_args)
    assert batched.shape == (B, *shape) and batched.dtype == dtype
    for b in range(B):
        row = fn(*(arg[b] for arg in batched_args))
        np.testing.assert_allclose(batched[b], row, rtol=1e-6)


@pytest.mark.parametrize("factory", sorted(FACTORIES))
def test_policy_plain_jit_vmap(factory):
    def members(param, key, values, action):
        policy = FACTORIES[factory](param)
        return {
            "sample": policy.sample(key, values),
            "probs": policy.probs(values),
            "log_prob": policy.log_prob(values, action),
            "entropy": policy.entropy(values),
        }

    args = (np.float32(0.3), jax.random.key(0), _VALUES, np.int32(2))
    batched_args = (
        np.array([0.1, 0.3, 0.9], np.float32),  # tau or epsilon, traced per row
        jax.random.split(jax.random.key(1), B),
        np.stack([_VALUES, _VALUES[::-1], 2 * _VALUES]),
        np.array([0, 2, 4], np.int32),
    )
    plain = members(*args)
    jitted = jax.jit(members)(*args)
    batched = jax.jit(jax.vmap(members))(*batched_args)
    rows = [members(*(arg[b] for arg in batched_args)) for b in range(B)]
    for member, (shape, dtype) in MEMBERS.items():
        assert plain[member].shape == shape and plain[member].dtype == dtype
        assert jitted[member].shape == shape and jitted[member].dtype == dtype
        np.testing.assert_allclose(jitted[member], plain[member], rtol=1e-6)
        assert batched[member].shape == (B, *shape)
        assert batched[member].dtype == dtype
        for b in range(B):
            np.testing.assert_allclose(batched[member][b], rows[b][member], rtol=1e-6)


# name -> (function, example arguments, batched arguments, output shape, dtype)
FUNCTION_CASES = {
    "boltzmann_gumbel_sample": (
        lambda key, values, counts, c: pol.boltzmann_gumbel_sample(
            key, values, counts, c
        ),
        (jax.random.key(0), _VALUES, _COUNTS + 1, np.float32(1.0)),
        (
            jax.random.split(jax.random.key(1), B),
            np.stack([_VALUES] * B),
            np.stack([_COUNTS + 1, _COUNTS, np.ones(K, np.int32)]),
            np.array([0.5, 1.0, 2.0], np.float32),
        ),
        (),
        jnp.int32,
    ),
    "sample_categorical": (
        pol.sample_categorical,
        (jax.random.key(0), np.array([0.1, 0.0, 0.6, 0.2, 0.1], np.float32)),
        (
            jax.random.split(jax.random.key(1), B),
            np.stack(
                [
                    np.full(K, 0.2, np.float32),
                    np.eye(K, dtype=np.float32)[3],
                    np.array([0.1, 0.0, 0.6, 0.2, 0.1], np.float32),
                ]
            ),
        ),
        (),
        jnp.int32,
    ),
    "sample_from_uniform": (
        pol.sample_from_uniform,
        (np.float32(0.55), np.array([0.1, 0.0, 0.6, 0.2, 0.1], np.float32)),
        (
            np.array([0.0, 0.5, JUST_BELOW_ONE], np.float32),
            np.stack([np.full(K, 0.2, np.float32)] * B),
        ),
        (),
        jnp.int32,
    ),
    "ucb_scores": (
        pol.ucb_scores,
        (_VALUES, _COUNTS, np.float32(14.0), np.float32(2.0)),
        (
            np.stack([_VALUES] * B),
            np.stack([_COUNTS, _COUNTS + 1, _COUNTS * 2]),
            np.array([14.0, 20.0, 50.0], np.float32),
            np.array([0.5, 1.0, 2.0], np.float32),
        ),
        (K,),
        jnp.float32,
    ),
}


def test_public_cases_cover_policies_all():
    covered = set(FACTORIES) | set(FUNCTION_CASES) | {"Policy"}
    assert covered == set(pol.__all__)


@pytest.mark.parametrize("name", sorted(FUNCTION_CASES))
def test_public_function_plain_jit_vmap(name):
    fn, args, batched_args, shape, dtype = FUNCTION_CASES[name]
    _check_plain_jit_vmap(fn, args, batched_args, shape, dtype)
