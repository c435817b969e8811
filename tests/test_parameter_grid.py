"""Studies of several parameters swept together (issue 25, item 1): the config's
``grid`` and ``params`` forms and what they refuse, the bits of the one-parameter
sweeps in one compiled program, the summary's extra columns, the best setting and
the heat map."""

from __future__ import annotations

import csv
import itertools
import re

import numpy as np
import pytest

from rl_softmax import cli, plotting
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import results as results_lib
from rl_softmax.experiment import run_experiment, stats
from rl_softmax.experiment.config import ConfigError, from_dict

TAUS = [0.0625, 1.0]
STEP_SIZES = [0.1, 0.5]
# summary.csv's columns of a one-parameter study, in order
COLUMNS = [
    "study", "label", "param", "value", "metric", "window", "final_steps",
    "num_seeds", "num_diverged", "mean", "sem", "ci95_low", "ci95_high", "interval",
]  # fmt: skip


def _frozenlake(study: dict, **top) -> dict:
    """A tiny FrozenLake experiment of Boltzmann Q-learning with ``study``'s keys."""
    return {
        "name": "grid", "num_seeds": 3, "num_steps": 2000, "final_steps": 500,
        "env": {"name": "FrozenLake-v1", "map_name": "4x4", "discount": 0.99},
        "studies": [
            {"name": "q", "agent": "q_learning", "rule": "boltzmann", **study}
        ],
        **top,
    }  # fmt: skip


def _bandit(study: dict) -> dict:
    """A tiny Gaussian-bandit experiment of action-value Boltzmann with ``study``."""
    return {
        "name": "bandit_grid", "num_seeds": 3, "num_steps": 100, "final_steps": 20,
        "env": {"name": "gaussian", "num_arms": 5},
        "studies": [{"name": "b", "rule": "boltzmann", **study}],
    }  # fmt: skip


GRID = {"grid": {"tau": TAUS, "step_size": STEP_SIZES}}


def _run(raw: dict, out=None, **kwargs):
    return run_experiment(raw, out, progress=False, cache_dir=False, **kwargs)


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    """The tiny FrozenLake grid study, written to disk (no plots)."""
    return _run(_frozenlake(GRID), tmp_path_factory.mktemp("grid") / "results")


# ------------------------------------------------------------------------- config


def test_a_grid_is_the_product_of_its_values_first_parameter_outermost():
    study = from_dict(_frozenlake(GRID)).studies[0]
    assert study.params == ("tau", "step_size") == study.swept
    assert study.param == "tau"
    assert study.values == tuple(itertools.product(TAUS, STEP_SIZES))
    assert "tau" not in study.fixed and "step_size" not in study.fixed
    assert study.fixed == {"discount": 0.99, "initial_value": 0.0}
    assert study.references == {}
    resolved = config_lib.to_dict(from_dict(_frozenlake(GRID)))["studies"][0]
    assert resolved["params"] == ("tau", "step_size")


def test_a_grid_axis_may_be_a_log2_range():
    raw = _frozenlake({"grid": {"step_size": [0.5], "tau": {"log2_range": [-2, 0]}}})
    study = from_dict(raw).studies[0]
    assert study.params == ("step_size", "tau")
    assert study.values == ((0.5, 0.25), (0.5, 0.5), (0.5, 1.0))
    raw["studies"][0]["grid"]["tau"] = {"log2_range": [-2, 0], "num_values": 2}
    assert from_dict(raw).studies[0].values == ((0.5, 0.25), (0.5, 1.0))


def test_params_with_a_list_of_tuples():
    pairs = [[0.25, 0.1], [1, 0.5], [0.25, 0.5]]
    study = from_dict(
        _bandit({"params": ["tau", "step_size"], "values": pairs})
    ).studies[0]
    assert study.params == ("tau", "step_size")
    assert study.values == ((0.25, 0.1), (1.0, 0.5), (0.25, 0.5))
    # a swept step size is a constant step size, not the bandit's sample average
    assert study.sample_average is False
    assert study.fixed == {"initial_value": 0.0}


def test_one_parameter_studies_are_as_before():
    raw = _frozenlake({"param": "tau", "values": TAUS, "step_size": 0.1})
    study = from_dict(raw).studies[0]
    assert study.params == () and study.swept == ("tau",)
    assert "params" not in config_lib.to_dict(from_dict(raw))["studies"][0]


