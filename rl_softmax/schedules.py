"""Temperature schedules ``step -> tau`` and a per-step target-entropy temperature.

A schedule follows optax's convention (``optax.Schedule``): a pure function of a
0-based step returning the temperature at that step. Everything here is
``jax.numpy``, so schedules work under ``jit`` and ``vmap``. Step counts
(``transition_steps``, ``num_steps``, boundaries) are static Python ints fixed when a
schedule is built; every other number (``c``, ``offset``, initial and final values,
``floor``, ``decay_rate``, ``alpha``) may be a traced array, so sweeping it never
recompiles.

**Reuse of optax.** :func:`constant`, :func:`linear`, :func:`exponential`,
:func:`cosine`, :func:`piecewise_constant` and :func:`join` are thin wrappers: the
value is computed by the optax schedule of the same formula. The wrappers only add
what temperatures need: a ``ValueError`` naming the argument for bad concrete values
(optax silently turns ``transition_steps <= 0`` into a constant), float array outputs
broadcast to the step's shape, a ``floor`` that is a floor even at ``decay_rate == 1``
(optax's ``end_value`` becomes a ceiling there), and a traced ``decay_rate`` (optax's
factory branches on it in Python). Any other ``optax.Schedule`` (warmup, SGDR, ...)
can be used directly wherever a schedule is expected.

**Added here.** :func:`inverse_log` and :func:`inverse_sqrt` (the classic Boltzmann
schedules; softmax action selection with a temperature is Sutton & Barto (2018),
ch. 2, 1st ed. Sec. 2.3), :func:`entropy_target` (a target entropy annealed from
``log K``) and :func:`target_entropy_temperature`, which solves each step for the
``tau`` that gives the policy over the current values that entropy;
:func:`temperature_step` instead learns ``tau`` towards a target entropy, one optax
step at a time (the automatic temperature of soft actor-critic). Cesa-Bianchi
et al. (2017) show that Boltzmann exploration with *any* monotone schedule can have
regret linear in ``T``, which is why schedules are worth sweeping, and why adapting
``tau`` to the values (target entropy) or per arm (Boltzmann-Gumbel) is offered.

``make_temperature(factory, **kwargs)`` turns a schedule factory into the
``(step, explore) -> tau`` function the agents take: the swept ``explore`` is the
schedule's first argument (its initial temperature or scale).
"""

from __future__ import annotations

import inspect
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike
from optax import schedules as _optax

from rl_softmax import softmax as sm

__all__ = [
    "SHAPES",
    "Schedule",
    "Temperature",
    "constant",
    "cosine",
    "entropy_target",
    "exponential",
    "inverse_log",
    "inverse_sqrt",
    "join",
    "linear",
    "make_temperature",
    "piecewise_constant",
    "target_entropy_temperature",
    "temperature_step",
]

Schedule = Callable[[ArrayLike], jax.Array]
"""``step -> value``: optax's schedule convention, 0-based ``step``."""

Temperature = Callable[[ArrayLike, ArrayLike], jax.Array]
"""``(step, explore) -> tau``: the action-value agent's ``temperature`` argument."""

SHAPES = ("linear", "exponential", "cosine")


# --- argument checks (concrete values only; traced ones are the caller's sweep) -----


def _concrete(value: ArrayLike) -> np.ndarray | None:
    """``value`` as a NumPy array, or ``None`` when it is traced."""
    try:
        return np.asarray(value)
    except jax.errors.TracerArrayConversionError:
        return None


def _check(name: str, value: ArrayLike, ok: Callable, allowed: str) -> None:
    """Raises ``ValueError`` if a concrete ``value`` fails ``ok``; skips traced ones."""
    array = _concrete(value)
    if array is None:
        return
    if array.dtype.kind not in "iuf" or not np.all(ok(array)):
        shown = array.tolist() if array.dtype.kind in "iuf" else value
        raise ValueError(f"{name}={shown!r} is not allowed: expected {allowed}.")


