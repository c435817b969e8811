"""Every README figure is drawn by experiments/readme_figures.py (its own file so
that pytest-xdist runs it beside the other experiment tests)."""

from __future__ import annotations

from experiment_scripts import EXPERIMENTS, script_main


def test_readme_figures_are_the_plots_the_configs_draw(tmp_path):
    argv = ["--num-seeds", "4", "--num-steps", "20"]
    argv += ["--results", str(tmp_path / "results"), "--out", str(tmp_path / "figs")]
    written = script_main("readme_figures")(argv)
    readme = (EXPERIMENTS.parent / "README.md").read_text()
    names = sorted(path.name for path in written)
    assert names == sorted(p.name for p in (tmp_path / "figs").iterdir())
    for name in names:  # every figure the README shows is made here, and only those
        assert f"docs/figures/{name}" in readme, name
    shown = {
        line.split("docs/figures/")[1].split(")")[0]
        for line in readme.splitlines()
        if "](docs/figures/" in line
    }
    assert shown == set(names)
    sweep = tmp_path / "results" / "bandit_tau_sweep_4x20" / "plots"
    assert (tmp_path / "figs" / "boltzmann_sweep.png").read_bytes() == (
        sweep / "boltzmann_sweep.png"
    ).read_bytes()