def test_a_swept_final_entropy_is_checked_against_the_entropy_shape():
    study = {
        "agent": "action_value", "rule": "target_entropy",
        "grid": {"final_entropy": [0.0, 0.5], "step_size": [0.1]},
        "entropy": {"shape": "exponential"},
    }  # fmt: skip
    raw = _bandit(study)
    with pytest.raises(ConfigError, match=r"studies\[0\]\.grid\.final_entropy: got 0"):
        from_dict(raw)
    raw["studies"][0]["grid"]["final_entropy"] = [0.1, 0.5]
    assert from_dict(raw).studies[0].entropy == {
        "shape": "exponential", "anneal_steps": 100
    }  # fmt: skip


@pytest.mark.parametrize(
    ("study", "needles"),
    [
        ({"grid": {"tau": TAUS}}, ["studies[0].grid", "['tau']", "2 or more"]),
        ({"params": ["tau"], "values": [[1.0]]}, ["studies[0].params", "2 or more"]),
        (
            {"params": ["tau", "tau"], "values": [[1.0, 1.0]]},
            ["studies[0].params", "'tau' is given twice"],
        ),
        (
            {"grid": {"tau": TAUS, "num_envs": [1, 2]}},
            ["studies[0].grid", "'num_envs'", "sets shapes", "not a traced",
             "allowed: ['tau', 'step_size', 'discount', 'initial_value']"],
        ),
        (
            {"grid": {"tau": TAUS, "hidden": [64]}},
            ["'hidden'", "sets shapes", "allowed: ['tau'"],
        ),
        ({"grid": {"tau": TAUS, "epsilon": [0.1]}}, ["'epsilon'", "allowed: ['tau'"]),
        ({**GRID, "param": "tau"}, ["studies[0].grid", "studies[0].param", "'tau'"]),
        ({**GRID, "values": [1.0]}, ["studies[0].grid", "studies[0].values"]),
        (
            {**GRID, "log2_range": [-2, 0]},
            ["studies[0].grid", "studies[0].log2_range", "[-2, 0]"],
        ),
        (
            {**GRID, "references": {"greedy": 0.0}},
            ["studies[0].references", "{'greedy': 0.0}", "one swept parameter"],
        ),
        ({**GRID, "step_size": 0.1}, ["studies[0].step_size", "0.1", "swept"]),
        (
            {"params": ["tau", "step_size"], "values": [[1.0, 0.1], [1.0]]},
            ["studies[0].values[1]", "[1.0]", "2 numbers"],
        ),
        (
            {"params": ["tau", "step_size"], "values": [1.0, 0.1]},
            ["studies[0].values[0]", "1.0", "2 numbers"],
        ),
        (
            {"params": ["tau", "step_size"], "values": [[1.0, 2.0]]},
            ["studies[0].values[0] (step_size)", "2.0", "[1e-12, 1]"],
        ),
        (
            {"params": ["tau", "step_size"], "log2_range": [0, 1]},
            ["studies[0].log2_range", "[0, 1]", "tuples"],
        ),
        ({"grid": {"tau": [-1.0], "step_size": [0.1]}}, ["studies[0].grid.tau", "-1"]),
        ({"grid": {"tau": [], "step_size": [0.1]}}, ["studies[0].grid.tau", "[]"]),
        (
            {"grid": {"tau": {"log2_range": [0, 1], "bogus": 1}, "step_size": [0.1]}},
            ["studies[0].grid.tau", "bogus"],
        ),
        ({"grid": [1.0, 2.0]}, ["studies[0].grid", "[1.0, 2.0]", "a table"]),
        ({"params": "tau", "values": [[1.0]]}, ["studies[0].params", "'tau'"]),
    ],
    ids=[
        "one grid parameter", "one of params", "duplicate", "num_envs", "hidden",
        "not the rule's", "grid and param", "grid and values", "grid and log2_range",
        "references", "swept and fixed", "short tuple", "not tuples",
        "out of range", "params and log2_range", "grid value", "empty axis",
        "axis key", "grid not a table", "params not a list",
    ],
)  # fmt: skip
def test_refusals_name_the_field_and_the_value(study, needles):
    with pytest.raises(ConfigError) as info:
        from_dict(_frozenlake(study))
    message = str(info.value)
    for needle in needles:
        assert needle in message, (needle, message)


