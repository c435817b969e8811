"""Tests for ``rl_softmax.softmax`` against NumPy references and closed forms."""

import functools
import math

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rl_softmax import softmax as sm

# --- independent NumPy references (float64, written from the definitions) ----------


def np_softmax(logits, tau=1.0):
    """``exp(z / tau) / sum exp(z / tau)`` of one ``[K]`` vector; ``tau=0``: argmax."""
    z = np.asarray(logits, np.float64)
    finite = np.isfinite(z)
    top = z[finite].max()
    if tau == 0:
        is_top = z == top
        return is_top / is_top.sum()
    weights = np.zeros_like(z)
    weights[finite] = np.exp((z[finite] - top) / tau)
    return weights / weights.sum()


def np_entropy(probs):
    p = np.asarray(probs, np.float64)
    nonzero = p > 0
    return -np.sum(p[nonzero] * np.log(p[nonzero]))


def np_log_partition(logits, tau):
    """The naive ``log(sum(exp(z / tau)))``: callers keep ``|z / tau|`` below 700."""
    return np.log(np.sum(np.exp(np.asarray(logits, np.float64) / tau)))


# --- strategies ------------------------------------------------------------------

# Sizes from 2 to 12 actions. Each size costs an XLA compile of the shared programs
# below (seconds on a busy 2-core CPU), so hypothesis draws from five of them.
num_actions = st.sampled_from([2, 3, 5, 8, 12])
# No subnormals: XLA on CPU flushes them to zero, NumPy does not.
logits_st = hnp.arrays(
    np.float32,
    num_actions,
    elements=st.floats(-20, 20, width=32, allow_subnormal=False),
)
moderate_logits_st = hnp.arrays(
    np.float32, num_actions, elements=st.floats(-5, 5, width=32, allow_subnormal=False)
)
# Small integers make ties common and every gap >= 1.
int_logits_st = hnp.arrays(
    np.float32, num_actions, elements=st.integers(-4, 4).map(float)
)
# Log-uniform on [10**-1.5, 100]: |z / tau| <= 20 * 10**1.5 < 700 (np_log_partition).
tau_st = st.floats(-1.5, 2.0).map(lambda e: float(10.0**e))
moderate_tau_st = st.floats(-0.5, 1.0).map(lambda e: float(10.0**e))

# Functions with the (logits, tau, axis) signature.
TAU_FUNCTIONS = {
    "softmax": sm.softmax,
    "log_softmax": sm.log_softmax,
    "log_partition": sm.log_partition,
    "free_energy": sm.free_energy,
    "entropy": sm.entropy,
    "expected_value": sm.expected_value,
    "logits_from_probs": sm.logits_from_probs,
    "base_softmax": sm.base_softmax,
}


# --- one compiled program per number of actions ---------------------------------
# Compiling every function separately for every size would dominate the run time on
# 2 cores, so the property tests share these programs (tau, base and the targets are
# traced: one compile per K covers every temperature, even 0).


@jax.jit
def _jit_outputs(logits, tau, base, target_entropy, target_value):
    weights = jnp.linspace(-1.0, 2.0, logits.shape[-1])
    probs = sm.softmax(logits, tau)
    recovered = sm.logits_from_probs(probs, tau)
    return {
        "softmax": probs,
        "log_softmax": sm.log_softmax(logits, tau),
        "log_partition": sm.log_partition(logits, tau),
        "free_energy": sm.free_energy(logits, tau),
        "entropy": sm.entropy(logits, tau),
        "expected_value": sm.expected_value(logits, tau),
        "free_energy_grad": jax.grad(sm.free_energy)(logits, tau),
        "weighted_softmax_grad": jax.grad(
            lambda z: jnp.sum(sm.softmax(z, tau) * weights)
        )(logits),
        "jacfwd": jax.jacfwd(sm.softmax)(logits, tau),
        "jacobian": sm.softmax_jacobian(probs, tau),
        "recovered": recovered,
        "recovered_log_partition": sm.log_partition(recovered, tau),
        "base_softmax": sm.base_softmax(logits, base),
        "tau_from_base": sm.tau_from_base(base),
        # Under jit an unreachable target is clipped, so unused targets are harmless.
        "tau_for_entropy": sm.tau_for_entropy(logits, target_entropy),
        "tau_for_expected_value": sm.tau_for_expected_value(logits, target_value),
    }


def _outputs(logits, tau, *, base=2.0, target_entropy=0.5, target_value=0.0):
    """Every output of the module for one float32 ``[K]`` example, under ``jit``."""
    return _jit_outputs(logits, tau, base, target_entropy, target_value)


@jax.jit
def _jit_outputs64(logits, tau, probs):
    return {
        "softmax": sm.softmax(logits, tau),
        "log_softmax": sm.log_softmax(logits, tau),
        "entropy": sm.entropy(logits, tau),
        "log_partition": sm.log_partition(logits, tau),
        "jacobian": sm.softmax_jacobian(probs, tau),
    }


