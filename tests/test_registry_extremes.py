"""The registry's promise at the edges (issue 22, item 5): every number a config
can sweep or set, at 0, tiny, huge, float32's limits and inf, either runs to
finite numbers, is refused in one line naming the field and the value, or (a
learning rate that blows a network up) runs and has every diverged run flagged
and left out of the statistics. Nothing is ever a NaN or an inf presented as a
result.

Every (environment, agent, rule) the registry offers is enumerated from the
registry itself (a pair it refuses to combine is skipped, by that refusal). Every
extreme of every swept parameter and every environment parameter is checked by the
config (no compile: all of them, in the suite). The runs take one compiled program
per (environment, agent, rule, parameter), its values the accepted extremes; the
suite runs one such program per agent and per environment family (``SUITE``), and
``-m slow`` runs every one (``test_every_combination_runs_or_is_refused``). The
counts are printed (``-s``) and in the closing note of the issue.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import registry, run_experiment, schema
from rl_softmax.experiment.config import ConfigError

EXTREMES = {
    "0": 0.0,
    "tiny": schema.FLOAT32_TINY,
    "-tiny": -schema.FLOAT32_TINY,
    "subnormal": 1e-40,
    "1": 1.0,
    "huge": 1e30,
    "max": schema.FLOAT32_MAX,
    "-max": -schema.FLOAT32_MAX,
    "past max": 1e39,
    "inf": math.inf,
    "-inf": -math.inf,
}
REPLAY = {"num_envs": 2, "hidden": [8], "buffer_size": 64, "batch_size": 8,
          "learning_starts": 8}  # fmt: skip
ROLLOUT = {"num_envs": 2, "rollout_steps": 8, "num_minibatches": 2, "hidden": [8]}
NUM_STEPS = {"bandit": 64, "toy_text": 64, "classic": 48}


def _family(env: str) -> str:
    if env in ("gaussian", "nonstationary", "bernoulli"):
        return "bandit"
    if env in ("CartPole-v1", "Acrobot-v1", "MountainCar-v0"):
        return "classic"
    return "toy_text"


def _study(agent: str, rule: str | None, param: str, values) -> dict:
    study = {"name": "s", "agent": agent, "param": param, "values": list(values)}
    if rule is not None:
        study["rule"] = rule
    options = registry.AGENTS[agent].options
    study.update(REPLAY if "replay" in options else {})
    study.update(ROLLOUT if "rollout" in options else {})
    return study


def _config(env: str, study: dict, env_params: dict | None = None) -> dict:
    rollout = "rollout" in registry.AGENTS[study["agent"]].options
    num_steps = NUM_STEPS[_family(env)] * (16 if rollout else 1)
    return {
        "name": "extremes", "seed": 0, "num_seeds": 2, "num_steps": num_steps,
        "final_steps": num_steps // 2, "env": {"name": env, **(env_params or {})},
        "studies": [study],
    }  # fmt: skip


def _rules(agent: str):
    entry = registry.AGENTS[agent]
    if not entry.takes_rule:
        return [None]
    return [r for r in registry.RULES if entry.rules is None or r in entry.rules]


def combinations():
    """``(env, agent, rule, param, default)`` for every combination the registry
    accepts, with the parameter's default (a config of it is valid)."""
    out = []
    for env in registry.ENVS:
        for agent in registry.AGENTS:
            for rule in _rules(agent):
                try:
                    params = registry.agent_params(agent, rule, 2)
                except ConfigError:
                    continue
                for param, spec in params.items():
                    study = _study(agent, rule, param, [spec.default])
                    try:
                        config_lib.from_dict(_config(env, study))
                    except ConfigError:
                        continue  # the pair is refused whatever the value
                    out.append((env, agent, rule, param, spec.default))
    return out


COMBINATIONS = combinations()


def _one_line(error: ConfigError, field: str) -> None:
    message = str(error)
    assert "\n" not in message and field in message, message


def checked_extremes(env, agent, rule, param):
    """The extremes the config accepts for the swept ``param`` (the others must be
    refused in one line naming the field)."""
    accepted = []
    for name, value in EXTREMES.items():
        study = _study(agent, rule, param, [value])
        try:
            config_lib.from_dict(_config(env, study))
        except ConfigError as error:
            _one_line(error, "values")
            continue
        assert math.isinf(value) or abs(value) <= schema.FLOAT32_MAX, name
        assert value == 0 or abs(value) >= schema.FLOAT32_TINY, name
        accepted.append(value)
    return accepted


def test_every_swept_extreme_is_accepted_or_refused_in_one_line():
    tally = Counter()
    for env, agent, rule, param, _ in COMBINATIONS:
        accepted = checked_extremes(env, agent, rule, param)
        tally["accepted"] += len(accepted)
        tally["refused"] += len(EXTREMES) - len(accepted)
    print(f"\nswept: {len(COMBINATIONS)} (env, agent, rule, param) x {len(EXTREMES)} "
          f"extremes = {sum(tally.values())}: {dict(tally)}")  # fmt: skip
    assert len({c[:3] for c in COMBINATIONS}) >= 60  # the registry, not a sample
    assert tally["refused"] > 0 and tally["accepted"] > 0