def test_an_environment_size_is_refused_as_setting_shapes():
    raw = _bandit({"grid": {"tau": TAUS, "num_arms": [2, 5]}})
    with pytest.raises(ConfigError, match=r"'num_arms'.*sets shapes.*allowed: \["):
        from_dict(raw)


# ----------------------------------------------------------------------- pipeline


@pytest.mark.parametrize("make", [_frozenlake, _bandit], ids=["frozenlake", "bandit"])
def test_the_grid_gives_the_bits_of_the_one_parameter_sweeps(make):
    grid = _run(make(GRID), write=False)
    (name,) = grid.studies
    together = grid.studies[name]
    np.testing.assert_array_equal(
        together.values, np.float32(list(itertools.product(TAUS, STEP_SIZES)))
    )
    for k, step_size in enumerate(STEP_SIZES):
        alone = _run(
            make({"param": "tau", "values": TAUS, "step_size": step_size}),
            write=False,
        ).studies[name]
        rows = [TAUS.index(t) * len(STEP_SIZES) + k for t in TAUS]
        assert set(together.metrics) == set(alone.metrics)
        for metric, result in alone.metrics.items():
            np.testing.assert_array_equal(
                together.metrics[metric].run_mean[rows], result.run_mean, metric
            )
            np.testing.assert_array_equal(
                together.metrics[metric].run_final[rows], result.run_final, metric
            )


def test_a_grid_study_compiles_once(compile_events):
    one = _frozenlake({"param": "tau", "values": [0.5, 1.0, 2.0], "step_size": 0.1})
    _run(one, write=False)  # what every study compiles besides its sweep
    del compile_events[:]
    _run(_frozenlake(GRID), write=False)
    assert len(compile_events) == 1


def test_saved_results_round_trip(grid_run):
    out = grid_run.out
    saved = results_lib.load_study(out, "q")
    result = grid_run.studies["q"]
    assert np.asarray(saved.values).shape == (len(TAUS) * len(STEP_SIZES), 2)
    np.testing.assert_array_equal(saved.values, result.values)
    for metric, fields in result.metrics.items():
        np.testing.assert_array_equal(saved.metrics[metric].run_mean, fields.run_mean)
    info = results_lib.load_metadata(out)["studies"]["q"]
    assert info["params"] == ["tau", "step_size"]
    assert info["param_symbols"] == ["τ", "α"]
    assert info["param"] == "tau" and info["references"] == {}