def _outputs64(logits, tau, probs=None):
    """Float64 outputs for float64 ``logits`` (and ``probs``) as NumPy arrays."""
    probs = np.zeros_like(logits) if probs is None else probs
    with jax.enable_x64(True):
        out = _jit_outputs64(
            jnp.asarray(logits, jnp.float64), tau, jnp.asarray(probs, jnp.float64)
        )
        return {name: np.asarray(value) for name, value in out.items()}


# --- probabilities ----------------------------------------------------------------


@given(logits_st, tau_st)
def test_probs_are_nonnegative_and_sum_to_one(logits, tau):
    probs = np.asarray(_outputs(logits, tau)["softmax"])
    assert probs.dtype == np.float32
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(), 1.0, atol=1e-5)


@given(logits_st, tau_st)
def test_softmax_matches_numpy(logits, tau):
    np.testing.assert_allclose(
        _outputs(logits, tau)["softmax"], np_softmax(logits, tau), rtol=2e-5, atol=1e-7
    )


@given(logits_st, tau_st)
def test_softmax_matches_numpy_in_float64(logits, tau):
    probs = _outputs64(logits, tau)["softmax"]
    assert probs.dtype == np.float64
    np.testing.assert_allclose(probs, np_softmax(logits, tau), rtol=1e-12, atol=1e-300)


@given(logits_st, tau_st, st.floats(-1e3, 1e3))
def test_invariant_to_logit_shift(logits, tau, shift):
    # float64, so that `z + c` itself is exact enough to see a 1e-9 difference.
    z = logits.astype(np.float64)
    shifted, plain = _outputs64(z + shift, tau), _outputs64(z, tau)
    for name in ("softmax", "log_softmax", "entropy"):
        np.testing.assert_allclose(shifted[name], plain[name], rtol=1e-9, atol=1e-9)


@given(logits_st, tau_st, st.floats(-1e3, 1e3))
def test_log_partition_shifts_by_shift_over_tau(logits, tau, shift):
    z = logits.astype(np.float64)
    shifted, plain = _outputs64(z + shift, tau), _outputs64(z, tau)
    # a result near 0 is a difference of terms of size |z + shift| / tau: its
    # float64 error is relative to them, not to the result
    terms = (np.max(np.abs(z)) + abs(shift)) / tau if tau > 0 else 0.0
    np.testing.assert_allclose(
        shifted["log_partition"], plain["log_partition"] + shift / tau, rtol=1e-9,
        atol=1e-13 * max(1.0, terms),
    )  # fmt: skip


@given(moderate_logits_st, moderate_tau_st, st.data())
def test_raising_a_logit_raises_its_prob_and_lowers_all_others(logits, tau, data):
    # With |z / tau| <= 20 no probability is 0 or 1 in float64, so the change is strict.
    j = data.draw(st.integers(0, len(logits) - 1))
    z = logits.astype(np.float64)
    raised = z.copy()
    raised[j] += 1.0
    before, after = _outputs64(z, tau)["softmax"], _outputs64(raised, tau)["softmax"]
    others = np.arange(len(logits)) != j
    assert after[j] > before[j]
    assert np.all(after[others] < before[others])


@given(moderate_logits_st, moderate_tau_st, st.data())
def test_changing_one_logit_changes_every_prob(logits, tau, data):
    j = data.draw(st.integers(0, len(logits) - 1))
    delta = data.draw(st.sampled_from([-1.0, 1.0]))
    z = logits.astype(np.float64)
    changed = z.copy()
    changed[j] += delta
    before, after = _outputs64(z, tau)["softmax"], _outputs64(changed, tau)["softmax"]
    assert np.all(after != before)


@given(logits_st)
def test_large_tau_is_uniform(logits):
    probs = _outputs(logits, 1e30)["softmax"]
    np.testing.assert_allclose(probs, np.full(len(logits), 1 / len(logits)), rtol=1e-6)


@pytest.mark.parametrize("tau", [0.0, 1e-30])
@given(int_logits_st)
def test_small_tau_is_argmax_with_ties_split_evenly(tau, logits):
    is_top = logits == logits.max()
    expected = (is_top / is_top.sum()).astype(np.float32)
    np.testing.assert_array_equal(_outputs(logits, tau)["softmax"], expected)


@pytest.mark.parametrize("tau", [0.0, 1e-30])
def test_tied_maxima_share_the_mass_at_small_tau(tau):
    np.testing.assert_array_equal(
        sm.softmax(jnp.array([1.0, 3.0, 3.0]), tau), [0, 0.5, 0.5]
    )


