"""Experiment configs: a TOML file -> validated, frozen dataclasses.

One file is one experiment: an environment and one or more *studies*, each an agent
sweeping one parameter over a list of values, every value run with the same seeds::

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

Every error names the field, the value and what is allowed, and is raised as a
:class:`ConfigError` before anything is compiled.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
from pathlib import Path
from typing import Any

__all__ = [
    "AGENTS",
    "ENV_PARAMS",
    "EXPLORE_PARAM",
    "ConfigError",
    "EnvConfig",
    "ExperimentConfig",
    "ParamSpec",
    "StudyConfig",
    "agent_params",
    "apply_overrides",
    "from_dict",
    "load",
]

ENV_PARAMS = {
    "gaussian": ("mean", "std", "noise_std"),
    "nonstationary": ("mean", "std", "noise_std", "walk_std"),
    "bernoulli": ("low", "high"),
}
"""Environment names and the parameters each accepts in ``[env]``."""

EXPLORE_PARAM = {
    "boltzmann": "tau",
    "greedy": None,
    "epsilon_greedy": "epsilon",
    "ucb": "c",
    "boltzmann_gumbel": "c",
    "target_entropy": "final_entropy",
}
"""Exploration rules of the ``action_value`` agent and the parameter each takes."""

AGENTS = ("action_value", "gradient_bandit", "auto_temperature")
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
SCHEDULE_NAMES = (
    "constant", "linear", "exponential", "cosine", "inverse_log", "inverse_sqrt",
)  # fmt: skip
ENTROPY_SHAPES = ("linear", "exponential", "cosine")


class ConfigError(ValueError):
    """A config value is missing, unknown or out of range (the message says which)."""


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """The environment.

    Attributes:
      name: one of :data:`ENV_PARAMS`.
      num_arms: number of actions (sets shapes).
      params: numbers of the environment (e.g. ``mean``, ``noise_std``).
    """

    name: str = "gaussian"
    num_arms: int = 10
    params: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One numeric parameter of an agent: its params field, range and default."""

    field: str
    low: float
    high: float
    allow_inf: bool
    default: float


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """One agent sweeping one parameter.

    Attributes:
      name: identifier, used in file names (letters, digits, ``_`` and ``-``).
      label: legend text.
      agent: agent family, one of :data:`AGENTS`.
      rule: exploration rule of ``action_value`` (:data:`EXPLORE_PARAM`), else "".
      param: the swept parameter, e.g. ``tau``, ``epsilon``, ``step_size``.
      values: the swept values, in order (``references`` are appended).
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
    """

    name: str
    label: str
    agent: str
    rule: str
    param: str
    values: tuple[float, ...]
    references: dict[str, float]
    fixed: dict[str, float]
    sample_average: bool = True
    schedule: str = "constant"
    schedule_args: dict[str, Any] = dataclasses.field(default_factory=dict)
    entropy: dict[str, Any] = dataclasses.field(default_factory=dict)
    optimizer: str = "sgd"
    baseline: bool = True
    track_probs: bool = False


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
      chunk_size: runs per compiled call (bounds memory; does not change results).
      env: the environment.
      studies: the agents and their sweeps.
    """

    name: str
    description: str
    seed: int
    num_seeds: int
    num_steps: int
    final_steps: int
    chunk_size: int
    env: EnvConfig
    studies: tuple[StudyConfig, ...]


_TOP_KEYS = {f.name for f in dataclasses.fields(ExperimentConfig)}
_STUDY_KEYS = {
    "name", "label", "agent", "rule", "param", "values", "log2_range", "num_values",
    "references", "schedule", "schedule_args", "entropy", "optimizer", "baseline",
    "track_probs",
}  # fmt: skip
_INF = math.inf


def agent_params(agent: str, rule: str, num_arms: int) -> dict[str, ParamSpec]:
    """The numeric parameters a study of ``agent`` (and ``rule``) may set or sweep."""
    log_k = math.log(num_arms)
    if agent == "gradient_bandit":
        return {
            "step_size": ParamSpec("step_size", 1e-12, _INF, False, 0.1),
            "tau": ParamSpec("explore", 1e-12, _INF, False, 1.0),
        }
    if agent == "auto_temperature":
        return {
            "tau_learning_rate": ParamSpec("tau_learning_rate", 0.0, _INF, False, 0.05),
            "initial_tau": ParamSpec("initial_tau", 1e-12, _INF, False, 1.0),
            "step_size": ParamSpec("step_size", 1e-12, 1.0, False, 0.1),
            "initial_value": ParamSpec("initial_value", -_INF, _INF, False, 0.0),
        }
    explore = {
        "tau": ParamSpec("explore", 0.0, _INF, True, 0.1),
        "epsilon": ParamSpec("explore", 0.0, 1.0, False, 0.1),
        "c": ParamSpec("explore", 1e-12 if rule == "boltzmann_gumbel" else 0.0,
                       _INF, False, 1.0),
        "final_entropy": ParamSpec("explore", 0.0, log_k, False, 0.01 * log_k),
    }  # fmt: skip
    params = {
        "step_size": ParamSpec("step_size", 1e-12, 1.0, False, 0.1),
        "initial_value": ParamSpec("initial_value", -_INF, _INF, False, 0.0),
    }
    name = EXPLORE_PARAM.get(rule)
    return {name: explore[name], **params} if name else params


def _fail(field: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{field}: got {value!r}; expected {allowed}.")


def _int(table: dict, key: str, where: str, default: int, low: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _fail(f"{where}{key}", value, f"an integer >= {low}")
    return value


def _float(value: Any, field: str, low=-math.inf, high=math.inf, allow_inf=False):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(field, value, "a number")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise _fail(field, value, "a finite number")
    if not low <= value <= high:
        raise _fail(field, value, f"a number in [{low:g}, {high:g}]")
    return value


def _spec_float(value: Any, field: str, spec: ParamSpec) -> float:
    return _float(value, field, spec.low, spec.high, spec.allow_inf)


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


def _seed(raw: dict) -> int:
    seed = _int(raw, "seed", "", 0, 0)
    if seed >= 2**32:  # jax.random.key keeps the low 32 bits: 2**32 + 5 would be 5
        raise _fail("seed", seed, "an integer in [0, 2**32 - 1]")
    return seed


def _values(table: dict, where: str, spec: ParamSpec) -> tuple[float, ...]:
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
        # 2.0 ** x overflows (OverflowError) past x = 1023.
        lo, hi = (_float(b, f"{where}log2_range", high=1023.0) for b in bounds)
        if hi < lo:
            raise _fail(f"{where}log2_range", bounds, "increasing exponents")
        num = _int(table, "num_values", where, int(round(hi - lo)) + 1, 1)
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


def _entropy(table: dict, where: str, swept: bool, num_arms: int, num_steps: int):
    entropy = _table(table, "entropy", where)
    where = f"{where}entropy."
    allowed = {"shape", "anneal_steps"} | (set() if swept else {"final_entropy"})
    _check_keys(entropy, allowed, where.rstrip("."))
    log_k = math.log(num_arms)
    out = {
        "shape": _str(entropy, "shape", where, "linear", ENTROPY_SHAPES),
        "anneal_steps": _int(entropy, "anneal_steps", where, num_steps, 1),
    }
    if not swept:
        final = entropy.get("final_entropy", 0.01 * log_k)
        out["final_entropy"] = _float(final, f"{where}final_entropy", 0.0, log_k)
    if out["shape"] == "exponential" and out.get("final_entropy", 1.0) <= 0:
        raise _fail(f"{where}final_entropy", 0.0, "> 0 for an exponential shape")
    return out


def _study(table: Any, index: int, names: set[str], env: EnvConfig, num_steps: int):
    where = f"studies[{index}]."
    if not isinstance(table, dict):
        raise _fail(f"studies[{index}]", table, "a table ([[studies]])")
    agent = _str(table, "agent", where, "action_value", AGENTS)
    rule = ""
    if agent == "action_value":
        rule = _str(table, "rule", where, None, EXPLORE_PARAM)
    elif "rule" in table:
        raise ConfigError(f"{where}rule: only the action_value agent takes a rule.")
    specs = agent_params(agent, rule, env.num_arms)
    _check_keys(table, _STUDY_KEYS | set(specs), f"studies[{index}]")
    name = _str(table, "name", where, None)
    if not name.replace("_", "").replace("-", "").isalnum() or name in names:
        raise _fail(f"{where}name", name, "a unique name of letters, digits, _ and -")
    param = _str(table, "param", where, next(iter(specs)), list(specs))
    spec = specs[param]
    values = _values(table, where, spec)
    references = {
        str(k): _spec_float(v, f"{where}references.{k}", spec)
        for k, v in _table(table, "references", where).items()
    }
    averages = agent != "gradient_bandit"
    step_size = table.get("step_size", "sample_average" if averages else 0.1)
    sample_average = averages and step_size == "sample_average"
    if sample_average and param == "step_size":
        sample_average = False
    fixed = {}
    for key, other in specs.items():
        if key != param:
            value = other.default
            if key in table and not (key == "step_size" and sample_average):
                value = _spec_float(table[key], f"{where}{key}", other)
            fixed[key] = value
    schedule = _str(table, "schedule", where, "constant", SCHEDULE_NAMES)
    if schedule != "constant" and rule != "boltzmann":
        raise ConfigError(f"{where}schedule: only the boltzmann rule takes a schedule.")
    uses_entropy = rule == "target_entropy" or agent == "auto_temperature"
    if "entropy" in table and not uses_entropy:
        raise ConfigError(
            f"{where}entropy: only rule 'target_entropy' and agent "
            "'auto_temperature' take a target-entropy schedule."
        )
    swept_entropy = param == "final_entropy"
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
        schedule_args=_table(table, "schedule_args", where),
        entropy=(
            _entropy(table, where, swept_entropy, env.num_arms, num_steps)
            if uses_entropy
            else {}
        ),
        optimizer=_str(
            table,
            "optimizer",
            where,
            "adam" if agent == "auto_temperature" else "sgd",
            OPTIMIZERS,
        ),  # fmt: skip
        baseline=_bool(table, "baseline", where, True),
        track_probs=_bool(table, "track_probs", where, False),
    )


def from_dict(raw: dict[str, Any]) -> ExperimentConfig:
    """Validates a parsed TOML document (see the module docstring for the schema)."""
    _check_keys(raw, _TOP_KEYS, "")
    env_raw = raw.get("env", {})
    if not isinstance(env_raw, dict):
        raise _fail("env", env_raw, "a table [env]")
    env_name = _str(env_raw, "name", "env.", "gaussian", ENV_PARAMS)
    env_keys = {"name", "num_arms", *ENV_PARAMS[env_name]}
    _check_keys(env_raw, env_keys, "env")
    env_params = {
        k: _float(env_raw[k], f"env.{k}") for k in ENV_PARAMS[env_name] if k in env_raw
    }
    for k in ("std", "noise_std", "walk_std"):
        if env_params.get(k, 0.0) < 0:
            raise _fail(f"env.{k}", env_params[k], "a number >= 0")
    if env_name == "bernoulli":
        low, high = env_params.get("low", 0.0), env_params.get("high", 1.0)
        if not 0.0 <= low <= high <= 1.0:
            raise _fail(
                "env.low, env.high",
                [low, high],
                "success probabilities with 0 <= low <= high <= 1",
            )
    env = EnvConfig(env_name, _int(env_raw, "num_arms", "env.", 10, 2), env_params)

    num_steps = _int(raw, "num_steps", "", 1000, 1)
    studies_raw = raw.get("studies")
    if not isinstance(studies_raw, list) or not studies_raw:
        raise _fail("studies", studies_raw, "one or more [[studies]] tables")
    studies, names = [], set()
    for i, table in enumerate(studies_raw):
        study = _study(table, i, names, env, num_steps)
        names.add(study.name)
        studies.append(study)
    final_steps = _int(raw, "final_steps", "", min(100, num_steps), 1)
    if final_steps > num_steps:
        raise _fail(
            "final_steps", final_steps, f"an integer in [1, num_steps={num_steps}]"
        )
    return ExperimentConfig(
        name=_str(raw, "name", "", None),
        description=str(raw.get("description", "")),
        seed=_seed(raw),
        num_seeds=_int(raw, "num_seeds", "", 100, 1),
        num_steps=num_steps,
        final_steps=final_steps,
        chunk_size=_int(raw, "chunk_size", "", 16384, 1),
        env=env,
        studies=tuple(studies),
    )


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


def load(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    """Reads, overrides and validates a TOML config; errors name the file and field."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))  # TOML is UTF-8
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file.") from None
    except (OSError, UnicodeDecodeError) as err:  # a directory, unreadable, not UTF-8
        raise ConfigError(f"{path}: cannot read the config: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    try:
        return from_dict(apply_overrides(raw, overrides or []))
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """The resolved config as plain Python data (for metadata and hashing)."""
    return dataclasses.asdict(config)