def _summary(out) -> tuple[list[str], list[dict[str, str]]]:
    with open(out / "summary.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames), list(reader)


def test_summary_has_a_column_for_the_second_parameter(grid_run):
    header, rows = _summary(grid_run.out)
    assert header == [*COLUMNS, "step_size"]
    settings = {(float(r["value"]), float(r["step_size"])) for r in rows}
    assert settings == set(itertools.product(TAUS, STEP_SIZES))
    assert {r["param"] for r in rows} == {"tau"}
    result = grid_run.studies["q"]
    mean = stats.seed_stats(result, "return", "final")[0]
    for row in rows:
        if (row["metric"], row["window"]) == ("return", "final"):
            i = TAUS.index(float(row["value"])) * 2 + STEP_SIZES.index(
                float(row["step_size"])
            )
            assert float(row["mean"]) == mean[i]


def test_a_summary_of_one_and_several_parameter_studies_unions_the_columns(tmp_path):
    raw = _bandit({"param": "tau", "values": TAUS})
    raw["studies"].append(
        {"name": "pairs", "rule": "boltzmann", "params": ["tau", "step_size"],
         "values": [[0.5, 0.1], [1.0, 0.2]]}
    )  # fmt: skip
    results = _run(raw, tmp_path / "results")
    header, rows = _summary(results.out)
    assert header == [*COLUMNS, "step_size"]
    assert {r["step_size"] for r in rows if r["study"] == "b"} == {""}
    assert {r["step_size"] for r in rows if r["study"] == "pairs"} == {"0.1", "0.2"}
    alone = _run(_bandit({"param": "tau", "values": TAUS}), tmp_path / "one")
    header, _ = _summary(alone.out)
    assert header == COLUMNS  # a one-parameter file is as it was


# ---------------------------------------------------------------------- best


def test_the_best_setting_names_every_parameter(grid_run):
    result = grid_run.studies["q"]
    best = grid_run.best("q")
    mean = stats.seed_stats(result, best.metric, "all")[0]
    assert best.index == int(np.nanargmax(mean))
    assert best.value == tuple(float(v) for v in result.values[best.index])
    with pytest.raises(ValueError, match="one parameter"):
        stats.best_value_interval(result)
    line = cli._best_line(grid_run, grid_run.config.studies[0])
    shown = re.search(r"best tau = (\S+), step_size = (\S+?)\s", line)
    assert shown, line
    assert tuple(map(float, shown.groups())) == pytest.approx(best.value, rel=1e-3)
    assert "bootstrap" not in line
    assert stats.setting_text(("tau", "step_size"), (0.015625, 0.5)) == (
        "tau = 0.01562, step_size = 0.5"
    )
    assert stats.num_diverged(result).shape == (len(result.values),)


# ---------------------------------------------------------------------- plots


def test_the_heat_map_draws_the_summary_means(grid_run, recorded_figures):
    paths = plotting.draw_experiment(grid_run.out, grid_run.studies, grid_run.metadata)
    # the one-parameter figures do not apply; the grid world's map does
    assert sorted(p.name for p in paths) == ["q_heatmap.png", "value_map.png"]
    fig = recorded_figures["q_heatmap.png"]
    drawn = np.ma.filled(fig.axes[0].collections[0].get_array(), np.nan)
    drawn = np.reshape(drawn, (len(STEP_SIZES), len(TAUS)))  # rows: step sizes
    _, rows = _summary(grid_run.out)
    for row in rows:
        if (row["metric"], row["window"]) == ("return", "final"):
            i = STEP_SIZES.index(float(row["step_size"]))
            j = TAUS.index(float(row["value"]))
            np.testing.assert_array_equal(drawn[i, j], float(row["mean"]))
    cells = plotting.heatmap_cells(grid_run.studies["q"])
    np.testing.assert_array_equal(cells.x, np.float32(TAUS))
    np.testing.assert_array_equal(cells.mean, drawn)
    assert fig.axes[0].get_xlabel().startswith("temperature τ")
    assert fig.axes[0].get_ylabel().startswith("step size α")
    assert fig.axes[1].get_ylabel() == "episode return"  # the colour bar


def test_the_heat_map_is_written_by_a_run(tmp_path):
    results = _run(_bandit(GRID), tmp_path / "results", draw=plotting.draw_experiment)
    written = sorted(p.name for p in results.paths if p.suffix == ".png")
    assert written == ["b_heatmap.png"]
    assert (results.out / "plots" / "b_heatmap.png").read_bytes()[:4] == b"\x89PNG"


def test_pairs_that_are_not_a_grid_are_a_scatter():
    results = _run(
        _bandit({"params": ["tau", "step_size"],
                 "values": [[0.25, 0.1], [1.0, 0.5], [0.25, 0.5]]}),
        write=False,
    )  # fmt: skip
    result = results.studies["b"]
    assert plotting.heatmap_cells(result) is None
    fig = plotting.plot_joint_study(result, label="b", symbols=("τ", "α"))
    colours = np.asarray(fig.axes[0].collections[0].get_array())
    np.testing.assert_array_equal(
        colours, stats.seed_stats(result, "reward", "final")[0]
    )


def test_the_cli_prints_every_parameter_of_the_best(tmp_path, capsys):
    path = tmp_path / "grid.toml"
    path.write_text(
        'name = "g"\nnum_seeds = 2\nnum_steps = 50\nfinal_steps = 10\n'
        '[env]\nname = "gaussian"\nnum_arms = 3\n[[studies]]\nname = "b"\n'
        'rule = "boltzmann"\ngrid = { tau = [0.25, 1.0], step_size = [0.5] }\n',
        encoding="utf-8",
    )
    out = tmp_path / "results"
    code = cli.main(["run", str(path), "--out", str(out), "--quiet", "--no-cache",
                     "--no-plots"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert re.search(r"best tau = \S+, step_size = 0\.5 ", printed), printed