def test_published_softmax_and_linear_normalisation():
    # Numbers quoted in the softmax literature for z = [2, 4, 2, 1], to 4 decimals.
    z = jnp.array([2.0, 4.0, 2.0, 1.0])
    np.testing.assert_allclose(
        sm.linear_normalize(z), [0.2222, 0.4444, 0.2222, 0.1111], atol=5e-5
    )
    np.testing.assert_allclose(
        sm.softmax(z), [0.1025, 0.7573, 0.1025, 0.0377], atol=5e-5
    )


@given(hnp.arrays(np.float32, num_actions, elements=st.floats(0.125, 100, width=32)))
def test_linear_normalize_matches_numpy(x):
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(sm.linear_normalize(x), x64 / x64.sum(), rtol=1e-5)


# --- log-probabilities, partition function, free energy ------------------------------


@given(logits_st, tau_st)
def test_log_softmax_is_log_of_softmax(logits, tau):
    out = _outputs(logits, tau)
    log_probs = np.asarray(out["log_softmax"])
    probs, reference = np.asarray(out["softmax"]), np_softmax(logits, tau)
    # Where p is a normal float32: the log of an underflowed or subnormal p is not.
    normal = (probs > 1e-30) & (reference > 1e-30)
    np.testing.assert_allclose(
        log_probs[normal], np.log(probs[normal]), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        log_probs[normal], np.log(reference[normal]), rtol=1e-5, atol=1e-5
    )
    assert np.all(log_probs <= 0)


@given(logits_st, tau_st)
def test_log_partition_matches_numpy(logits, tau):
    np.testing.assert_allclose(
        _outputs(logits, tau)["log_partition"],
        np_log_partition(logits, tau),
        rtol=1e-5,
        atol=1e-5,
    )


@given(logits_st, tau_st)
def test_free_energy_is_tau_times_log_partition(logits, tau):
    np.testing.assert_allclose(
        _outputs(logits, tau)["free_energy"],
        tau * np_log_partition(logits, tau),
        rtol=1e-5,
        atol=1e-5 * tau,
    )


@given(logits_st, tau_st)
def test_free_energy_gradient_is_softmax(logits, tau):
    np.testing.assert_allclose(
        _outputs(logits, tau)["free_energy_grad"],
        np_softmax(logits, tau),
        rtol=2e-5,
        atol=1e-7,
    )


@given(int_logits_st)
def test_free_energy_gradient_is_greedy_softmax_at_zero_tau(logits):
    # At tau == 0 the free energy *is* max(z); its gradient splits evenly over ties.
    np.testing.assert_allclose(
        _outputs(logits, 0.0)["free_energy_grad"], np_softmax(logits, 0.0), atol=1e-7
    )


@given(int_logits_st)
def test_zero_tau_free_energy_is_max_and_log_partition_its_limit(logits):
    top = float(logits.max())
    num_top = int(np.sum(logits == top))
    out = _outputs(logits, 0.0)
    assert float(out["free_energy"]) == top
    expected = math.log(num_top) if top == 0 else math.copysign(math.inf, top)
    np.testing.assert_allclose(out["log_partition"], expected, rtol=1e-6)


# --- entropy and expected value -----------------------------------------------------


@given(logits_st, tau_st)
def test_entropy_matches_numpy_and_lies_in_zero_log_k(logits, tau):
    value = float(_outputs(logits, tau)["entropy"])
    np.testing.assert_allclose(value, np_entropy(np_softmax(logits, tau)), atol=2e-5)
    assert -1e-6 <= value <= math.log(len(logits)) + 1e-5


@given(logits_st, tau_st, st.floats(1.01, 100.0))
def test_entropy_grows_with_tau(logits, tau, factor):
    low_tau = float(_outputs(logits, tau)["entropy"])
    high_tau = float(_outputs(logits, tau * factor)["entropy"])
    assert low_tau <= high_tau + 1e-5


@given(logits_st, tau_st, st.floats(1.01, 100.0))
def test_expected_value_falls_with_tau(logits, tau, factor):
    low_tau = float(_outputs(logits, tau)["expected_value"])
    high_tau = float(_outputs(logits, tau * factor)["expected_value"])
    assert high_tau <= low_tau + 1e-4


@given(logits_st, tau_st)
def test_expected_value_is_sum_of_probs_times_values(logits, tau):
    expected = np.sum(np_softmax(logits, tau) * logits.astype(np.float64))
    np.testing.assert_allclose(
        _outputs(logits, tau)["expected_value"], expected, rtol=1e-5, atol=1e-4
    )


# --- Jacobian, inverse, base form -----------------------------------------------------


@given(logits_st, tau_st)
def test_softmax_jacobian_equals_jacfwd(logits, tau):
    out = _outputs(logits, tau)
    assert out["jacobian"].shape == (len(logits), len(logits))
    np.testing.assert_allclose(
        out["jacobian"], out["jacfwd"], rtol=1e-4, atol=1e-6 / tau
    )


