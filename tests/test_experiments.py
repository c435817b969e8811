"""Smoke tests: every script in experiments/ runs on a tiny override and its output
agrees with an independent recomputation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from experiment_scripts import script, script_main

from rl_softmax.experiment import results


def test_figure_2_5_reports_the_saved_curves(tmp_path):
    argv = ["--num-runs", "16", "--num-steps", "30", "--out", str(tmp_path)]
    report = script_main("figure_2_5")(argv)
    saved = json.loads((tmp_path / "figure_2_5.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert len(saved["rows"]) == 4
    for row in saved["rows"]:  # a percentage of 16 runs x 10 steps, with its SE
        assert 0 <= row["percent_optimal"] <= 100 and row["sem"] >= 0
        count = row["percent_optimal"] * 160 / 100  # optimal pulls of 16 x 10
        assert abs(count - round(count)) < 1e-3
    assert (tmp_path / "figure_2_5.png").stat().st_size > 10_000


def test_anneal_comparison_table_matches_saved_results(
    tmp_path, shared_results, monkeypatch
):
    anneal_comparison = script("anneal_comparison")
    # its runs are the tiny runs of test_cli and readme_figures.py (the first to run
    # one saves it for the others)
    monkeypatch.setattr(
        anneal_comparison, "run_experiment",
        lambda config, out, **kw: shared_results(config, Path(out).name, **kw),
    )  # fmt: skip
    table = anneal_comparison.main(
        ["--num-seeds", "4", "--num-steps", "20", "--out", str(tmp_path)]
    )
    assert len(table) == 7  # one row per study of the four configs
    row = table[0]  # constant tau: best by mean reward, recomputed from the arrays
    result = results.load_study(
        shared_results.folder / "bandit_tau_sweep_4x20", "boltzmann"
    )
    swept = np.isfinite(result.values) & (result.values > 0)
    means = result.metrics["reward"].run_mean.astype(np.float64).mean(axis=1)
    best = np.argmax(np.where(swept, means, -np.inf))
    np.testing.assert_allclose(row["best"].mean, means[best], rtol=1e-9)
    assert row["setting"] == f"tau = {result.values[best]:.4g}"
    assert (tmp_path / "anneal_comparison_4x20.md").read_text().count("\n") == 9


def test_cliff_step_size_reports_interim_returns_from_the_saved_episodes(tmp_path):
    argv = ["--num-seeds", "3", "--num-steps", "3000", "--out", str(tmp_path)]
    report = script_main("cliff_step_size")(argv)
    saved = json.loads((tmp_path / "cliff_step_size.json").read_text())
    assert len(saved["rows"]) == 30  # three agents x ten step sizes
    assert saved == report
    result = results.load_study(tmp_path / "runs", "expected_sarsa")
    returns = result.metrics["episode_returns"].run_mean.astype(np.float64)
    rows = [r for r in saved["rows"] if r["agent"] == "Expected Sarsa"]
    for i, row in enumerate(rows):  # recomputed: complete runs' mean of 100 episodes
        complete = ~np.isnan(returns[i]).any(axis=1)
        assert row["interim_runs"] == complete.sum()
        if complete.any():
            expected = returns[i][complete].mean(axis=1).mean()
            np.testing.assert_allclose(row["interim"], expected, rtol=1e-9)
        else:
            assert row["interim"] is None
    assert any(row["interim_runs"] for row in rows)
    assert (tmp_path / "cliff_step_size.png").stat().st_size > 10_000


def test_cartpole_solve_counts_seeds_from_the_evaluation_returns(capsys):
    argv = [
        "--set",
        "num_seeds=2",
        "--set",
        "num_steps=1024",
        "--set",
        "final_steps=512",
    ]
    report = script_main("cartpole_solve")(argv)
    assert report["seeds"] == 2 and report["env_steps_per_seed"] == 1024
    # two updates leave a near-uniform policy: it keeps the pole up ~20-60 steps
    assert report["solved_softmax"] == 0 and report["solved_greedy"] == 0
    assert report["wall_seconds"] >= report["compile_seconds"] + report["run_seconds"]
    out = capsys.readouterr().out
    assert "0/2 seeds solve sampling from the softmax, 0/2 greedy" in out