def _check_count(name: str, value: object, *, minimum: int) -> int:
    """A static step count or size: a Python (or NumPy) int ``>= minimum``."""
    try:
        count = operator.index(value)
    except TypeError:
        raise ValueError(
            f"{name}={value!r} is not allowed: expected a Python int >= {minimum} "
            "(step counts are static, fixed when the schedule is built)."
        ) from None
    if count < minimum:
        raise ValueError(
            f"{name}={count} is not allowed: expected an int >= {minimum}."
        )
    return count


def _as_float(x: ArrayLike) -> jax.Array:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def _float_schedule(schedule: Callable) -> Schedule:
    """Wraps ``schedule`` to return a float array broadcast to the step's shape."""

    def wrapped(step: ArrayLike) -> jax.Array:
        step = jnp.asarray(step)
        value = _as_float(schedule(step))
        return jnp.broadcast_to(value, jnp.broadcast_shapes(value.shape, step.shape))

    return wrapped


# --- thin wrappers over optax.schedules ---------------------------------------------


def constant(tau: ArrayLike) -> Schedule:
    """``tau_t = tau`` at every step (``optax.constant_schedule``); ``0`` is greedy.

    Args:
      tau: temperature ``>= 0``.

    Returns:
      a schedule.
    """
    _check("tau", tau, lambda v: v >= 0, "tau >= 0 (0 is greedy)")
    return _float_schedule(_optax.constant_schedule(tau))


def linear(
    init_value: ArrayLike,
    end_value: ArrayLike,
    transition_steps: int,
    *,
    transition_begin: int = 0,
) -> Schedule:
    """Linear from ``init_value`` to ``end_value`` (``optax.linear_schedule``).

    Held at ``init_value`` before ``transition_begin`` and at ``end_value`` after
    ``transition_begin + transition_steps``; clipped to between the two.

    Args:
      init_value: temperature ``>= 0`` at the start.
      end_value: temperature ``>= 0`` at the end.
      transition_steps: length of the ramp, an int ``>= 1``.
      transition_begin: steps held at ``init_value`` first, an int ``>= 0``.

    Returns:
      a schedule.
    """
    _check("init_value", init_value, lambda v: v >= 0, "init_value >= 0")
    _check("end_value", end_value, lambda v: v >= 0, "end_value >= 0")
    transition_steps = _check_count("transition_steps", transition_steps, minimum=1)
    transition_begin = _check_count("transition_begin", transition_begin, minimum=0)
    ramp = _optax.linear_schedule(
        init_value, end_value, transition_steps, transition_begin
    )
    low, high = jnp.minimum(init_value, end_value), jnp.maximum(init_value, end_value)
    # Under jit XLA divides by multiplying with a reciprocal, so optax's ramp can
    # overshoot end_value by an ulp of init_value: below 0 when end_value == 0.
    return _float_schedule(lambda step: jnp.clip(ramp(step), min=low, max=high))


def exponential(
    init_value: ArrayLike,
    decay_rate: ArrayLike,
    transition_steps: int,
    *,
    floor: ArrayLike = 0.0,
    transition_begin: int = 0,
    staircase: bool = False,
) -> Schedule:
    """``tau_t = max(init_value * decay_rate ** (t / transition_steps), floor)``.

    ``optax.exponential_decay`` computes the decay (``t`` counted from
    ``transition_begin``, floored to an int when ``staircase``); the floor is applied
    here with ``jnp.maximum``, as optax does for ``end_value`` when
    ``decay_rate < 1``. A traced ``decay_rate`` uses the same formula in
    ``jax.numpy``, because optax's factory branches on its value in Python.

    Args:
      init_value: temperature ``>= 0`` at the start.
      decay_rate: factor per ``transition_steps`` steps, ``0 < decay_rate <= 1``.
      transition_steps: steps per factor of ``decay_rate``, an int ``>= 1``.
      floor: lower bound ``>= 0`` on the temperature.
      transition_begin: steps held at ``init_value`` first, an int ``>= 0``.
      staircase: decay in discrete jumps every ``transition_steps`` steps.

    Returns:
      a schedule.
    """
    _check("init_value", init_value, lambda v: v >= 0, "init_value >= 0")
    _check(
        "decay_rate", decay_rate, lambda v: (v > 0) & (v <= 1), "0 < decay_rate <= 1"
    )
    _check("floor", floor, lambda v: v >= 0, "floor >= 0")
    transition_steps = _check_count("transition_steps", transition_steps, minimum=1)
    transition_begin = _check_count("transition_begin", transition_begin, minimum=0)
    rate = _concrete(decay_rate)
    if rate is not None and rate.ndim == 0:
        decay = _optax.exponential_decay(
            init_value, transition_steps, decay_rate, transition_begin, staircase
        )
    else:

        def decay(step):
            elapsed = step - transition_begin
            power = elapsed / transition_steps
            if staircase:
                power = jnp.floor(power)
            decayed = init_value * jnp.power(decay_rate, power)
            return jnp.where(elapsed <= 0, init_value, decayed)

    return _float_schedule(lambda step: jnp.maximum(_as_float(decay(step)), floor))