@given(moderate_logits_st, moderate_tau_st)
def test_softmax_jacobian_matches_finite_differences(logits, tau):
    # Central differences of the NumPy reference: checks the closed form independently.
    h = 1e-6
    z = logits.astype(np.float64)
    columns = [
        (np_softmax(z + h * e, tau) - np_softmax(z - h * e, tau)) / (2 * h)
        for e in np.eye(len(z))
    ]
    jacobian = _outputs64(z, tau, probs=np_softmax(z, tau))["jacobian"]
    np.testing.assert_allclose(jacobian, np.stack(columns, axis=1), atol=1e-7)


@given(moderate_logits_st, moderate_tau_st)
def test_softmax_gradient_matches_closed_form(logits, tau):
    # d/dz sum(p * w) = p * (w - p.w) / tau: the Jacobian p_i (delta_ik - p_k) / tau.
    weights = np.linspace(-1.0, 2.0, len(logits))
    p = np_softmax(logits, tau)
    np.testing.assert_allclose(
        _outputs(logits, tau)["weighted_softmax_grad"],
        p * (weights - p @ weights) / tau,
        rtol=1e-4,
        atol=1e-6,
    )


@given(moderate_logits_st, moderate_tau_st)
def test_logits_from_probs_recovers_logits_up_to_a_constant(logits, tau):
    # tau >= 0.3 keeps every probability a normal float32, whose log is accurate.
    offset = np.asarray(_outputs(logits, tau)["recovered"], np.float64) - logits
    np.testing.assert_allclose(offset, np.full_like(offset, offset.mean()), atol=1e-4)


@given(moderate_logits_st, moderate_tau_st)
def test_logits_from_probs_has_zero_log_partition(logits, tau):
    out = _outputs(logits, tau)
    np.testing.assert_allclose(out["recovered_log_partition"], 0.0, atol=1e-5)
    # With log Z == 0 the probabilities are exp(z / tau) themselves.
    recovered = np.asarray(out["recovered"], np.float64)
    np.testing.assert_allclose(
        np.exp(recovered / tau), np_softmax(logits, tau), rtol=1e-4, atol=1e-7
    )


def test_logits_from_zero_prob_is_minus_inf():
    recovered = np.asarray(sm.logits_from_probs(jnp.array([0.0, 0.25, 0.75]), 2.0))
    assert recovered[0] == -np.inf
    np.testing.assert_allclose(recovered[1:], 2.0 * np.log([0.25, 0.75]), rtol=1e-6)


@given(
    hnp.arrays(
        np.float32,
        num_actions,
        elements=st.floats(-10, 10, width=32, allow_subnormal=False),
    ),
    st.floats(1.1, 10.0),
)
def test_base_softmax_is_softmax_at_tau_from_base(logits, base):
    out = _outputs(logits, 1.0, base=base)
    np.testing.assert_allclose(out["tau_from_base"], 1 / math.log(base), rtol=1e-6)
    powers = base ** logits.astype(np.float64)
    np.testing.assert_allclose(
        out["base_softmax"], powers / powers.sum(), rtol=1e-4, atol=1e-7
    )
    np.testing.assert_allclose(
        out["base_softmax"],
        np_softmax(logits, float(out["tau_from_base"])),
        rtol=1e-5,
        atol=1e-7,
    )


def test_base_e_is_unit_tau_and_base_one_is_uniform():
    np.testing.assert_allclose(sm.tau_from_base(math.e), 1.0, rtol=1e-6)
    z = jnp.array([2.0, 4.0, 2.0, 1.0])
    np.testing.assert_allclose(sm.base_softmax(z, 1.0), np.full(4, 0.25), rtol=1e-6)


# --- temperature solvers ----------------------------------------------------------


@given(logits_st, st.floats(0.02, 0.98))
def test_tau_for_entropy_reaches_target_under_jit(logits, fraction):
    assume(logits.max() - logits.min() > 1e-2)
    # Low entropies need tau below the smallest gap under the max: keep it a normal
    # float32 (about 1e-38 and up), which a gap of 1e-30 does.
    top = logits.max()
    assume(np.min(top - logits[logits < top]) > 1e-30)
    low = math.log(np.sum(logits == logits.max()))
    target = low + fraction * (math.log(len(logits)) - low)
    tau = float(_outputs(logits, 1.0, target_entropy=target)["tau_for_entropy"])
    assert tau > 0
    np.testing.assert_allclose(np_entropy(np_softmax(logits, tau)), target, atol=1e-4)


@given(logits_st, st.floats(0.02, 0.98))
def test_tau_for_expected_value_reaches_target_under_jit(logits, fraction):
    assume(logits.max() - logits.min() > 1e-2)
    mean, top = float(np.mean(logits, dtype=np.float64)), float(logits.max())
    target = mean + fraction * (top - mean)
    tau = float(_outputs(logits, 1.0, target_value=target)["tau_for_expected_value"])
    assert tau > 0
    reached = np.sum(np_softmax(logits, tau) * logits)
    np.testing.assert_allclose(reached, target, atol=1e-4 * (1 + abs(target)))


