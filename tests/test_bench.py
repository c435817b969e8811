"""experiments/bench.py: the table it writes (Markdown, CSV, JSON) from known rows,
the documentation's bench blocks, and the pages' tables in the shape it writes
(not their numbers, which depend on the machine)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from experiment_scripts import script

bench = script("bench")
harness = bench.harness
DOCS = Path(__file__).resolve().parents[1] / "docs"


def _report(quick: bool = False) -> dict:
    """A report of two suites' rows as :func:`bench.run` makes it."""
    numpy = harness.Row("bandit", "steady | state", "NumPy", "NumPy", "agent-steps",
                        1e6, (0.5, 0.25, 1.0))  # fmt: skip
    ours = harness.Row(
        "bandit", "steady | state", "sweep", "sweep", "agent-steps", 1e6,
        (0.1, 0.1, 0.2), compile_seconds=0.5,
    ).compared_with(numpy)  # fmt: skip
    missing = harness.unavailable("frozenlake", "lake", "gymnax", "gymnax",
                                  "env-steps", "gymnax not installed")  # fmt: skip
    check = harness.Check("frozenlake: NumPy vs sweep", True, "max |z| = 1.0")
    return {
        "command": "rl-softmax bench", "quick": quick, "suites": list(bench.SUITES),
        "date": "2026-01-01T00:00:00+00:00", "wall_seconds": 12.0,
        "warmup": "one warm-up round", "rounds": "3 counted rounds",
        "machine": bench.machine(), "compilation_cache": "/cache",
        "rows": [numpy, ours, missing],
        "checks": [check], "details": {"bandit": {"sizes": [1, 2]}},
    }  # fmt: skip


def _cells(line: str) -> list[str]:
    """A Markdown table line's cells (``\\|`` is a pipe inside a cell)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def test_markdown_has_the_machine_the_table_and_the_checks():
    text = bench.markdown(_report())
    for field in ("- machine: ", " cores", "- software: Python ", "jax ", "jaxlib ",
                  "numpy ", "gymnasium ", "- command: `rl-softmax bench`"):  # fmt: skip
        assert field in text, field
    assert "quick" not in text
    lines = text.splitlines()
    header = lines.index(bench.table_lines([])[0])
    rows = [_cells(line) for line in lines[header + 2 : header + 5]]
    assert [len(r) for r in rows] == [len(bench.COLUMNS)] * 3
    numpy, ours, missing = rows
    assert numpy[0] == "steady \\| state (agent-steps/s)" and ours[0] == ""
    assert numpy[2] == "2M (1M-4M)" and numpy[3] == numpy[4] == ""
    # ours: 10M, 10M, 5M a round; paired ratios 5, 2.5, 5
    assert ours[2:6] == ["10M (5M-10M)", "5 (2.5-5)", "NumPy", "0.50"]
    assert missing[2] == "" and missing[6] == "unavailable: gymnax not installed"
    assert "- ok: frozenlake: NumPy vs sweep: max |z| = 1.0" in text
    assert "**quick run**" in bench.markdown(_report(quick=True))


def test_a_busy_machine_is_flagged():
    report = _report()
    report["machine"] = {**report["machine"], "cores": 2, "load_average": 0.5}
    assert "busy machine" not in bench.markdown(report)
    report["machine"]["load_average"] = 4.36
    flag = "- **maybe a busy machine**: a load average of 4.36 on 2 cores"
    assert flag in bench.markdown(report)


def test_csv_has_a_row_of_numbers_per_line_with_the_machine():
    report = _report()
    rows = list(csv.DictReader(io.StringIO(bench.csv_text(report))))
    assert list(rows[0]) == list(bench.CSV_COLUMNS) and len(rows) == 3
    ours = rows[1]
    assert float(ours["rate_median"]) == 1e7 and float(ours["rate_min"]) == 5e6
    assert float(ours["ratio_median"]) == 5.0 and ours["baseline"] == "NumPy"
    assert ours["rounds"] == "3" and ours["cores"] == str(report["machine"]["cores"])
    assert "jax=" in ours["versions"] and ours["command"] == "rl-softmax bench"
    assert rows[2]["rate_median"] == "" and rows[2]["rounds"] == "0"


def test_json_keeps_every_rounds_seconds():
    saved = json.loads(bench.json_text(_report()))
    assert saved["rows"][1]["seconds"] == [0.1, 0.1, 0.2]
    assert saved["checks"][0]["passed"] is True
    assert saved["machine"]["versions"]["jax"]


PAGE = """# A page

Prose before.

<!-- bench:machine -->
old machine
<!-- bench:end -->

More prose.

<!-- bench:bandit -->
| old | table |
<!-- bench:end -->

