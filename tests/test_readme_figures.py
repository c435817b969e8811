"""Every figure of the README and the docs is drawn by experiments/readme_figures.py
(its own file so that pytest-xdist runs it beside the other experiment tests)."""

from __future__ import annotations

import re
from pathlib import Path

from experiment_scripts import EXPERIMENTS, script

REPO = EXPERIMENTS.parent
FIGURES = REPO / "docs" / "figures"
# ![alt](path): the alt text may hold brackets ("z = [2, 4, 2, 1]")
IMAGE = re.compile(r"!\[.*?\]\(([^)\s]+)\)")


def _shown_figures() -> dict[str, list[str]]:
    """``{figure name: pages showing it}`` over README.md and docs/**/*.md, for
    images whose path resolves into docs/figures/."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    shown: dict[str, list[str]] = {}
    for page in pages:
        for target in IMAGE.findall(page.read_text(encoding="utf-8")):
            path = (page.parent / target).resolve()
            if path.parent == FIGURES.resolve():
                shown.setdefault(path.name, []).append(str(page.relative_to(REPO)))
    return shown


def test_readme_figures_are_the_plots_the_configs_draw(
    tmp_path, shared_results, monkeypatch
):
    readme_figures = script("readme_figures")
    # its config runs are the tiny runs of test_policy_configs and test_cli, and its
    # mellowmax_paper.py run is test_mellowmax_paper's: the first to run one saves
    # it for the others
    monkeypatch.setattr(readme_figures, "run_experiment", shared_results)
    results = shared_results.folder
    load = readme_figures._script

    def shared_script(name):
        module = load(name)
        if name == "cliff_step_size":  # its run is test_cli's of the same config,
            # in the folder the script writes (not in its runs/)
            monkeypatch.setattr(
                module, "run_experiment",
                lambda config, runs, **kw: shared_results(
                    config, Path(runs).parent.name, **{**kw, "overwrite": False}
                ),
            )  # fmt: skip
        if name == "mellowmax_paper":

            def main(argv):
                *argv, flag, out = argv
                assert flag == "--out" and Path(out).parent == results, argv
                return shared_results.script(name, argv, Path(out).name)

            monkeypatch.setattr(module, "main", main)
        return module

    monkeypatch.setattr(readme_figures, "_script", shared_script)
    argv = ["--num-seeds", "4", "--num-steps", "20"]
    argv += ["--results", str(results), "--out", str(tmp_path / "figs")]
    written = readme_figures.main(argv)
    names = sorted(path.name for path in written)
    assert names == sorted(p.name for p in (tmp_path / "figs").iterdir())
    shown = _shown_figures()
    # Every figure drawn is shown on a page, and every figure shown is drawn here.
    assert set(names) == set(shown), set(names) ^ set(shown)
    for name in shown:  # and is committed
        assert (FIGURES / name).is_file(), name
    assert "README.md" in shown["boltzmann_sweep.png"]
    assert "docs/why-softmax.md" in shown["max_entropy.png"]
    sweep = results / "bandit_tau_sweep_4x20" / "plots"
    assert (tmp_path / "figs" / "boltzmann_sweep.png").read_bytes() == (
        sweep / "boltzmann_sweep.png"
    ).read_bytes()


def test_shown_figures_reads_relative_paths_and_bracketed_alt_text():
    shown = _shown_figures()
    assert "README.md" in shown["probs_vs_tau.png"]  # alt text "z = [2, 4, 2, 1]"
    assert "docs/why-softmax.md" in shown["probs_vs_tau.png"]  # figures/...