def test_tau_solvers_reach_targets_when_called_plainly():
    values = np.array([0.0, 1.0, 3.0, -np.inf, 2.0], np.float32)
    finite = np.isfinite(values)
    tau = float(sm.tau_for_entropy(values, 0.8))
    np.testing.assert_allclose(np_entropy(np_softmax(values, tau)), 0.8, atol=1e-4)
    tau = float(sm.tau_for_expected_value(values, 2.0))
    reached = np.sum(np_softmax(values, tau)[finite] * values[finite])
    np.testing.assert_allclose(reached, 2.0, atol=1e-4)


@pytest.mark.parametrize("target", [math.log(4) + 0.1, -0.1])
def test_tau_for_entropy_rejects_unreachable_target(target):
    with pytest.raises(ValueError, match="target_entropy"):
        sm.tau_for_entropy(jnp.array([0.0, 1.0, 2.0, 3.0]), target)


@pytest.mark.parametrize(("num_inf", "target"), [(1, 0.5), (2, 0.2), (2, 1.0)])
def test_tau_for_entropy_with_inf_logits_reaches_only_their_entropy(num_inf, target):
    """+inf logits share all the mass at every tau, so the entropy is log(#inf)."""
    logits = jnp.array([jnp.inf] * num_inf + [0.0, 1.0])
    assert np.allclose(
        [float(sm.entropy(logits, tau)) for tau in (0.01, 1.0, 100.0)],
        math.log(num_inf),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match=r"entropies in \[0\.69|entropies in \[0\.0"):
        sm.tau_for_entropy(logits, target)


@pytest.mark.parametrize("target", [3.5, 1.0])  # above max(v) = 3, below mean = 1.5
def test_tau_for_expected_value_rejects_unreachable_target(target):
    with pytest.raises(ValueError, match="target"):
        sm.tau_for_expected_value(jnp.array([0.0, 1.0, 2.0, 3.0]), target)


# --- broadcasting ---------------------------------------------------------------------

_LOGITS_2D = 3 * np.random.default_rng(0).standard_normal((4, 6)).astype(np.float32)
_TAUS = np.array([0.1, 0.5, 2.0, 30.0], np.float32)


@functools.partial(jax.jit, static_argnames="axis")
def _tau_function_outputs(logits, tau, axis=-1):
    """Every ``TAU_FUNCTIONS`` entry, with valid probabilities and bases as inputs."""
    inputs = {
        "logits_from_probs": (jax.nn.softmax(logits, axis=axis), tau),
        "base_softmax": (logits, 1.0 + tau),
    }
    return {
        name: fn(*inputs.get(name, (logits, tau)), axis=axis)
        for name, fn in TAU_FUNCTIONS.items()
    }


@pytest.mark.parametrize("name", sorted(TAU_FUNCTIONS))
def test_tau_array_gives_each_row_its_own_temperature(name):
    batched = _tau_function_outputs(_LOGITS_2D, _TAUS)[name]
    assert batched.shape[0] == 4
    for b in range(4):
        row = _tau_function_outputs(_LOGITS_2D[b], _TAUS[b])[name]
        np.testing.assert_allclose(batched[b], row, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(TAU_FUNCTIONS))
def test_scalar_tau_applies_to_every_row(name):
    tau = np.float32(0.7)
    batched = _tau_function_outputs(_LOGITS_2D, tau)[name]
    assert batched.shape[0] == 4
    for b in range(4):
        row = _tau_function_outputs(_LOGITS_2D[b], tau)[name]
        np.testing.assert_allclose(batched[b], row, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(TAU_FUNCTIONS))
def test_axis_zero_is_the_action_axis(name):
    along_last = _tau_function_outputs(_LOGITS_2D, _TAUS)[name]
    along_first = _tau_function_outputs(_LOGITS_2D.T, _TAUS, axis=0)[name]
    expected = along_last.T if along_last.ndim == 2 else along_last
    assert along_first.shape == expected.shape
    np.testing.assert_allclose(along_first, expected, rtol=1e-6, atol=1e-7)


def test_softmax_rows_match_numpy_at_their_own_tau():
    taus = np.array([0.0, 0.3, 1e30, 2.0], np.float32)
    probs = sm.softmax(_LOGITS_2D, taus)  # plain call
    for b, tau in enumerate(taus):
        np.testing.assert_allclose(
            probs[b], np_softmax(_LOGITS_2D[b], float(tau)), rtol=1e-5, atol=1e-7
        )


# --- entropy of given probabilities ------------------------------------------------

