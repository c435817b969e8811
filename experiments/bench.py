"""The benchmark suite behind ``rl-softmax bench``: every benchmark, one table.

Each suite is a module of this folder with a ``suite(settings) -> Section``
function; it times its implementations and their baselines in the same rounds with
:mod:`harness`. :func:`run` runs the suites asked for, then writes one table of
every row, with the machine it ran on:

* ``bench.md``: the machine, the command, the table and the suites' checks;
* ``bench.csv``: the same rows as numbers, one per line, each with the machine's
  description (so files from several machines concatenate);
* ``bench.json``: everything, every round's seconds and the suites' details.

``update_docs`` writes the table into the documentation, between markers
``<!-- bench:NAME -->`` and ``<!-- bench:end -->`` (``NAME`` a suite, or ``machine``
for the machine and the command) in any page of ``docs/``; the prose around them
stays. Run it as ``rl-softmax bench`` from a clone (``--quick``: minutes, smoke
sizes); its baselines (NumPy, gymnasium loops, gymnax) are not library code.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import importlib
import importlib.metadata
import io
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the suites' modules
import harness  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"

# suite -> the module of this folder that holds it, in the order they run
SUITES = {
    "bandit": "benchmark_bandit_sweep",
    "frozenlake": "benchmark_frozenlake",
    "cartpole": "benchmark_cartpole",
    "dqn": "benchmark_dqn",
    "host": "benchmark_host",
    "tune": "benchmark_tune",
}
# the Markdown table's columns
COLUMNS = ("workload", "implementation", "rate /s", "ratio", "vs", "compile s", "note")
# the CSV's columns: a row's numbers, then the machine's description
CSV_COLUMNS = (
    "suite", "workload", "implementation", "name", "unit", "work", "rounds",
    "rate_median", "rate_min", "rate_max", "baseline", "ratio_median", "ratio_min",
    "ratio_max", "compile_seconds", "note", "cpu", "cores", "memory_gib", "os",
    "python", "versions", "command", "date",
)  # fmt: skip
_PACKAGES = ("jax", "jaxlib", "numpy", "gymnasium", "gymnax")


# ------------------------------------------------------------------ the machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def _os_name() -> str:
    try:
        release = platform.freedesktop_os_release()["PRETTY_NAME"]
    except (OSError, KeyError, AttributeError):
        release = ""
    return f"{release}, {platform.platform()}" if release else platform.platform()


def _commit() -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def machine() -> dict:
    """What the numbers were measured on: CPU, cores, memory, OS, Python and the
    versions of the packages that set the speed."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    memory = _memory_gib()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": _cpu_model(),
        "cores": cores or os.cpu_count(),
        "memory_gib": None if memory is None else round(memory, 1),
        "os": _os_name(),
        "python": platform.python_version(),
        "versions": versions,
        "rl_softmax": importlib.metadata.version("rl_softmax"),
        "commit": _commit(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def describe(report: dict) -> list[str]:
    """The machine and the command as Markdown lines."""
    m = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    memory = "" if m["memory_gib"] is None else f", {m['memory_gib']:g} GiB"
    commit = f" (commit {m['commit']})" if m["commit"] else ""
    load = (
        "" if m["load_average"] is None else f"; load average {m['load_average']:.2f}"
    )
    lines = [
        f"- machine: {m['cpu']}, {m['cores']} cores{memory}; {m['os']}",
        f"- software: Python {m['python']}, {versions}; rl_softmax {m['rl_softmax']}"
        f"{commit}",
        f"- command: `{report['command']}`, {report['date']}, "
        f"took {report['wall_seconds']:.0f} s{load} when it started",
        f"- timing: {report['warmup']}, then {report['rounds']}; each rate is the "
        "median over the rounds (min-max), each ratio the median of the per-round "
        "ratios against a baseline measured in the same rounds; JAX's persistent "
        "compilation cache is on, as for rl-softmax run (a compile time is a load "
        "from it when the program was compiled before)",
    ]
    if m["load_average"] is not None and m["load_average"] > m["cores"] / 2:
        lines.append(
            f"- **maybe a busy machine**: a load average of {m['load_average']:.2f} "
            f"on {m['cores']} cores over the minute before it started; if other "
            "processes shared the CPU, the rates are low and the spreads wide"
        )
    if report["quick"]:
        lines.append(
            "- **quick run** (`--quick`): smoke-test sizes, the rates are not "
            "representative of the full workloads"
        )
    return lines


# ------------------------------------------------------------------ the table


def _number(x: float) -> str:
    """Three significant digits, with k or M."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


def _spread(s: harness.Spread) -> str:
    if s.low == s.high:
        return _number(s.median)
    return f"{_number(s.median)} ({_number(s.low)}-{_number(s.high)})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_lines(rows: Sequence[harness.Row]) -> list[str]:
    """The Markdown table of ``rows`` (a workload is named on its first row)."""
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|---|---|---:|---:|---|---:|---|",
    ]
    last = None
    for row in rows:
        workload = "" if row.workload == last else f"{row.workload} ({row.unit}/s)"
        last = row.workload
        cells = (
            workload,
            row.implementation,
            "" if row.rate is None else _spread(row.rate),
            "" if row.ratio is None else _spread(row.ratio),
            row.baseline or "",
            "" if row.compile_seconds is None else f"{row.compile_seconds:.2f}",
            row.note,
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def check_lines(checks: Sequence[harness.Check]) -> list[str]:
    return [
        f"- {'ok' if c.passed else '**FAILED**'}: {c.name}: {c.text}" for c in checks
    ]


def markdown(report: dict) -> str:
    rows, checks = report["rows"], report["checks"]
    lines = ["# rl-softmax bench", "", *describe(report), "", *table_lines(rows)]
    if checks:
        lines += ["", "Checks on the same runs:", "", *check_lines(checks)]
    return "\n".join(lines) + "\n"


def _row_numbers(row: harness.Row) -> dict:
    rate, ratio = row.rate, row.ratio
    return {
        "suite": row.suite, "workload": row.workload,
        "implementation": row.implementation, "name": row.name, "unit": row.unit,
        "work": row.work, "rounds": len(row.seconds),
        "rate_median": rate and rate.median, "rate_min": rate and rate.low,
        "rate_max": rate and rate.high, "baseline": row.baseline,
        "ratio_median": ratio and ratio.median, "ratio_min": ratio and ratio.low,
        "ratio_max": ratio and ratio.high, "compile_seconds": row.compile_seconds,
        "note": row.note,
    }  # fmt: skip


def csv_text(report: dict) -> str:
    m = report["machine"]
    described = {
        "cpu": m["cpu"], "cores": m["cores"], "memory_gib": m["memory_gib"],
        "os": m["os"], "python": m["python"],
        "versions": " ".join(f"{k}={v}" for k, v in m["versions"].items()),
        "command": report["command"], "date": report["date"],
    }  # fmt: skip
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in report["rows"]:
        writer.writerow({**_row_numbers(row), **described})
    return out.getvalue()


def json_text(report: dict) -> str:
    rows = [
        {**_row_numbers(row), "seconds": list(row.seconds)} for row in report["rows"]
    ]
    checks = [dataclasses.asdict(c) for c in report["checks"]]
    return json.dumps({**report, "rows": rows, "checks": checks}, indent=2) + "\n"


# ------------------------------------------------------------------ the docs

_BLOCK = re.compile(
    r"(<!-- bench:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- bench:end -->)", re.DOTALL
)


def doc_blocks(text: str) -> dict[str, str]:
    """``{name: body}`` of a page's bench blocks."""
    return {m["name"]: m["body"] for m in _BLOCK.finditer(text)}


def block_body(report: dict, name: str) -> str:
    """What the bench writes between ``<!-- bench:NAME -->`` and the end marker."""
    if name == "machine":
        return "\n".join(describe(report)) + "\n"
    if name not in SUITES:
        raise ValueError(f"<!-- bench:{name} -->: no such suite (nor 'machine')")
    rows = [row for row in report["rows"] if row.suite == name]
    checks = [c for c in report["checks"] if c.name.startswith(f"{name}: ")]
    lines = table_lines(rows)
    if checks:
        lines += ["", *check_lines(checks)]
    return "\n".join(lines) + "\n"


def update_docs(report: dict, docs: Path = DOCS) -> list[Path]:
    """Rewrites the bench blocks of the pages under ``docs`` that ``report`` ran
    (the machine block only with every suite; a suite's block run alone says
    when, where and by which command): the pages changed."""
    partial = set(report["suites"]) != set(SUITES)

    def body(m: re.Match) -> str:
        name = m["name"]
        if partial and name not in report["suites"]:
            return m[0]  # left as the run that wrote it
        text = block_body(report, name)
        if partial and name != "machine":
            text += "\n" + _provenance(report) + "\n"
        return m[1] + "\n" + text + "\n" + m[4]

    changed = []
    for page in sorted(docs.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        if "<!-- bench:" not in text:
            continue
        new = _BLOCK.sub(body, text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed.append(page)
    return changed


def _provenance(report: dict) -> str:
    """One line on where a suite run alone was measured (the machine block holds
    this for a run of every suite)."""
    m = report["machine"]
    load = (
        "" if m["load_average"] is None else f", load average {m['load_average']:.2f}"
    )
    return (
        f"*Measured alone by `{report['command']}`, {report['date']}, on {m['cpu']} "
        f"({m['cores']} cores{load} when it started); {report['rounds']}.*"
    )


# ------------------------------------------------------------------ running


def _suite_function(name: str) -> Callable[[harness.Settings], harness.Section]:
    return importlib.import_module(SUITES[name]).suite


def run(
    *,
    quick: bool = False,
    only: Sequence[str] | None = None,
    out: str | os.PathLike = "results/bench",
    repeats: int | None = None,
    update_docs_pages: bool = False,
    docs: str | os.PathLike = DOCS,
    gymnax: bool = True,
    devices: int | None = None,
    command: str = "rl-softmax bench",
    log: Callable[[str], None] | None = None,
) -> dict:
    """Runs the suites, writes ``bench.md``, ``bench.csv`` and ``bench.json`` into
    ``out``, prints the table; returns the report (rows are :class:`harness.Row`).

    Args:
      quick: smoke sizes and one round.
      only: suites to run (default all, in the order of :data:`SUITES`).
      out: the directory written.
      repeats: counted rounds (default 3, 1 with ``quick``).
      update_docs_pages: also rewrite the tables of ``docs`` of the suites run.
      docs: the documentation rewritten (default the repository's ``docs/``;
        refused inside a pytest session, whose numbers are not the published ones).
      gymnax: time gymnax's rows where it is installed.
      devices: JAX CPU devices (default one per core).
      command: the command line, as the table reports it.
      log: where progress goes (default standard error).

    Raises:
      ValueError: an unknown suite.
    """
    names = list(SUITES) if not only else list(dict.fromkeys(only))
    unknown = [name for name in names if name not in SUITES]
    if unknown:
        raise ValueError(
            f"no benchmark suite {', '.join(map(repr, unknown))}; the suites are "
            f"{', '.join(SUITES)}"
        )
    if (
        update_docs_pages
        and "PYTEST_CURRENT_TEST" in os.environ
        and Path(docs).resolve() == DOCS.resolve()
    ):
        raise ValueError(
            f"update_docs_pages=True would rewrite {DOCS} from inside a test "
            "session (a loaded machine); pass docs= a temporary directory."
        )
    if log is None:

        def log(text):
            print(text, file=sys.stderr, flush=True)

    from rl_softmax.engine import executor

    executor.use_cpu_cores(devices)  # before JAX starts
    # as rl-softmax run compiles: a program compiled before is loaded from disk
    cache = executor.enable_compilation_cache()
    described = machine()  # the load average before the run
    start = time.perf_counter()
    rows, checks, details = [], [], {}
    for index, name in enumerate(names, 1):
        prefix = f"bench {index}/{len(names)} {name}"
        log(f"{prefix}: starting")
        settings = harness.Settings(
            quick=quick, repeats=repeats, gymnax=gymnax,
            progress=lambda text, prefix=prefix: log(f"{prefix}: {text}"),
        )  # fmt: skip
        began = time.perf_counter()
        section = _suite_function(name)(settings)
        log(f"{prefix}: done in {time.perf_counter() - began:.0f} s")
        rows += section.rows
        checks += [
            dataclasses.replace(c, name=f"{name}: {c.name}") for c in section.checks
        ]
        details[name] = section.details
    rounds = harness.Settings(quick=quick, repeats=repeats).rounds
    report = {
        "command": command,
        "quick": quick,
        "suites": names,
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "wall_seconds": time.perf_counter() - start,
        "warmup": (
            "a warm-up (a round, or a compilation timed apart; none for the fresh "
            "processes)"
        ),
        "rounds": f"{rounds} counted round{'s' if rounds > 1 else ''}",
        "machine": described,
        "compilation_cache": str(cache),
        "rows": rows,
        "checks": checks,
        "details": details,
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    text = markdown(report)
    (out / "bench.md").write_text(text, encoding="utf-8")
    (out / "bench.csv").write_text(csv_text(report), encoding="utf-8")
    (out / "bench.json").write_text(json_text(report), encoding="utf-8")
    print(text, end="")
    print(f"wrote {out / 'bench.md'}, {out / 'bench.csv'}, {out / 'bench.json'}")
    if update_docs_pages:
        for page in update_docs(report, Path(docs)):
            print(f"wrote {page}")
    return report
