"""float16 and bfloat16 at the edges, against float64 NumPy references and limits.

Half-precision inputs are computed in float32 and rounded once to their dtype, so each
result is compared with the float64 value of the same (cast) inputs within about one
unit in the last place of the dtype; a reference beyond the dtype's range must come
back as ``+-inf``. NaN may come out only when NaN goes in. Temperatures are float32
scalars: they are never rounded to the half dtype.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_softmax import policies as pol
from rl_softmax import softmax as sm

DTYPES = {"float16": jnp.float16, "bfloat16": jnp.bfloat16}
F32 = np.finfo(np.float32)


def _big(dtype):
    return float(jnp.finfo(dtype).max)


def _eps(dtype):
    return float(jnp.finfo(dtype).eps)


def _cases(dtype):
    """``[4]`` logits per edge, as Python floats before the cast to ``dtype``."""
    big, eps = _big(dtype), _eps(dtype)
    return {
        "moderate": [1.0, 3.0, 2.0, -1.0],
        "ties": [5.0, 5.0, 1.0, -1.0],
        "all_equal": [7.0] * 4,
        # Differences up to 2 * max: beyond the dtype (and, for bfloat16, float32).
        "near_max": [big, -big, 0.0, 0.5 * big],
        "near_max_gaps": [big, 0.99 * big, -big, 0.0],
        "large_negative": [-big, -0.9 * big, -0.95 * big, -big],
        "gaps_of_one_ulp": [1.0, 1.0 + eps, 1.0 + 2 * eps, 0.0],
        # At tau = 1, probabilities around and below the dtype's smallest normal.
        "tiny_probs": [0.0, -12.0, -20.0, -95.0],
        "plus_inf": [math.inf, 1.0, -2.0, 0.0],
        "two_plus_inf": [math.inf, 1.0, math.inf, -math.inf],
        "masked": [-math.inf, 1.0, 3.0, -math.inf],
        "one_finite": [-math.inf, -big, -math.inf, -math.inf],
        "all_minus_inf": [-math.inf] * 4,
    }


CASE_NAMES = sorted(_cases(jnp.float16))
# tau = 1e-6 is a float16 subnormal and 1e5 overflows float16; 1e30 is uniform but for
# bfloat16's largest logits, inf is uniform. (Temperatures above ~8.5e37 are not
# covered: XLA on CPU divides by multiplying with 1 / tau, which is then flushed to
# zero, as for float32 logits.)
TAUS = [0.0, 1e-30, 1e-6, 0.1, 1.0, 1e5, 1e30, math.inf]
VALUE_NAMES = [
    "softmax",
    "log_softmax",
    "entropy",
    "log_partition",
    "free_energy",
    "expected_value",
]


# --- float64 references: the definitions and their limits --------------------------


def np_reference(logits, tau):
    """Every value of the module for one ``[K]`` float64 vector at ``tau >= 0``.

    ``+inf`` logits share all the mass; all ``-inf`` is uniform; ``tau == 0`` is the
    argmax with ties split evenly; ``tau == inf`` is uniform over the support.
    """
    z = np.asarray(logits, np.float64)
    num = z.size
    plus_inf = z == np.inf
    support = plus_inf if plus_inf.any() else np.isfinite(z)
    if not support.any():  # all -inf: every action equally impossible
        log_k = math.log(num)
        return {
            "softmax": np.full(num, 1 / num),
            "log_softmax": np.full(num, -log_k),
            "entropy": log_k,
            "log_partition": -math.inf,
            "free_energy": -math.inf,
            "expected_value": -math.inf,
            "shifted": np.zeros(num),
            "top": -math.inf,
        }
    top = z[support].max()
    shifted = np.full(num, -np.inf)
    shifted[support] = 0.0 if top == np.inf else z[support] - top
    if tau == 0:
        scaled = np.where(shifted == 0, 0.0, -np.inf)
    elif tau == math.inf:
        scaled = np.where(support, 0.0, -np.inf)
    else:
        scaled = shifted / tau
    weights = np.exp(scaled)
    log_sum = math.log(weights.sum())
    probs = weights / weights.sum()
    log_probs = scaled - log_sum
    pos = probs > 0
    if top == math.inf:
        log_partition = free_energy = math.inf
    elif tau == 0:
        log_partition = log_sum if top == 0 else math.copysign(math.inf, top)
        free_energy = top
    elif tau == math.inf:
        log_partition = log_sum
        free_energy = top if support.sum() == 1 else math.inf
    else:
        log_partition = top / tau + log_sum
        free_energy = top + tau * log_sum
    return {
        "softmax": probs,
        "log_softmax": log_probs,
        "entropy": -np.sum(probs[pos] * log_probs[pos]),
        "log_partition": log_partition,
        "free_energy": free_energy,
        "expected_value": np.sum(probs[pos] * z[pos]),
        "shifted": shifted,
        "top": top,
    }


def np_gradients(logits, tau, action, weights):
    """Closed-form ``d/dlogits`` and ``d/dtau`` of each loss in ``_losses``, float64.

    With ``s = z - max z`` on the support and ``E``, ``Var`` under ``p``:
    ``d log p_a = ((e_a - p) / tau, E[s] / tau**2)``; ``dF = (p, H)``;
    ``dH = (-p (log p + H) / tau, Var(s) / tau**3)``; ``d log Z = (p / tau,
    -E[z] / tau**2)``; ``dE[z] = (p (1 + (s - E[s]) / tau), -Var(s) / tau**2)``.
    Each comes with the sum of the magnitudes of its terms, which bounds float32's
    rounding error. ``+inf`` logits do not move, so every gradient is 0 there;
    undefined (NaN) at ``tau == 0`` and for all ``-inf`` logits.
    """
    ref = np_reference(logits, tau)
    p, s, z = ref["softmax"], ref["shifted"], np.asarray(logits, np.float64)
    num = p.size
    if tau == 0 or ref["top"] == -math.inf:
        return {name: (np.full(num, np.nan),) * 2 + (np.nan,) * 2 for name in LOSSES}
    if ref["top"] == math.inf:
        return {name: (np.zeros(num),) * 2 + (0.0, 0.0) for name in LOSSES}
    pos = p > 0
    abs_z = np.where(pos, np.abs(z), 0.0)
    s = np.where(pos, s, 0.0)
    mean_s, mean_abs_s = np.sum(p * s), np.sum(p * np.abs(s))
    centred = s - mean_s
    entropy = ref["entropy"]
    log_p = np.where(pos, ref["log_softmax"], 0.0)
    log_sum = np.log(np.sum(np.exp(np.where(pos, s / tau, -np.inf))))
    onehot = np.arange(num) == action
    mean_w, mean_abs_w = np.sum(p * weights), np.sum(p * np.abs(weights))
    mean_abs_z = np.sum(p * abs_z)
    spread = np.abs(s) + mean_abs_s
    # name -> (grad logits, its term scale, grad tau, its term scale)
    return {
        "log_prob": (
            (onehot - p) / tau,
            (onehot + p) / tau,
            mean_s / tau**2,
            mean_abs_s / tau**2,
        ),
        "softmax": (
            p * (weights - mean_w) / tau,
            p * (np.abs(weights) + mean_abs_w) / tau,
            -np.sum(p * weights * centred) / tau**2,
            np.sum(p * np.abs(weights) * spread) / tau**2,
        ),
        "entropy": (
            -p * (log_p + entropy) / tau,
            p * (2 + np.abs(log_p) + entropy) / tau,
            np.sum(p * centred**2) / tau**3,
            np.sum(p * (2 + np.abs(log_p) + entropy) * spread) / tau**2,
        ),
        "free_energy": (p, p, entropy, 1 + abs(log_sum) + mean_abs_s / tau),
        "log_partition": (
            p / tau,
            p / tau,
            -(ref["top"] + mean_s) / tau**2,
            (abs(ref["top"]) + mean_abs_s) / tau**2,
        ),
        "expected_value": (
            p * (1 + centred / tau),
            p * (1 + (abs_z + mean_abs_z) / tau),
            -np.sum(p * centred**2) / tau**2,
            np.sum(p * abs_z * spread) / tau**2,
        ),
    }


# --- one compiled program per dtype (tau and the action are traced) --------------


LOSSES = [
    "log_prob",
    "softmax",
    "entropy",
    "free_energy",
    "log_partition",
    "expected_value",
]


def _losses(action, weights):
    """Scalar functions of ``(logits, tau)`` that a learner differentiates."""
    return {
        "log_prob": lambda z, t: sm.log_softmax(z, t)[action],
        "softmax": lambda z, t: jnp.sum(sm.softmax(z, t) * weights),
        "entropy": sm.entropy,
        "free_energy": sm.free_energy,
        "log_partition": sm.log_partition,
        "expected_value": sm.expected_value,
    }


@jax.jit
def _values_and_gradients(logits, tau, action, weights):
    out = {name: getattr(sm, name)(logits, tau) for name in VALUE_NAMES}
    for name, loss in _losses(action, weights).items():
        value, grads = jax.value_and_grad(loss, argnums=(0, 1))(logits, tau)
        out[f"{name}_value"], out[f"{name}_grads"] = value, grads
    return out


def _run(dtype, case, tau):
    logits = jnp.asarray(_cases(dtype)[case], dtype)
    z64 = np.asarray(logits, np.float64)  # the same values the library sees
    tau = float(np.float32(tau))
    ref = np_reference(z64, tau)
    action = int(np.argmax(ref["softmax"]))
    weights = np.linspace(-1.0, 2.0, z64.size, dtype=np.float32)
    out = _values_and_gradients(logits, np.float32(tau), action, weights)
    return z64, tau, ref, action, weights, out


def assert_matches_reference(actual, expected, dtype, name=""):
    """Within one ulp of ``dtype`` (plus float32's absolute error); ``inf`` where the
    reference rounds to ``inf`` in ``dtype``; no NaN unless the reference is NaN."""
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    with np.errstate(over="ignore"):
        rounded = np.asarray(expected.astype(dtype), np.float64)
    expected = np.where(np.isinf(rounded), rounded, expected)
    # float16 keeps its subnormals through float32; below float32's smallest normal
    # XLA flushes to zero.
    atol = max(float(jnp.finfo(dtype).smallest_subnormal), float(F32.tiny), 1e-6)
    np.testing.assert_allclose(
        actual, expected, rtol=_eps(dtype), atol=atol, err_msg=name
    )


# --- values -------------------------------------------------------------------------


@pytest.mark.parametrize("tau", TAUS)
@pytest.mark.parametrize("case", CASE_NAMES)
@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
def test_values_match_float64_reference(dtype_name, case, tau):
    dtype = DTYPES[dtype_name]
    _, _, ref, _, _, out = _run(dtype, case, tau)
    for name in VALUE_NAMES:
        assert out[name].dtype == dtype, name
        assert_matches_reference(out[name], ref[name], dtype, name)
    np.testing.assert_allclose(
        np.sum(np.asarray(out["softmax"], np.float64)), 1.0, rtol=2 * _eps(dtype)
    )


@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
def test_nan_logits_give_nan(dtype_name):
    """NaN propagates (the edge cases above check that nothing else gives NaN)."""
    dtype = DTYPES[dtype_name]
    nan_logits = jnp.asarray([math.nan, 1.0, 2.0, 3.0], dtype)
    for tau in (0.0, 1.0, math.inf):
        out = _values_and_gradients(nan_logits, np.float32(tau), 0, np.ones(4))
        for name in VALUE_NAMES:
            assert out[name].dtype == dtype
            assert np.all(np.isnan(np.asarray(out[name], np.float32))), (name, tau)


# --- gradients ------------------------------------------------------------------------


@pytest.mark.parametrize("tau", TAUS)
@pytest.mark.parametrize("case", CASE_NAMES)
@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
def test_gradients_match_closed_forms_and_are_finite(dtype_name, case, tau):
    """Where a loss is finite, its gradients (logits' in their dtype, tau's in
    float32) have no NaN, are finite wherever the float64 closed form is finite and
    in range, and equal it up to float32 rounding of the terms and one ulp."""
    dtype = DTYPES[dtype_name]
    z64, tau, _, action, weights, out = _run(dtype, case, tau)
    expected = np_gradients(z64, tau, action, weights)
    for name in LOSSES:
        if not np.isfinite(np.asarray(out[f"{name}_value"], np.float64)):
            continue
        ref_logits, scale_logits, ref_tau, scale_tau = expected[name]
        grad_logits, grad_tau = out[f"{name}_grads"]
        assert grad_logits.dtype == dtype and grad_tau.dtype == jnp.float32, name
        for actual, ref, scale, out_dtype in [
            (grad_logits, ref_logits, scale_logits, dtype),
            (grad_tau, ref_tau, scale_tau, jnp.float32),
        ]:
            actual, ref = np.asarray(actual, np.float64), np.asarray(ref, np.float64)
            assert not np.any(np.isnan(actual)), (name, actual)
            in_range = np.isfinite(ref) & (np.abs(ref) <= _big(out_dtype) / 2)
            assert np.all(np.isfinite(actual[in_range])), (name, actual, ref)
            np.testing.assert_allclose(
                actual[in_range],
                ref[in_range],
                rtol=2 * _eps(out_dtype),
                atol=16 * F32.eps * np.max(np.broadcast_to(scale, np.shape(ref)))
                + float(jnp.finfo(out_dtype).smallest_subnormal),
                err_msg=name,
            )


# --- every public function keeps the half dtype: plain, jit, vmap --------------------

_Z = [0.5, -1.0, 2.0, 0.0, 1.5]
_P = [0.1, 0.2, 0.3, 0.15, 0.25]


def _np_softmax(z, tau):
    return np_reference(z, tau)["softmax"]


def _np_bisect(measure, target, increasing):
    """``tau`` with ``measure(tau) == target`` by bisection on ``log tau``, float64."""
    lo, hi = -200.0, 200.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        above = measure(math.exp(mid)) > target
        lo, hi = (lo, mid) if above == increasing else (mid, hi)
    return math.exp(0.5 * (lo + hi))


def _np_tau_for_entropy(z, target):
    return _np_bisect(lambda t: np_reference(z, t)["entropy"], target, True)


def _np_tau_for_expected_value(z, target):
    return _np_bisect(lambda t: np_reference(z, t)["expected_value"], target, False)


def _np_mellowmax(z, omega):
    return (np.logaddexp.reduce(omega * z) - np.log(z.size)) / omega


def _np_mellowmax_temperature(z, omega):
    return _np_tau_for_expected_value(z, _np_mellowmax(z, omega))


# name -> (arguments after the half array, float64 reference of (x, *arguments))
PUBLIC = {
    "base_softmax": ((2.0,), lambda z, b: _np_softmax(z * np.log(b), 1.0)),
    "categorical_entropy": ((), lambda p: -np.sum(p * np.log(p))),
    "entropy": ((0.7,), lambda z, t: np_reference(z, t)["entropy"]),
    "expected_value": ((0.7,), lambda z, t: np_reference(z, t)["expected_value"]),
    "free_energy": ((0.7,), lambda z, t: np_reference(z, t)["free_energy"]),
    "linear_normalize": ((), lambda p: p / p.sum()),
    "log_partition": ((0.7,), lambda z, t: np_reference(z, t)["log_partition"]),
    "log_softmax": ((0.7,), lambda z, t: np_reference(z, t)["log_softmax"]),
    "logits_from_probs": ((0.7,), lambda p, t: t * np.log(p)),
    "mellowmax": ((2.0,), _np_mellowmax),
    "mellowmax_policy": (
        (2.0,),
        lambda z, w: _np_softmax(z, _np_mellowmax_temperature(z, w)),
    ),
    "mellowmax_temperature": ((2.0,), _np_mellowmax_temperature),
    "softmax": ((0.7,), _np_softmax),
    "softmax_jacobian": ((0.7,), lambda p, t: (np.diag(p) - np.outer(p, p)) / t),
    "tau_for_entropy": ((1.0,), _np_tau_for_entropy),
    "tau_for_expected_value": ((1.0,), _np_tau_for_expected_value),
    "tau_from_base": ((), lambda b: 1.0 / np.log(b)),
}
_TAKES_PROBS = {
    "categorical_entropy",
    "linear_normalize",
    "logits_from_probs",
    "softmax_jacobian",
}


def test_public_cases_cover_softmax_all():
    assert set(PUBLIC) == set(sm.__all__)


@pytest.mark.parametrize("name", sorted(PUBLIC))
@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
def test_public_function_keeps_half_dtype_plain_jit_vmap(dtype_name, name):
    dtype = DTYPES[dtype_name]
    args, np_fn = PUBLIC[name]
    x = [1.7] if name == "tau_from_base" else _P if name in _TAKES_PROBS else _Z
    x = jnp.asarray(x[0] if name == "tau_from_base" else x, dtype)
    fn = getattr(sm, name)
    args = tuple(np.float32(a) for a in args)
    expected = np_fn(np.asarray(x, np.float64), *(float(a) for a in args))
    # jit of vmap: one compile covers both (eager vmap would compile op by op)
    in_axes = (0,) + (None,) * len(args)
    batched = jax.jit(jax.vmap(fn, in_axes=in_axes))(jnp.stack([x, x]), *args)
    assert batched.shape == (2, *np.shape(expected))
    outputs = [batched[0], batched[1]]
    if not name.startswith("tau_for_"):  # called plainly in the solver test below
        outputs.append(fn(x, *args))
    for out in outputs:
        assert out.dtype == dtype and out.shape == np.shape(expected)
        assert_matches_reference(out, expected, dtype, name)


# --- temperature solvers ---------------------------------------------------------


def _solver_cases(dtype):
    """``(logits, target entropy, target value as a fraction from mean to max)``."""
    big = _big(dtype)
    if dtype == jnp.bfloat16:
        # Differences overflow float32; the answers (~1e37) are set by the gap of the
        # top two (1e37) and stay below the ~8.5e37 where 1 / tau flushes to zero.
        near_max = ([big, 0.97 * big, -big, 0.0], 0.3, 0.99)
    else:
        near_max = ([6e4, -6e4, 0.0, 3e4], 0.3, 0.5)  # answers above 1e4
    return {"moderate": ([0.0, 1.0, 2.0, -1.0], 0.6, 0.5), "near_max": near_max}


@pytest.mark.parametrize("case", ["moderate", "near_max"])
@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
def test_tau_solvers_match_float64_bisection(dtype_name, case):
    dtype = DTYPES[dtype_name]
    values, target_entropy, fraction = _solver_cases(dtype)[case]
    logits = jnp.asarray(values, dtype)
    z64 = np.asarray(logits, np.float64)
    tau = sm.tau_for_entropy(logits, target_entropy)
    assert tau.dtype == dtype
    expected = _np_tau_for_entropy(z64, target_entropy)
    assert_matches_reference(tau, expected, dtype, "tau_for_entropy")
    target_value = np.mean(z64) + fraction * (np.max(z64) - np.mean(z64))
    tau = sm.tau_for_expected_value(logits, np.float32(target_value))
    assert tau.dtype == dtype
    expected = _np_tau_for_expected_value(z64, target_value)
    assert_matches_reference(tau, expected, dtype, "tau_for_expected_value")


# --- policies ---------------------------------------------------------------------


@jax.jit
def _policy_outputs(values, tau, epsilon):
    actions = jnp.arange(values.shape[-1])
    out = {}
    for name, policy in {
        "boltzmann": pol.boltzmann(tau),
        "epsilon_greedy": pol.epsilon_greedy(epsilon),
    }.items():
        out[name] = {
            "probs": policy.probs(values),
            "log_prob": jax.vmap(policy.log_prob, in_axes=(None, 0))(values, actions),
            "entropy": policy.entropy(values),
        }
    return out


@pytest.mark.parametrize("tau", [0.0, 1e-6, 1.0, 1e5, math.inf])
@pytest.mark.parametrize("case", ["near_max", "masked", "two_plus_inf", "tiny_probs"])
@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
def test_policy_probs_log_probs_and_entropy_match_reference(dtype_name, case, tau):
    dtype = DTYPES[dtype_name]
    values = jnp.asarray(_cases(dtype)[case], dtype)
    z64 = np.asarray(values, np.float64)
    tau = float(np.float32(tau))
    epsilon = 0.1
    greedy = np_reference(z64, 0.0)["softmax"]
    eps_probs = (1 - epsilon) * greedy + epsilon / z64.size
    expected = {
        "boltzmann": np_reference(z64, tau),
        "epsilon_greedy": {
            "softmax": eps_probs,
            "log_softmax": np.log(eps_probs),
            "entropy": -np.sum(eps_probs * np.log(eps_probs)),
        },
    }
    out = _policy_outputs(values, np.float32(tau), np.float32(epsilon))
    # A float32 epsilon promotes the mixture to float32, as in jnp.
    out_dtypes = {"boltzmann": dtype, "epsilon_greedy": jnp.float32}
    for name, ref in expected.items():
        for key, ref_key in [
            ("probs", "softmax"),
            ("log_prob", "log_softmax"),
            ("entropy", "entropy"),
        ]:
            assert out[name][key].dtype == out_dtypes[name], (name, key)
            assert_matches_reference(out[name][key], ref[ref_key], dtype, name + key)


NUM_DRAWS = 20_000


def assert_frequencies_match(actions, probs):
    """Counts within 5 binomial standard errors (+5 for tiny p); p == 0 never drawn."""
    counts = np.bincount(np.asarray(actions), minlength=len(probs))
    tolerance = 5 * np.sqrt(NUM_DRAWS * probs * (1 - probs)) + 5
    np.testing.assert_array_less(np.abs(counts - NUM_DRAWS * probs), tolerance)
    np.testing.assert_array_equal(counts[probs == 0], 0)


def _draws(sample, *args):
    keys = jax.random.split(jax.random.key(0), NUM_DRAWS)
    in_axes = (0,) + (None,) * len(args)
    return jax.jit(jax.vmap(sample, in_axes=in_axes))(keys, *args)


@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
def test_small_probabilities_are_sampled_at_their_rate(dtype_name):
    """A uniform drawn in bfloat16 takes 2**8 values, which made p = 9e-4 come out at
    1/128; draws use a float32 uniform and float32 partial sums."""
    dtype = DTYPES[dtype_name]
    values = jnp.asarray([0.0, 7.0, -math.inf, 7.0], dtype)
    policy = pol.boltzmann(1.0)
    probs = np.asarray(policy.probs(values), np.float64)
    np.testing.assert_allclose(
        probs, _np_softmax(np.asarray(values, np.float64), 1.0), rtol=_eps(dtype)
    )
    assert_frequencies_match(_draws(policy.sample, values), probs / probs.sum())


@pytest.mark.parametrize("dtype_name", sorted(DTYPES))
def test_boltzmann_gumbel_with_equal_counts_is_boltzmann(dtype_name):
    """Equal counts make every ``beta = c / sqrt(N)`` equal: Boltzmann at that tau.

    With a Python float ``c`` the noise used to be added in the values' dtype: float16
    values near 65504 overflowed to ties at inf (action 0: 0.78 instead of 0.65), and
    bfloat16 rounded noise of a few units at 1024 to ties (0.96 instead of 1/3).
    """
    dtype = DTYPES[dtype_name]
    if dtype == jnp.float16:
        values, c = [65504.0, 65472.0], 100.0
    else:
        values, c = [1024.0, 1024.0, 1024.0], 2.0
    values = jnp.asarray(values, dtype)
    counts = jnp.full(values.shape, 4.0, dtype)
    actions = _draws(pol.boltzmann_gumbel_sample, values, counts, c)
    beta = c / 2.0
    assert_frequencies_match(actions, _np_softmax(np.asarray(values, np.float64), beta))


# --- float64 mode -------------------------------------------------------------------


def test_float64_mode_computes_in_float64():
    """A gap of 1e-12 at tau = 1e-12 is a 0.27 / 0.73 split in float64; in float32
    both logits round to 1.0 and the policy is uniform."""
    values = np.array([1.0, 1.0 + 1e-12], np.float64)
    with jax.enable_x64(True):
        probs = sm.softmax(jnp.asarray(values), 1e-12)
        assert probs.dtype == jnp.float64
        np.testing.assert_allclose(probs, _np_softmax(values, 1e-12), rtol=1e-9)
    probs = sm.softmax(values.astype(np.float32), np.float32(1e-12))
    assert probs.dtype == jnp.float32
    np.testing.assert_array_equal(probs, [0.5, 0.5])