# Probabilities with many exact zeros (where 0 log 0 = 0 must hold), the other
# entries in [2**-20, 1]; the test normalises each draw in float32.
probs_st = hnp.arrays(
    np.float32,
    num_actions,
    elements=st.one_of(st.just(0.0), st.floats(2.0**-20, 1.0, width=32)),
)


@jax.jit
def _categorical_outputs(probs):
    value, grad = jax.value_and_grad(sm.categorical_entropy)(probs)
    return {"value": value, "grad": grad}


@given(probs_st)
def test_categorical_entropy_matches_numpy_with_zero_log_zero(probs):
    assume(probs.sum() > 0)
    probs = (probs / probs.sum()).astype(np.float32)
    out = _categorical_outputs(probs)
    # np_entropy skips p == 0: the 0 log 0 = 0 convention, written independently.
    np.testing.assert_allclose(out["value"], np_entropy(probs), rtol=1e-5, atol=1e-6)
    assert -1e-6 <= float(out["value"]) <= math.log(len(probs)) + 1e-5
    # d/dp (-p log p) = -(log p + 1) where p > 0; finite (not inf or NaN) at p = 0.
    grad = np.asarray(out["grad"], np.float64)
    assert np.all(np.isfinite(grad)), (probs, grad)
    positive = probs > 0
    np.testing.assert_allclose(
        grad[positive],
        -(np.log(probs[positive].astype(np.float64)) + 1),
        rtol=1e-5,
        atol=1e-6,  # log p + 1 cancels near p = 1/e: float32 keeps ~1e-7 there
    )


def test_categorical_entropy_zero_log_zero_cases():
    # One-hot: no uncertainty; zeros beside an even split add nothing.
    cases = {
        (0.0, 1.0, 0.0, 0.0): 0.0,
        (0.5, 0.5, 0.0): math.log(2.0),
        (0.0, 0.25, 0.25, 0.0, 0.25, 0.25): math.log(4.0),
        (0.0, 0.0, 0.0): 0.0,
    }
    for probs, expected in cases.items():
        probs = np.asarray(probs, np.float32)
        value = float(sm.categorical_entropy(probs))
        assert not math.isnan(value)
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-7)
        assert value == pytest.approx(np_entropy(probs), abs=1e-7)


def test_categorical_entropy_gradient_is_finite_at_zero_probability():
    probs = np.array([0.5, 0.0, 0.5, 0.0], np.float32)
    grad = np.asarray(_categorical_outputs(probs)["grad"], np.float64)
    assert np.all(np.isfinite(grad)), grad
    np.testing.assert_allclose(grad[[0, 2]], -(math.log(0.5) + 1.0), rtol=1e-6)
    # Also inside a chain: the gradient through softmax at tau = 0 (exact zeros).
    logits = np.array([1.0, 3.0, 3.0, -1.0], np.float32)
    grad_logits = jax.jit(
        jax.grad(lambda z: sm.categorical_entropy(sm.softmax(z, 1e-30)))
    )(logits)
    assert np.all(np.isfinite(np.asarray(grad_logits))), grad_logits


@given(logits_st, tau_st)
def test_categorical_entropy_of_softmax_equals_entropy_from_logits(logits, tau):
    out = _outputs(logits, tau)
    from_probs = _categorical_outputs(np.asarray(out["softmax"]))["value"]
    np.testing.assert_allclose(from_probs, out["entropy"], rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(
        from_probs, np_entropy(np_softmax(logits, tau)), atol=2e-5
    )


def test_categorical_entropy_reduces_the_given_axis_and_keeps_dtype():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(6), size=4).astype(np.float32)  # [4, 6]
    probs[0, 1] = 0.0  # an exact zero in a row (rows need not sum to one)
    rows = sm.categorical_entropy(probs)
    assert rows.shape == (4,) and rows.dtype == jnp.float32
    expected = [np_entropy(row) for row in probs]
    np.testing.assert_allclose(rows, expected, rtol=1e-5)
    columns = sm.categorical_entropy(probs.T, axis=0)
    assert columns.shape == (4,) and columns.dtype == jnp.float32
    np.testing.assert_allclose(columns, rows, rtol=1e-6)
    with jax.enable_x64(True):
        value = sm.categorical_entropy(jnp.asarray(probs[1], jnp.float64))
        assert value.dtype == jnp.float64
        np.testing.assert_allclose(value, np_entropy(probs[1]), rtol=1e-12)


# --- extremes -------------------------------------------------------------------------

EXTREME_LOGITS = {
    "huge": [1e30, -1e30, 0.0, 1e30],
    "one_finite": [-np.inf, 2.0, -np.inf, -np.inf],
    "masked": [-np.inf, 1.0, 3.0, -np.inf, 3.0],
    "moderate": [1.0, 3.0, 2.0, -1.0],
}
EXTREME_TAUS = [0.0, 1e-30, 1.0, 1e30]


