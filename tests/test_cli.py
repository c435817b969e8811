"""Tests for the ``rl-softmax`` command (rl_softmax/cli.py), run in-process.

``rl_softmax.cli.main([...])`` is called directly (one test also runs the installed
console script in a subprocess). Results on disk are checked against NumPy
statistics recomputed from the saved arrays, and the ``demo`` output against the
softmax of ``[2, 4, 2, 1]`` published in DESIGN.md.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rl_softmax import config as config_lib
from rl_softmax.cli import main

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.toml"))
TAU_SWEEP = REPO / "configs" / "bandit_tau_sweep.toml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# The shipped config asks for final_steps = 100, so a 50-step run must shrink it.
SMALL_TAU_SWEEP = [
    "num_seeds=8", "num_steps=50", "final_steps=10", "studies.0.num_values=3",
    "chunk_size=16",
]  # fmt: skip
TINY = ["num_seeds=4", "num_steps=20", "final_steps=10", "chunk_size=32"]
NUM_ARMS = 10


def _sets(items: list[str]) -> list[str]:
    return [f"--set={item}" for item in items]


def _run_tau_sweep(out: Path, *extra: str) -> int:
    args = ["run", str(TAU_SWEEP), "--out", str(out), *_sets(SMALL_TAU_SWEEP)]
    return main([*args, *extra])


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """``path -> (out_dir, exit_code, stdout, overrides)`` of one tiny run per config.

    Runs are cached for the module (compilation dominates their cost). The tau
    sweep runs with the overrides of SMALL_TAU_SWEEP and draws its plots; the other
    configs with TINY and ``--no-plots``.
    """
    done = {}

    def run(path: Path):
        if path not in done:
            out = tmp_path_factory.mktemp(path.stem) / "results"
            overrides = SMALL_TAU_SWEEP if path == TAU_SWEEP else TINY
            plots = [] if path == TAU_SWEEP else ["--no-plots"]
            args = ["run", str(path), "--out", str(out), "--quiet", *plots]
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout):
                code = main([*args, *_sets(overrides)])
            done[path] = (out, code, stdout.getvalue(), overrides)
        return done[path]

    return run


@pytest.fixture(scope="module")
def tau_sweep(tiny_run):
    """``(out_dir, exit_code, stdout)`` of the small run of bandit_tau_sweep.toml."""
    return tiny_run(TAU_SWEEP)[:3]


def _copy(tau_sweep, tmp_path: Path) -> Path:
    out, code, _ = tau_sweep
    assert code == 0
    copy = tmp_path / "results"
    shutil.copytree(out, copy)
    return copy


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _read_summary(out: Path) -> list[dict[str, str]]:
    with open(out / "summary.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _assert_png(path: Path) -> None:
    assert path.is_file(), path
    assert path.read_bytes()[:8] == PNG_MAGIC, path


# ------------------------------------------------------------------------- run


def test_run_writes_metadata_summary_arrays_and_plots(tau_sweep):
    out, code, stdout = tau_sweep
    assert code == 0
    for name in ("metadata.json", "summary.csv", "studies/boltzmann.npz"):
        assert (out / name).is_file(), name
    pngs = sorted((out / "plots").glob("*.png"))
    assert out / "plots" / "boltzmann_sweep.png" in pngs  # reward & % optimal vs tau
    for path in pngs:
        _assert_png(path)
        assert str(path) in stdout
    metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["config"]["num_seeds"] == 8
    assert metadata["config"]["num_steps"] == 50
    assert set(metadata["studies"]) == {"boltzmann"}


def test_saved_values_are_the_log2_grid_and_references(tau_sweep):
    out, _, _ = tau_sweep
    with np.load(out / "studies" / "boltzmann.npz") as data:
        values, seeds = data["values"], data["seeds"]
        reward = data["run_mean.reward"]
    expected = np.concatenate([2.0 ** np.linspace(-7, 2, 3), [0.0, np.inf]])
    np.testing.assert_array_equal(values, expected.astype(values.dtype))
    np.testing.assert_array_equal(seeds, np.arange(8))
    assert reward.shape == (5, 8) and np.isfinite(reward).all()


def _seed_stats(samples: np.ndarray) -> tuple[float, float, int]:
    """Mean over seeds and its standard error, NaN runs left out (results.py docs)."""
    samples = samples[~np.isnan(samples)].astype(np.float64)
    n = samples.size
    if n == 0:
        return math.nan, math.nan, 0
    with np.errstate(invalid="ignore"):  # inf - inf: a NaN sem for infinite samples
        sem = samples.std(ddof=1) / math.sqrt(n) if n > 1 else 0.0
    return float(samples.mean()), float(sem), n


def test_summary_rows_agree_with_saved_arrays(tau_sweep):
    out, _, _ = tau_sweep
    rows = _read_summary(out)
    with np.load(out / "studies" / "boltzmann.npz") as data:
        arrays = {key: data[key] for key in data.files}
    values = arrays["values"]
    groups = {"all": "run_mean", "final": "run_final"}
    metrics = {r["metric"] for r in rows}
    assert {"reward", "optimal", "regret", "entropy", "prob_optimal"} <= metrics
    assert len(rows) == len(values) * len(metrics) * 2
    for row in rows:
        assert row["study"] == "boltzmann" and row["param"] == "tau"
        assert int(row["final_steps"]) == 10
        (index,) = np.flatnonzero(values == np.float32(float(row["value"])))
        samples = arrays[f"{groups[row['window']]}.{row['metric']}"][index]
        assert samples.shape == (8,)
        mean, sem, n = _seed_stats(samples)
        assert int(row["num_seeds"]) == n
        got = [float(row[k]) for k in ("mean", "sem", "ci95_low", "ci95_high")]
        expected = [mean, sem, mean - 1.96 * sem, mean + 1.96 * sem]
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(
                got, expected, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=str(row)
            )
    # The headline metric is defined for every run.
    reward_rows = [r for r in rows if r["metric"] == "reward"]
    assert all(int(r["num_seeds"]) == 8 for r in reward_rows)
    assert all(math.isfinite(float(r["mean"])) for r in reward_rows)


def test_uniform_reference_has_closed_form_entropy_and_prob_optimal(tau_sweep):
    # tau = inf is the uniform policy: entropy ln K and P(optimal) 1/K at every step.
    out, _, _ = tau_sweep
    rows = _read_summary(out)
    uniform = {
        r["metric"]: float(r["mean"])
        for r in rows
        if float(r["value"]) == math.inf and r["window"] == "all"
    }
    assert uniform["entropy"] == pytest.approx(math.log(NUM_ARMS), rel=1e-5)
    assert uniform["prob_optimal"] == pytest.approx(1.0 / NUM_ARMS, rel=1e-5)


def test_rerun_resumes_with_the_same_numbers(tau_sweep, tmp_path, capsys):
    out = _copy(tau_sweep, tmp_path)
    study = out / "studies" / "boltzmann.npz"
    before = _snapshot(out)
    mtime = study.stat().st_mtime_ns
    assert _run_tau_sweep(out, "--quiet", "--no-plots") == 0
    assert "reusing" in capsys.readouterr().out
    assert study.stat().st_mtime_ns == mtime  # not recomputed, not rewritten
    after = _snapshot(out)
    for name in ("summary.csv", "studies/boltzmann.npz"):
        assert after[name] == before[name], name


def test_other_config_in_same_dir_is_refused_unless_overwrite(
    tau_sweep, tmp_path, capsys
):
    out = _copy(tau_sweep, tmp_path)
    with np.load(out / "studies" / "boltzmann.npz") as data:
        eight_seeds = data["run_mean.reward"]
    before = _snapshot(out)
    assert _run_tau_sweep(out, "--quiet", "--set", "num_seeds=4") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--overwrite" in err
    assert _snapshot(out) == before  # nothing touched

    code = _run_tau_sweep(
        out, "--quiet", "--no-plots", "--overwrite", "--set", "num_seeds=4"
    )
    assert code == 0
    metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["config"]["num_seeds"] == 4
    with np.load(out / "studies" / "boltzmann.npz") as data:
        four_seeds = data["run_mean.reward"]
    # Seed i's numbers do not depend on how many seeds run beside it.
    assert four_seeds.shape == (5, 4)
    np.testing.assert_array_equal(four_seeds, eight_seeds[:, :4])


def test_plot_redraws_the_figures(tau_sweep, tmp_path, capsys):
    out = _copy(tau_sweep, tmp_path)
    names = sorted(p.name for p in (out / "plots").glob("*.png"))
    shutil.rmtree(out / "plots")
    assert main(["plot", str(out)]) == 0
    assert sorted(p.name for p in (out / "plots").glob("*.png")) == names
    stdout = capsys.readouterr().out
    for name in names:
        _assert_png(out / "plots" / name)
        assert name in stdout
    assert main(["plot", str(tmp_path / "nothing")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_runs_on_a_tiny_override(path, tiny_run):
    out, code, stdout, overrides = tiny_run(path)
    assert code == 0
    config = config_lib.load(path, overrides)
    assert config.num_seeds <= 8 and config.num_steps <= 50
    rows = _read_summary(out)
    for study in config.studies:
        with np.load(out / "studies" / f"{study.name}.npz") as data:
            num_values = len(study.values) + len(study.references)
            reward = data["run_mean.reward"]
        assert reward.shape == (num_values, config.num_seeds)
        assert np.isfinite(reward).all()
        assert sum(r["study"] == study.name for r in rows) > 0
        assert study.label in stdout


# ------------------------------------------------------------------ bad configs


def _bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(
        TAU_SWEEP.read_text(encoding="utf-8")
        .replace("log2_range = [-7, 2]", "values = [-0.5, 1.0]")
        .replace("num_values = 19\n", ""),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["{bad}"], ["studies[0].values", "-0.5"]),
        (["{good}", "--set", "num_seeds=0"], ["num_seeds", "0"]),
        (["{good}", "--set", "epsilon=0.1"], ["top level", "epsilon"]),
        (["{good}", "--set", "studies.0.values=[1, inf, -2]"], ["values", "-2"]),
        (["{good}", "--set", "env.name=poisson"], ["env.name", "poisson"]),
        (["{good}", "--set", "num_seeds"], ["--set", "num_seeds"]),
        (["{missing}"], ["missing.toml"]),
        (["{folder}"], ["folder.toml"]),
    ],
    ids=[
        "tau<0", "num_seeds=0", "unknown key", "set tau<0", "env", "no =",
        "missing file", "directory",
    ],
)  # fmt: skip
def test_bad_config_exits_2_with_one_line_error(args, needles, tmp_path, capsys):
    paths = {
        "bad": _bad_config(tmp_path),
        "good": TAU_SWEEP,
        "missing": tmp_path / "missing.toml",
        "folder": tmp_path / "folder.toml",
    }
    paths["folder"].mkdir()
    argv = [a.format(**paths) for a in args]
    out = tmp_path / "results"
    assert main(["run", *argv, "--out", str(out), "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    for needle in needles:
        assert needle in captured.err, (needle, captured.err)
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()


def test_installed_script_reports_bad_config_without_traceback(tmp_path):
    script = Path(sys.executable).with_name("rl-softmax")
    if not script.exists():
        pytest.skip(f"{script} is not installed")
    proc = subprocess.run(
        [str(script), "run", str(_bad_config(tmp_path)), "--out", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "studies[0].values" in proc.stderr and "-0.5" in proc.stderr
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------ list, demo


def test_list_shows_environments_rules_and_configs(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # configs are found from the package, not the cwd
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    names = [*config_lib.ENV_PARAMS, *config_lib.EXPLORE_PARAM, *config_lib.AGENTS]
    for name in names:
        assert f"  {name} " in out, name
    for path in CONFIGS:
        assert path.name in out and "invalid" not in out


def test_demo_prints_published_softmax_and_writes_figure(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # DESIGN.md: softmax of [2, 4, 2, 1] and its linear normalisation.
    assert "[0.1025, 0.7573, 0.1025, 0.0377]" in out
    assert "[0.2222, 0.4444, 0.2222, 0.1111]" in out
    logits = np.array([2.0, 4.0, 2.0, 1.0])
    for tau, line in ((0.5, "0.5 "), (2.0, "2.0 ")):
        probs = np.exp(logits / tau) / np.exp(logits / tau).sum()
        assert f"tau = {line}: {probs.round(4).tolist()}" in out
    _assert_png(tmp_path / "probs_vs_tau.png")
