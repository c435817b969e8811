"""Tests for rl_softmax/config.py: TOML -> validated, frozen dataclasses.

The shipped configs are checked against an independent ``tomllib`` parse (with
``log2_range`` expanded by NumPy); every kind of bad input must raise a
:class:`ConfigError` whose message names the offending field and value.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from rl_softmax import config as config_lib
from rl_softmax.config import ConfigError, apply_overrides, from_dict, load

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.toml"))


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
    """The swept values a raw study table describes, computed with NumPy."""
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
    for key in ("seed", "num_seeds", "num_steps", "final_steps", "chunk_size"):
        if key in raw:
            assert getattr(config, key) == raw[key]
    assert config.final_steps <= config.num_steps
    assert config.env.name == raw.get("env", {}).get("name", "gaussian")
    assert len(config.studies) == len(raw["studies"])
    for study, table in zip(config.studies, raw["studies"], strict=True):
        assert study.name == table["name"]
        assert study.agent == table.get("agent", "action_value")
        assert study.rule == table.get("rule", "")
        np.testing.assert_allclose(study.values, _expected_values(table), rtol=1e-12)
        assert all(isinstance(v, float) for v in study.values)
        assert study.references == table.get("references", {})
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
    assert config.seed == 0 and config.env.num_arms == 5


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
        ["studies[0]", "'temperature'"],
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