def _losses(weights, possible):
    """Scalar functions of ``(logits, tau)`` that a learner differentiates."""
    return {
        "softmax": lambda z, t: jnp.sum(sm.softmax(z, t).astype(jnp.float32) * weights),
        # Log-probabilities of actions that can be taken (log 0 is -inf).
        "log_softmax": lambda z, t: jnp.sum(
            jnp.where(possible, sm.log_softmax(z, t), 0.0)
        ),
        "entropy": sm.entropy,
        "free_energy": sm.free_energy,
        "log_partition": sm.log_partition,
        "expected_value": sm.expected_value,
    }


@jax.jit
def _extreme_outputs(logits, tau, possible):
    """Values, and gradients w.r.t. ``(logits, tau)``, one compile per shape/dtype."""
    weights = jnp.linspace(-1.0, 2.0, logits.shape[-1])
    out = {"log_probs": sm.log_softmax(logits, tau)}
    for name, loss in _losses(weights, possible).items():
        value, (grad_logits, grad_tau) = jax.value_and_grad(loss, argnums=(0, 1))(
            logits, tau
        )
        out[name] = value
        out[f"{name}_grad_logits"] = grad_logits
        out[f"{name}_grad_tau"] = grad_tau
    return out


def _as_f64(tree):
    return {name: np.asarray(value, np.float64) for name, value in tree.items()}


@pytest.mark.parametrize("tau", EXTREME_TAUS)
@pytest.mark.parametrize("case", sorted(EXTREME_LOGITS))
def test_extreme_inputs_match_numpy_without_nan(case, tau):
    logits = np.asarray(EXTREME_LOGITS[case], np.float32)
    probs = np.asarray(sm.softmax(logits, tau))  # plain call
    expected = np_softmax(logits, tau)
    np.testing.assert_allclose(probs, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-6)
    out = _as_f64(_extreme_outputs(logits, np.float32(tau), expected > 0))
    for name in ("entropy", "free_energy", "log_partition", "expected_value"):
        assert not np.isnan(out[name]), name
    log_probs = out["log_probs"]
    assert not np.any(np.isnan(log_probs))
    masked = ~np.isfinite(logits)
    assert np.all(probs[masked] == 0)
    assert np.all(log_probs[masked] == -np.inf)
    positive = expected > 0
    np.testing.assert_allclose(
        log_probs[positive], np.log(expected[positive]), atol=1e-5
    )
    np.testing.assert_allclose(out["entropy"], np_entropy(expected), atol=1e-5)
    np.testing.assert_allclose(
        out["expected_value"],
        np.sum(expected[positive] * logits[positive]),
        rtol=1e-6,
    )


def _assert_gradients_finite_where_values_are(out, tau):
    for name in _losses(None, None):
        if not np.isfinite(out[name]):
            continue
        grad_logits, grad_tau = out[f"{name}_grad_logits"], out[f"{name}_grad_tau"]
        assert np.all(np.isfinite(grad_logits)), (name, grad_logits)
        if name == "log_partition" and 0 < tau < 1e-19:
            # d/dtau (max z / tau) = -max z / tau**2 is beyond float32: +-inf, not NaN.
            assert not np.isnan(grad_tau), (name, grad_tau)
        else:
            assert np.isfinite(grad_tau), (name, grad_tau)


@pytest.mark.parametrize("tau", EXTREME_TAUS)
@pytest.mark.parametrize("case", sorted(EXTREME_LOGITS))
def test_gradients_are_finite_where_values_are(case, tau):
    logits = np.asarray(EXTREME_LOGITS[case], np.float32)
    possible = np_softmax(logits, tau) > 0
    out = _as_f64(_extreme_outputs(logits, np.float32(tau), possible))
    _assert_gradients_finite_where_values_are(out, tau)


@pytest.mark.parametrize("tau", [0.0, 1e-30])
def test_gradient_of_softmax_at_small_tau_has_no_spurious_mass(tau):
    # Away from ties the saturated softmax is locally constant: zero gradient.
    logits = np.array([1.0, 3.0, 2.0, -np.inf], np.float32)
    out = _extreme_outputs(logits, np.float32(tau), np_softmax(logits, tau) > 0)
    np.testing.assert_array_equal(out["softmax_grad_logits"], np.zeros(4))
    np.testing.assert_array_equal(out["softmax_grad_tau"], 0.0)


LOW_PRECISION = {
    "bfloat16": (jnp.bfloat16, 1e30, 2e-2),
    # 1e30 is not a float16, and 6e4 - (-6e4) would overflow: +-3e4 still fits.
    "float16": (jnp.float16, 3e4, 5e-3),
}


