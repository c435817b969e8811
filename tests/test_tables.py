"""Tests for experiments/tables.py: every results table in the docs is its generated
file, and a generated cell is the mean and t interval NumPy computes from the saved
per-run arrays."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from experiment_scripts import script
from scipy import stats as scipy_stats

from rl_softmax.engine import MetricResult, SweepResult
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment.pipeline import Results

tables = script("tables")
REPO = Path(__file__).resolve().parents[1]
MACHINE = {"cpu": "Test CPU", "cores": 2}
VERSIONS = {"jax": "1", "optax": "2", "gymnasium": "3", "numpy": "4"}


def study(values, metrics: dict[str, np.ndarray]) -> SweepResult:
    """A study with the given per-run arrays ``[V, S]`` (``run_mean`` and
    ``run_final`` alike)."""
    num_values, num_seeds = next(iter(metrics.values())).shape
    one = np.zeros((num_values, 1))
    return SweepResult(
        values=np.asarray(values, np.float32),
        seeds=np.arange(num_seeds),
        steps=np.array([1]),
        final_steps=1,
        metrics={
            name: MetricResult(x.astype(np.float32), x.astype(np.float32), one, one)
            for name, x in metrics.items()
        },
    )


def fake_results(name: str, studies: dict, references: dict) -> Results:
    config = config_lib.load(name)
    metadata = {
        "studies": {s: {"references": references.get(s, {})} for s in studies},
        "versions": VERSIONS,
        "machine": MACHINE,
    }
    return Results(config, None, studies, [], metadata, [], {})


def cell(table: str, row_start: str, column: int) -> str:
    (row,) = [r for r in table.splitlines() if r.startswith(f"| {row_start} |")]
    return row.split("|")[column + 1].strip()


def mean_and_half(x) -> tuple[float, float]:
    x = np.asarray(x, np.float64)
    x = x[~np.isnan(x)]
    t = scipy_stats.t.ppf(0.975, x.size - 1)
    return x.mean(), t * x.std(ddof=1) / math.sqrt(x.size)


def test_dqn_table_cells_are_numpy_means_with_t_intervals():
    rng = np.random.default_rng(0)
    taus = [1 / 64, 1 / 8, 2.0, 0.0, math.inf]
    shape = (len(taus), 10)
    runs = {
        "eval_return": rng.uniform(0, 500, shape),
        "greedy_return": rng.uniform(0, 500, shape),
        "return": rng.uniform(0, 200, shape),
        "entropy": rng.uniform(0, 0.7, shape),
        "value_spread": rng.uniform(0, 1, shape),
    }
    runs["eval_return"][1, :7] = 500.0  # 7 of 10 solve at tau = 1/8
    runs["greedy_return"][1, :8] = 480.0
    runs["return"][1, 3] = np.nan  # a run without an ended episode
    eps = {k: v[:2] for k, v in runs.items()}
    greedy = {k: v[:1] for k, v in runs.items()}
    res = fake_results(
        "cartpole_boltzmann_dqn",
        {
            "boltzmann": study(taus, runs),
            "epsilon_greedy": study([0.05, 0.1], eps),
            "greedy": study([1e-3], greedy),
        },
        {"boltzmann": {"greedy": 0.0, "uniform": math.inf}},
    )
    table = tables.dqn_table({"cartpole_boltzmann_dqn": res})
    rows = [r for r in table.splitlines() if r.startswith("| Boltzmann")]
    assert [r.split("|")[1].strip() for r in rows] == [
        "Boltzmann tau = 1/64", "Boltzmann tau = 1/8", "Boltzmann tau = 2",
    ]  # fmt: skip
    for column, metric, digits in (
        (1, "eval_return", 0), (2, "greedy_return", 0), (4, "return", 0),
        (5, "entropy", 2), (6, "value_spread", 2),
    ):  # fmt: skip
        mean, half = mean_and_half(runs[metric][1])
        assert cell(table, "Boltzmann tau = 1/8", column) == (
            f"{mean:.{digits}f} ± {half:.{digits}f}"
        )
    assert cell(table, "Boltzmann tau = 1/8", 3) == "7 / 8 of 10"
    # the best epsilon by final evaluation return, and the greedy row
    best_eps = int(np.argmax(eps["eval_return"].mean(axis=1)))
    label = f"epsilon-greedy, best (epsilon = {[0.05, 0.1][best_eps]:.3g})"
    mean, half = mean_and_half(eps["eval_return"][best_eps])
    assert cell(table, label, 1) == f"{mean:.0f} ± {half:.0f}"
    assert "10 seeds x 100,000 steps" in table and "Test CPU (2 cores)" in table
    assert "jax 1, optax 2, gymnasium 3, numpy 4" in table


def test_a_single_seed_has_no_interval_and_a_metric_without_runs_no_mean():
    assert tables.interval([3.0]) == "3"
    assert tables.interval([np.nan, np.nan]) == "n/a"
    assert tables.interval([1.0, 3.0], 1) == (
        f"2.0 ± {scipy_stats.t.ppf(0.975, 1) * 1.0:.1f}"
    )


@pytest.mark.parametrize(
    "value, label", [(0.125, "1/8"), (2.0, "2"), (0.0, "0"), (math.inf, "inf")]
)
def test_tau_labels_are_fractions(value, label):
    assert tables.tau_label(value) == label


def test_every_table_in_the_pages_is_its_generated_file():
    assert tables.stale_pages() == []
    shown = {
        name
        for page in tables.PAGES
        for name, _ in tables.blocks(page.read_text(encoding="utf-8"))
    }
    assert shown == set(tables.TABLES)


def test_fill_replaces_only_the_named_blocks():
    page = "a\n<!-- table: x -->\nold\n<!-- /table -->\nb\n<!-- table: y -->\nkeep\n"
    page += "<!-- /table -->\n"
    filled = tables.fill(page, {"x": "| new |\n"})
    assert tables.blocks(filled) == [("x", "| new |\n"), ("y", "keep\n")]
    assert filled.startswith("a\n") and "\nb\n" in filled


# Tables of numbers that are not results (worked maths, lists of tests): allowed
# outside generated blocks, each with its reason.
NOT_RESULTS = {
    "| z = [2, 4, 2, 1]": "README: the softmax of one vector, a worked example",
    "| what | where it holds | its test |": "reproducibility: the levels and tests",
}


def _unmarked_tables(text: str) -> list[list[str]]:
    """The tables of a page outside the blocks its scripts write (this one's and
    ``rl-softmax bench --update-docs``'s)."""
    text = re.sub(r"<!-- table: [\w-]+ -->.*?<!-- /table -->", "", text, flags=re.S)
    text = re.sub(r"<!-- bench:\w+ -->.*?<!-- bench:end -->", "", text, flags=re.S)
    found, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found + ([current] if current else [])


# a measured number in a cell: a decimal or an interval, maybe in bold
_MEASURED = re.compile(r"^\**-?\d[\d,]*(\.\d+)?( ± \d[\d,]*(\.\d+)?)?\**$")


def _is_measured(cell: str) -> bool:
    cell = cell.strip()
    return bool(_MEASURED.match(cell)) and ("." in cell or "±" in cell)


def test_no_results_table_is_typed_by_hand():
    # A results table is one whose data rows hold measured numbers. Every such
    # table must be a generated block (the reference pages are generated whole).
    typed = []
    for page in tables.PAGES:
        if "reference" in page.parts:
            continue
        for table in _unmarked_tables(page.read_text(encoding="utf-8")):
            if any(table[0].startswith(head) for head in NOT_RESULTS):
                continue
            cells = [c for row in table[2:] for c in row.strip("|").split("|")]
            if any(_is_measured(c) for c in cells):
                typed.append(f"{page.relative_to(REPO)}: {table[0][:60]}")
    assert typed == []


def test_the_hand_typed_table_check_catches_the_old_dqn_table():
    old = (
        "| behaviour | eval | greedy | AUC |\n|---|---:|---:|---:|\n"
        "| **tau = 1/8** | **414** | **417** | 0.43 |\n"
    )
    (table,) = _unmarked_tables(old)
    cells = [c for row in table[2:] for c in row.strip("|").split("|")]
    assert [_is_measured(c) for c in cells] == [False, False, False, True]
    assert _is_measured("1.387 ± 0.026") and not _is_measured("Figures 2.5 and 2.6")