def cosine(
    init_value: ArrayLike,
    decay_steps: int,
    *,
    alpha: ArrayLike = 0.0,
    exponent: ArrayLike = 1.0,
) -> Schedule:
    """Cosine decay from ``init_value`` to ``alpha * init_value`` (optax's).

    ``tau_t = init_value * ((1 - alpha) * (0.5 (1 + cos(pi t / T))) ** exponent +
    alpha)`` for ``t <= T = decay_steps``, then ``alpha * init_value``
    (Loshchilov & Hutter, 2017, via ``optax.cosine_decay_schedule``).

    Args:
      init_value: temperature ``>= 0`` at the start.
      decay_steps: ``T``, an int ``>= 1``.
      alpha: final fraction of ``init_value``, in ``[0, 1]``.
      exponent: power ``> 0`` on the cosine factor.

    Returns:
      a schedule.
    """
    _check("init_value", init_value, lambda v: v >= 0, "init_value >= 0")
    _check("alpha", alpha, lambda v: (v >= 0) & (v <= 1), "0 <= alpha <= 1")
    _check("exponent", exponent, lambda v: v > 0, "exponent > 0")
    decay_steps = _check_count("decay_steps", decay_steps, minimum=1)
    return _float_schedule(
        _optax.cosine_decay_schedule(init_value, decay_steps, alpha, exponent)
    )


def piecewise_constant(
    init_value: ArrayLike, boundaries_and_scales: dict[int, float] | None = None
) -> Schedule:
    """``init_value`` times every ``scale`` whose boundary ``step`` has been reached.

    ``optax.piecewise_constant_schedule``: boundaries are static ints and scales
    concrete numbers (optax checks their sign in Python); ``init_value`` may be traced.

    Args:
      init_value: temperature ``>= 0`` at the start.
      boundaries_and_scales: ``{step: scale}``, steps ints ``>= 0``, scales ``>= 0``.

    Returns:
      a schedule.
    """
    _check("init_value", init_value, lambda v: v >= 0, "init_value >= 0")
    checked = {}
    for boundary, scale in (boundaries_and_scales or {}).items():
        boundary = _check_count("boundaries_and_scales key", boundary, minimum=0)
        if _concrete(scale) is None:
            raise ValueError(
                f"boundaries_and_scales[{boundary}] is traced: expected a concrete "
                "number >= 0 (optax checks it when the schedule is built)."
            )
        _check(f"boundaries_and_scales[{boundary}]", scale, lambda v: v >= 0, ">= 0")
        checked[boundary] = scale
    return _float_schedule(_optax.piecewise_constant_schedule(init_value, checked))


