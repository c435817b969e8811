"""The numbers of the "Why softmax?" tour (docs/why-softmax.md), claim by claim.

Each function computes one claim of the page from :mod:`rl_softmax.softmax` and
returns arrays; :func:`report` turns them into the text ``rl-softmax demo`` prints,
and :mod:`rl_softmax.plotting.tour` draws the page's figures from the same
functions. Inputs are small concrete arrays (a handful of actions): these functions
are for reading, not for the hot path.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from rl_softmax import policies
from rl_softmax import softmax as sm

__all__ = [
    "LOSSES",
    "Descent",
    "MaxEntropy",
    "cross_entropy_gradients",
    "descent_on_two_classes",
    "max_entropy",
    "naive_softmax",
    "report",
    "same_expected_value",
]


# --------------------------------------------------------------- maximum entropy


def same_expected_value(
    key: jax.Array, values: ArrayLike, target: float, num_samples: int
) -> jax.Array:
    """Random distributions ``p`` over actions with ``sum_k p_k v_k == target``.

    The set of such distributions is a polytope whose vertices put all the mass on
    one or two actions: an action ``i`` below the target mixed with an action ``j``
    above it, ``(v_j - target) / (v_j - v_i)`` on ``i``, or one action whose value
    is the target. Every sample is a flat-Dirichlet mixture of those vertices, so the
    samples lie inside the set and reach every part of it (flat-Dirichlet weights
    are independent exponential draws divided by their sum).

    Args:
      key: PRNG key.
      values: ``[num_actions]`` action values.
      target: expected value in ``[min(values), max(values)]``.
      num_samples: how many distributions (static).

    Returns:
      ``[num_samples, num_actions]`` probabilities.
    """
    v = np.asarray(values, np.float64)
    if not v.min() <= target <= v.max():
        raise ValueError(
            f"target={target}: no distribution over these values has it; expected "
            f"a value in [{v.min()}, {v.max()}]."
        )
    vertices = [np.eye(v.size)[k] for k in np.flatnonzero(v == target)]
    for i in np.flatnonzero(v < target):
        for j in np.flatnonzero(v > target):
            vertex = np.zeros(v.size)
            vertex[i] = (v[j] - target) / (v[j] - v[i])
            vertex[j] = 1.0 - vertex[i]
            vertices.append(vertex)
    return _mixtures(key, jnp.asarray(np.stack(vertices), jnp.float32), num_samples)


@functools.partial(jax.jit, static_argnums=2)
def _mixtures(key: jax.Array, vertices: jax.Array, num_samples: int) -> jax.Array:
    draws = jax.random.exponential(key, (num_samples, vertices.shape[0]))
    return (draws / jnp.sum(draws, axis=1, keepdims=True)) @ vertices


class MaxEntropy(NamedTuple):
    """The maximum-entropy claim at one temperature (Jaynes 1957).

    Attributes:
      probs: ``[K]`` the Boltzmann distribution ``softmax(values, tau)``.
      expected_value: ``sum_k p_k v_k`` under it.
      entropy: its entropy in nats.
      samples: ``[N, K]`` random distributions with the same expected value.
      sample_entropies: ``[N]`` their entropies (all at most ``entropy``).
      slope: ``dH / dE`` along the Boltzmann family at ``tau`` (``-1 / tau``).
      entropy_gradient: ``[K]`` ``dH / dp`` at ``probs`` plus ``values / tau``: a
        constant vector, so ``probs`` is a stationary point of ``H`` on the set.
    """

    probs: jax.Array
    expected_value: jax.Array
    entropy: jax.Array
    samples: jax.Array
    sample_entropies: jax.Array
    slope: jax.Array
    entropy_gradient: jax.Array


@jax.jit
def _boltzmann(values: jax.Array, tau: jax.Array) -> dict[str, jax.Array]:
    """The softmax at ``tau``, its expected value and entropy, and the Lagrange
    checks (one compiled program: op by op, every primitive would compile anew)."""
    d_entropy = jax.grad(sm.entropy, argnums=1)(values, tau)
    d_expected_value = jax.grad(sm.expected_value, argnums=1)(values, tau)
    probs = sm.softmax(values, tau)
    return {
        "probs": probs,
        "expected_value": sm.expected_value(values, tau),
        "entropy": sm.entropy(values, tau),
        "slope": d_entropy / d_expected_value,
        "entropy_gradient": jax.grad(sm.categorical_entropy)(probs) + values / tau,
    }


def max_entropy(
    key: jax.Array, values: ArrayLike, tau: float = 1.0, *, num_samples: int = 2000
) -> MaxEntropy:
    """The Boltzmann distribution against random ones with its expected value.

    Args:
      key: PRNG key for the random distributions.
      values: ``[num_actions]`` action values.
      tau: temperature ``> 0``.
      num_samples: how many random distributions (static).

    Returns:
      a :class:`MaxEntropy`.
    """
    values = jnp.asarray(values, jnp.float32)
    boltzmann = _boltzmann(values, jnp.float32(tau))
    samples = same_expected_value(
        key, values, float(boltzmann["expected_value"]), num_samples
    )
    return MaxEntropy(
        samples=samples, sample_entropies=_entropies(samples), **boltzmann
    )


_entropies = jax.jit(sm.categorical_entropy)


# ----------------------------------------------------------------- cross-entropy


def _cross_entropy(logits: jax.Array, label: jax.Array) -> jax.Array:
    return -sm.log_softmax(logits)[label]


def _squared_error(logits: jax.Array, label: jax.Array) -> jax.Array:
    target = jax.nn.one_hot(label, logits.shape[-1], dtype=logits.dtype)
    return 0.5 * jnp.sum((sm.softmax(logits) - target) ** 2)


LOSSES = {"cross_entropy": _cross_entropy, "squared_error": _squared_error}


def cross_entropy_gradients(logits: ArrayLike, label: int) -> dict[str, jax.Array]:
    """``{loss name: gradient w.r.t. the logits}`` of one example's two losses.

    Both losses act on the softmax output ``p``: cross-entropy ``-log p_y`` (gradient
    ``p - onehot(y)``) and squared error ``|p - onehot(y)|**2 / 2`` (gradient
    ``J (p - onehot(y))`` with ``J`` the softmax Jacobian, which vanishes when the
    softmax saturates).

    Args:
      logits: ``[..., num_actions]``; leading axes are batched.
      label: the correct class ``y``.

    Returns:
      ``{"cross_entropy": [..., K], "squared_error": [..., K]}``.
    """
    logits = jnp.asarray(logits, jnp.float32)
    return _gradients(logits, label, logits.ndim - 1)


@functools.partial(jax.jit, static_argnums=2)
def _gradients(logits, label, num_batch_axes: int) -> dict[str, jax.Array]:
    gradients = {}
    for name, loss in LOSSES.items():
        grad = jax.grad(loss)
        for _ in range(num_batch_axes):
            grad = jax.vmap(grad, in_axes=(0, None))
        gradients[name] = grad(logits, label)
    return gradients


class Descent(NamedTuple):
    """Gradient descent on two logits from a confidently wrong start.

    Attributes:
      steps: ``[T + 1]`` step numbers ``0 ... T``.
      prob_correct: ``{loss name: [T + 1]}`` probability of the correct class.
    """

    steps: np.ndarray
    prob_correct: dict[str, jax.Array]


def descent_on_two_classes(
    margin: float = -5.0, *, step_size: float = 1.0, num_steps: int = 60
) -> Descent:
    """Learns ``z = [margin, 0]`` towards class 0 with each loss (Nielsen 2015, ch. 3).

    Args:
      margin: starting ``z_0 - z_1``; negative is wrong, larger is more confident.
      step_size: gradient-descent step size.
      num_steps: steps (static).

    Returns:
      a :class:`Descent`.
    """
    start = jnp.array([margin, 0.0], jnp.float32)
    curves = _descend(start, jnp.float32(step_size), num_steps)
    return Descent(np.arange(num_steps + 1), curves)


@functools.partial(jax.jit, static_argnums=2)
def _descend(start, step_size, num_steps: int) -> dict[str, jax.Array]:
    curves = {}
    for name, loss in LOSSES.items():

        def step(logits, _, loss=loss):
            logits = logits - step_size * jax.grad(loss)(logits, 0)
            return logits, sm.softmax(logits)[0]

        _, probs = jax.lax.scan(step, start, length=num_steps)
        curves[name] = jnp.concatenate([sm.softmax(start)[:1], probs])
    return curves


# ----------------------------------------------------------------------- overflow


def naive_softmax(logits: ArrayLike) -> jax.Array:
    """``exp(z) / sum exp(z)`` as written, without subtracting the max: NOT stable.

    The counter-example of :func:`rl_softmax.softmax.softmax`: in float32,
    ``exp(z)`` is ``inf`` from ``z = 89`` on and ``0`` below about ``-104``, so the
    quotient is ``inf / inf`` or ``0 / 0``, NaN. (Already at ``[88, 0]`` XLA on CPU
    returns zeros: it divides by multiplying with ``1 / sum``, a float32 subnormal
    that it flushes to 0.)
    """
    unnormalised = jnp.exp(jnp.asarray(logits, jnp.float32))
    return unnormalised / jnp.sum(unnormalised, axis=-1, keepdims=True)


# ------------------------------------------------------------------------ report


def _fmt(x) -> str:
    """Rounded to 4 decimals, through float64 (a float32 prints its binary noise)."""
    x = np.asarray(x, np.float64)
    if x.ndim == 0:
        return f"{float(x.round(4))}"
    return str(x.round(4).tolist())


def _max_entropy_lines(key, logits) -> list[str]:
    claim = max_entropy(key, logits, 1.0)
    count = claim.sample_entropies.shape[0]
    best = float(jnp.max(claim.sample_entropies))
    return [
        f"softmax(z) at tau = 1: p = {_fmt(claim.probs)}, expected value "
        f"E = {_fmt(claim.expected_value)}, entropy H = {float(claim.entropy):.5f}",
        f"{count} random distributions with the same E: largest H = {best:.5f}, "
        f"{float(claim.entropy) - best:.1e} below the softmax's",
        f"dH/dE along the Boltzmann family at tau = 1: {_fmt(claim.slope)} "
        "(= -1/tau: 1/tau is the Lagrange multiplier)",
        f"dH/dp + z/tau at p: {_fmt(claim.entropy_gradient)} (constant: stationary)",
    ]


def _limits_lines(logits) -> list[str]:
    ties = jnp.array([3.0, 1.0, 3.0, 2.0])
    lines = [
        f"softmax({_fmt(ties)}) at tau = {tau:g}: {_fmt(sm.softmax(ties, tau))}"
        for tau in (1.0, 0.1, 0.01, 0.0)
    ]
    lines.append(
        f"softmax({_fmt(logits)}) at tau = 1000: {_fmt(sm.softmax(logits, 1e3))} "
        f"(uniform is {1 / logits.shape[0]:g})"
    )
    base = 2.0
    power = base**logits / jnp.sum(base**logits)
    lines += [
        f"{base:g}**z / sum {base:g}**z = {_fmt(power)}",
        f"softmax at tau = 1/ln {base:g} = {_fmt(sm.tau_from_base(base))}: "
        f"{_fmt(sm.base_softmax(logits, base))}",
    ]
    return lines


def _linear_lines(logits) -> list[str]:
    shift = 10.0
    mixed, balanced = jnp.array([2.0, -1.0, 1.0]), jnp.array([1.0, -1.0])
    return [
        f"z + {shift:g}: softmax {_fmt(sm.softmax(logits + shift))}, "
        f"linear {_fmt(sm.linear_normalize(logits + shift))}",
        f"linear({_fmt(mixed)}) = {_fmt(sm.linear_normalize(mixed))} "
        f"(a negative 'probability'); softmax {_fmt(sm.softmax(mixed))}",
        f"linear({_fmt(balanced)}) = {_fmt(sm.linear_normalize(balanced))} "
        f"(sum 0: division by zero); softmax {_fmt(sm.softmax(balanced))}",
    ]


@jax.jit
def _jacobians(logits, tau) -> tuple[jax.Array, jax.Array]:
    """The closed form and ``jax.jacfwd`` of the softmax."""
    return sm.softmax_jacobian(sm.softmax(logits, tau), tau), jax.jacfwd(sm.softmax)(
        logits, tau
    )


def _jacobian_lines(logits) -> list[str]:
    tau = 1.0
    jacobian, autodiff = _jacobians(logits, tau)
    off_diagonal = jacobian[~np.eye(logits.shape[0], dtype=bool)]
    return [
        "d p_i / d z_k = p_i (delta_ik - p_k) / tau at tau = 1:",
        *(f"  {_fmt(row)}" for row in jacobian),
        f"largest |difference| from jax.jacfwd: "
        f"{float(jnp.max(jnp.abs(jacobian - autodiff))):.1e}",
        f"diagonal > 0: {bool(jnp.all(jnp.diag(jacobian) > 0))}; off-diagonal < 0: "
        f"{bool(jnp.all(off_diagonal < 0))}; largest |row sum|: "
        f"{float(jnp.max(jnp.abs(jnp.sum(jacobian, axis=1)))):.1e}",
    ]


def _inverse_lines(logits) -> list[str]:
    tau = 1.0
    probs = sm.softmax(logits, tau)
    recovered = sm.logits_from_probs(probs, tau)
    return [
        f"logits_from_probs(softmax(z)) = tau log p = {_fmt(recovered)}",
        f"minus z: {_fmt(recovered - logits)} = -(tau log Z) = "
        f"{_fmt(-sm.free_energy(logits, tau))}",
        f"softmax of it: {_fmt(sm.softmax(recovered, tau))}",
    ]


@functools.partial(jax.jit, static_argnums=2)
def _mean_one_hot(key, logits, num_samples: int) -> jax.Array:
    """The average one-hot action of ``num_samples`` Boltzmann draws at ``tau = 1``."""
    keys = jax.random.split(key, num_samples)
    actions = jax.vmap(policies.boltzmann(1.0).sample, in_axes=(0, None))(keys, logits)
    return jnp.mean(jax.nn.one_hot(actions, logits.shape[0]), axis=0)


def _family_lines(key, logits) -> list[str]:
    num_samples = 20_000
    x = 1.5
    return [
        f"grad of log Z = logsumexp(z): "
        f"{_fmt(jax.jit(jax.grad(sm.log_partition))(logits))}",
        f"softmax(z):                   {_fmt(sm.softmax(logits))}",
        f"mean one-hot of {num_samples} draws: "
        f"{_fmt(_mean_one_hot(key, logits, num_samples))} (standard error "
        f"<= {0.5 / num_samples**0.5:.4f})",
        f"sigmoid({x:g}) = {_fmt(jax.nn.sigmoid(x))}, softmax([{x:g}, 0])_0 = "
        f"{_fmt(sm.softmax(jnp.array([x, 0.0]))[0])}",
    ]


def _cross_entropy_lines() -> list[str]:
    lines = []
    for margin, what in ((-10.0, "confidently wrong"), (0.0, "undecided"),
                         (10.0, "confidently right")):  # fmt: skip
        logits = jnp.array([margin, 0.0])
        gradients = cross_entropy_gradients(logits, 0)
        sizes = {k: float(jnp.linalg.norm(g)) for k, g in gradients.items()}
        lines.append(
            f"z = {_fmt(logits)}, class 0 ({what}): p_0 = "
            f"{float(sm.softmax(logits)[0]):.2e}, |grad| cross-entropy "
            f"{sizes['cross_entropy']:.2e}, squared error {sizes['squared_error']:.2e}"
        )
    return lines


def _overflow_lines() -> list[str]:
    big = jnp.array([1000.0, 999.0])
    return [
        f"float32 exp(88) = {float(jnp.exp(jnp.float32(88))):.4e}, "
        f"exp(89) = {float(jnp.exp(jnp.float32(89)))}",
        f"z = {_fmt(big)}: naive {_fmt(naive_softmax(big))}, "
        f"softmax {_fmt(sm.softmax(big))}",
        f"z = {_fmt(-big)}: naive {_fmt(naive_softmax(-big))}, "
        f"softmax {_fmt(sm.softmax(-big))}",
    ]


def report(key: jax.Array, logits: ArrayLike) -> list[tuple[str, list[str]]]:
    """The numbers of each claim of the tour, as ``(title, lines)`` sections.

    Args:
      key: PRNG key (random distributions of claim 1, draws of claim 6).
      logits: ``[num_actions]`` the example logits (the page uses ``[2, 4, 2, 1]``).

    Returns:
      eight ``(title, lines of text)`` pairs, in the page's order.
    """
    logits = jnp.asarray(logits, jnp.float32)
    if logits.ndim != 1 or logits.shape[0] < 2:
        raise ValueError(f"logits={logits.tolist()}: expected a 1-D array of >= 2.")
    key_entropy, key_family = jax.random.split(key)
    return [
        ("1. maximum entropy", _max_entropy_lines(key_entropy, logits)),
        ("2. limits and the base", _limits_lines(logits)),
        ("3. shift invariance, not linear normalisation", _linear_lines(logits)),
        ("4. the Jacobian", _jacobian_lines(logits)),
        ("5. the inverse", _inverse_lines(logits)),
        ("6. the exponential family", _family_lines(key_family, logits)),
        ("7. cross-entropy against squared error", _cross_entropy_lines()),
        ("8. overflow", _overflow_lines()),
    ]