# A plain call casts tau = 1e30 to float16 with NumPy: inf, and an overflow warning.
@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("tau", EXTREME_TAUS)
@pytest.mark.parametrize("dtype_name", sorted(LOW_PRECISION))
def test_low_precision_probs_sum_to_one_without_nan(dtype_name, tau):
    dtype, big, tolerance = LOW_PRECISION[dtype_name]
    tau_in_dtype = float(np.asarray(jnp.asarray(tau, jnp.float32).astype(dtype)))
    cases = [
        [1.0, 3.0, 2.0, -1.0],
        [big, -big, 0.0, 1.0],
        [-np.inf, 1.0, 3.0, -np.inf],
    ]
    for case in cases:
        logits = jnp.asarray(case, dtype)
        expected = np_softmax(np.asarray(logits, np.float64), tau_in_dtype)
        out = _extreme_outputs(logits, np.float32(tau), expected > 0)
        probs = sm.softmax(logits, np.float32(tau))  # plain call
        assert probs.dtype == dtype
        for name in ("log_probs", "entropy", "free_energy", "expected_value"):
            assert out[name].dtype == dtype, name
        probs = np.asarray(probs, np.float64)
        assert not np.any(np.isnan(probs))
        np.testing.assert_allclose(probs.sum(), 1.0, atol=tolerance)
        np.testing.assert_allclose(probs, expected, atol=tolerance)
        assert np.all(probs[expected == 0] == 0)
        out = _as_f64(out)
        for name in _losses(None, None):
            assert not np.isnan(out[name]), name
        _assert_gradients_finite_where_values_are(out, tau_in_dtype)


# --- every public function: plain, jit, vmap ----------------------------------------

K, B = 5, 3
_Z = np.array([0.5, -1.0, 2.0, 0.0, 1.5], np.float32)
_P = np_softmax(_Z).astype(np.float32)

# name -> (function, example arguments, output shape for one example)
PUBLIC_CASES = {
    "base_softmax": (sm.base_softmax, (_Z, np.float32(2.0)), (K,)),
    "categorical_entropy": (sm.categorical_entropy, (_P,), ()),
    "entropy": (sm.entropy, (_Z, np.float32(0.7)), ()),
    "expected_value": (sm.expected_value, (_Z, np.float32(0.7)), ()),
    "free_energy": (sm.free_energy, (_Z, np.float32(0.7)), ()),
    "linear_normalize": (sm.linear_normalize, (_P,), (K,)),
    "log_partition": (sm.log_partition, (_Z, np.float32(0.7)), ()),
    "log_softmax": (sm.log_softmax, (_Z, np.float32(0.7)), (K,)),
    "logits_from_probs": (sm.logits_from_probs, (_P, np.float32(0.7)), (K,)),
    "mellowmax": (sm.mellowmax, (_Z, np.float32(2.0)), ()),
    "mellowmax_policy": (sm.mellowmax_policy, (_Z, np.float32(2.0)), (K,)),
    "mellowmax_temperature": (sm.mellowmax_temperature, (_Z, np.float32(2.0)), ()),
    "softmax": (sm.softmax, (_Z, np.float32(0.7)), (K,)),
    "softmax_jacobian": (sm.softmax_jacobian, (_P, np.float32(0.7)), (K, K)),
    "tau_for_entropy": (sm.tau_for_entropy, (_Z, np.float32(1.0)), ()),
    "tau_for_expected_value": (sm.tau_for_expected_value, (_Z, np.float32(1.0)), ()),
    "tau_from_base": (sm.tau_from_base, (np.float32(2.0),), ()),
}


def _batch(args):
    """``B`` different examples per argument: scales of the example, all still valid."""
    scales = np.array([1.0, 1.1, 1.25], np.float32)
    out = []
    for arg in args:
        if arg.ndim == 0:
            out.append(arg * scales)  # tau, base, target: stays in range
        elif np.isclose(arg.sum(), 1.0) and np.all(arg > 0):
            out.append(
                np.stack(
                    [np_softmax(np.log(arg) * s).astype(np.float32) for s in scales]
                )
            )
        else:
            out.append(np.stack([arg * s for s in scales]))
    return out


def test_public_cases_cover_softmax_all():
    assert set(PUBLIC_CASES) == set(sm.__all__)


@pytest.mark.parametrize("name", sorted(PUBLIC_CASES))
def test_public_function_plain_jit_vmap(name):
    fn, args, shape = PUBLIC_CASES[name]
    plain = fn(*args)
    assert plain.shape == shape and plain.dtype == jnp.float32
    assert np.all(np.isfinite(plain))
    jitted = jax.jit(fn)(*args)
    assert jitted.shape == shape and jitted.dtype == jnp.float32
    np.testing.assert_allclose(jitted, plain, rtol=1e-5, atol=1e-6)
    batched_args = _batch(args)
    batched = jax.vmap(fn)(*batched_args)
    assert batched.shape == (B, *shape) and batched.dtype == jnp.float32
    for b in range(B):
        row = fn(*(arg[b] for arg in batched_args))
        np.testing.assert_allclose(batched[b], row, rtol=1e-5, atol=1e-6)
