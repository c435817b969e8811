"""The softmax maths: Boltzmann probabilities at temperature ``tau``, exact and stable.

``softmax(z, tau)_j = exp(z_j / tau) / sum_k exp(z_k / tau)``. Large ``tau`` tends to
the uniform distribution, ``tau -> 0+`` to the argmax with ties split evenly, and
``tau == 0`` is allowed and returns exactly that greedy limit.

Every function is pure ``jax.numpy``: it works under ``jit``, ``vmap`` and ``grad``.
``tau`` is a scalar or an array that broadcasts against ``logits`` without their
action axis, so one call can evaluate a whole grid of temperatures.

Stability comes from subtracting the largest logit before dividing by ``tau``
(softmax is invariant to ``logits + c``), which keeps logits of magnitude ``1e30`` and
``-inf`` (masked) entries exact. ``+inf`` entries (e.g. untried arms under UCB) share
all the mass; a distribution whose logits are all ``-inf`` is uniform (every action
equally impossible).

Precision: every function returns the floating dtype of its first argument (integers
become the default float). float16 and bfloat16 inputs are computed in float32 and
rounded once at the end, so their limits are those of float32 rather than of their own
narrow range: ``tau`` is never rounded to the half dtype (``tau = 1e-6`` would be a
float16 subnormal and ``1e5`` would overflow it), differences of logits near the dtype
maximum do not overflow, and only a result beyond the dtype's range saturates (to
``+-inf`` or 0). float32 inputs compute in float32. float64 inputs compute in float64
only when JAX's 64-bit mode is on (``jax.config.update("jax_enable_x64", True)`` at
start-up, or ``JAX_ENABLE_X64=1`` in the environment); otherwise JAX stores them as
float32 on entry and the results are float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

__all__ = [
    "base_softmax",
    "categorical_entropy",
    "entropy",
    "expected_value",
    "free_energy",
    "linear_normalize",
    "log_partition",
    "log_softmax",
    "logits_from_probs",
    "mellowmax",
    "mellowmax_policy",
    "mellowmax_temperature",
    "softmax",
    "softmax_jacobian",
    "tau_for_entropy",
    "tau_for_expected_value",
    "tau_from_base",
]


def _as_float(x: ArrayLike) -> jax.Array:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def _compute_dtype(x: jax.Array) -> np.dtype:
    """float32 for floats narrower than it (float16, bfloat16), else ``x``'s dtype."""
    return np.dtype(jnp.float32) if jnp.finfo(x.dtype).bits < 32 else x.dtype


def _is_narrow(x: ArrayLike) -> bool:
    return _compute_dtype(_as_float(x)) != _as_float(x).dtype


def _widened(x: ArrayLike) -> jax.Array:
    """``x`` as a float in its compute dtype: half precision widened to float32."""
    x = _as_float(x)
    return x.astype(_compute_dtype(x))


def _like(x: ArrayLike, result: jax.Array) -> jax.Array:
    """``result`` rounded to ``x``'s float dtype (a no-op unless ``x`` was narrow)."""
    return result.astype(_as_float(x).dtype)


def _tau_like(tau: ArrayLike, logits: jax.Array, axis: int) -> jax.Array:
    """Broadcasts ``tau`` to ``logits``' shape without ``axis``, then re-inserts it."""
    batch_shape = tuple(np.delete(np.array(logits.shape, dtype=int), axis))
    tau = jnp.broadcast_to(jnp.asarray(tau, logits.dtype), batch_shape)
    return jnp.expand_dims(tau, axis)


@jax.custom_jvp
def _divide_by_tau(shifted: jax.Array, tau: jax.Array) -> jax.Array:
    return shifted / tau


@_divide_by_tau.defjvp
def _divide_by_tau_jvp(primals, tangents):
    # d(x / tau) = (dx - (x / tau) dtau) / tau. JAX's rule for `/` multiplies by
    # tau**-2, which is inf once tau**2 underflows (tau < 1e-19 in float32), so the
    # zero cotangent of a saturated entry became 0 * inf = NaN. Entries whose x / tau
    # overflowed to -inf have exp(x / tau) == 0 and no tau-gradient.
    shifted, tau = primals
    d_shifted, d_tau = tangents
    scaled = shifted / tau
    finite_scaled = jnp.where(jnp.isfinite(scaled), scaled, 0.0)
    return scaled, (d_shifted - finite_scaled * d_tau) / tau