def join(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """``schedules[i]`` between ``boundaries[i - 1]`` and ``boundaries[i]``.

    ``optax.join_schedules``: each schedule sees the steps since its own start, i.e.
    ``schedules[i](t - boundaries[i - 1])``.

    Args:
      schedules: ``n >= 1`` schedules.
      boundaries: ``n - 1`` strictly increasing ints ``>= 1``.

    Returns:
      a schedule.
    """
    boundaries = [_check_count("boundaries", b, minimum=1) for b in boundaries]
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(
            f"boundaries={boundaries} is not allowed: expected "
            f"len(schedules) - 1 = {len(schedules) - 1} boundaries."
        )
    if any(b >= c for b, c in zip(boundaries, boundaries[1:], strict=False)):
        raise ValueError(
            f"boundaries={boundaries} is not allowed: expected strictly increasing."
        )
    return _float_schedule(_optax.join_schedules(list(schedules), boundaries))


# --- schedules optax lacks ----------------------------------------------------------


def inverse_log(c: ArrayLike, *, offset: ArrayLike = 2.0) -> Schedule:
    """``tau_t = c / log(t + offset)``, the common Boltzmann ``c / log(t + 2)``.

    Decreases slowly enough to keep exploring for long; Cesa-Bianchi et al. (2017)
    show that this and every other monotone schedule can still fail (regret linear
    in ``T``) for some bandits, which is why ``c`` is worth sweeping.

    Args:
      c: scale ``> 0``.
      offset: ``> 1``, so that ``log(t + offset) > 0`` from ``t = 0``.

    Returns:
      a schedule.

    Examples:
      >>> schedule = inverse_log(1.0)
      >>> schedule(0)  # 1 / log(2)
      Array(1.442695, dtype=float32)
      >>> schedule(jnp.arange(3))  # [1 / log 2, 1 / log 3, 1 / log 4]
      Array([1.442695 , 0.9102392, 0.7213475], dtype=float32)
    """
    _check("c", c, lambda v: v > 0, "c > 0")
    _check("offset", offset, lambda v: v > 1, "offset > 1 (log(t + offset) > 0)")
    return _float_schedule(lambda step: c / jnp.log(_as_float(step) + offset))


def inverse_sqrt(c: ArrayLike, *, offset: ArrayLike = 1.0) -> Schedule:
    """``tau_t = c / sqrt(t + offset)``.

    With ``c = sqrt(log K / K)`` this is the ``sqrt(log K / (t K))`` schedule quoted
    for ``K``-armed bandits (Cesa-Bianchi et al., 2017), shifted to be finite at
    ``t = 0``.

    Args:
      c: scale ``> 0``.
      offset: ``> 0``, so that the temperature is finite at ``t = 0``.

    Returns:
      a schedule.
    """
    _check("c", c, lambda v: v > 0, "c > 0")
    _check("offset", offset, lambda v: v > 0, "offset > 0")
    return _float_schedule(lambda step: c / jnp.sqrt(_as_float(step) + offset))


# --- target entropy -----------------------------------------------------------------


def entropy_target(
    num_actions: int,
    num_steps: int,
    *,
    final_entropy: ArrayLike | None = None,
    final_fraction: ArrayLike | None = None,
    shape: str = "linear",
) -> Schedule:
    """A target entropy (nats) annealed from ``log K`` (uniform) to a final value.

    The discrete-SAC view of exploration (Haarnoja et al., 2018): fix how random the
    policy should be, not ``tau``. Built from optax's schedules: ``"linear"``,
    ``"exponential"`` (geometric, reaches the final value at ``num_steps``) or
    ``"cosine"``; held at the final value afterwards.

    Args:
      num_actions: ``K >= 2``.
      num_steps: steps to reach the final entropy, an int ``>= 1``.
      final_entropy: final target in ``[0, log K]`` nats (``> 0`` if exponential).
      final_fraction: or the final target as a fraction of ``log K``, in ``[0, 1]``;
        give at most one of the two (default: ``0.01 * log K``).
      shape: one of :data:`SHAPES`.

    Returns:
      a schedule ``step -> target entropy``.
    """
    num_actions = _check_count("num_actions", num_actions, minimum=2)
    num_steps = _check_count("num_steps", num_steps, minimum=1)
    if shape not in SHAPES:
        raise ValueError(f"shape={shape!r} is not allowed: expected one of {SHAPES}.")
    max_entropy = math.log(num_actions)
    if final_entropy is not None and final_fraction is not None:
        raise ValueError(
            f"final_entropy={final_entropy!r} and final_fraction={final_fraction!r}: "
            "expected at most one of them."
        )
    if final_entropy is None:
        final_fraction = 0.01 if final_fraction is None else final_fraction
        _check(
            "final_fraction",
            final_fraction,
            lambda v: (v >= 0) & (v <= 1),
            "0 <= final_fraction <= 1",
        )
        final_entropy = final_fraction * max_entropy
    else:
        _check(
            "final_entropy",
            final_entropy,
            lambda v: (v >= 0) & (v <= max_entropy * (1 + 1e-6)),
            f"0 <= final_entropy <= log(num_actions) = {max_entropy:.6g}",
        )
    # Float rounding of a given log K must not turn into a decay_rate above 1.
    final_entropy = jnp.minimum(final_entropy, max_entropy)
    if shape == "linear":
        return linear(max_entropy, final_entropy, num_steps)
    if shape == "cosine":
        return cosine(max_entropy, num_steps, alpha=final_entropy / max_entropy)
    _check(
        "final_entropy",
        final_entropy,
        lambda v: v > 0,
        "> 0 for shape='exponential' (a geometric decay never reaches 0)",
    )
    rate = final_entropy / max_entropy
    return exponential(max_entropy, rate, num_steps, floor=final_entropy)


def target_entropy_temperature(
    entropy_schedule: Schedule, *, num_iters: int = 40
) -> Callable[[ArrayLike, ArrayLike], jax.Array]:
    """``(step, values) -> tau`` whose policy over ``values`` has the scheduled entropy.

    Each call solves ``entropy(softmax(values, tau)) == entropy_schedule(step)`` with
    :func:`rl_softmax.softmax.tau_for_entropy` (bisection on ``log tau``; entropy is
    monotone in ``tau``; the Boltzmann policy is the maximum-entropy one). The target is
    always clipped to the reachable range ``[log(#maximal values), log(#finite
    values)]``, eagerly and under ``jit`` alike, so a schedule starting at ``log K``
    gives the largest bracketed (uniform to float precision) ``tau``, and an
    unreachable low target gives the greedy end.

    When every value that can get probability is maximal (all values equal, or all
    others ``-inf``, or some value ``+inf``), every ``tau`` gives the same policy and
    the answer is ``+inf``, the uniform limit: ``softmax(values, inf)`` is uniform over
    the maximal entries, never NaN. Any ``optax.Schedule`` works as
    ``entropy_schedule``, e.g. one from :func:`entropy_target`.

    Args:
      entropy_schedule: ``step -> target entropy`` in nats.
      num_iters: bisection steps (static); 40 reaches float32 resolution.

    Returns:
      ``(step, values, *args) -> tau``, jit-compiled, ``values: [num_actions]``
      (vmap for batches), ``tau`` a scalar ``> 0`` or ``+inf``; any ``args`` go to
      ``entropy_schedule(step, *args)`` (e.g. a swept final entropy).
    """
    if not callable(entropy_schedule):
        raise ValueError(
            f"entropy_schedule={entropy_schedule!r} is not allowed: expected a "
            "callable step -> target entropy."
        )
    num_iters = _check_count("num_iters", num_iters, minimum=1)

    def temperature(step: ArrayLike, values: ArrayLike, *args: ArrayLike) -> jax.Array:
        values = _as_float(values)
        if values.ndim != 1:
            raise ValueError(
                f"values.shape={values.shape} is not allowed: expected "
                "[num_actions]; vmap over a batch."
            )
        top = jnp.max(values)
        degenerate = jnp.isposinf(top) | jnp.all((values == top) | jnp.isneginf(values))
        # The solver still runs (jit has no early exit): give it a well-posed stand-in
        # with range [0, log K]; its answer is replaced by +inf below.
        ramp = jnp.arange(values.shape[0], dtype=values.dtype)
        solvable = jnp.where(degenerate, ramp, values)
        num_top = jnp.sum(solvable == jnp.max(solvable)).astype(values.dtype)
        num_finite = jnp.sum(jnp.isfinite(solvable)).astype(values.dtype)
        target = _as_float(entropy_schedule(step, *args)).astype(values.dtype)
        target = jnp.minimum(jnp.maximum(target, jnp.log(num_top)), jnp.log(num_finite))
        tau = sm.tau_for_entropy(solvable, target, num_iters=num_iters)
        return jnp.where(degenerate, jnp.inf, tau)

    # Compiled once per values shape: run eagerly, the bisection loop would be traced
    # and compiled again at every call (~0.5 s each on a 2-core CPU).
    return jax.jit(temperature)


def temperature_step(
    optimizer: optax.GradientTransformation,
    log_tau: jax.Array,
    opt_state: optax.OptState,
    entropy: ArrayLike,
    target: ArrayLike,
) -> tuple[jax.Array, optax.OptState]:
    """One optax step of ``log tau`` on the SAC temperature loss ``tau (H - H_target)``.

    Haarnoja et al. (2018), "Soft Actor-Critic Algorithms and Applications", Eq. 18,
    with ``log tau`` as the variable so ``tau`` stays positive. The gradient is
    ``tau (H - H_target)``: ``tau`` falls while the policy's entropy ``H`` is above
    the target and rises while it is below, so the entropy tracks the target.

    Args:
      optimizer: the optax transformation of ``log tau`` (built by the caller, e.g.
        ``optax.adam(learning_rate)``).
      log_tau: scalar ``log`` of the current temperature.
      opt_state: the optimizer's state for ``log_tau``.
      entropy: the entropy of the policy that acted, in nats (held fixed).
      target: the target entropy in nats.

    Returns:
      ``(log_tau, opt_state)`` after the step.
    """
    grad = jnp.exp(log_tau) * (entropy - target)
    updates, opt_state = optimizer.update(grad, opt_state, log_tau)
    return optax.apply_updates(log_tau, updates), opt_state


# --- a swept schedule scale ---------------------------------------------------------


def make_temperature(factory: Callable[..., Schedule], **kwargs: Any) -> Temperature:
    """``(step, explore) -> tau``: ``factory(explore, **kwargs)`` evaluated at ``step``.

    So the swept ``explore`` is the schedule's first argument (its initial temperature
    or scale) and ``kwargs`` fix the rest, e.g. ``make_temperature(inverse_log)`` is
    ``tau_t = explore / log(t + 2)`` and ``make_temperature(exponential,
    decay_rate=0.001, transition_steps=1000)`` cools from ``explore``. Every factory
    here accepts a traced first argument, so ``make_action_value_agent(10,
    boltzmann(make_temperature(inverse_log)))`` sweeps ``c`` in one compiled call.
    ``kwargs`` are checked now.

    Args:
      factory: a schedule factory of this module (``constant``, ``linear``,
        ``exponential``, ``cosine``, ``piecewise_constant``, ``inverse_log``,
        ``inverse_sqrt``) or any function ``(scale, **kwargs) -> Schedule``.
      **kwargs: the factory's other arguments.

    Returns:
      ``(step, explore) -> tau``.
    """
    if not callable(factory):
        raise ValueError(
            f"factory={factory!r} is not allowed: expected a schedule factory such "
            "as rl_softmax.schedules.inverse_log."
        )
    name = getattr(factory, "__name__", repr(factory))
    try:
        inspect.signature(factory).bind(1.0, **kwargs)
    except TypeError as error:
        raise ValueError(
            f"make_temperature({name}, **{kwargs}): {error}; "
            f"expected {name}{inspect.signature(factory)}."
        ) from None
    if not callable(factory(1.0, **kwargs)):  # also validates kwargs now
        raise ValueError(
            f"factory={name} is not allowed: it returned a value, not a schedule; "
            "expected a factory such as rl_softmax.schedules.inverse_log, not a "
            "schedule it built."
        )

    def temperature(step: ArrayLike, explore: ArrayLike) -> jax.Array:
        try:
            schedule = factory(explore, **kwargs)
        except ValueError as error:
            raise ValueError(
                f"explore is the first argument of {name}: {error}"
            ) from None
        return schedule(step)

    return temperature
