"""Every results table of the docs, generated from results directories.

    python experiments/tables.py            # run what is missing, rewrite every table
    python experiments/tables.py dqn ppo    # only these tables
    python experiments/tables.py --check    # exit 1 if a page differs from its table

A table is a function from its configs' results to markdown. This script runs each
config into ``results/<config>`` (a complete results directory is reused, not run
again), writes the table with its caption to ``docs/tables/<name>.md``, and puts
that text into every page that shows it, between ``<!-- table: name -->`` and
``<!-- /table -->``. Nothing inside those markers is typed by hand; a test checks
that every page's block equals its generated file.

Every cell is a mean over seeds (each seed one replicate) with its 95% interval:
``± t sem`` with Student's t for the seeds' count
(:func:`rl_softmax.experiment.stats.half_width`). A count of seeds that pass a
threshold is a rate, and the caption names the CPU it was measured on: neural runs
agree across CPU models only statistically (docs/guide/reproducibility.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from table_cells import interval, tau_label
from tables_neural import (
    acrobot_ppo_table,
    cartpole_ppo_table,
    dqn_table,
    host_vs_jax_runs,
    host_vs_jax_table,
    isa_runs,
    isa_table,
    soft_dqn_table,
)
from tables_tabular import (
    ANNEAL,
    RULES,
    anneal_table,
    atlas_table,
    mellowmax_paper_table,
    temperature_rules_table,
    toy_text_table,
)
from tables_tune import tune_runs, tune_table

from rl_softmax.experiment import run_experiment
from rl_softmax.experiment.config import SHIPPED_DIR

__all__ = ["TABLES", "Table", "blocks", "fill", "interval", "main", "tau_label"]

REPO = Path(__file__).resolve().parents[1]
TABLES_DIR = REPO / "docs" / "tables"
PAGES = (
    REPO / "README.md",
    *sorted(p for p in (REPO / "docs").rglob("*.md") if TABLES_DIR not in p.parents),
)

_BLOCK = re.compile(r"(<!-- table: ([\w-]+) -->\n)(.*?)(<!-- /table -->)", re.S)


@dataclasses.dataclass(frozen=True)
class Table:
    """A generated table: the configs it reads and how it renders them."""

    configs: tuple[str, ...]
    render: Callable[[Mapping[str, object]], str]
    extra: Callable[[Path], Mapping[str, object]] | None = None
    """Runs (or reads) what the table needs beyond its configs' results, from the
    results root: e.g. a config compiled for other CPU targets."""


TABLES: dict[str, Table] = {
    "dqn": Table(("cartpole_boltzmann_dqn",), dqn_table),
    "soft-dqn": Table(("cartpole_soft_dqn",), soft_dqn_table),
    "cartpole-ppo": Table(("cartpole_entropy_sweep",), cartpole_ppo_table),
    "acrobot-ppo": Table(("acrobot_entropy_sweep",), acrobot_ppo_table),
    "anneal": Table(ANNEAL, anneal_table),
    "isa": Table((), isa_table, isa_runs),
    "host-vs-jax": Table((), host_vs_jax_table, host_vs_jax_runs),
    "mellowmax-paper": Table((), mellowmax_paper_table),
    "tune": Table((), tune_table, tune_runs),
    "temperature-rules": Table(
        tuple(dict.fromkeys(c for _, studies in RULES for c, _, _ in studies)),
        temperature_rules_table,
    ),
    "toy-text": Table(("frozenlake_tau_sweep", "cliff_tau_sweep"), toy_text_table),
    "atlas": Table(
        (
            "bandit_tau_sweep",
            "frozenlake_tau_sweep",
            "cliff_tau_sweep",
            "taxi_tau_sweep",
            "cartpole_boltzmann_dqn",
            "cartpole_entropy_sweep",
        ),
        atlas_table,
    ),  # fmt: skip
}
"""Every generated table, by the name its pages mark it with."""


# ----------------------------------------------------------------------- the pages


def blocks(text: str) -> list[tuple[str, str]]:
    """``(name, content)`` of every generated block of a page."""
    return [(m.group(2), m.group(3)) for m in _BLOCK.finditer(text)]


def fill(text: str, tables: Mapping[str, str]) -> str:
    """``text`` with each block whose table is in ``tables`` replaced by it."""

    def replace(match: re.Match) -> str:
        name = match.group(2)
        if name not in tables:
            return match.group(0)
        return match.group(1) + tables[name].rstrip("\n") + "\n" + match.group(4)

    return _BLOCK.sub(replace, text)


def stale_pages(
    pages: Sequence[Path] = PAGES, tables_dir: Path = TABLES_DIR
) -> list[str]:
    """The blocks of ``pages`` that differ from their generated files."""
    stale = []
    for page in pages:
        for name, content in blocks(page.read_text(encoding="utf-8")):
            path = tables_dir / f"{name}.md"
            if not path.exists():
                stale.append(f"{page.name}: table {name!r} has no {path.name}")
            elif content.rstrip("\n") != path.read_text(encoding="utf-8").rstrip("\n"):
                stale.append(f"{page.name}: table {name!r} differs from {path.name}")
    return stale


def results_of(
    configs: Sequence[str], root: Path, overrides: Sequence[str] = ()
) -> dict[str, object]:
    """Each config's results, run into ``root/<config>`` unless already there."""
    return {
        name: run_experiment(
            SHIPPED_DIR / f"{name}.toml", root / name, overrides=overrides,
            progress=True, log=print,
        )
        for name in configs
    }  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, str]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "names", nargs="*", help=f"tables (default all: {list(TABLES)})"
    )
    parser.add_argument("--results", default="results", help="parent of the results")
    parser.add_argument("--out", default=str(TABLES_DIR), help="where tables go")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="config override for every config (a reduced run; the pages are then "
        "left alone)",
    )  # fmt: skip
    parser.add_argument("--check", action="store_true", help="only compare pages")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_pages()
        print("\n".join(stale) or "every table in the pages is its generated file")
        return {} if stale else {"ok": ""}
    unknown = sorted(set(args.names) - set(TABLES))
    if unknown:
        parser.error(f"unknown tables {unknown}: expected some of {list(TABLES)}")
    names = args.names or list(TABLES)
    configs = list(dict.fromkeys(c for n in names for c in TABLES[n].configs))
    results = results_of(configs, Path(args.results), args.set)
    for name in names:
        if TABLES[name].extra is not None:
            results.update(TABLES[name].extra(Path(args.results)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tables = {}
    for name in names:
        text = TABLES[name].render(results)
        tables[name] = text
        (out / f"{name}.md").write_text(text + "\n", encoding="utf-8")
        print(f"wrote {out / f'{name}.md'}")
    if not args.set and out.resolve() == TABLES_DIR.resolve():
        for page in PAGES:
            text = page.read_text(encoding="utf-8")
            filled = fill(text, tables)
            if filled != text:
                page.write_text(filled, encoding="utf-8")
                print(f"updated {page.relative_to(REPO)}")
    return tables


if __name__ == "__main__":
    from rl_softmax.engine import executor

    executor.use_cpu_cores()
    executor.enable_compilation_cache()
    tables = main()
    sys.exit(0 if tables else 1)
