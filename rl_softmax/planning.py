"""Generalised value iteration: planning on a finite MDP with any backup operator.

Asadi & Littman (2017), "An Alternative Softmax Operator for Reinforcement
Learning", Sec. 3: value iteration with the ``max`` of the Bellman optimality
equation replaced by an operator ``op`` over the next state's action values,

    ``Q(s, a) <- sum_k p_k (r_k + discount * (1 - terminated_k) * op(Q(s'_k, .)))``,

swept over every ``(s, a)`` at once from ``q_init`` until no entry moves by more
than ``tol`` (or ``max_iters`` sweeps). An operator that is a non-expansion in the
max norm (``max``, ``mean``, ``epsilon_greedy``, ``mellowmax``, ``log_sum_exp``)
makes a sweep a ``discount``-contraction, so the iteration converges to its one fixed
point from every start (Littman & Szepesvari 1996). The Boltzmann operator is not a
non-expansion: the iteration may cycle, or reach different fixed points from
different starts.

==================  =================================================  ===========
operator            ``op(v)`` over ``[num_actions]`` values            parameter
==================  =================================================  ===========
``max``             ``max_a v_a`` (value iteration)                    unused
``mean``            ``mean_a v_a`` (the uniform policy's evaluation)   unused
``epsilon_greedy``  ``(1 - epsilon) max_a v_a + epsilon mean_a v_a``   ``epsilon``
``boltzmann``       ``sum_a softmax(v / tau)_a v_a``                   ``tau``
                    (:func:`rl_softmax.softmax.expected_value`)
``mellowmax``       ``log(mean_a exp(omega v_a)) / omega``             ``omega``
                    (:func:`rl_softmax.softmax.mellowmax`)
``log_sum_exp``     ``tau log sum_a exp(v_a / tau)``                   ``tau``
                    (:func:`rl_softmax.softmax.free_energy`)
==================  =================================================  ===========

The tables are the dense ``[S, A, K]`` outcome tables of
:class:`rl_softmax.envs.TabularEnv` (:func:`tables_of`, :func:`toy_text_tables`).
The operator's name is fixed when the planner is built (:func:`make_gvi`); the
operator's parameter, the discount and the start are array arguments, so a sweep
over them is one ``vmap`` that never recompiles::

    gvi = make_gvi("mellowmax")
    tables = toy_text_tables("FrozenLake-v1")
    result = gvi(tables, 0.95, 10.0)  # result.q: [16, 4], result.converged
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rl_softmax import softmax as sm

__all__ = [
    "BACKUPS",
    "GVIResult",
    "MDPTables",
    "backup",
    "bellman_backup",
    "make_gvi",
    "tables_of",
    "toy_text_tables",
]

# name -> (its parameter's name or None, op(values [..., A], param) -> [...])
_OPERATORS: dict[str, tuple[str | None, Callable]] = {
    "max": (None, lambda v, _: jnp.max(v, axis=-1)),
    "mean": (None, lambda v, _: jnp.mean(v, axis=-1)),
    "epsilon_greedy": (
        "epsilon",
        lambda v, eps: (1 - eps) * jnp.max(v, axis=-1) + eps * jnp.mean(v, axis=-1),
    ),
    "boltzmann": ("tau", sm.expected_value),
    "mellowmax": ("omega", sm.mellowmax),
    "log_sum_exp": ("tau", sm.free_energy),
}

BACKUPS: dict[str, str | None] = {name: p for name, (p, _) in _OPERATORS.items()}
"""The backup operators by name, each with the name of its parameter (None: none)."""


class MDPTables(NamedTuple):
    """A finite MDP as dense outcome tables, padded with probability 0.

    Attributes:
      probs: ``[S, A, K]`` probability of each outcome.
      next_states: ``[S, A, K]`` int32 the outcome's next state.
      rewards: ``[S, A, K]`` the outcome's reward.
      terminated: ``[S, A, K]`` bool, whether the outcome ends the episode (no
        bootstrap).
    """

    probs: jax.Array
    next_states: jax.Array
    rewards: jax.Array
    terminated: jax.Array


class GVIResult(NamedTuple):
    """What generalised value iteration reached.

    Attributes:
      q: ``[S, A]`` the action values after the last sweep (the fixed point when
        ``converged``).
      converged: bool, whether the last sweep moved no entry by more than ``tol``.
      num_iters: int32 sweeps done.
      change: the last sweep's largest change ``max |Q_new - Q|`` (``inf`` or NaN
        when the values overflowed).
    """

    q: jax.Array
    converged: jax.Array
    num_iters: jax.Array
    change: jax.Array


def _checked_operator(operator: str) -> Callable:
    if operator not in _OPERATORS:
        raise ValueError(
            f"operator={operator!r} is not a backup operator: expected one of "
            f"{tuple(_OPERATORS)}."
        )
    return _OPERATORS[operator][1]


def backup(values: ArrayLike, param: ArrayLike = 0.0, *, operator: str) -> jax.Array:
    """``op(values)`` of the named operator along the last (action) axis.

    Args:
      values: ``[..., num_actions]`` action values.
      param: the operator's parameter (``epsilon``, ``tau`` or ``omega``; see
        :data:`BACKUPS`), a scalar or broadcasting against ``values[..., 0]``.
      operator: one of :data:`BACKUPS`.

    Returns:
      ``[...]`` backed-up values.

    Raises:
      ValueError: for an unknown operator.

    Examples:
      >>> v = jnp.array([1.0, 2.0, 3.0])
      >>> float(backup(v, operator="max")), float(backup(v, operator="mean"))
      (3.0, 2.0)
      >>> float(backup(v, 0.5, operator="epsilon_greedy"))  # half max, half mean
      2.5
    """
    op = _checked_operator(operator)
    values = jnp.asarray(values)
    return op(values, jnp.asarray(param, values.dtype))


def bellman_backup(
    tables: MDPTables,
    q: ArrayLike,
    discount: ArrayLike,
    param: ArrayLike = 0.0,
    *,
    operator: str,
) -> jax.Array:
    """One sweep ``Q <- sum_k p_k (r_k + discount (1 - term_k) op(Q(s'_k, .)))``.

    Args:
      tables: the MDP.
      q: ``[S, A]`` action values.
      discount: ``gamma`` in ``[0, 1]``.
      param: the operator's parameter.
      operator: one of :data:`BACKUPS`.

    Returns:
      ``[S, A]`` backed-up action values.
    """
    q = jnp.asarray(q)
    state_values = backup(q, param, operator=operator)  # [S]
    continues = jnp.where(tables.terminated, 0.0, discount).astype(q.dtype)
    targets = tables.rewards + continues * state_values[tables.next_states]
    return jnp.sum(tables.probs * targets, axis=-1).astype(q.dtype)


def make_gvi(
    operator: str, *, tol: float = 1e-6, max_iters: int = 10_000
) -> Callable[..., GVIResult]:
    """Builds generalised value iteration with a named backup operator.

    Asadi & Littman (2017), Sec. 3 (GVI). The sweeps run in one
    ``lax.while_loop``, so the planner is pure and works under ``jit`` and
    ``vmap`` (a batch stops when its last member has converged; each member
    reports its own sweeps).

    Args:
      operator: one of :data:`BACKUPS` (static).
      tol: stop when a sweep moves no ``Q(s, a)`` by more than ``tol`` (> 0).
      max_iters: sweeps before giving up (>= 1).

    Returns:
      ``gvi(tables, discount, param=0.0, q_init=None) -> GVIResult``: ``tables``
      an :class:`MDPTables`, ``discount`` in ``[0, 1]``, ``param`` the operator's
      parameter, ``q_init`` the ``[S, A]`` start (zeros by default). All but the
      tables' shapes may be traced.

    Raises:
      ValueError: for an unknown operator, ``tol <= 0`` or ``max_iters < 1``.
    """
    _checked_operator(operator)
    if not tol > 0:
        raise ValueError(f"tol={tol!r}: expected a number > 0.")
    if not isinstance(max_iters, int) or max_iters < 1:
        raise ValueError(f"max_iters={max_iters!r}: expected an integer >= 1.")

    def gvi(
        tables: MDPTables,
        discount: ArrayLike,
        param: ArrayLike = 0.0,
        q_init: ArrayLike | None = None,
    ) -> GVIResult:
        tables = _checked_tables(tables)
        dtype = tables.probs.dtype
        shape = tables.probs.shape[:2]
        q = jnp.zeros(shape, dtype) if q_init is None else jnp.asarray(q_init, dtype)
        if q.shape != shape:
            raise ValueError(f"q_init has shape {q.shape}: expected [S, A] = {shape}.")

        def sweep(carry):
            q, _, i = carry
            q_new = bellman_backup(tables, q, discount, param, operator=operator)
            return q_new, jnp.max(jnp.abs(q_new - q)), i + 1

        def going_on(carry):
            _, change, i = carry
            # the start's change is inf; later, a non-finite one means overflow
            return (i < max_iters) & (change > tol) & ((i == 0) | jnp.isfinite(change))

        init = (q, jnp.asarray(jnp.inf, dtype), jnp.zeros((), jnp.int32))
        q, change, num_iters = jax.lax.while_loop(going_on, sweep, init)
        return GVIResult(q, change <= tol, num_iters, change)

    return gvi


def _checked_tables(tables: Any) -> MDPTables:
    """The four tables as arrays (probabilities and rewards in one float dtype)."""
    probs = jnp.asarray(tables.probs)
    if not jnp.issubdtype(probs.dtype, jnp.floating):
        probs = probs.astype(jnp.result_type(float))
    shape = probs.shape
    fields = ("next_states", "rewards", "terminated")
    arrays = {name: jnp.asarray(getattr(tables, name)) for name in fields}
    for name, array in arrays.items():
        if array.shape != shape or len(shape) != 3:
            raise ValueError(
                f"tables.{name} has shape {array.shape}: expected the shape of "
                f"tables.probs, [S, A, K] = {shape}."
            )
    return MDPTables(
        probs,
        arrays["next_states"].astype(jnp.int32),
        arrays["rewards"].astype(probs.dtype),
        arrays["terminated"].astype(bool),
    )


def tables_of(env: Any) -> MDPTables:
    """The outcome tables a :class:`~rl_softmax.envs.TabularEnv` holds.

    Args:
      env: a :class:`~rl_softmax.envs.TabularEnv` (or anything with ``probs``,
        ``next_states``, ``rewards`` and ``terminated`` tables).

    Returns:
      its :class:`MDPTables` (float32 probabilities and rewards).
    """
    return _checked_tables(env)


def toy_text_tables(env_id: str, **kwargs: Any) -> MDPTables:
    """The tables of a gymnasium toy-text environment, read by
    :func:`rl_softmax.envs.tabular.make` (FrozenLake, CliffWalking, Taxi).

    Args:
      env_id: a gymnasium id, e.g. ``"FrozenLake-v1"``.
      **kwargs: passed on to ``gymnasium.make`` (``is_slippery``, ``map_name``...).

    Returns:
      the environment's :class:`MDPTables`.
    """
    from rl_softmax.envs import tabular

    env, _ = tabular.make(env_id, **kwargs)
    return tables_of(env)