<!-- bench:frozenlake -->
<!-- bench:end -->
Prose after.
"""


def test_update_docs_rewrites_the_blocks_and_keeps_the_prose(tmp_path):
    page = tmp_path / "guide" / "page.md"
    page.parent.mkdir()
    page.write_text(PAGE)
    (tmp_path / "other.md").write_text("no markers\n")
    report = _report()
    assert bench.update_docs(report, tmp_path) == [page]
    text = page.read_text()
    blocks = bench.doc_blocks(text)
    assert list(blocks) == ["machine", "bandit", "frozenlake"]
    for name, body in blocks.items():
        assert body.strip() == bench.block_body(report, name).strip()
    assert "steady" in blocks["bandit"] and "steady" not in blocks["frozenlake"]
    assert "NumPy vs sweep" in blocks["frozenlake"]
    prose = re.sub(r"<!-- bench:\w+ -->.*?<!-- bench:end -->", "", text, flags=re.S)
    assert prose == re.sub(r"<!-- bench:\w+ -->.*?<!-- bench:end -->", "", PAGE,
                           flags=re.S)  # fmt: skip
    assert bench.update_docs(report, tmp_path) == []  # nothing more to change


def test_an_unknown_block_name_is_an_error():
    with pytest.raises(ValueError, match="no such suite"):
        bench.block_body(_report(), "bandits")


def test_run_refuses_unknown_suites_before_running_anything():
    with pytest.raises(ValueError, match="no benchmark suite 'lake'.*bandit, "):
        bench.run(only=["bandit", "lake"])


def test_a_test_session_cannot_rewrite_the_published_docs(monkeypatch):
    """A loaded test session's numbers must not land in docs/: refused before any
    suite runs (a stand-in suite fails the test if one starts)."""

    def suite(name):
        raise AssertionError(f"suite {name} started")

    monkeypatch.setattr(bench, "_suite_function", suite)
    with pytest.raises(ValueError, match="from inside a test session"):
        bench.run(only=["bandit"], update_docs_pages=True)


def test_a_suite_run_alone_rewrites_its_own_block_and_says_where_it_ran(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    report = {**_report(), "suites": ["bandit"], "command": "rl-softmax bench "
              "--only bandit --update-docs"}  # fmt: skip
    assert bench.update_docs(report, tmp_path) == [page]
    before, after = bench.doc_blocks(PAGE), bench.doc_blocks(page.read_text())
    # the machine and the other suites' blocks stay as the run that wrote them
    assert after["machine"] == before["machine"]
    assert after["frozenlake"] == before["frozenlake"]
    lines = after["bandit"].strip().splitlines()
    table = bench.block_body(report, "bandit").strip().splitlines()
    assert lines[: len(table)] == table
    assert lines[-1].startswith(
        "*Measured alone by `rl-softmax bench --only bandit --update-docs`, "
        "2026-01-01T00:00:00+00:00, on "
    )
    assert bench.update_docs(report, tmp_path) == []


def _pages_with_blocks() -> dict[Path, dict[str, str]]:
    pages = {}
    for page in sorted(DOCS.rglob("*.md")):
        blocks = bench.doc_blocks(page.read_text(encoding="utf-8"))
        if blocks:
            pages[page] = blocks
    return pages


def test_every_suite_has_a_table_in_the_docs_made_by_the_bench():
    """One run of every suite made the machine block; a suite's block is that
    run's or says which run made it."""
    pages = _pages_with_blocks()
    names = [name for blocks in pages.values() for name in blocks]
    assert sorted(set(names) - {"machine"}) == sorted(bench.SUITES)
    assert len(names) == len(set(names))  # each once
    (machine,) = [blocks["machine"] for blocks in pages.values() if "machine" in blocks]
    assert "`rl-softmax bench " in machine and " --update-docs`" in machine
    for blocks in pages.values():
        for name, body in blocks.items():
            last = body.strip().splitlines()[-1]
            if last.startswith("*Measured alone by"):
                assert f"`rl-softmax bench --only {name}" in last, last
                assert "--update-docs`" in last, last


def test_the_docs_tables_have_the_shape_the_bench_writes():
    expected = bench.block_body(_report(), "machine").splitlines()
    for page, blocks in _pages_with_blocks().items():
        for name, body in blocks.items():
            lines = [line for line in body.strip().splitlines() if line]
            if name == "machine":  # the same items, in the same order
                fields = [line.split(":")[0] for line in lines]
                written = [line.split(":")[0] for line in expected]
                optional = {"- **maybe a busy machine**", "- **quick run** (`--quick`)"}
                assert fields[:4] == written[:4], (page, fields)
                assert set(fields[4:]) <= optional, (page, fields)
                continue
            header = bench.table_lines([])
            assert lines[:2] == header, (page, name)
            if lines[-1].startswith("*Measured alone by"):  # a suite run alone
                lines = lines[:-1]
            table = [line for line in lines[2:] if line.startswith("|")]
            checks = [line for line in lines[2:] if not line.startswith("|")]
            assert table and lines[2 : 2 + len(table)] == table, (page, name)
            for line in table:
                cells = _cells(line)
                assert len(cells) == len(bench.COLUMNS), (page, name, line)
                assert cells[1], (page, name, line)  # an implementation
                assert cells[2] or cells[6].startswith("unavailable"), line
            assert _cells(table[0])[0].endswith("/s)"), (page, name)  # a workload
            for line in checks:
                assert re.match(r"- (ok|\*\*FAILED\*\*): ", line), (page, line)
