"""Tests for rl_softmax/experiment/config.py: TOML -> validated, frozen dataclasses.

The shipped configs are checked against an independent ``tomllib`` parse (with
``log2_range`` expanded by NumPy); every kind of bad input must raise a
:class:`ConfigError` whose message names the offending field and value. The study
keys each agent and rule takes are written out here from the design (not read from
the registry), so a registry entry that takes a key it should not, or loses one, is
caught.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from rl_softmax.agents import action_value, auto_temperature, gradient_bandit
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment.config import (
    ConfigError,
    apply_overrides,
    from_dict,
    load,
)

CONFIGS = sorted(
    (Path(__file__).resolve().parents[1] / "rl_softmax" / "configs").glob("*.toml")
)

# The design's defaults and study keys (API brief), written out independently.
OPTIMIZER_DEFAULT = {
    "gradient_bandit": "sgd", "auto_temperature": "adam", "ppo": "adam", "a2c": "adam",
    "ppo_auto": "adam", "dqn": "adam", "double_dqn": "adam", "soft_dqn": "adam",
}  # fmt: skip
COMMON_KEYS = {
    "name", "label", "agent", "rule", "param", "values", "log2_range", "num_values",
    "references", "track_probs", "params", "grid",
}  # fmt: skip
AGENT_KEYS = {
    "action_value": {"rule", "step_size", "initial_value"},
    "gradient_bandit": {"optimizer", "baseline", "step_size", "tau"},
    "auto_temperature": {
        "optimizer", "entropy", "step_size", "tau_learning_rate", "initial_tau",
        "initial_value",
    },
}  # fmt: skip
RULE_KEYS = {
    "boltzmann": {"tau", "schedule", "schedule_args"},
    "greedy": set(),
    "epsilon_greedy": {"epsilon"},
    "ucb": {"c"},
    "boltzmann_gumbel": {"c"},
    "target_entropy": {"final_entropy", "entropy"},
}
# A swept value each (agent, rule) accepts, and its parameter.
STUDIES = {
    ("action_value", "boltzmann"): ("tau", 0.5),
    ("action_value", "greedy"): ("initial_value", 1.0),
    ("action_value", "epsilon_greedy"): ("epsilon", 0.1),
    ("action_value", "ucb"): ("c", 1.0),
    ("action_value", "boltzmann_gumbel"): ("c", 1.0),
    ("action_value", "target_entropy"): ("final_entropy", 0.1),
    ("gradient_bandit", ""): ("step_size", 0.1),
    ("auto_temperature", ""): ("tau_learning_rate", 0.05),
}


def _base() -> dict:
    """A small valid experiment as parsed TOML."""
    return {
        "name": "tiny",
        "num_seeds": 4,
        "num_steps": 20,
        "env": {"name": "gaussian", "num_arms": 5, "mean": 0.0},
        "studies": [
            {"name": "soft", "rule": "boltzmann", "param": "tau", "values": [0.5, 1.0]}
        ],
    }


def _expected_values(study: dict) -> np.ndarray:
    """The swept values a raw study table describes, computed with NumPy (a grid:
    every combination, the first parameter outermost)."""
    if "grid" in study:
        axes = [
            _expected_values(axis if isinstance(axis, dict) else {"values": axis})
            for axis in study["grid"].values()
        ]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=-1)
    if "values" in study:
        return np.asarray(study["values"], np.float64)
    lo, hi = study["log2_range"]
    num = study.get("num_values", int(round(hi - lo)) + 1)
    return 2.0 ** np.linspace(lo, hi, num)


# ---------------------------------------------------------------------- valid input


def test_at_least_one_config_is_shipped():
    assert CONFIGS, "no configs/*.toml found"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_config_loads_as_written(path):
    raw = tomllib.loads(path.read_text())
    config = load(path)
    assert isinstance(config, config_lib.ExperimentConfig)
    assert config.name == raw["name"]
    assert "chunk_size" not in raw  # refused since blocks are sized automatically
    for key in ("seed", "num_seeds", "num_steps", "final_steps", "max_block_runs"):
        if key in raw:
            assert getattr(config, key) == raw[key]
    assert config.max_block_runs == raw.get("max_block_runs", 0)
    assert config.final_steps <= config.num_steps
    assert config.env.name == raw.get("env", {}).get("name", "gaussian")
    assert len(config.studies) == len(raw["studies"])
    for study, table in zip(config.studies, raw["studies"], strict=True):
        assert study.name == table["name"]
        assert study.agent == table.get("agent", "action_value")
        assert study.rule == table.get("rule", "")
        np.testing.assert_allclose(study.values, _expected_values(table), rtol=1e-12)
        flat = [x for v in study.values for x in (v if study.params else (v,))]
        assert all(isinstance(x, float) for x in flat)
        assert study.references == table.get("references", {})
        for key in set(table) & set(study.fixed):  # fixed numbers, as written
            assert study.fixed[key] == table[key], key
        assert study.track_probs == table.get("track_probs", False)
        if study.rule == "boltzmann" or study.agent in ("ppo", "a2c"):
            assert study.schedule == table.get("schedule", "constant")
            assert study.schedule_args == table.get("schedule_args", {})
        if "entropy" in table:
            for key, value in table["entropy"].items():
                assert study.entropy[key] == value, key
        if study.agent in OPTIMIZER_DEFAULT:
            default = OPTIMIZER_DEFAULT[study.agent]
            assert study.optimizer == table.get("optimizer", default)
        else:
            assert study.optimizer == ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.num_seeds = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("log2_range", "num_values"),
    [([-2, 2], None), ([-2, 2], 9), ([-7, 2], 19), ([-4.5, -1], 8), ([3, 3], None)],
)
def test_log2_range_gives_powers_of_two(log2_range, num_values):
    raw = _base()
    study = raw["studies"][0]
    del study["values"]
    study["log2_range"] = log2_range
    if num_values is not None:
        study["num_values"] = num_values
    values = from_dict(raw).studies[0].values
    expected = 2.0 ** np.linspace(
        *log2_range, num_values or 1 + log2_range[1] - log2_range[0]
    )
    np.testing.assert_allclose(values, expected, rtol=1e-12)


def test_references_may_hold_tau_zero_and_infinity():
    raw = _base()
    raw["studies"][0]["references"] = {"greedy": 0.0, "uniform": math.inf}
    study = from_dict(raw).studies[0]
    assert study.references == {"greedy": 0.0, "uniform": math.inf}
    assert study.values == (0.5, 1.0)


def test_tau_values_may_include_zero_and_infinity():
    raw = _base()
    raw["studies"][0]["values"] = [0.0, 0.25, math.inf]
    assert from_dict(raw).studies[0].values == (0.0, 0.25, math.inf)


def test_defaults_are_sample_average_and_final_window_within_run():
    config = from_dict(_base())
    assert config.studies[0].sample_average  # no step_size: sample averages
    assert config.studies[0].agent == "action_value"
    assert config.final_steps == min(100, config.num_steps)
    assert config.seed == 0 and config.env.sizes == {"num_arms": 5}
    assert config.env.num_actions == 5  # of the environment so built
    assert config.max_block_runs == 0  # blocks sized automatically


def test_env_sizes_default_and_set_the_number_of_actions():
    raw = _base()
    del raw["env"]["num_arms"]
    env = from_dict(raw).env
    assert env.sizes == {"num_arms": 10} and env.num_actions == 10
    raw["env"] = {"name": "bernoulli", "num_arms": 3, "low": 0.2}
    env = from_dict(raw).env
    assert (env.name, env.sizes, env.num_actions) == ("bernoulli", {"num_arms": 3}, 3)
    assert env.params == {"low": 0.2}


def test_max_block_runs_is_kept():
    raw = _base()
    raw["max_block_runs"] = 64
    assert from_dict(raw).max_block_runs == 64


@pytest.mark.parametrize("value", [16, 0])
def test_chunk_size_is_refused_naming_max_block_runs(value):
    raw = _base()
    raw["chunk_size"] = value
    with pytest.raises(ConfigError) as info:
        from_dict(raw)
    message = str(info.value)
    assert "chunk_size" in message and "max_block_runs" in message
    assert "\n" not in message


def _one_study(agent: str, rule: str, **table) -> dict:
    param, value = STUDIES[agent, rule]
    study = {"name": "s", "agent": agent, "param": param, "values": [value]}
    if rule:
        study["rule"] = rule
    raw = _base()
    raw["studies"] = [{**study, **table}]
    return raw


def test_fixed_parameters_default_to_the_agent_params_defaults():
    # Boltzmann: step_size and initial_value from ActionValueParams.
    defaults = action_value.ActionValueParams()
    study = from_dict(_base()).studies[0]
    assert study.fixed == {
        "step_size": defaults.step_size,
        "initial_value": defaults.initial_value,
    }
    study = from_dict(_one_study("gradient_bandit", "")).studies[0]
    assert study.fixed == {"tau": gradient_bandit.GradientBanditParams().explore}
    defaults = auto_temperature.AutoTemperatureParams()
    study = from_dict(_one_study("auto_temperature", "")).studies[0]
    assert study.fixed == {
        "initial_tau": defaults.initial_tau,
        "step_size": defaults.step_size,
        "initial_value": defaults.initial_value,
    }
    # A rule's parameter without a default of its own: the params' ``explore``.
    defaults = action_value.ActionValueParams()
    raw = _one_study("action_value", "epsilon_greedy", param="step_size")
    study = from_dict(raw).studies[0]
    assert study.fixed == {
        "epsilon": defaults.explore,
        "initial_value": defaults.initial_value,
    }


@pytest.mark.parametrize(
    ("agent", "optimizer", "sample_average"),
    [
        ("action_value", "", True),
        ("gradient_bandit", "sgd", False),
        ("auto_temperature", "adam", True),
    ],
)
def test_optimizer_and_sample_average_defaults_per_agent(
    agent, optimizer, sample_average
):
    rule = "boltzmann" if agent == "action_value" else ""
    study = from_dict(_one_study(agent, rule)).studies[0]
    assert study.optimizer == optimizer
    assert study.sample_average == sample_average
    assert study.rule == rule


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop"])
@pytest.mark.parametrize("agent", ["gradient_bandit", "auto_temperature"])
def test_every_optimizer_name_is_accepted(agent, optimizer):
    raw = _one_study(agent, "", optimizer=optimizer)
    assert from_dict(raw).studies[0].optimizer == optimizer


def test_step_size_number_or_sample_average():
    raw = _one_study("action_value", "boltzmann", step_size=0.25)
    study = from_dict(raw).studies[0]
    assert not study.sample_average and study.fixed["step_size"] == 0.25
    raw = _one_study("action_value", "boltzmann", step_size="sample_average")
    study = from_dict(raw).studies[0]
    assert study.sample_average
    # A swept step size is a constant step size.
    study = from_dict(_study_raw(rule="greedy", param="step_size")).studies[0]
    assert not study.sample_average and study.param == "step_size"
    raw = _one_study("auto_temperature", "", step_size=0.5)
    study = from_dict(raw).studies[0]
    assert not study.sample_average and study.fixed["step_size"] == 0.5


def _study_raw(**table) -> dict:
    raw = _base()
    raw["studies"] = [{"name": "s", "values": [0.1, 0.2], **table}]
    return raw


def test_boltzmann_schedule_and_its_arguments_are_kept():
    args = {"decay_rate": 0.001, "transition_steps": 1000, "floor": 0.001}
    raw = _study_raw(rule="boltzmann", schedule="exponential", schedule_args=args)
    study = from_dict(raw).studies[0]
    assert study.schedule == "exponential" and study.schedule_args == args
    assert study.param == "tau"  # the rule's parameter is the default param
    study = from_dict(_base()).studies[0]
    assert study.schedule == "constant" and study.schedule_args == {}


@pytest.mark.parametrize("num_arms", [2, 5, 10])
def test_target_entropy_defaults(num_arms):
    raw = _study_raw(rule="target_entropy")
    raw["env"]["num_arms"] = num_arms
    study = from_dict(raw).studies[0]
    assert study.param == "final_entropy"  # the rule's parameter comes first
    assert study.entropy == {"shape": "linear", "anneal_steps": raw["num_steps"]}
    # Not swept: the final entropy defaults to 1% of the uniform entropy log K.
    raw = _study_raw(rule="target_entropy", param="step_size")
    raw["env"]["num_arms"] = num_arms
    study = from_dict(raw).studies[0]
    assert study.fixed["final_entropy"] == pytest.approx(0.01 * math.log(num_arms))
    raw = _study_raw(agent="auto_temperature", entropy={"shape": "cosine"})
    raw["env"]["num_arms"] = num_arms
    entropy = from_dict(raw).studies[0].entropy
    assert entropy["shape"] == "cosine" and entropy["anneal_steps"] == 20
    assert entropy["final_entropy"] == pytest.approx(0.01 * math.log(num_arms))


def test_final_entropy_may_reach_log_k():
    raw = _study_raw(rule="target_entropy")
    raw["studies"][0]["values"] = [0.0, math.log(5)]
    assert from_dict(raw).studies[0].values == (0.0, math.log(5))


@pytest.mark.parametrize(("agent", "rule"), list(STUDIES))
def test_unknown_study_key_lists_exactly_the_keys_of_agent_and_rule(agent, rule):
    with pytest.raises(ConfigError) as info:
        from_dict(_one_study(agent, rule, bogus=1.0))
    message = str(info.value)
    assert message.startswith("studies[0]: unknown key(s) ['bogus']; allowed: ")
    allowed = set(ast.literal_eval(message.split("allowed: ")[1].rstrip(".")))
    expected = COMMON_KEYS | AGENT_KEYS[agent] | RULE_KEYS.get(rule, set())
    # 'rule' is listed for every agent; an agent without rules refuses it with its
    # own message (BAD["rule on gradient_bandit"]).
    assert allowed | {"rule"} == expected | {"rule"}


@pytest.mark.parametrize(("agent", "rule"), list(STUDIES))
def test_every_key_of_agent_and_rule_is_accepted(agent, rule):
    values = {
        "step_size": 0.5, "initial_value": 1.0, "tau": 2.0, "epsilon": 0.2, "c": 2.0,
        "final_entropy": 0.3, "tau_learning_rate": 0.01, "initial_tau": 3.0,
    }  # fmt: skip
    options = {
        "schedule": "inverse_log", "schedule_args": {"offset": 3.0},
        "optimizer": "rmsprop", "baseline": False,
        "entropy": {"shape": "cosine", "anneal_steps": 7},
    }  # fmt: skip
    param, value = STUDIES[agent, rule]
    table = {"label": "L", "references": {"r": value}}
    table["track_probs"] = rule != "boltzmann_gumbel"  # no closed-form probs
    for key in (AGENT_KEYS[agent] | RULE_KEYS.get(rule, set())) - {"rule", param}:
        table[key] = values[key] if key in values else options[key]
    study = from_dict(_one_study(agent, rule, **table)).studies[0]
    for key in set(table) & set(values):
        assert study.fixed[key] == values[key], key
    assert study.label == "L" and study.references == table["references"]
    assert study.track_probs == table["track_probs"]
    if "schedule" in table:
        assert study.schedule == "inverse_log"
        assert study.schedule_args == {"offset": 3.0}
    if "optimizer" in table:
        assert study.optimizer == "rmsprop"
    if "baseline" in table:
        assert study.baseline is False
    if "entropy" in table:
        assert study.entropy["shape"] == "cosine"
        assert study.entropy["anneal_steps"] == 7


# ------------------------------------------------------------------------ bad input


def _set(path: str, value):
    """A mutation of :func:`_base` setting the dotted ``path`` (ints index lists)."""

    def mutate(raw):
        *parents, last = path.split(".")
        node = raw
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value

    return mutate


def _delete(path: str):
    def mutate(raw):
        *parents, last = path.split(".")
        node = raw
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]

    return mutate


def _append(path: str, table: dict):
    def mutate(raw):
        raw[path].append(table)

    return mutate


def _study(**table):
    return _set("studies.0", {"name": "s", **table})


BAD = {
    # name: (mutation, substrings the message must contain)
    "unknown top-level key": (_set("num_seed", 5), ["top level", "num_seed"]),
    "unknown study key": (
        _set("studies.0.temperature", 1.0),
        ["studies[0]", "'temperature'", "allowed", "'tau'", "'schedule'"],
    ),
    "chunk_size": (_set("chunk_size", 16), ["chunk_size", "max_block_runs"]),
    "negative max_block_runs": (
        _set("max_block_runs", -1),
        ["max_block_runs", "-1", ">= 0"],
    ),
    "float max_block_runs": (_set("max_block_runs", 8.0), ["max_block_runs", "8.0"]),
    # Study keys an agent or rule does not take: "unknown key", allowed keys listed.
    "schedule on greedy": (
        _study(rule="greedy", schedule="linear", values=[0.1]),
        ["studies[0]", "unknown key", "'schedule'", "allowed", "'initial_value'"],
    ),
    "schedule_args on epsilon-greedy": (
        _study(rule="epsilon_greedy", schedule_args={"offset": 1.0}, values=[0.1]),
        ["studies[0]", "unknown key", "'schedule_args'", "'epsilon'"],
    ),
    "entropy on boltzmann": (
        _study(rule="boltzmann", entropy={"shape": "linear"}, values=[0.1]),
        ["studies[0]", "unknown key", "'entropy'", "'schedule'"],
    ),
    "schedule on target_entropy": (
        _study(rule="target_entropy", schedule="linear", values=[0.1]),
        ["studies[0]", "unknown key", "'schedule'", "'entropy'"],
    ),
    "tau on ucb": (
        _study(rule="ucb", tau=1.0, values=[0.1]),
        ["studies[0]", "unknown key", "'tau'", "'c'"],
    ),
    "optimizer on action_value": (
        _set("studies.0.optimizer", "adam"),
        ["studies[0]", "unknown key", "'optimizer'"],
    ),
    "baseline on action_value": (
        _set("studies.0.baseline", False),
        ["studies[0]", "unknown key", "'baseline'"],
    ),
    "initial_value on gradient_bandit": (
        _study(agent="gradient_bandit", initial_value=1.0, values=[0.1]),
        ["studies[0]", "unknown key", "'initial_value'", "'baseline'"],
    ),
    "entropy on gradient_bandit": (
        _study(agent="gradient_bandit", entropy={}, values=[0.1]),
        ["studies[0]", "unknown key", "'entropy'", "'optimizer'"],
    ),
    "schedule on auto_temperature": (
        _study(agent="auto_temperature", schedule="linear", values=[0.1]),
        ["studies[0]", "unknown key", "'schedule'", "'tau_learning_rate'"],
    ),
    "baseline on auto_temperature": (
        _study(agent="auto_temperature", baseline=True, values=[0.1]),
        ["studies[0]", "unknown key", "'baseline'", "'initial_tau'"],
    ),
    "rule on gradient_bandit": (
        _study(agent="gradient_bandit", rule="boltzmann", values=[0.1]),
        ["studies[0].rule", "'gradient_bandit'", "no exploration rule"],
    ),
    "unknown agent": (
        _study(agent="reinforce", values=[0.1]),
        ["studies[0].agent", "'reinforce'", "gradient_bandit"],
    ),
    "unknown schedule": (
        _study(rule="boltzmann", schedule="cubic", values=[0.1]),
        ["studies[0].schedule", "'cubic'", "inverse_log"],
    ),
    "schedule argument unknown": (
        _study(
            rule="boltzmann",
            schedule="inverse_log",
            schedule_args={"foo": 1},
            values=[0.1],
        ),
        ["studies[0].schedule_args", "foo", "offset"],
    ),
    "schedule argument out of range": (
        _study(
            rule="boltzmann",
            schedule="exponential",
            schedule_args={"decay_rate": 2.0, "transition_steps": 10},
            values=[0.1],
        ),
        ["studies[0].schedule_args", "decay_rate", "2.0"],
    ),
    "schedule argument missing": (
        _study(rule="boltzmann", schedule="exponential", values=[0.1]),
        ["studies[0].schedule_args", "exponential", "decay_rate"],
    ),
    "schedule_args not a table": (
        _study(rule="boltzmann", schedule="linear", schedule_args=[1], values=[0.1]),
        ["studies[0].schedule_args", "[1]"],
    ),
    "unknown optimizer": (
        _study(agent="gradient_bandit", optimizer="lbfgs", values=[0.1]),
        ["studies[0].optimizer", "'lbfgs'", "adam"],
    ),
    "baseline not a bool": (
        _study(agent="gradient_bandit", baseline="yes", values=[0.1]),
        ["studies[0].baseline", "'yes'", "true or false"],
    ),
    "gradient bandit tau zero": (
        _study(agent="gradient_bandit", param="tau", values=[1.0, 0.0]),
        ["studies[0].values", "0.0"],
    ),
    "gradient bandit fixed tau infinite": (
        _study(agent="gradient_bandit", tau=math.inf, values=[0.1]),
        ["studies[0].tau", "inf"],
    ),
    "auto temperature initial tau zero": (
        _study(agent="auto_temperature", initial_tau=0.0, values=[0.1]),
        ["studies[0].initial_tau", "0.0"],
    ),
    "auto temperature negative learning rate": (
        _study(agent="auto_temperature", values=[0.1, -0.1]),
        ["studies[0].values", "-0.1"],
    ),
    "final_entropy as auto temperature param": (
        _study(agent="auto_temperature", param="final_entropy", values=[0.1]),
        ["studies[0].param", "'final_entropy'", "tau_learning_rate"],
    ),
    "step size string": (
        _set("studies.0.step_size", "constant"),
        ["studies[0].step_size", "'constant'", "a number"],
    ),
    "final entropy above log K": (
        _study(rule="target_entropy", values=[0.1, 2.0]),
        ["studies[0].values", "2.0", "1.60944"],  # log 5
    ),
    "negative final entropy": (
        _study(rule="target_entropy", values=[-0.1]),
        ["studies[0].values", "-0.1"],
    ),
    "unknown entropy shape": (
        _study(rule="target_entropy", values=[0.1], entropy={"shape": "cubic"}),
        ["studies[0].entropy.shape", "'cubic'", "exponential"],
    ),
    "unknown entropy key": (
        _study(rule="target_entropy", values=[0.1], entropy={"steps": 10}),
        ["studies[0].entropy", "'steps'", "anneal_steps"],
    ),
    "final entropy in entropy while swept": (
        _study(rule="target_entropy", values=[0.1], entropy={"final_entropy": 0.2}),
        ["studies[0].entropy", "'final_entropy'"],
    ),
    "anneal_steps zero": (
        _study(rule="target_entropy", values=[0.1], entropy={"anneal_steps": 0}),
        ["studies[0].entropy.anneal_steps", "0"],
    ),
    "entropy not a table": (
        _study(rule="target_entropy", values=[0.1], entropy=0.1),
        ["studies[0].entropy", "0.1"],
    ),
    "auto temperature final entropy above log K": (
        _study(agent="auto_temperature", values=[0.1], entropy={"final_entropy": 5}),
        ["studies[0].entropy.final_entropy", "5", "1.60944"],
    ),
    "exponential entropy reaching zero": (
        _study(
            agent="auto_temperature",
            values=[0.1],
            entropy={"shape": "exponential", "final_entropy": 0.0},
        ),
        ["studies[0].entropy.final_entropy", "0.0", "exponential"],
    ),
    "unknown env name": (_set("env.name", "gaussain"), ["env.name", "'gaussain'"]),
    "unknown env param": (_set("env.walk_std", 0.1), ["env", "walk_std"]),
    "string for an int": (_set("num_seeds", "10"), ["num_seeds", "'10'"]),
    "string for a float": (_set("env.mean", "0"), ["env.mean", "'0'"]),
    "string among values": (
        _set("studies.0.values", [0.5, "1"]),
        ["studies[0].values", "'1'"],
    ),
    "float for an int": (_set("num_steps", 20.0), ["num_steps", "20.0"]),
    "float num_arms": (_set("env.num_arms", 5.5), ["env.num_arms", "5.5"]),
    "bool for an int": (_set("num_seeds", True), ["num_seeds", "True"]),
    "bool for a float": (_set("env.mean", True), ["env.mean", "True"]),
    "negative tau": (_set("studies.0.values", [-0.5, 1.0]), ["values", "-0.5"]),
    "negative tau reference": (
        _set("studies.0.references", {"x": -1.0}),
        ["studies[0].references.x", "-1.0"],
    ),
    "nan tau": (_set("studies.0.values", [math.nan]), ["values", "nan"]),
    "epsilon above one": (
        _study(rule="epsilon_greedy", values=[0.1, 1.5]),
        ["studies[0].values", "1.5"],
    ),
    "fixed epsilon infinite": (
        _study(
            rule="epsilon_greedy", param="initial_value", values=[0.0], epsilon=math.inf
        ),
        ["studies[0].epsilon", "inf"],
    ),
    "fixed epsilon above one": (
        _study(rule="epsilon_greedy", param="initial_value", values=[0.0], epsilon=1.5),
        ["studies[0].epsilon", "1.5"],
    ),
    "epsilon infinite value": (
        _study(rule="epsilon_greedy", values=[math.inf]),
        ["studies[0].values", "inf"],
    ),
    "ucb c infinite": (_study(rule="ucb", values=[1.0, math.inf]), ["values", "inf"]),
    "boltzmann-gumbel c zero": (
        _study(rule="boltzmann_gumbel", values=[0.0]),
        ["studies[0].values", "0.0"],
    ),
    "step size zero": (
        _set("studies.0.step_size", 0.0),
        ["studies[0].step_size", "0.0"],
    ),
    "step size negative": (
        _set("studies.0.step_size", -0.1),
        ["studies[0].step_size", "-0.1"],
    ),
    "swept step size zero": (
        _study(rule="greedy", param="step_size", values=[0.1, 0.0]),
        ["studies[0].values", "0.0"],
    ),
    "num_seeds zero": (_set("num_seeds", 0), ["num_seeds", "0"]),
    "num_arms one": (_set("env.num_arms", 1), ["env.num_arms", "1"]),
    "negative std": (_set("env.std", -1.0), ["env.std", "-1.0"]),
    "infinite env mean": (_set("env.mean", math.inf), ["env.mean", "inf"]),
    "empty values": (_set("studies.0.values", []), ["studies[0].values", "[]"]),
    "values and log2_range": (
        _set("studies.0.log2_range", [-1, 1]),
        ["studies[0]", "values", "log2_range"],
    ),
    "neither values nor log2_range": (
        _delete("studies.0.values"),
        ["studies[0]", "values", "log2_range"],
    ),
    "short log2_range": (
        _study(rule="boltzmann", log2_range=[1]),
        ["studies[0].log2_range", "[1]"],
    ),
    "decreasing log2_range": (
        _study(rule="boltzmann", log2_range=[2, -1]),
        ["studies[0].log2_range", "[2, -1]"],
    ),
    "log2_range overflowing": (
        _study(rule="boltzmann", log2_range=[0, 1100]),
        ["studies[0].log2_range", "1100"],
    ),
    "num_values zero": (
        _study(rule="boltzmann", log2_range=[-1, 1], num_values=0),
        ["studies[0].num_values", "0"],
    ),
    "missing rule": (_delete("studies.0.rule"), ["studies[0].rule", "missing"]),
    "unknown rule": (
        _set("studies.0.rule", "thompson"),
        ["studies[0].rule", "thompson"],
    ),
    "param of another rule": (
        _study(rule="greedy", param="tau", values=[1.0]),
        ["studies[0].param", "'tau'"],
    ),
    "duplicate study names": (
        _append(
            "studies",
            {
                "name": "soft",
                "rule": "greedy",
                "param": "initial_value",
                "values": [0.0],
            },
        ),
        ["studies[1].name", "'soft'"],
    ),
    "bad study name": (_set("studies.0.name", "a/b"), ["studies[0].name", "'a/b'"]),
    "no studies": (_set("studies", []), ["studies", "[]"]),
    "references not a table": (
        _set("studies.0.references", [0.0]),
        ["studies[0].references", "[0.0]"],
    ),
    "final_steps above num_steps": (_set("final_steps", 30), ["final_steps", "30"]),
    "missing name": (_delete("name"), ["name", "missing"]),
    "negative seed": (_set("seed", -1), ["seed", "-1"]),
    "seed past 32 bits": (_set("seed", 2**32 + 5), ["seed", "4294967301"]),
    "num_values with values": (
        _set("studies.0.num_values", 5),
        ["studies[0].num_values", "5", "log2_range"],
    ),
    "bernoulli low above high": (
        _set("env", {"name": "bernoulli", "low": 0.8, "high": 0.2}),
        ["env.low", "env.high", "[0.8, 0.2]"],
    ),
    "bernoulli high above one": (
        _set("env", {"name": "bernoulli", "high": 1.5}),
        ["env.low", "env.high", "1.5"],
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_raises_config_error_naming_field_and_value(case):
    mutate, needles = BAD[case]
    raw = _base()
    mutate(raw)
    with pytest.raises(ConfigError) as info:
        from_dict(raw)
    message = str(info.value)
    for needle in needles:
        assert needle in message, (needle, message)
    assert "\n" not in message  # one line for the CLI


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


# --------------------------------------------------------------------- overrides


def test_overrides_parse_toml_values():
    raw = apply_overrides(
        _base(),
        [
            "num_seeds=8",
            "env.mean=0.5",
            "studies.0.values=[0.25, inf]",
            "name=my_run",
            'description="two words"',
            "studies.0.references={greedy = 0.0}",
        ],
    )
    assert raw["num_seeds"] == 8 and isinstance(raw["num_seeds"], int)
    assert raw["env"]["mean"] == 0.5
    assert raw["studies"][0]["values"] == [0.25, math.inf]
    assert raw["name"] == "my_run" and raw["description"] == "two words"
    assert raw["studies"][0]["references"] == {"greedy": 0.0}
    config = from_dict(raw)
    assert config.num_seeds == 8 and config.studies[0].values == (0.25, math.inf)


def test_overrides_index_lists_and_leave_the_input_unchanged():
    raw = _base()
    raw["studies"].append({"name": "eps", "rule": "epsilon_greedy", "values": [0.1]})
    before = copy.deepcopy(raw)
    out = apply_overrides(raw, ["studies.1.values=[0.2, 0.3]", "studies.0.label=x"])
    assert raw == before
    assert out["studies"][1]["values"] == [0.2, 0.3]
    assert out["studies"][0]["label"] == "x"
    assert out["studies"][0]["values"] == [0.5, 1.0]


def test_setting_values_drops_log2_range_and_vice_versa():
    raw = _base()
    study = raw["studies"][0]
    del study["values"]
    study.update(log2_range=[-7, 2], num_values=19)
    out = apply_overrides(raw, ["studies.0.values=[0.5]"])
    assert "log2_range" not in out["studies"][0]
    assert "num_values" not in out["studies"][0]
    assert from_dict(out).studies[0].values == (0.5,)
    back = apply_overrides(out, ["studies.0.log2_range=[0, 2]"])
    assert "values" not in back["studies"][0]
    assert from_dict(back).studies[0].values == (1.0, 2.0, 4.0)


@pytest.mark.parametrize(
    "item",
    ["num_seeds", "=5", " =5", "studies.3.values=[1]", "studies.x.values=[1]",
     "num_seeds.x=1", "studies.0.values.0.y=1"],
)  # fmt: skip
def test_malformed_override_raises_config_error(item):
    with pytest.raises(ConfigError) as info:
        apply_overrides(_base(), [item])
    assert "--set" in str(info.value) and item in str(info.value)


# ------------------------------------------------------------------------- files


def test_load_applies_overrides_and_names_the_file(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(
        'name = "exp"\nnum_steps = 20\n[env]\nname = "bernoulli"\nhigh = 0.5\n'
        '[[studies]]\nname = "soft"\nrule = "boltzmann"\nlog2_range = [-1, 1]\n'
        'references = { "uniform" = inf }\n'
    )
    config = load(path, ["num_seeds=3", "studies.0.num_values=5"])
    assert config.num_seeds == 3 and config.env.params == {"high": 0.5}
    np.testing.assert_allclose(config.studies[0].values, 2.0 ** np.linspace(-1, 1, 5))
    assert config.studies[0].references == {"uniform": math.inf}
    with pytest.raises(ConfigError) as info:
        load(path, ["num_seeds=0"])
    assert str(path) in str(info.value) and "num_seeds" in str(info.value)


def test_missing_file_raises_config_error_with_path(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="nope.toml"):
        load(path)


def test_invalid_toml_raises_config_error_with_path(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\nnum_seeds = = 3\n')
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(path) in str(info.value) and "TOML" in str(info.value)


@pytest.mark.parametrize("kind", ["directory", "not utf-8"])
def test_unreadable_config_raises_config_error_with_path(tmp_path, kind):
    if kind == "directory":
        path = tmp_path / "configs.toml"
        path.mkdir()
    else:
        path = tmp_path / "latin1.toml"
        path.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load(path)
    assert str(path) in str(info.value)


def test_utf8_labels_load_exactly(tmp_path):
    path = tmp_path / "utf8.toml"
    path.write_bytes(
        'name = "u"\n[[studies]]\nname = "s"\nlabel = "τ ε ∞"\nrule = "boltzmann"\n'
        'values = [1.0]\nreferences = { "uniform (τ = ∞)" = inf }\n'.encode()
    )
    study = load(path).studies[0]
    assert study.label == "τ ε ∞"
    assert study.references == {"uniform (τ = ∞)": math.inf}


# ------------------------------------------------------------- registry-driven rules


def _target_entropy(**extra) -> dict:
    raw = _base()
    raw["studies"][0] = {"name": "t", "rule": "target_entropy", **extra}
    return raw


def test_final_entropy_of_target_entropy_is_its_parameter_not_an_entropy_key():
    raw = _target_entropy(param="step_size", values=[0.1], final_entropy=0.5)
    study = from_dict(raw).studies[0]
    assert study.fixed["final_entropy"] == 0.5 and "final_entropy" not in study.entropy
    raw = _target_entropy(param="step_size", values=[0.1])
    raw["studies"][0]["entropy"] = {"final_entropy": 0.5}
    with pytest.raises(ConfigError, match=r"studies\[0\]\.entropy.*final_entropy"):
        from_dict(raw)


@pytest.mark.parametrize("param", ["final_entropy", "step_size"])
def test_exponential_entropy_refuses_a_final_entropy_of_zero(param):
    raw = _target_entropy(
        param=param, values=[0.0, 0.5] if param == "final_entropy" else [0.1],
        entropy={"shape": "exponential"},
    )  # fmt: skip
    if param == "step_size":
        raw["studies"][0]["final_entropy"] = 0.0
    with pytest.raises(ConfigError, match="> 0 for an exponential shape"):
        from_dict(raw)


def test_piecewise_constant_boundaries_come_from_toml_string_keys():
    raw = tomllib.loads(
        'name = "p"\n[[studies]]\nname = "s"\nrule = "boltzmann"\nvalues = [2.0]\n'
        'schedule = "piecewise_constant"\n'
        'schedule_args = { boundaries_and_scales = { "10" = 0.5 } }\n'
    )
    study = from_dict(raw).studies[0]
    assert study.schedule_args == {"boundaries_and_scales": {10: 0.5}}
    temperature = config_lib.registry.make_temperature(
        study.schedule, study.schedule_args
    )
    assert [float(temperature(t, 2.0)) for t in (9, 10)] == [2.0, 1.0]


def test_unknown_key_lists_rule_only_for_agents_that_take_one():
    raw = _base()
    raw["studies"][0] = {"name": "g", "agent": "gradient_bandit", "nope": 1}
    with pytest.raises(ConfigError) as info:
        from_dict(raw)
    assert "'nope'" in str(info.value) and "'rule'" not in str(info.value)


# ------------------------------------------------------ gymnasium toy-text envs


def _lake(**env) -> dict:
    raw = _base()
    raw["env"] = {"name": "FrozenLake-v1", **env}
    raw["studies"][0].update(agent="q_learning", rule="boltzmann")
    return raw


def test_toy_text_env_options_default_to_gymnasiums_and_reach_it():
    config = from_dict(_lake())
    assert config.env.options == {
        "map_name": "4x4",
        "is_slippery": True,
        "discount": 0.99,
    }
    assert config.env.num_actions == 4 and config.env.sizes == {}
    desc = ["SFF", "FHF", "FFG"]
    config = from_dict(_lake(desc=desc, is_slippery=False, discount=1.0))
    assert config.env.options["desc"] == desc
    from rl_softmax.experiment import registry

    env = registry.ENVS["FrozenLake-v1"].make(**config.env.options)
    assert env.num_states == 9 and env.desc == tuple(desc) and env.discount == 1.0
    assert float(env.probs[0, 2].max()) == 1.0  # not slippery: one outcome


@pytest.mark.parametrize(
    ("env", "needles"),
    [
        ({"is_slippery": "yes"}, ["env.is_slippery", "'yes'", "true or false"]),
        ({"map_name": 4}, ["env.map_name", "4", "a string"]),
        ({"map_name": "5x5"}, ["env.map_name", "'5x5'", "'4x4'", "'8x8'"]),
        ({"discount": 1.5}, ["env.discount", "1.5", "[0, 1]"]),
        ({"num_arms": 4}, ["env", "'num_arms'", "allowed", "'is_slippery'"]),
    ],
)
def test_bad_toy_text_env_options_name_the_field(env, needles):
    with pytest.raises(ConfigError) as info:
        from_dict(_lake(**env))
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))


def test_episode_curves_need_episodes():
    from rl_softmax.experiment import run_experiment

    raw = _base()
    raw["num_episodes"] = 10
    with pytest.raises(ConfigError, match="num_episodes=10: this environment"):
        run_experiment(raw, write=False, progress=False)
    raw["num_episodes"] = -1
    with pytest.raises(ConfigError, match="num_episodes"):
        from_dict(raw)
