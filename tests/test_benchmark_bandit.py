"""``rl-softmax bench --quick --only bandit``: the command runs the bandit suite of
experiments/ (experiments/benchmark_bandit_sweep.py), prints its table and writes it
as Markdown, CSV and JSON, with consistent rates and ratios (one run for the module).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json

import numpy as np
import pytest
from experiment_scripts import script

from rl_softmax.cli import main

bench = script("bench")


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """``(out, stdout, saved JSON)`` of one quick run of the bandit suite."""
    out = tmp_path_factory.mktemp("bench")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["bench", "--quick", "--only", "bandit", "--out", str(out)])
    assert code == 0
    return out, stdout.getvalue(), json.loads((out / "bench.json").read_text())


def test_writes_the_table_as_markdown_and_csv_with_the_expected_columns(ran):
    out, stdout, saved = ran
    text = (out / "bench.md").read_text()
    assert text in stdout  # and prints it
    assert "| " + " | ".join(bench.COLUMNS) + " |" in text
    assert "`rl-softmax bench --quick --only bandit --out " in text
    assert "**quick run**" in text and "- machine: " in text
    rows = list(csv.DictReader(io.StringIO((out / "bench.csv").read_text())))
    assert list(rows[0]) == list(bench.CSV_COLUMNS)
    assert len(rows) == len(saved["rows"]) == 6
    assert {row["suite"] for row in rows} == {"bandit"}
    for row, kept in zip(rows, saved["rows"], strict=True):
        assert row["implementation"] == kept["implementation"]
        assert float(row["rate_median"]) == pytest.approx(kept["rate_median"])
        assert row["cpu"] == saved["machine"]["cpu"] and row["python"]


def test_rates_and_ratios_are_consistent(ran):
    _, _, saved = ran
    steady, end_to_end = saved["rows"][:3], saved["rows"][3:]
    assert {r["work"] for r in steady} == {3 * 64 * 50}
    assert {r["work"] for r in end_to_end} == {21 * 64 * 50}  # 19 taus + 2 refs
    for numpy_row, *others in (steady, end_to_end):
        assert numpy_row["implementation"].startswith("NumPy")
        assert numpy_row["ratio_median"] is None and numpy_row["baseline"] is None
        for row in [numpy_row, *others]:
            rates = [row["work"] / s for s in row["seconds"]]
            assert all(np.isfinite(rates)) and min(rates) > 0
            assert row["rate_median"] == pytest.approx(np.median(rates), rel=1e-9)
            assert row["rounds"] == len(row["seconds"]) == 1
        for row in others:  # paired: round by round against NumPy's
            pairs = zip(row["seconds"], numpy_row["seconds"], strict=True)
            ratios = [b / s for s, b in pairs]
            assert row["ratio_median"] == pytest.approx(np.median(ratios), rel=1e-9)
            assert row["baseline"] == numpy_row["name"]
    sweep, xla = steady[1:]
    assert sweep["compile_seconds"] > 0 and xla["compile_seconds"] > 0
    assert "XLA's default options" in xla["implementation"]
    assert [r["implementation"] for r in end_to_end[1:]] == [
        "rl-softmax run, cold cache",
        "rl-softmax run, warm cache",
    ]
    for row in end_to_end[1:]:  # the command's own breakdown of its wall time
        for phase in ("import", "compile", "plot"):
            assert f"{phase} " in row["note"]
