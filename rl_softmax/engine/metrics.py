"""What a run measures: named metrics, per step or per episode, each with a label.

Every metric is computed here, once, from what the agent and the environment report
at a step: the reward, the action, the agent's ``policy_info`` (``"probs"``,
``"tau"``) and the environment's ``info`` (``"action_values"``, ``"success"``). A
metric exists for a run when what it needs exists (:func:`available`), so a run
reports exactly what it can define. :data:`METRICS` holds every metric with its
label, unit, meaning and when it is defined (``Metric.meaning``, ``Metric.needs``),
in reporting order.

Per-step metrics are averaged over steps. Per-episode metrics are averaged over the
episodes that ended: their reductions carry a count beside the sum.
``prob_by_rank`` is a vector, recorded only when asked (``track_probs``), and only
its mean curve over seeds is kept (:attr:`Metric.mean_curve_only`).
Per-run metrics (``at_end``) are computed once, from the run's final state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from rl_softmax import softmax as sm

__all__ = [
    "METRICS",
    "Metric",
    "available",
    "episode_values",
    "label",
    "step_values",
]


@dataclasses.dataclass(frozen=True)
class Metric:
    """A named quantity a run reports.

    Attributes:
      name: identifier (``summary.csv``'s ``metric`` column, array names).
      label: axis label, e.g. ``"% optimal action"``.
      unit: ``""``, ``"%"``, ``"nats"`` or ``"steps"``.
      per_episode: averaged over completed episodes rather than over steps.
      scale: factor from the stored value to the displayed one (100 for a fraction
        shown in %).
      vector: an array per step or run (``[num_actions]``, ``[num_states]``,
        ``[num_episodes]``) rather than a scalar.
      at_end: computed once from the run's final state rather than every step.
      mean_curve_only: only its mean curve over seeds is kept (no standard error,
        no per-run curves): on device, each window is summed over consecutive
        groups of :data:`SEED_GROUP` seeds, so a vector metric ships and stores a
        small fraction of its per-run windows.
      meaning: what its value is, in words.
      needs: when a run defines it (:func:`available`), in words.
      estimated_label: the label where a rollout run estimates by evaluation
        episodes what a tabular run computes exactly (``""``: the same label);
        see :func:`label`.

      binary: each run scores 0 or 1 (its mean over seeds is a proportion, with
        Wilson's interval in the summary).
    """

    name: str
    label: str
    unit: str = ""
    per_episode: bool = False
    scale: float = 1.0
    vector: bool = False
    at_end: bool = False
    mean_curve_only: bool = False
    meaning: str = ""
    needs: str = ""
    estimated_label: str = ""
    binary: bool = False


_VALUES = 'the environment reports true action values (``info["action_values"]``)'
_PROBS = 'the agent reports action probabilities (``policy_info["probs"]``)'
_EPISODIC = "the environment's episodes end"
_EVALUATE = (
    'the agent\'s summary has a ``"greedy_policy"`` and the environment can evaluate '
    "it exactly (toy text)"
)
_ROLLOUT = "a rollout or replay agent (PPO, A2C, DQN, ...)"
_THRESHOLD = f"{_ROLLOUT}, on an environment with gymnasium's ``reward_threshold``"

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("reward", "average reward", meaning="reward received", needs="always"),
        Metric(
            "optimal", "% optimal action", "%", scale=100.0,
            meaning="1 if the action's true value is maximal (ties count), else 0",
            needs=_VALUES,
        ),
        Metric(
            "regret", "regret per step",
            meaning="``max q - q[A]``, the expected reward the action lost",
            needs=_VALUES,
        ),
        Metric(
            "entropy", "policy entropy (nats)", "nats",
            meaning="entropy (nats) of the action distribution", needs=_PROBS,
        ),
        Metric(
            "prob_optimal", "P(optimal action) (%)", "%", scale=100.0,
            meaning="probability the policy gave the optimal actions",
            needs=f"{_VALUES} and {_PROBS}",
        ),
        Metric(
            "tau", "temperature τ", meaning="the policy's temperature",
            needs='the agent reports its temperature (``policy_info["tau"]``)',
        ),
        Metric(
            "value_spread", "spread of the action values (std over actions)",
            meaning="standard deviation over actions of the agent's values in the "
            "state it acted in",
            needs="the agent reports the values it acted on "
            '(``policy_info["values"]``)',
        ),
        Metric(
            "return", "episode return", per_episode=True,
            meaning="undiscounted sum of the rewards of an episode",
            needs=_EPISODIC,
        ),
        Metric(
            "length", "episode length (steps)", "steps", per_episode=True,
            meaning="steps in an episode", needs=_EPISODIC,
        ),
        Metric(
            "success", "% successful episodes", "%", True, 100.0,
            meaning="1 if the episode succeeded, else 0",
            needs=f'{_EPISODIC} and it reports ``info["success"]``',
        ),
        Metric(
            "prob_by_rank", "mean action probability", vector=True,
            mean_curve_only=True,
            meaning="[K] the action probabilities, actions sorted by true value",
            needs=f"asked (``track_probs``), {_VALUES} and {_PROBS}",
        ),
        Metric(
            "greedy_success", "% success of the final greedy policy", "%",
            scale=100.0, at_end=True,
            meaning="success probability of the final greedy policy, exact",
            needs=_EVALUATE,
        ),
        Metric(
            "greedy_return", "expected return of the final greedy policy (exact)",
            at_end=True,
            meaning="expected return of the final greedy policy, exact; for "
            "rollout and replay agents an estimate: the mean return of evaluation "
            "episodes taking the most probable action",
            needs=f"{_EVALUATE}; or {_ROLLOUT}",
            estimated_label="return of the final greedy policy (evaluation mean)",
        ),
        Metric(
            "eval_return", "return of the final softmax policy", at_end=True,
            meaning="mean return of the final softmax policy on evaluation episodes",
            needs=_ROLLOUT,
        ),
        Metric(
            "solved", "% runs that solved the task", "%", scale=100.0, at_end=True,
            binary=True,
            meaning="1 if the mean return of the last 100 training episodes "
            "reached the environment's reward threshold at some step, else 0",
            needs=_THRESHOLD,
        ),
        Metric(
            "steps_to_solve", "environment steps to solve (runs that solved)",
            "steps", at_end=True,
            meaning="environment steps until the run solved the task (NaN: never; "
            "its mean is over the runs that solved, ``solved`` their fraction)",
            needs=_THRESHOLD,
        ),
        Metric(
            "visits", "steps spent in each state", "steps", vector=True,
            at_end=True, meaning="[S] steps acted in each state",
            needs='the agent\'s summary has ``"visits"`` (the TD agents)',
        ),
        Metric(
            "episode_returns", "episode return", vector=True, at_end=True,
            meaning="[N] return of each of the first N episodes (NaN past the last)",
            needs="asked (``num_episodes > 0``)",
        ),
    )
}  # fmt: skip
"""Every metric the engine can report, by name, in reporting order."""


def label(name: str, reported: Collection[str] = ()) -> str:
    """The axis label of metric ``name`` in a result that reports ``reported``.

    ``greedy_return`` is one name for two numbers: the exact expected return of a
    tabular run's greedy policy (``env.evaluate``) and a rollout run's mean over
    evaluation episodes. A rollout run also reports ``eval_return``, so its label
    says it is an estimate. An unknown name is its own label.
    """
    if name not in METRICS:
        return name
    metric = METRICS[name]
    if metric.estimated_label and "eval_return" in reported:
        return metric.estimated_label
    return metric.label


def available(
    policy_info: Mapping[str, Any],
    info: Mapping[str, Any],
    *,
    episodic: bool,
    track_probs: bool = False,
    end: Mapping[str, Any] | None = None,
) -> tuple[Metric, ...]:
    """The metrics a run defines, given the keys its agent and environment report.

    Args:
      policy_info: the agent's ``act`` output dict (arrays or shape structs).
      info: the environment's ``step`` info dict.
      episodic: whether the environment's episodes end.
      track_probs: also record ``prob_by_rank``.
      end: the names of the per-run values the run computes at its end.

    Returns:
      the metrics, in :data:`METRICS` order.
    """
    values, probs = "action_values" in info, "probs" in policy_info
    defined = {
        "reward": True,
        "optimal": values,
        "regret": values,
        "entropy": probs,
        "prob_optimal": values and probs,
        "tau": "tau" in policy_info,
        "value_spread": "values" in policy_info,
        "return": episodic,
        "length": episodic,
        "success": episodic and "success" in info,
        "prob_by_rank": track_probs and values and probs,
        **{m.name: m.name in (end or {}) for m in METRICS.values() if m.at_end},
    }
    if track_probs and not defined["prob_by_rank"]:
        raise ValueError(
            "track_probs needs action probabilities from the agent and true action "
            "values from the environment; this run has "
            f"{'probs' if probs else 'no probs'} and "
            f"{'action_values' if values else 'no action_values'}."
        )
    return tuple(m for name, m in METRICS.items() if defined[name])


def step_values(
    metrics: tuple[Metric, ...],
    reward: jax.Array,
    action: jax.Array,
    policy_info: Mapping[str, jax.Array],
    info: Mapping[str, jax.Array],
) -> dict[str, jax.Array]:
    """The per-step metrics' float32 values at one step (``metrics`` from
    :func:`available`)."""
    names = {m.name for m in metrics if not (m.per_episode or m.at_end)}
    out = {"reward": reward}
    if "action_values" in info:
        values = info["action_values"]
        best = jnp.max(values)
        is_best = values == best  # every optimal action counts (ties)
    if "optimal" in names:
        out["optimal"] = values[action] == best
        out["regret"] = best - values[action]
    if "entropy" in names:
        out["entropy"] = sm.categorical_entropy(policy_info["probs"])
    if "prob_optimal" in names:
        out["prob_optimal"] = jnp.sum(jnp.where(is_best, policy_info["probs"], 0.0))
    if "tau" in names:
        out["tau"] = policy_info["tau"]
    if "value_spread" in names:
        out["value_spread"] = jnp.std(policy_info["values"])
    if "prob_by_rank" in names:
        ranks = jnp.argsort(-info["action_values"])
        out["prob_by_rank"] = policy_info["probs"][ranks]
    return {
        name: jnp.asarray(out[name]).astype(jnp.float32)
        for name in METRICS
        if name in names
    }


def episode_values(
    metrics: tuple[Metric, ...],
    episode_return: jax.Array,
    episode_length: jax.Array,
    info: Mapping[str, jax.Array],
) -> dict[str, jax.Array]:
    """The per-episode metrics' float32 values for an episode ending at this step."""
    names = {m.name for m in metrics if m.per_episode}
    out = {"return": episode_return, "length": episode_length}
    if "success" in names:
        out["success"] = info["success"]
    return {
        name: jnp.asarray(out[name]).astype(jnp.float32)
        for name in METRICS
        if name in names
    }