def _scaled_logits(
    logits: ArrayLike, tau: ArrayLike, axis: int
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Returns ``((z - max z) / tau, max z, tau, z)``, the ``tau == 0`` limit built in.

    The shifted logits are ``<= 0`` with at least one exact ``0``, so exponentiating
    them never overflows and their sum is at least 1. At ``tau == 0`` the maximal
    entries map to 0 and all others to ``-inf``: the greedy limit, never ``0 / 0``.
    Both ``where``s guard the *inputs* of the division too, so gradients stay finite.
    All four are in the compute dtype: half-precision logits are widened to float32
    once, here, so that gradients from every use of ``z`` add up in float32.
    """
    narrow = _is_narrow(logits)
    logits = _widened(logits)
    tau = _tau_like(tau, logits, axis)
    top = jax.lax.stop_gradient(jnp.max(logits, axis=axis, keepdims=True))
    # Entries equal to the max shift to exactly 0 (also +inf ones, where inf - inf
    # would be NaN): they share the mass when tau == 0 or some logits are +inf.
    # `z - stop_gradient(z)` is that 0 with the gradient of `z - top` (a constant 0
    # would cut the gradient through the largest logits).
    finite_logits = jnp.where(jnp.isfinite(logits), logits, 0.0)
    at_top = finite_logits - jax.lax.stop_gradient(finite_logits)
    shifted = jnp.where(logits == top, at_top, logits - top)
    finite = jnp.isfinite(shifted)
    positive_tau = tau > 0
    safe_shifted = jnp.where(finite, shifted, 0.0)
    safe_tau = jnp.where(positive_tau, tau, 1.0)
    greedy = jnp.where(shifted == 0, 0.0, -jnp.inf).astype(logits.dtype)
    quotient = _divide_by_tau(safe_shifted, safe_tau)
    if narrow:
        quotient, finite = _rescue_overflowed(logits, top, quotient, finite, safe_tau)
    scaled = jnp.where(positive_tau, quotient, greedy)
    scaled = jnp.where(finite, scaled, -jnp.inf)
    return scaled, top, tau, logits


def _rescue_overflowed(
    logits: jax.Array,
    top: jax.Array,
    quotient: jax.Array,
    finite: jax.Array,
    safe_tau: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """``(z - max z) / tau`` where ``z - max z`` overflowed although both are finite.

    bfloat16 reaches float32's maximum, so widening does not keep the difference of
    two logits of opposite sign near ``3.4e38`` finite. Halving both is exact at that
    magnitude and cannot overflow; the quotient is doubled after the division, so it
    overflows only where ``exp`` of it is 0 anyway. Other entries are unchanged.
    """
    overflowed = ~finite & jnp.isfinite(logits) & jnp.isfinite(top)
    halved = jnp.where(overflowed, 0.5 * logits - 0.5 * top, 0.0)
    rescued = 2.0 * _divide_by_tau(halved, safe_tau)
    return jnp.where(overflowed, rescued, quotient), finite | overflowed


def softmax(logits: ArrayLike, tau: ArrayLike = 1.0, axis: int = -1) -> jax.Array:
    """Boltzmann probabilities ``exp(z / tau) / sum exp(z / tau)`` along ``axis``.

    Args:
      logits: ``[..., num_actions]`` preferences or values (any float dtype).
      tau: temperature ``>= 0``, scalar or broadcastable to ``logits.shape[:-1]``.
        ``tau == 0`` gives the argmax with ties split evenly.
      axis: the action axis.

    Returns:
      ``[..., num_actions]`` probabilities: non-negative, summing to one.

    Examples:
      >>> [round(float(p), 4) for p in softmax(jnp.array([2.0, 4.0, 2.0, 1.0]))]
      [0.1025, 0.7573, 0.1025, 0.0377]
      >>> [float(p) for p in softmax(jnp.array([1.0, 3.0, 3.0]), tau=0.0)]
      [0.0, 0.5, 0.5]
    """
    return _like(logits, _softmax(logits, tau, axis))


def _softmax(logits: ArrayLike, tau: ArrayLike, axis: int) -> jax.Array:
    scaled, _, _, _ = _scaled_logits(logits, tau, axis)
    return _normalised(jnp.exp(scaled), axis)


def _normalised(unnormalised: jax.Array, axis: int) -> jax.Array:
    return unnormalised / jnp.sum(unnormalised, axis=axis, keepdims=True)


def log_softmax(logits: ArrayLike, tau: ArrayLike = 1.0, axis: int = -1) -> jax.Array:
    """Log-probabilities ``z / tau - logsumexp(z / tau)``; ``-inf`` where ``p == 0``.

    Args:
      logits: ``[..., num_actions]`` preferences or values.
      tau: temperature ``>= 0`` (see :func:`softmax`).
      axis: the action axis.

    Returns:
      ``[..., num_actions]`` log-probabilities.
    """
    return _like(logits, _log_softmax(logits, tau, axis))


def _log_softmax(logits: ArrayLike, tau: ArrayLike, axis: int) -> jax.Array:
    scaled, _, _, _ = _scaled_logits(logits, tau, axis)
    # max(scaled) == 0, so the sum is in [1, num_actions]: its log needs no shift.
    return scaled - jnp.log(jnp.sum(jnp.exp(scaled), axis=axis, keepdims=True))


def log_partition(logits: ArrayLike, tau: ArrayLike = 1.0, axis: int = -1) -> jax.Array:
    """``log Z`` with ``Z = sum_k exp(z_k / tau)``, computed as ``max/tau + logsumexp``.

    At ``tau == 0`` this is the limit: ``+inf`` (or ``-inf``) when the largest logit
    is positive (negative), and ``log(number of ties)`` when it is exactly 0.

    Args:
      logits: ``[..., num_actions]``.
      tau: temperature ``>= 0``.
      axis: the action axis.

    Returns:
      ``[...]`` log-partition values.
    """
    narrow = _is_narrow(logits)
    scaled, top, tau, _ = _scaled_logits(logits, tau, axis)
    safe_tau = jnp.where(tau > 0, tau, 1.0)
    # Half precision: the tau-gradient of top / tau without tau**-2, which underflows
    # to 0 for tiny tau (NaN when top == 0) and overflows for huge tau.
    quotient = _divide_by_tau(top, safe_tau) if narrow else top / safe_tau
    top_over_tau = jnp.where(tau > 0, quotient, jnp.where(top == 0, 0.0, top * jnp.inf))
    log_sum = jnp.log(jnp.sum(jnp.exp(scaled), axis=axis, keepdims=True))
    log_z = top_over_tau + log_sum
    if narrow:
        # +inf logits keep log Z at +inf, all -inf at -inf, even at tau = inf
        # (where top / tau is inf / inf).
        log_z = jnp.where(jnp.isinf(top), top, log_z)
    return _like(logits, jnp.squeeze(log_z, axis))


def free_energy(logits: ArrayLike, tau: ArrayLike = 1.0, axis: int = -1) -> jax.Array:
    """The soft maximum ``tau * log Z``; its gradient w.r.t. ``logits`` is the softmax.

    Tends to ``max(z)`` as ``tau -> 0`` (and equals it at ``tau == 0``).

    Args:
      logits: ``[..., num_actions]``.
      tau: temperature ``>= 0``.
      axis: the action axis.

    Returns:
      ``[...]`` free energies.
    """
    scaled, top, tau, wide = _scaled_logits(logits, tau, axis)
    log_sum = jnp.log(jnp.sum(jnp.exp(scaled), axis=axis, keepdims=True))
    # `top` has no gradient: for tau > 0 the softmax reaches the logits via `scaled`,
    # but at tau == 0 `scaled` is constant and the free energy is max(z) itself, whose
    # gradient is the argmax indicator with ties split evenly, i.e. softmax(z, 0).
    max_with_gradient = jnp.max(wide, axis=axis, keepdims=True)
    top = jnp.where(tau > 0, top, max_with_gradient)
    if _is_narrow(logits):
        # At tau = inf, tau * log_sum is inf * 0 when one action holds all the mass
        # (the free energy is then its logit); all -inf logits give -inf, also where
        # tau * log_sum overflows to inf.
        exact = (jnp.isinf(tau) & (log_sum == 0)) | (top == -jnp.inf)
        top = jnp.where(exact, max_with_gradient, top)
        tau = jnp.where(exact, 0.0, tau)
    return _like(logits, jnp.squeeze(top + tau * log_sum, axis))


def entropy(logits: ArrayLike, tau: ArrayLike = 1.0, axis: int = -1) -> jax.Array:
    """Entropy ``-sum p log p`` of ``softmax(logits, tau)`` in nats, in ``[0, log K]``.

    Args:
      logits: ``[..., num_actions]``.
      tau: temperature ``>= 0``.
      axis: the action axis.

    Returns:
      ``[...]`` entropies.
    """
    return _like(logits, _entropy(logits, tau, axis))


def _entropy(logits: ArrayLike, tau: ArrayLike, axis: int = -1) -> jax.Array:
    log_probs = _log_softmax(logits, tau, axis)
    probs = jnp.exp(log_probs)
    # Zero the log where p == 0 before multiplying: 0 * -inf is NaN, in the value
    # and in the gradient.
    return -jnp.sum(probs * jnp.where(probs > 0, log_probs, 0.0), axis=axis)


def categorical_entropy(probs: ArrayLike, axis: int = -1) -> jax.Array:
    """Entropy ``-sum p log p`` (nats) of probabilities given directly; ``0 log 0 = 0``.

    For a softmax prefer :func:`entropy`, which takes ``log p`` from the logits and
    stays exact where ``p`` underflows.

    Args:
      probs: ``[..., num_actions]`` probabilities.
      axis: the action axis.

    Returns:
      ``[...]`` entropies.

    Examples:
      >>> float(categorical_entropy(jnp.array([0.5, 0.5, 0.0])))  # log 2
      0.6931471824645996
    """
    wide = _widened(probs)
    # log of 1 where p == 0: finite, so neither the value nor the gradient sees -inf.
    safe_log = jnp.log(jnp.where(wide > 0, wide, 1.0))
    return _like(probs, -jnp.sum(jnp.where(wide > 0, wide * safe_log, 0.0), axis=axis))


def expected_value(
    values: ArrayLike, tau: ArrayLike = 1.0, axis: int = -1
) -> jax.Array:
    """``sum_k p_k v_k`` under ``p = softmax(values, tau)``: what the policy earns.

    Args:
      values: ``[..., num_actions]`` action values (``-inf`` entries are never taken).
      tau: temperature ``>= 0``.
      axis: the action axis.

    Returns:
      ``[...]`` expected values.
    """
    return _like(values, _expected_value(values, tau, axis))


def _expected_value(values: ArrayLike, tau: ArrayLike, axis: int = -1) -> jax.Array:
    scaled, _, _, values = _scaled_logits(values, tau, axis)
    probs = _normalised(jnp.exp(scaled), axis)
    safe_values = jnp.where(probs > 0, values, 0.0)
    return jnp.sum(probs * safe_values, axis=axis)


def mellowmax(values: ArrayLike, omega: ArrayLike = 1.0, axis: int = -1) -> jax.Array:
    """Mellowmax ``mm_omega(v) = log(mean_k exp(omega v_k)) / omega``.

    Asadi & Littman (2017), "An Alternative Softmax Operator for Reinforcement
    Learning": unlike the Boltzmann operator (:func:`expected_value`), mellowmax is a
    non-expansion in the max norm, so value iteration with it has one fixed point.
    It tends to ``max(v)`` as ``omega -> inf``, to the mean as ``omega -> 0`` and to
    ``min(v)`` as ``omega -> -inf`` (each exact at its limit, ``omega = 0`` included).
    :func:`free_energy` at ``tau = 1 / omega`` is the same soft maximum without the
    ``- log(K) / omega``.

    Computed around the largest value (the smallest for ``omega < 0``) as
    ``anchor + log1p(mean(expm1(omega (v - anchor)))) / omega``, so values of
    magnitude ``1e30``, ``-inf`` entries and ``omega`` from ``1e-6`` to ``1e6`` stay
    exact to float precision; a ``+inf`` value gives ``+inf`` for ``omega > 0``.

    Args:
      values: ``[..., num_actions]``.
      omega: scalar or array broadcasting against ``values`` without ``axis``.
      axis: the action axis.

    Returns:
      ``[...]`` mellowmax values.
    """
    wide = _widened(values)
    omega = _tau_like(omega, wide, axis)
    positive = omega >= 0
    top = jnp.max(wide, axis=axis, keepdims=True)
    bottom = jnp.min(wide, axis=axis, keepdims=True)
    anchor = jnp.where(positive, top, bottom)
    # The extreme on the anchor's side decides alone when it is infinite (or every
    # value is): keep the arithmetic finite there and take the anchor at the end.
    decided = jnp.isinf(anchor) | jnp.isinf(omega)
    safe_anchor = jnp.where(decided, 0.0, anchor)
    safe_omega = jnp.where((omega == 0) | jnp.isinf(omega), 1.0, omega)
    gaps = jnp.where(jnp.isinf(wide), -jnp.inf, safe_omega * (wide - safe_anchor))
    gaps = jnp.where(decided, 0.0, gaps)
    shrink = jnp.mean(jnp.expm1(gaps), axis=axis, keepdims=True)  # in (-1, 0]
    soft = safe_anchor + jnp.log1p(shrink) / safe_omega
    mean = jnp.mean(wide, axis=axis, keepdims=True)
    result = jnp.where(omega == 0, mean, jnp.where(decided, anchor, soft))
    return _like(values, jnp.squeeze(result, axis))


def mellowmax_temperature(
    values: ArrayLike, omega: ArrayLike = 1.0, *, num_iters: int = 60
) -> jax.Array:
    """The temperature of :func:`mellowmax_policy`: ``tau`` with
    ``expected_value(values, tau) == mellowmax(values, omega)``.

    Asadi & Littman (2017), Sec. 5: the ``1 / beta`` that solves
    ``sum_k exp((v_k - mm) / tau) (v_k - mm) = 0``, found by bisection on
    ``log tau`` (:func:`tau_for_expected_value`). It depends on the values, so a
    policy at this temperature has one per state. ``omega = 0`` gives ``inf``
    (uniform), ``omega = inf`` gives 0 (greedy), equal values ``inf``.

    Args:
      values: ``[num_actions]`` action values (vmap for batches).
      omega: scalar ``>= 0`` (concrete negative values raise ``ValueError``; under
        ``jit`` they give the uniform limit).
      num_iters: bisection steps on ``log tau`` (static).

    Returns:
      scalar ``tau`` in ``[0, inf]``.
    """
    wide = _widened(values)
    omega = jnp.asarray(omega, wide.dtype)
    try:
        if np.any(np.asarray(omega) < 0):
            raise ValueError(
                f"omega={np.asarray(omega)} is not allowed: expected omega >= 0 (a "
                "negative omega is a soft minimum, which no Boltzmann policy of "
                "temperature >= 0 earns)."
            )
    except jax.errors.TracerArrayConversionError:
        pass
    target = mellowmax(wide, omega)
    tau = _bisect_log_tau(_expected_value, target, wide, num_iters, increasing=False)
    tau = jnp.where(jnp.isinf(omega), 0.0, jnp.where(omega <= 0, jnp.inf, tau))
    return _like(values, tau)


def mellowmax_policy(
    values: ArrayLike, omega: ArrayLike = 1.0, *, num_iters: int = 60
) -> jax.Array:
    """The maximum-entropy Boltzmann policy that earns ``mellowmax(values, omega)``.

    Asadi & Littman (2017), Sec. 5: among all distributions whose expected value is
    ``mm_omega(v)``, the one of largest entropy is ``softmax(v / tau)`` at
    :func:`mellowmax_temperature`. ``omega = 0`` gives the uniform policy,
    ``omega = inf`` the greedy one, equal values the uniform one.

    Args:
      values: ``[num_actions]`` action values (vmap for batches).
      omega: scalar ``>= 0``.
      num_iters: bisection steps on ``log tau`` (static).

    Returns:
      ``[num_actions]`` probabilities.
    """
    tau = mellowmax_temperature(values, omega, num_iters=num_iters)
    return _like(values, _softmax(_widened(values), tau, -1))


def softmax_jacobian(probs: ArrayLike, tau: ArrayLike = 1.0) -> jax.Array:
    """Jacobian ``d p_i / d z_k = p_i (delta_ik - p_k) / tau`` of the softmax.

    Args:
      probs: ``[num_actions]`` softmax output ``p``.
      tau: temperature ``> 0`` (scalar).

    Returns:
      ``[num_actions, num_actions]`` matrix, row ``i`` output, column ``k`` input.
    """
    wide = _widened(probs)
    jacobian = (jnp.diag(wide) - jnp.outer(wide, wide)) / jnp.asarray(tau, wide.dtype)
    return _like(probs, jacobian)


def logits_from_probs(
    probs: ArrayLike, tau: ArrayLike = 1.0, axis: int = -1
) -> jax.Array:
    """Inverse softmax ``z = tau * log p + C`` with ``C = 0``.

    Any constant ``C`` gives the same probabilities; choosing ``C = 0`` normalises the
    result so that ``log_partition(z, tau) == 0``. Zero probabilities give ``-inf``.

    Args:
      probs: ``[..., num_actions]`` probabilities.
      tau: temperature ``> 0``, broadcastable to ``probs.shape[:-1]``.
      axis: the action axis.

    Returns:
      ``[..., num_actions]`` logits with ``softmax(z, tau) == probs``.
    """
    wide = _widened(probs)
    return _like(probs, _tau_like(tau, wide, axis) * jnp.log(wide))


def tau_from_base(base: ArrayLike) -> jax.Array:
    """Temperature ``1 / ln(base)`` at which ``softmax(z, tau)`` is ``base**z / sum``.

    ``e`` is ``tau = 1``: choosing the base of the exponential chooses a temperature.
    """
    return _like(base, _tau_from_base(base))


def _tau_from_base(base: ArrayLike) -> jax.Array:
    return 1.0 / jnp.log(_widened(base))


def base_softmax(logits: ArrayLike, base: ArrayLike, axis: int = -1) -> jax.Array:
    """``base**z / sum_k base**z_k`` for ``base > 1``, computed stably.

    Equal to ``softmax(logits, tau_from_base(base))``; ``base == 1`` is uniform.

    Args:
      logits: ``[..., num_actions]``.
      base: ``>= 1``, scalar or broadcastable to ``logits.shape[:-1]``.
      axis: the action axis.

    Returns:
      ``[..., num_actions]`` probabilities.
    """
    return softmax(logits, _tau_from_base(base), axis)


def linear_normalize(x: ArrayLike, axis: int = -1) -> jax.Array:
    """``x / sum(x)``: NOT a softmax, kept as the counter-example.

    It is not invariant to ``x + c``, is undefined for mixed signs and has no
    temperature. For ``[2, 4, 2, 1]`` it gives ``[0.2222, 0.4444, 0.2222, 0.1111]``
    where the softmax gives ``[0.1025, 0.7573, 0.1025, 0.0377]``.
    """
    wide = _widened(x)
    return _like(x, wide / jnp.sum(wide, axis=axis, keepdims=True))


# --- temperature solvers (maximum-entropy view) -----------------------------------

_LOG_TAU_BELOW_GAP = 25.0  # exp(-25) * smallest gap: every gap saturated, greedy.
_LOG_TAU_ABOVE_SPREAD = 20.0  # exp(20) * spread: uniform to float precision.


def _bisect_log_tau(measure, target, logits, num_iters: int, increasing: bool):
    """Bisection on ``log tau`` for a quantity monotone in ``tau``.

    The bracket is set relative to the finite logits, so the answer does not depend
    on their scale: its greedy end below the smallest gap under the max (near-tied top
    values can sit far closer than the spread), its uniform end above the spread.
    Every iteration halves the bracket; 60 iterations reach float64 resolution over
    a bracket ``45 + log(spread / smallest gap)`` nats wide. ``measure`` gets
    ``logits`` as given; the bracket and the result are in their compute dtype.
    """
    narrow = _is_narrow(logits)
    wide = _widened(logits)
    finite = jnp.isfinite(wide)
    hi_val = jnp.max(jnp.where(finite, wide, -jnp.inf))
    lo_val = jnp.min(jnp.where(finite, wide, jnp.inf))
    spread = jnp.maximum(hi_val - lo_val, jnp.finfo(wide.dtype).tiny)
    if narrow:
        # bfloat16 logits near +-3.4e38 overflow the spread in float32; the largest
        # float is as good an upper end (exp of the bracket saturates there anyway).
        spread = jnp.minimum(spread, jnp.finfo(wide.dtype).max)
    gaps = jnp.where(finite & (wide < hi_val), hi_val - wide, spread)
    smallest_gap = jnp.maximum(jnp.min(gaps), jnp.finfo(wide.dtype).tiny)
    lo = jnp.log(smallest_gap) - _LOG_TAU_BELOW_GAP
    hi = jnp.log(spread) + _LOG_TAU_ABOVE_SPREAD

    def body(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        above = measure(logits, jnp.exp(mid)) > target
        go_down = above if increasing else ~above
        return jnp.where(go_down, lo, mid), jnp.where(go_down, mid, hi)

    lo, hi = jax.lax.fori_loop(0, num_iters, body, (lo, hi))
    # Equal finite logits give the same (uniform) policy at every tau: say so with
    # the uniform limit, inf, rather than an arbitrary point of the bracket.
    return jnp.where(hi_val > lo_val, jnp.exp(0.5 * (lo + hi)), jnp.inf)


def _check_reachable(name: str, target, low, high, limits: str) -> None:
    """Raises ``ValueError`` for an out-of-range target when values are concrete."""
    try:
        target, low, high = (np.asarray(v) for v in (target, low, high))
    except jax.errors.TracerArrayConversionError:
        return  # Under jit the target is clipped instead (documented by the caller).
    bad = (target < low - 1e-6 * np.abs(low)) | (target > high + 1e-6 * np.abs(high))
    if np.any(bad):
        raise ValueError(
            f"{name}={target[bad] if target.ndim else target} is unreachable: "
            f"a Boltzmann policy over these logits reaches only {limits} "
            f"[{low[bad] if low.ndim else low}, {high[bad] if high.ndim else high}]."
        )


def tau_for_entropy(
    logits: ArrayLike, target_entropy: ArrayLike, *, num_iters: int = 60
) -> jax.Array:
    """The temperature whose Boltzmann policy has entropy ``target_entropy`` (nats).

    Entropy grows monotonically with ``tau`` from ``log(number of maximal logits)`` at
    ``tau = 0`` to ``log(number of finite logits)`` as ``tau -> inf`` (and stays at
    ``log(number of +inf logits)`` if there are any). Called with
    concrete values, an unreachable target raises ``ValueError``; under ``jit`` it is
    clipped, giving the greedy (smallest) or uniform (largest bracketed) ``tau``.

    Args:
      logits: ``[num_actions]`` values or preferences.
      target_entropy: scalar target in nats.
      num_iters: bisection steps on ``log tau`` (static).

    Returns:
      scalar ``tau > 0``; ``inf`` when all finite logits are equal (every ``tau``
      gives the uniform policy).
    """
    wide = _widened(logits)
    target = jnp.asarray(target_entropy, wide.dtype)
    num_top = jnp.sum(wide == jnp.max(wide))
    # +inf logits take all the mass at every tau: the entropy is then fixed
    num_support = jnp.where(
        jnp.any(wide == jnp.inf), num_top, jnp.sum(jnp.isfinite(wide))
    )
    _check_reachable(
        "target_entropy",
        target,
        jnp.log(num_top.astype(wide.dtype)),
        jnp.log(num_support.astype(wide.dtype)),
        "entropies in",
    )
    tau = _bisect_log_tau(_entropy, target, logits, num_iters, increasing=True)
    return _like(logits, tau)


def tau_for_expected_value(
    values: ArrayLike, target: ArrayLike, *, num_iters: int = 60
) -> jax.Array:
    """The temperature whose Boltzmann policy earns ``sum_k p_k v_k == target``.

    This is the maximum-entropy problem: among all distributions with expected value
    ``target``, the Boltzmann distribution has the largest entropy and ``1 / tau`` is
    the Lagrange multiplier of the constraint. The expected value falls monotonically
    from ``max(v)`` (``tau = 0``) to the mean of the finite values (``tau -> inf``).
    Concrete unreachable targets raise ``ValueError``; under ``jit`` they are clipped.

    Args:
      values: ``[num_actions]`` action values.
      target: scalar target value.
      num_iters: bisection steps on ``log tau`` (static).

    Returns:
      scalar ``tau > 0``; ``inf`` when all finite values are equal.
    """
    wide = _widened(values)
    target = jnp.asarray(target, wide.dtype)
    finite = jnp.isfinite(wide)
    if _is_narrow(values):
        # bfloat16 values near +-3.4e38 would overflow a float32 sum before the mean
        mean = jnp.sum(jnp.where(finite, wide / jnp.sum(finite), 0.0))
    else:
        mean = jnp.sum(jnp.where(finite, wide, 0.0)) / jnp.sum(finite)
    _check_reachable("target", target, mean, jnp.max(wide), "expected values in")
    tau = _bisect_log_tau(_expected_value, target, values, num_iters, increasing=False)
    return _like(values, tau)