def env_extremes(env: str):
    """``(param, value)`` the config accepts for each environment parameter."""
    accepted = []
    agent, rule, param = _ENV_AGENT[_family(env)]
    study = _study(agent, rule, param, [1.0 if param != "tau" else 0.5])
    for name in registry.ENVS[env].params:
        for value in EXTREMES.values():
            try:
                config_lib.from_dict(_config(env, study, {name: value}))
            except ConfigError as error:
                _one_line(error, f"env.{name}")
                continue
            accepted.append((name, value))
    return accepted


# One cheap agent per environment family, to run environment parameters with.
_ENV_AGENT = {
    "bandit": ("action_value", "boltzmann", "tau"),
    "toy_text": ("q_learning", "boltzmann", "tau"),
    "classic": ("action_value", "boltzmann", "tau"),
}


def test_every_env_extreme_is_accepted_or_refused_in_one_line():
    total = accepted = 0
    for env in registry.ENVS:
        found = env_extremes(env)
        total += len(registry.ENVS[env].params) * len(EXTREMES)
        accepted += len(found)
    print(f"\nenv params: {total} (param, extreme): {accepted} accepted, "
          f"{total - accepted} refused")  # fmt: skip
    assert 0 < accepted < total


def check_results(results) -> Counter:
    """Every summary row: a finite mean, an undefined one (NaN, no run defines
    it, none diverged), a temperature of inf, or runs flagged diverged and left
    out."""
    tally = Counter()
    for row in results.rows:
        where = (row["value"], row["metric"], row["window"])
        if row["num_diverged"]:
            tally["diverged"] += 1
            assert row["num_seeds"] + row["num_diverged"] <= 2, where
        if row["num_seeds"] == 0:
            assert math.isnan(row["mean"]), where
            tally["undefined" if not row["num_diverged"] else "all diverged"] += 1
        elif row["metric"] == "tau" and row["mean"] == math.inf:
            # tau = inf is the uniform policy: a temperature, not an overflow (its
            # mean is inf when a run acted at tau = inf at some step)
            tally["tau = inf"] += 1
        else:
            assert math.isfinite(row["mean"]) and math.isfinite(row["sem"]), where
            tally["finite"] += 1
    for result in results.studies.values():
        for metric in result.metrics.values():
            # no inf anywhere a statistic is read from (NaN only where undefined),
            # the temperature excepted
            if metric is not result.metrics.get("tau"):
                assert not np.isinf(np.asarray(metric.run_mean, np.float64)).any()
    return tally


def run_combination(env, agent, rule, param) -> Counter:
    values = sorted(set(checked_extremes(env, agent, rule, param)))
    study = _study(agent, rule, param, values)
    return _run(_config(env, study))


def _run(config: dict) -> Counter:
    """Runs a config in memory and checks its results; a refusal when the run is
    built (an agent that needs states on a bandit) must be one line too."""
    try:
        results = run_experiment(config, write=False, progress=False, cache_dir=False)
    except ConfigError as error:
        assert "\n" not in str(error), str(error)
        return Counter({"refused when built": 1})
    return check_results(results)


SUITE = [
    ("gaussian", "action_value", "boltzmann", "tau"),
    ("gaussian", "gradient_bandit", None, "step_size"),
    ("bernoulli", "auto_temperature", None, "tau_learning_rate"),
    ("FrozenLake-v1", "soft_q", "boltzmann", "tau"),
    ("CliffWalking-v1", "q_learning", "target_entropy", "final_entropy"),
    ("CartPole-v1", "dqn", "boltzmann", "learning_rate"),
]


@pytest.mark.parametrize(
    "combination", SUITE, ids=lambda c: "-".join(str(x) for x in c if x)
)
def test_extremes_run_finite_or_flagged(combination):
    assert combination in {c[:4] for c in COMBINATIONS}
    tally = run_combination(*combination)
    assert tally["finite"] > 0


def test_env_extremes_run_finite_or_flagged():
    """The accepted extremes of one parameter per environment family (every one
    with ``-m slow``)."""
    for env, name in (("gaussian", "noise_std"), ("CartPole-v1", "gravity")):
        _run_env_param(env, name)


def _run_env_param(env: str, name: str) -> Counter:
    tally = Counter()
    agent, rule, param = _ENV_AGENT[_family(env)]
    for found, value in env_extremes(env):
        if found != name:
            continue
        study = _study(agent, rule, param, [0.5])
        tally += _run(_config(env, study, {name: value}))
    return tally


@pytest.mark.slow
def test_every_combination_runs_or_is_refused():
    tally = Counter()
    for combination in COMBINATIONS:
        tally += run_combination(*combination[:4])
    for env in registry.ENVS:
        for name in registry.ENVS[env].params:
            tally += _run_env_param(env, name)
    print(f"\nruns: {len(COMBINATIONS)} swept programs, summary rows {dict(tally)}")
    assert tally["finite"] > 0
