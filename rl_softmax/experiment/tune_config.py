"""The ``[tune]`` table of a config: what ``rl-softmax tune`` searches and how.

::

    [tune]
    trials = 24          # the budget, shared by every process on one storage
    batch = 8            # trials per call of the one compiled program
    seeds = 100          # seeds per trial (common random numbers)
    eval_seeds = 500     # fresh seeds for the answer's mean and interval
    sampler = "tpe"      # "gp", "cmaes" or "random"

    [tune.params]
    tau = { low = 0.004, high = 4.0, log = true }
    step_size = { low = 0.01, high = 1.0, log = true }

Every key is optional (:data:`rl_softmax.experiment.schema.TUNE` holds them with
their defaults and ranges). Without ``params`` each study's swept parameter is
searched over the range of its values; without a table at all every study is tuned
with these defaults. A searched parameter must be a traced number of the agent
(:func:`rl_softmax.experiment.registry.agent_params`): one that sets shapes (a
network's width, a batch size) would compile a program per trial and is refused.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from rl_softmax.experiment import registry, schema
from rl_softmax.experiment.config import (
    ConfigError,
    ExperimentConfig,
    StudyConfig,
    spec_float,
)

__all__ = ["Search", "SearchParam", "searches"]

_TUNE = schema.TUNE
_PARAM = schema.TUNE_PARAM
WHERE = "tune."


@dataclasses.dataclass(frozen=True)
class SearchParam:
    """One searched parameter.

    Attributes:
      name: the config key (``tau``, ``step_size``, ...).
      low, high: the closed range searched.
      log: searched on a log scale.
      integer: integer values (Optuna's ``suggest_int``).
    """

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False


@dataclasses.dataclass(frozen=True)
class Search:
    """The search of one study, every default resolved.

    Attributes:
      study: the study's name.
      params: the searched parameters, in order.
      metric: the objective's metric (None: the study's headline metric, known
        once its run is built).
      window: ``"all"`` or ``"final"``.
      direction: ``"maximize"`` or ``"minimize"``.
      trials: the budget of trials.
      batch: trials per compiled call.
      seeds: seeds per trial.
      eval_seeds: fresh seeds of the best setting's re-evaluation.
      fidelity_seeds: seeds of the cheap first evaluation (0: off).
      keep: the fraction of each batch promoted to ``seeds``.
      sampler: ``"tpe"``, ``"gp"``, ``"cmaes"`` or ``"random"``.
      seed: the sampler's seed.
    """

    study: str
    params: tuple[SearchParam, ...]
    metric: str | None
    window: str
    direction: str
    trials: int
    batch: int
    seeds: int
    eval_seeds: int
    fidelity_seeds: int
    keep: float
    sampler: str
    seed: int


def _fail(field: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{WHERE}{field}: got {value!r}; expected {allowed}.")


def _int(table: dict, key: str, default: int) -> int:
    spec = _TUNE[key]
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(key, value, schema.int_range(spec.low, spec.high))
    if value < spec.low or (spec.high is not None and value > spec.high):
        raise _fail(key, value, schema.int_range(spec.low, spec.high))
    return value


def _choice(table: dict, key: str) -> str:
    spec = _TUNE[key]
    value = table.get(key, spec.default)
    if value not in spec.choices:
        raise _fail(key, value, f"one of {list(spec.choices)}")
    return value


def _checked_keys(table: Any) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(f"tune: got {table!r}; expected a table [tune].")
    unknown = set(table) - set(_TUNE)
    if unknown:
        raise ConfigError(
            f"tune: unknown key(s) {sorted(unknown)}; expected some of {list(_TUNE)}."
        )
    return table


def _studies(table: dict, config: ExperimentConfig) -> list[StudyConfig]:
    names = [s.name for s in config.studies]
    chosen = table.get("studies", names)
    if (
        not isinstance(chosen, list)
        or not chosen
        or any(n not in names for n in chosen)
        or len(set(chosen)) != len(chosen)
    ):
        raise _fail("studies", chosen, f"distinct names among {names}")
    return [s for s in config.studies if s.name in chosen]


def _param_specs(study: StudyConfig, num_actions: int) -> dict[str, registry.Param]:
    return registry.agent_params(study.agent, study.rule, num_actions)


def _default_params(study: StudyConfig) -> tuple[SearchParam, ...]:
    """The study's swept parameter(s) over the range of its values (references
    left out), on a log scale when positive and spanning more than a decade."""
    columns = (
        [[v[i] for v in study.values] for i in range(len(study.params))]
        if study.params
        else [list(study.values)]
    )
    out = []
    for name, values in zip(study.swept, columns, strict=True):
        finite = [v for v in values if math.isfinite(v)]
        low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
        if not low < high:
            raise ConfigError(
                f"studies.{study.name}: its values of {name} span no range "
                f"({values}); give [tune.params] {name} = {{ low = ..., high = ... }}."
            )
        out.append(SearchParam(name, low, high, log=low > 0 and high / low > 10))
    return tuple(out)


def _param(name: str, spec: Any, study: StudyConfig, specs) -> SearchParam:
    where = f"params.{name}"
    if name not in specs:
        shapes = name in study.rollout or name in ("num_envs", "hidden", "num_arms")
        why = (
            " (it sets shapes, so every value would compile its own program)"
            if shapes
            else ""
        )
        raise _fail(
            where, name,
            f"a traced parameter of study {study.name!r}'s agent{why}: one of "
            f"{list(specs)}",
        )  # fmt: skip
    if not isinstance(spec, dict):
        raise _fail(where, spec, "a table { low = ..., high = ..., log = ... }")
    unknown = set(spec) - set(_PARAM)
    if unknown:
        raise _fail(where, sorted(unknown), f"keys among {list(_PARAM)}")
    for key in ("low", "high"):
        if key not in spec:
            raise ConfigError(f"{WHERE}{where}.{key}: missing; it is required.")
    kind = spec.get("type", "float")
    if kind not in _PARAM["type"].choices:
        raise _fail(f"{where}.type", kind, f"one of {list(_PARAM['type'].choices)}")
    low = spec_float(spec["low"], f"{WHERE}{where}.low", specs[name])
    high = spec_float(spec["high"], f"{WHERE}{where}.high", specs[name])
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise _fail(f"{where}.log", log, "true or false")
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise _fail(where, [low, high], "finite low < high")
    if log and low <= 0:
        raise _fail(f"{where}.low", low, "> 0 on a log scale (log = true)")
    if kind == "int" and not (low.is_integer() and high.is_integer()):
        raise _fail(where, [low, high], 'whole numbers for type = "int"')
    return SearchParam(name, low, high, log, kind == "int")


def searches(config: ExperimentConfig, table: dict | None = None) -> list[Search]:
    """The search of every tuned study, defaults resolved and every key checked
    (``table``: the ``[tune]`` table, default the config's own); errors name the
    key, before anything runs."""
    table = _checked_keys(config.tune if table is None else table)
    params_raw = table.get("params")
    if params_raw is not None and (not isinstance(params_raw, dict) or not params_raw):
        raise _fail("params", params_raw, "a table of parameters [tune.params]")
    num_seeds = config.num_seeds
    seeds = _int(table, "seeds", max(2, num_seeds // 8))
    fidelity = _int(table, "fidelity_seeds", 0)
    if fidelity >= seeds:
        raise _fail("fidelity_seeds", fidelity, f"fewer than seeds = {seeds} (or 0)")
    keep = table.get("keep", _TUNE["keep"].default)
    if isinstance(keep, bool) or not isinstance(keep, int | float) or not 0 < keep <= 1:
        raise _fail("keep", keep, "a fraction in (0, 1]")
    out = []
    for study in _studies(table, config):
        specs = _param_specs(study, config.env.num_actions)
        if params_raw is None:
            params = _default_params(study)
        else:
            params = tuple(_param(n, s, study, specs) for n, s in params_raw.items())
            missing = [n for n in study.swept if n not in params_raw]
            if missing:
                raise _fail(
                    "params", list(params_raw),
                    f"every parameter study {study.name!r} sweeps, so that none "
                    f"is left without a value: add {missing}",
                )  # fmt: skip
        metric = table.get("metric")
        if metric is not None and not isinstance(metric, str):
            raise _fail("metric", metric, "a metric's name")
        out.append(
            Search(
                study=study.name, params=params, metric=metric,
                window=_choice(table, "window"),
                direction=_choice(table, "direction"),
                trials=_int(table, "trials", _TUNE["trials"].default),
                batch=_int(table, "batch", _TUNE["batch"].default),
                seeds=seeds,
                eval_seeds=_int(table, "eval_seeds", max(2, num_seeds // 2)),
                fidelity_seeds=fidelity, keep=float(keep),
                sampler=_choice(table, "sampler"),
                seed=_int(table, "seed", _TUNE["seed"].default),
            )
        )  # fmt: skip
    return out
