"""Experiment configs: a TOML file -> validated, frozen dataclasses.

One file is one experiment: an environment and one or more *studies*, each an agent
sweeping one parameter over a list of values, every value run with the same seeds
(or several parameters together: ``grid = { tau = [...], step_size = [...] }``, the
product of their values, or ``params = ["tau", "step_size"]`` with ``values`` a
list of tuples; one compiled program either way)::

    name = "bandit_tau_sweep"
    num_seeds = 2000
    num_steps = 1000

    [env]
    name = "gaussian"
    num_arms = 10

    [[studies]]
    name = "boltzmann"
    rule = "boltzmann"
    param = "tau"
    log2_range = [-7, 2]
    references = { "greedy (τ = 0)" = 0.0, "uniform (τ = ∞)" = inf }

Names and parameters (environments, agents, rules, optimizers, schedules, their
defaults and ranges) come from :mod:`rl_softmax.experiment.registry`, the other keys'
types, defaults and ranges from :mod:`rl_softmax.experiment.schema`. Every error
names the field, the value and what is allowed, and is raised as a
:class:`ConfigError` before anything is compiled.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import itertools
import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rl_softmax.experiment import registry, schema

__all__ = [
    "ConfigError",
    "EnvConfig",
    "ExperimentConfig",
    "StudyConfig",
    "apply_overrides",
    "from_dict",
    "load",
    "resolve",
    "shipped_configs",
    "to_dict",
]

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "configs"
"""The configs shipped with the package (package data, so a wheel has them too)."""


class ConfigError(ValueError):
    """A config value is missing, unknown or out of range (the message says which)."""


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """The environment.

    Attributes:
      name: a name in :data:`rl_softmax.experiment.registry.ENVS`.
      sizes: the integers it is built with, which set shapes (a bandit's
        ``num_arms``), defaults filled in.
      params: numbers of the environment (e.g. ``mean``, ``noise_std``).
      num_actions: the number of actions of the environment so built.
      options: the other keywords it is built with (a gymnasium env's
        ``map_name``, ``is_slippery``, ...; ``discount`` for its exact values); on
        the host, every keyword of ``gymnasium.make``.
      backend: ``"jax"`` (its JAX port, in the compiled sweep) or ``"host"``
        (gymnasium's own environment stepped on the host).
      vector: how the host loop steps its environments (``"auto"``, ``"sync"``
        or ``"async"``, :mod:`rl_softmax.engine.host_vector`); the host backend
        only, and never a number's difference.
    """

    name: str = "gaussian"
    sizes: dict[str, int] = dataclasses.field(default_factory=lambda: {"num_arms": 10})
    params: dict[str, float] = dataclasses.field(default_factory=dict)
    num_actions: int = 10
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    backend: str = "jax"
    vector: str = "auto"


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """One agent sweeping one parameter (or several together, see ``params``).

    Attributes:
      name: identifier, used in file names (letters, digits, ``_`` and ``-``).
      label: legend text.
      agent: a name in :data:`rl_softmax.experiment.registry.AGENTS`.
      rule: its exploration rule (:data:`~rl_softmax.experiment.registry.RULES`)
        if it takes one, else "".
      param: the swept parameter, e.g. ``tau``, ``epsilon``, ``step_size``.
      values: the swept values, in order (``references`` are appended); tuples,
        one number per parameter, when ``params`` names several (a grid's
        product with the first parameter outermost).
      references: labelled extra values drawn as horizontal lines, e.g. the greedy
        (``tau = 0``) and uniform (``tau = inf``) limits.
      fixed: every other numeric parameter of the agent (defaults filled in).
      sample_average: action-value estimates by sample average (no ``step_size``).
      schedule: temperature schedule of the Boltzmann rule (``tau`` is its scale).
      schedule_args: the schedule's other arguments.
      entropy: target-entropy schedule: ``shape``, ``anneal_steps`` and (when not
        swept) ``final_entropy``.
      optimizer: optax optimizer of ``gradient_bandit`` / ``auto_temperature``.
      baseline: whether the gradient bandit subtracts the average reward.
      track_probs: record mean action probabilities by rank (stacked-area plot).
      rollout: a rollout agent's batch and network settings
        (:data:`~rl_softmax.experiment.schema.ROLLOUT`; for a replay agent
        :data:`~rl_softmax.experiment.schema.REPLAY`), defaults filled in;
        empty for the other agents.
      params: the parameters swept together when there are several (``param``
        is the first; each of ``values`` is then a tuple, one number per
        parameter, and ``fixed`` holds none of them); empty for one.
    """

    name: str
    label: str
    agent: str
    rule: str
    param: str
    values: tuple[float, ...] | tuple[tuple[float, ...], ...]
    references: dict[str, float]
    fixed: dict[str, float]
    sample_average: bool = True
    schedule: str = "constant"
    schedule_args: dict[str, Any] = dataclasses.field(default_factory=dict)
    entropy: dict[str, Any] = dataclasses.field(default_factory=dict)
    optimizer: str = "sgd"
    baseline: bool = True
    track_probs: bool = False
    rollout: dict[str, Any] = dataclasses.field(default_factory=dict)
    params: tuple[str, ...] = ()

    @property
    def swept(self) -> tuple[str, ...]:
        """The names of the swept parameters: ``params``, or ``(param,)``."""
        return self.params or (self.param,)


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment.

    Attributes:
      name: identifier; results go to ``results/<name>`` by default.
      description: one paragraph for people.
      seed: base seed; run ``s`` of every value uses the key ``fold_in(seed, s)``.
      num_seeds: independent runs (tasks) per value.
      num_steps: steps per run.
      final_steps: the window at the end reported as "final" (e.g. last 100 steps).
      max_block_runs: at most this many runs per compiled call, to bound memory
        (0: sized automatically); it never changes a number.
      num_episodes: record the return of each of the first ``num_episodes``
        episodes of every run (learning curves by episode; 0: none).
      env: the environment.
      studies: the agents and their sweeps.
      tune: the ``[tune]`` table as written: ``rl-softmax tune`` checks and reads
        it (:mod:`rl_softmax.experiment.tune_config`), ``rl-softmax run`` ignores
        it, and it is no part of the hash.
    """

    name: str
    description: str
    seed: int
    num_seeds: int
    num_steps: int
    final_steps: int
    max_block_runs: int
    env: EnvConfig
    studies: tuple[StudyConfig, ...]
    num_episodes: int = 0
    tune: dict[str, Any] = dataclasses.field(default_factory=dict)


_TOP = schema.TOP_LEVEL
_STUDY = schema.STUDY
_ENTROPY = schema.ENTROPY
(_SAMPLE_AVERAGE,) = schema.OPTIONS["step_size"]
(_SCHEDULE,) = schema.OPTIONS["schedule"]
(_BASELINE,) = schema.OPTIONS["baseline"]
_INF = math.inf


def _fail(field: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{field}: got {value!r}; expected {allowed}.")


def _int(table: dict, key: str, where: str, default: int, low: int, high=None) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(f"{where}{key}", value, schema.int_range(low))
    if high is not None and value > high:
        raise _fail(f"{where}{key}", value, schema.int_range(low, high))
    return value


def _int_key(table: dict, spec: schema.Key, where: str, default=None) -> int:
    """The integer key ``spec`` of ``table``, in its range; its default ``default``
    when given (one computed from other keys), else ``spec``'s."""
    default = spec.default if default is None else default
    return _int(table, spec.name, where, default, spec.low, spec.high)


def _float(
    value: Any, field: str, low=-math.inf, high=math.inf, allow_inf=False, why=""
):  # fmt: skip
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(field, value, "a number")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise _fail(
            field, value, f"a finite number ({why})" if why else "a finite number"
        )
    if not (low <= value <= high or (allow_inf and value == math.inf)):
        span = f"a number in [{low:g}, {high:g}]"
        if high == schema.REWARD_MAX:
            span += " (runs sum it over up to 2**31 steps in float32)"
        if allow_inf and high < math.inf:
            span += " or inf (the limit, exactly)"
        raise _fail(field, value, span)
    magnitude = abs(value)
    if math.isfinite(value) and (
        magnitude > schema.FLOAT32_MAX or 0 < magnitude < schema.FLOAT32_TINY
    ):
        limit = "; inf for the limit" if allow_inf else ""
        raise _fail(field, value, f"a number float32 can hold ({schema.FLOAT32_NOTE}"
                    f"{limit})")  # fmt: skip
    return value


def _spec_float(value: Any, field: str, spec: registry.Param) -> float:
    return _float(value, field, spec.low, spec.high, spec.allow_inf, spec.why_finite)


def spec_float(value: Any, field: str, spec: registry.Param) -> float:
    """``value`` as a float checked against the parameter ``spec``'s range (the
    error names ``field``)."""
    return _spec_float(value, field, spec)


def _str(table: dict, key: str, where: str, default: str | None, allowed=None) -> str:
    value = table.get(key, default)
    if value is None:
        raise ConfigError(f"{where}{key}: missing; it is required.")
    if not isinstance(value, str) or (allowed is not None and value not in allowed):
        expected = f"one of {list(allowed)}" if allowed else "a string"
        raise _fail(f"{where}{key}", value, expected)
    return value


def _bool(table: dict, key: str, where: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise _fail(f"{where}{key}", value, "true or false")
    return value


def _table(table: dict, key: str, where: str) -> dict:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise _fail(f"{where}{key}", value, "a table {key = value, ...}")
    return value


def _check_keys(table: dict, known: set[str], where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"{where or 'top level'}: unknown key(s) {unknown}; "
            f"allowed: {sorted(known)}."
        )


def _name(raw: dict) -> str:
    name = _str(raw, "name", "", None)
    if not _is_name(name):
        raise _fail(
            "name", name, f"a name of {schema.NAME_NOTE} (results go to "
            "results/<name>)",
        )  # fmt: skip
    return name


def _is_name(name: str) -> bool:
    """Letters, digits, ``_`` and ``-``, short enough for every file it names."""
    plain = name.replace("_", "").replace("-", "")
    return plain.isalnum() and len(name) <= schema.MAX_NAME


def _values(table: dict, where: str, spec: registry.Param) -> tuple[float, ...]:
    has_values, has_range = "values" in table, "log2_range" in table
    if has_values == has_range:
        raise ConfigError(
            f"{where.rstrip('.')}: give exactly one of 'values' (a list) or "
            "'log2_range' ([first, last] exponent, with optional num_values)."
        )
    if has_range:
        bounds = table["log2_range"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise _fail(f"{where}log2_range", bounds, "[first_exponent, last_exponent]")
        exponents = _STUDY["log2_range"]  # float32's normal numbers
        lo, hi = (
            _float(b, f"{where}log2_range", float(exponents.low), float(exponents.high))
            for b in bounds
        )
        if hi < lo:
            raise _fail(f"{where}log2_range", bounds, "increasing exponents")
        num = _int_key(table, _STUDY["num_values"], where, int(round(hi - lo)) + 1)
        step = (hi - lo) / max(num - 1, 1)
        raw = [2.0 ** (lo + i * step) for i in range(num)]
    else:
        if "num_values" in table:
            raise _fail(
                f"{where}num_values",
                table["num_values"],
                "no num_values with 'values' (num_values only spaces a log2_range)",
            )
        raw = table["values"]
        if not isinstance(raw, list) or not raw:
            raise _fail(f"{where}values", raw, "a non-empty list of numbers")
    return tuple(_spec_float(v, f"{where}values", spec) for v in raw)


def _entropy(table: dict, where: str, study: dict, num_actions: int, num_steps: int):
    """The target-entropy table; ``final_entropy`` is its own key only where it is
    not a parameter of the study (``study`` holds the parameters, resolved:
    ``specs``, ``fixed`` and ``swept``, the values of each swept one, references
    included, with the field they came from)."""
    entropy = _table(table, "entropy", where)
    prefix = where
    where = f"{where}entropy."
    is_param = "final_entropy" in study["specs"]
    allowed = {"shape", "anneal_steps"} | (set() if is_param else {"final_entropy"})
    _check_keys(entropy, allowed, where.rstrip("."))
    log_k = math.log(num_actions)
    shape = _ENTROPY["shape"]
    out = {
        "shape": _str(entropy, "shape", where, shape.default, shape.choices),
        "anneal_steps": _int_key(entropy, _ENTROPY["anneal_steps"], where, num_steps),
    }
    if not is_param:
        final = entropy.get(
            "final_entropy", _ENTROPY["final_entropy"].default(num_actions)
        )
        out["final_entropy"] = _float(final, f"{where}final_entropy", 0.0, log_k)
        field, finals = f"{where}final_entropy", (out["final_entropy"],)
    elif "final_entropy" in study["swept"]:
        field, finals = study["swept"]["final_entropy"]
    else:
        field, finals = f"{prefix}final_entropy", (study["fixed"]["final_entropy"],)
    if out["shape"] == "exponential" and min(finals) <= 0:
        raise _fail(field, min(finals), "> 0 for an exponential shape")
    return out


def _int_keys(value: Any) -> Any:
    """TOML table keys are strings: ``{"10" = 0.5}`` -> ``{10: 0.5}`` (step
    boundaries of a schedule)."""
    if isinstance(value, dict):
        return {
            int(k) if isinstance(k, str) and k.isdigit() else k: _int_keys(v)
            for k, v in value.items()
        }
    return value


_COMMON_KEYS = set(_STUDY) - {"rule"}  # "rule": only for an agent that takes one
# The keys behind each option a registry entry may take.
_OPTION_KEYS = {
    option: {key.name for key in keys} for option, keys in schema.OPTIONS.items()
}


def _study(table: Any, index: int, names: set[str], env: EnvConfig, num_steps: int):
    where = f"studies[{index}]."
    if not isinstance(table, dict):
        raise _fail(f"studies[{index}]", table, "a table ([[studies]])")
    agent = _str(table, "agent", where, _STUDY["agent"].default, registry.AGENTS)
    entry = registry.AGENTS[agent]
    rule = ""
    if entry.takes_rule:
        if entry.finite_tau and table.get("rule") == "target_entropy":
            raise ConfigError(
                f"{where}rule: got 'target_entropy'; agent {agent!r} bootstraps from "
                "tau logsumexp(Q / tau), and target_entropy sets tau = inf where the "
                "values are equal (every state, at the start), where that backup is "
                f"infinite; expected one of {list(entry.rules)}."
            )
        rule = _str(table, "rule", where, None, entry.rules or registry.RULES)
    elif "rule" in table:
        raise ConfigError(f"{where}rule: agent {agent!r} takes no exploration rule.")
    options = set(entry.options) | (
        set(registry.RULES[rule].options) if rule else set()
    )
    specs = registry.agent_params(agent, rule, env.num_actions)
    known = _COMMON_KEYS | set(specs) | {k for o in options for k in _OPTION_KEYS[o]}
    if entry.takes_rule:
        known.add("rule")
    _check_keys(table, known, f"studies[{index}]")
    name = _str(table, "name", where, None)
    if not _is_name(name) or name in names:
        raise _fail(f"{where}name", name, f"a unique name of {schema.NAME_NOTE}")
    if "grid" in table or "params" in table:
        params, values, swept = _swept_together(table, where, specs, agent, rule)
        param, references = params[0], {}
    else:
        param = _str(table, "param", where, next(iter(specs)), list(specs))
        spec = specs[param]
        values = _values(table, where, spec)
        references = {
            str(k): _spec_float(v, f"{where}references.{k}", spec)
            for k, v in _table(table, "references", where).items()
        }
        params = ()
        swept = {param: (f"{where}values", values + tuple(references.values()))}
    # "step_size" as an option: the string "sample_average" (the default) instead of
    # a number averages the samples.
    averages = "step_size" in options
    sample_average = averages and "step_size" not in swept
    sample_average = sample_average and (
        table.get("step_size", _SAMPLE_AVERAGE.default) == _SAMPLE_AVERAGE.default
    )
    fixed = {}
    for key, other in specs.items():
        if key in swept:
            continue
        value = other.default
        if key in table and not (key == "step_size" and sample_average):
            value = _spec_float(table[key], f"{where}{key}", other)
        fixed[key] = value
    schedule_args = _int_keys(_table(table, "schedule_args", where))
    schedule = "constant"
    if "schedule" in options:
        schedule = _str(table, "schedule", where, _SCHEDULE.default, registry.SCHEDULES)
        _check_flags(schedule_args, registry.SCHEDULES[schedule], where)
        try:
            registry.make_temperature(schedule, schedule_args)
        except ValueError as err:
            raise ConfigError(f"{where}schedule_args: {err}") from None
    uses_entropy = "entropy" in options
    return StudyConfig(
        name=name,
        label=str(table.get("label", name)),
        agent=agent,
        rule=rule,
        param=param,
        values=values,
        references=references,
        fixed=fixed,
        sample_average=sample_average,
        schedule=schedule,
        schedule_args=schedule_args,
        entropy=(
            _entropy(
                table,
                where,
                {"specs": specs, "swept": swept, "fixed": fixed},
                env.num_actions,
                num_steps,
            )
            if uses_entropy
            else {}
        ),  # fmt: skip
        optimizer=(
            _str(
                table,
                "optimizer",
                where,
                entry.defaults.get("optimizer"),
                registry.OPTIMIZERS,
            )
            if "optimizer" in options
            else ""
        ),  # fmt: skip
        baseline=_bool(table, "baseline", where, _BASELINE.default),
        track_probs=_bool(table, "track_probs", where, _STUDY["track_probs"].default),
        rollout=(
            _rollout(table, where, entry.defaults, num_steps)
            if "rollout" in options
            else _replay(table, where, num_steps)
            if "replay" in options
            else {}
        ),
        params=params,
    )


def _swept_together(table: dict, where: str, specs: dict, agent: str, rule: str):
    """``(names, values, {name: (field, its values)})`` of a study sweeping several
    parameters together: ``grid`` (the product of each one's values, the first
    outermost) or ``params`` with ``values``, a list of tuples."""
    if "grid" in table:
        field = f"{where}grid"
        for other in ("param", "values", "log2_range", "num_values", "params"):
            if other in table:
                raise ConfigError(
                    f"{field}: a grid names its parameters and their values; leave "
                    f"out {where}{other} (got {table[other]!r}), or give param with "
                    "values instead of grid."
                )
        grid = table["grid"]
        if not isinstance(grid, dict):
            raise _fail(field, grid, "a table { name = [values], ... }")
        names = _swept_names(list(grid), field, specs, table, where, agent, rule)
        axes = [
            _grid_axis(grid[name], f"{field}.{name}", specs[name]) for name in names
        ]
        values = tuple(itertools.product(*axes))
        swept = {n: (f"{field}.{n}", a) for n, a in zip(names, axes, strict=True)}
        return names, values, swept
    field = f"{where}params"
    for other in ("param", "log2_range", "num_values"):
        if other in table:
            raise ConfigError(
                f"{where}{other}: got {table[other]!r}; a study with params sweeps "
                "the tuples of values (a list of lists, one number per parameter), "
                "so leave it out."
            )
    raw_names = table["params"]
    if not isinstance(raw_names, list) or not all(
        isinstance(n, str) for n in raw_names
    ):
        raise _fail(field, raw_names, "a list of parameter names")
    names = _swept_names(raw_names, field, specs, table, where, agent, rule)
    rows = table.get("values")
    if not isinstance(rows, list) or not rows:
        raise _fail(
            f"{where}values", rows,
            f"a non-empty list of {len(names)}-tuples, one number each for "
            f"{', '.join(names)} (e.g. [[0.25, 0.1], [0.5, 0.1]])",
        )  # fmt: skip
    values = []
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise _fail(
                f"{where}values[{i}]", row,
                f"a list of {len(names)} numbers, one each for {', '.join(names)}",
            )  # fmt: skip
        values.append(tuple(
            _spec_float(v, f"{where}values[{i}] ({name})", specs[name])
            for v, name in zip(row, names, strict=True)
        ))  # fmt: skip
    columns = zip(*values, strict=True)
    swept = {n: (f"{where}values", c) for n, c in zip(names, columns, strict=True)}
    return names, tuple(values), swept


def _grid_axis(axis: Any, field: str, spec: registry.Param) -> tuple[float, ...]:
    """One parameter's values of a grid: a list, or a table as a study gives them
    (``values``, or ``log2_range`` with ``num_values``)."""
    if isinstance(axis, dict):
        _check_keys(axis, {"values", "log2_range", "num_values"}, field)
        return _values(axis, f"{field}.", spec)
    if not isinstance(axis, list) or not axis:
        raise _fail(
            field, axis,
            "a non-empty list of numbers or a table { log2_range = [first, last] }",
        )  # fmt: skip
    return tuple(_spec_float(v, field, spec) for v in axis)


def _swept_names(
    names: list, field: str, specs: dict, table: dict, where: str, agent: str,
    rule: str,
) -> tuple[str, ...]:  # fmt: skip
    """The names of parameters swept together: two or more distinct numbers of the
    agent, none of them also given a fixed value, none with references."""
    least = schema.MIN_SWEPT_TOGETHER
    if len(names) < least:
        raise _fail(
            field, names,
            f"{least} or more parameters swept together (sweep one with param = "
            "... and values)",
        )  # fmt: skip
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise _fail(field, names, f"distinct names ({twice[0]!r} is given twice)")
    whose = f"agent {agent!r}" + (f" with rule {rule!r}" if rule else "")
    for name in names:
        if name not in specs:
            raise ConfigError(
                f"{field}: {name!r} is not a parameter of {whose} that a sweep may "
                f"vary{_why_not_swept(name)}; allowed: {list(specs)}."
            )
        if name in table:
            raise ConfigError(
                f"{where}{name}: got {table[name]!r}; {name} is swept ({field}), so "
                "it takes no fixed value: leave it out."
            )
    if "references" in table:
        raise ConfigError(
            f"{where}references: got {table['references']!r}; references are "
            "horizontal lines on the plot of one swept parameter, and a study of "
            "several has none: leave it out (or add the values to the sweep)."
        )
    return tuple(names)


def _why_not_swept(name: str) -> str:
    """Why a config key that is not one of the agent's numbers cannot be swept."""
    numbers = {p.name for entry in registry.AGENTS.values() for p in entry.params}
    numbers |= {r.param.name for r in registry.RULES.values() if r.param is not None}
    if name in numbers:  # another agent's or rule's: the allowed list says enough
        return ""
    counts = set(schema.ROLLOUT) | set(schema.REPLAY) | set(_TOP)
    sizes = {size for entry in registry.ENVS.values() for size in entry.sizes}
    env_params = {param for entry in registry.ENVS.values() for param in entry.params}
    if name in counts | sizes:
        return (
            f" ({name} is fixed when the program is built: a size, count or setting "
            "that sets shapes or the loop, not a traced number)"
        )
    if name in env_params:
        return f" ({name} is a number of the environment, which a study does not sweep)"
    if name in _STUDY or any(name in keys for keys in _OPTION_KEYS.values()):
        return f" ({name} is a setting of the study, not a traced number)"
    return ""


def _widths(table: dict, key: str, where: str, default: list[int]) -> list[int]:
    """An MLP's hidden-layer widths: a list of integers >= 1."""
    value = table.get(key, default)
    if not isinstance(value, list) or not all(
        isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in value
    ):
        raise _fail(f"{where}{key}", value, "a list of integers >= 1, e.g. [64, 64]")
    return list(value)


def _batch(out: dict, where: str, num_steps: int, step: str) -> int:
    """``num_envs x rollout_steps``, which must divide the run's ``num_steps``."""
    batch = out["num_envs"] * out["rollout_steps"]
    if num_steps % batch:
        raise _fail(
            "num_steps", num_steps,
            f"a multiple of {where}num_envs x rollout_steps = {batch} ({step} "
            "takes that many environment steps)",
        )  # fmt: skip
    return batch


def _settings(table: dict, where: str, keys: dict, defaults: dict) -> dict:
    """A rollout or replay agent's settings (``keys``), the agent's ``defaults``
    before the table's."""
    out = {}
    for name, spec in keys.items():
        default = defaults.get(name, spec.default)
        if isinstance(spec.default, list):
            out[name] = _widths(table, name, where, default)
        elif isinstance(spec.default, bool):
            out[name] = _bool(table, name, where, default)
        else:
            out[name] = _int_key(table, spec, where, default)
    return out


def _rollout(table: dict, where: str, defaults: dict, num_steps: int) -> dict:
    """A rollout agent's settings: batch sizes that divide the run, MLP widths."""
    out = _settings(table, where, schema.ROLLOUT, defaults)
    batch = _batch(out, where, num_steps, "an update")
    if batch % out["num_minibatches"]:
        raise _fail(
            f"{where}num_minibatches", out["num_minibatches"],
            f"a divisor of num_envs x rollout_steps = {batch}",
        )  # fmt: skip
    return out


def _check_flags(args: dict, factory: Callable, where: str) -> None:
    """The arguments of ``factory`` whose default is a bool take a TOML boolean
    (``staircase = "no"`` would be read as true)."""
    parameters = inspect.signature(factory).parameters
    for key, value in args.items():
        given = parameters.get(key)
        flag = given is not None and isinstance(given.default, bool)
        if flag and not isinstance(value, bool):
            raise _fail(f"{where}schedule_args.{key}", value, "true or false")


def _replay(table: dict, where: str, num_steps: int) -> dict:
    """A replay agent's settings: a batch that divides the run and fits the buffer,
    a minibatch no larger than the buffer."""
    # a short run learns after its first tenth (past its end, it never would)
    starts = min(schema.REPLAY["learning_starts"].default, num_steps // 10)
    out = _settings(table, where, schema.REPLAY, {"learning_starts": starts})
    batch = _batch(out, where, num_steps, "a learn")
    if out["buffer_size"] < max(batch, out["batch_size"]):
        raise _fail(
            f"{where}buffer_size", out["buffer_size"],
            f"an integer >= num_envs x rollout_steps = {batch} and >= batch_size = "
            f"{out['batch_size']} (the buffer holds a rollout and a minibatch)",
        )  # fmt: skip
    if out["learning_starts"] > num_steps:
        raise _fail(
            f"{where}learning_starts", out["learning_starts"],
            f"an integer <= num_steps = {num_steps} (else the network never trains)",
        )  # fmt: skip
    return out


def _env(raw: dict) -> EnvConfig:
    env_raw = raw.get("env", {})
    if not isinstance(env_raw, dict):
        raise _fail("env", env_raw, "a table [env]")
    backend_key, name_key = schema.ENV["backend"], schema.ENV["name"]
    backend = _str(env_raw, "backend", "env.", backend_key.default, backend_key.choices)
    name = env_raw.get("name", name_key.default)
    known = isinstance(name, str) and name in registry.ENVS
    if backend == "host" or (backend == "auto" and not known and isinstance(name, str)
                             and registry.is_gymnasium_id(name)):  # fmt: skip
        return _host_env(env_raw, name)
    if "vector" in env_raw:
        raise ConfigError(
            f"env.vector: got {env_raw['vector']!r}; only the host backend steps "
            f"gymnasium's vector environments, and env {name!r} runs on its JAX "
            "port: leave it out, or set backend = 'host'."
        )
    if backend == "jax" and not known:
        raise _fail(
            "env.name", name,
            f"an environment with a JAX port for backend 'jax': one of "
            f"{list(registry.ENVS)} (or backend 'host' for another gymnasium id)",
        )  # fmt: skip
    name = _str(env_raw, "name", "env.", name_key.default, registry.ENVS)
    entry = registry.ENVS[name]
    _check_keys(
        env_raw, {"name", "backend", *entry.sizes, *entry.params, *entry.options},
        "env",
    )  # fmt: skip
    sizes = {
        k: _int(env_raw, k, "env.", default, low)
        for k, (default, low) in entry.sizes.items()
    }
    params = {k: _float(env_raw[k], f"env.{k}") for k in entry.params if k in env_raw}
    for k in entry.nonnegative:
        if params.get(k, 0.0) < 0:
            raise _fail(f"env.{k}", params[k], "a number >= 0")
    options = _env_options(env_raw, entry.options)
    problem = entry.check({**options, **params}) if entry.check else None
    if problem:
        raise ConfigError(problem)
    try:
        num_actions = entry.make(**sizes, **options).num_actions
    except (ValueError, KeyError, TypeError, AssertionError) as err:
        raise ConfigError(f"env ({name}): {err}") from None
    return EnvConfig(name, sizes, params, num_actions, options)


def _host_env(env_raw: dict, name: Any) -> EnvConfig:
    """A gymnasium id stepped on the host: every other key of ``[env]`` is a keyword
    of ``gymnasium.make``."""
    if not isinstance(name, str):
        raise _fail("env.name", name, "a registered gymnasium id")
    ours = set()
    if name in registry.ENVS:  # a JAX port's own options (discount) are not gymnasium's
        ours = set(registry.ENVS[name].options) - set(registry.GYMNASIUM_OPTIONS)
    vector_key = schema.ENV["vector"]
    vector = _str(env_raw, "vector", "env.", vector_key.default, vector_key.choices)
    ours |= {"name", "backend", "vector"}
    kwargs = {k: v for k, v in env_raw.items() if k not in ours}
    try:
        env = registry.make_host_env(name, **kwargs)
    except ValueError as err:
        raise ConfigError(f"env ({name}, backend 'host'): {err}") from None
    return EnvConfig(
        name, {}, {}, env.num_actions, kwargs, backend="host", vector=vector
    )


def _env_options(env_raw: dict, specs: dict[str, tuple]) -> dict[str, Any]:
    """The environment's keywords: given ones checked by type, defaults filled in
    (a None default stays out)."""
    names = {bool: "true or false", str: "a string", list: "a list", float: "a number"}
    options = {}
    for key, (default, kind, *_) in specs.items():
        value = env_raw.get(key, default)
        if value is None:
            continue
        if kind is float:
            value = _float(value, f"env.{key}")
        elif isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            raise _fail(f"env.{key}", value, names[kind])
        options[key] = value
    return options


def from_dict(raw: dict[str, Any]) -> ExperimentConfig:
    """Validates a parsed TOML document (see the module docstring for the schema)."""
    if "chunk_size" in raw:
        raise ConfigError(
            "chunk_size: no longer used; blocks are sized automatically and never "
            "change results (set max_block_runs to bound memory)."
        )
    _check_keys(raw, set(_TOP), "")
    env = _env(raw)
    num_steps = _int_key(raw, _TOP["num_steps"], "")
    studies_raw = raw.get("studies")
    if studies_raw is None:
        raise ConfigError("studies: missing; add one or more [[studies]] tables.")
    if not isinstance(studies_raw, list) or not studies_raw:
        raise _fail("studies", studies_raw, "one or more [[studies]] tables")
    studies, names = [], set()
    for i, table in enumerate(studies_raw):
        study = _study(table, i, names, env, num_steps)
        names.add(study.name)
        studies.append(study)
    final_steps = _int_key(
        raw, _TOP["final_steps"], "", min(_TOP["final_steps"].default, num_steps)
    )
    if final_steps > num_steps:
        raise _fail(
            "final_steps", final_steps, f"an integer in [1, num_steps={num_steps}]"
        )
    config = ExperimentConfig(
        name=_name(raw),
        description=str(raw.get("description", "")),
        seed=_int_key(raw, _TOP["seed"], ""),
        num_seeds=_int_key(raw, _TOP["num_seeds"], ""),
        num_steps=num_steps,
        final_steps=final_steps,
        max_block_runs=_int_key(raw, _TOP["max_block_runs"], ""),
        env=env,
        num_episodes=_int_key(raw, _TOP["num_episodes"], ""),
        studies=tuple(studies),
    )
    if "tune" in raw:
        config = dataclasses.replace(config, tune=_table(raw, "tune", ""))
    return config


_REPLACES = {"values": ("log2_range", "num_values"), "log2_range": ("values",)}


def _parse_value(text: str) -> Any:
    """A TOML value (number, bool, list, inline table, quoted string), else a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Applies ``key.sub=value`` overrides (``studies.0.values=[1, 2]``) to a copy.

    Values are parsed as TOML (``inf``, ``[1, 2]``, ``true``), else taken as strings.
    """
    raw = copy.deepcopy(raw)
    for item in overrides:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise ConfigError(
                f"--set {item!r}: expected KEY=VALUE, e.g. num_seeds=100."
            )
        node: Any = raw
        keys = path.strip().split(".")
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise ConfigError(
                        f"--set {item!r}: {key!r} is not an index below {len(node)}."
                    )
                key = int(key)
            elif not isinstance(node, dict):
                raise ConfigError(
                    f"--set {item!r}: {'.'.join(keys[:depth])} is not a table."
                )
            if last:
                node[key] = _parse_value(text.strip())
                if isinstance(node, dict):  # a new value list replaces the old range
                    for other in _REPLACES.get(key, ()):
                        node.pop(other, None)
            else:
                node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
    return raw


def shipped_configs() -> dict[str, Path]:
    """The shipped configs, ``{name: path}`` in name order (``rl-softmax list``)."""
    return {path.stem: path for path in sorted(SHIPPED_DIR.glob("*.toml"))}


def resolve(config: str | Path) -> Path:
    """The file a config argument names: a path that exists, else a shipped config
    named without a folder or in ``configs/`` (``"bandit_tau_sweep"``,
    ``"bandit_tau_sweep.toml"``, ``"configs/bandit_tau_sweep.toml"``);
    anything else is returned as given, for :func:`load` to report."""
    path = Path(config)
    # "configs/<name>.toml" outside a checkout also names a shipped config
    shipped = path.parent in (Path("."), Path("configs"))
    if path.exists() or not shipped:
        return path
    return shipped_configs().get(path.name.removesuffix(".toml"), path)


def load(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Reads, overrides and validates a TOML config; errors name the file and field.

    Args:
      path: a TOML file, or the name of a shipped config (see :func:`resolve`).
      overrides: ``"key=value"`` changes, as ``rl-softmax run --set`` takes them.
    """
    path = resolve(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))  # TOML is UTF-8
    except FileNotFoundError:
        if path.parent != Path("."):
            raise ConfigError(f"{path}: no such config file.") from None
        names = ", ".join(shipped_configs())
        raise ConfigError(
            f"{path}: no such config file, nor a shipped config (one of {names})."
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a directory, not a config file.") from None
    except OSError as err:  # unreadable
        raise ConfigError(
            f"{path}: cannot read the config ({err.strerror or err})."
        ) from None
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset "
            f"{err.start}); a TOML config is UTF-8."
        ) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    try:
        return from_dict(apply_overrides(raw, overrides or []))
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """The resolved config as plain Python data (for metadata and hashing); a
    one-parameter study has no ``params`` key (so its hash is what it was before
    studies could sweep several)."""
    out = dataclasses.asdict(config)
    del out["tune"]
    if config.env.backend != "host":  # JAX configs hash as before vector existed
        del out["env"]["vector"]
    for study in out["studies"]:
        if not study["params"]:
            del study["params"]
    return out
