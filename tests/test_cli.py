"""Tests for the ``rl-softmax`` command (rl_softmax/cli.py), run in-process.

``rl_softmax.cli.main([...])`` is called directly (two tests also run the installed
console script in a subprocess). Results on disk are checked against NumPy
statistics recomputed from the saved arrays, and the ``demo`` output against the
softmax of ``[2, 4, 2, 1]`` published in DESIGN.md and each claim of
docs/why-softmax.md recomputed with NumPy. In-process runs pass
``--no-cache`` (the persistent compilation cache is process-wide JAX state and must
not leak into other tests or write to ~/.cache); the subprocess test of the cache
points it at a temporary directory.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as scipy_stats

from rl_softmax import cli
from rl_softmax.cli import main
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import registry

REPO = Path(__file__).resolve().parents[1]
T95 = {df: float(scipy_stats.t.ppf(0.975, df)) for df in range(1, 40)}
# The configs of the rollout agents need other tiny sizes: test_policy_configs.py.
CONFIGS = [
    path
    for path in sorted((REPO / "rl_softmax" / "configs").glob("*.toml"))
    if not any(s.rollout for s in config_lib.load(path).studies)
]
TAU_SWEEP = REPO / "rl_softmax" / "configs" / "bandit_tau_sweep.toml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# The shipped config asks for final_steps = 100, so a 50-step run must shrink it.
SMALL_TAU_SWEEP = [
    "num_seeds=8", "num_steps=50", "final_steps=10", "studies.0.num_values=3",
    "max_block_runs=16",
]  # fmt: skip
# readme_figures.py's quick run (tests/test_readme_figures.py): shared runs
TINY = ["num_seeds=4", "num_steps=20", "final_steps=20"]
NUM_ARMS = 10
# "wall time T s: import a s, compile b s, run c s, write d s, plot e s"
WALL_TIME = re.compile(
    r"^wall time (\d+\.\d\d) s: import (\d+\.\d\d) s, compile (\d+\.\d\d) s, "
    r"run (\d+\.\d\d) s, write (\d+\.\d\d) s, plot (\d+\.\d\d) s$",
    re.MULTILINE,
)


def _sets(items: list[str]) -> list[str]:
    return [f"--set={item}" for item in items]


def _run_tau_sweep(out: Path, *extra: str) -> int:
    args = [
        "run", str(TAU_SWEEP), "--out", str(out), "--no-cache",
        *_sets(SMALL_TAU_SWEEP),
    ]  # fmt: skip
    return main([*args, *extra])


def _wall_time(stdout: str) -> dict[str, float]:
    """The phases of the "wall time" line (exactly one), and its ``total``."""
    (match,) = WALL_TIME.finditer(stdout)
    names = ("total", "import", "compile", "run", "write", "plot")
    return dict(zip(names, map(float, match.groups()), strict=True))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, shared_results):
    """``path -> (out_dir, exit_code, stdout, overrides)`` of one tiny run per config.

    Runs are cached for the module (compilation dominates their cost). The tau
    sweep runs with the overrides of SMALL_TAU_SWEEP and draws its plots; the other
    configs with TINY and ``--no-plots``, in the folder of readme_figures.py's
    quick run of the same config (which saves or reuses them).
    """
    done = {}

    def run(path: Path):
        if path not in done:
            small = path == TAU_SWEEP
            overrides = SMALL_TAU_SWEEP if small else TINY
            with (
                contextlib.nullcontext(tmp_path_factory.mktemp(path.stem) / "results")
                if small
                else shared_results.alone(f"{path.stem}_4x20")
            ) as out:
                args = ["run", str(path), "--out", str(out), "--quiet", "--no-cache"]
                args += [] if small else ["--no-plots"]
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
    # One study without track_probs: reward & % optimal against tau, and over time.
    assert {p.name for p in pngs} == {
        "boltzmann_sweep.png",
        "boltzmann_curves_reward.png",
        "boltzmann_curves_optimal.png",
    }
    for path in pngs:
        _assert_png(path)
        assert f"wrote {path}" in stdout
    metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["config"]["num_seeds"] == 8
    assert metadata["config"]["num_steps"] == 50
    assert metadata["config"]["max_block_runs"] == 16
    assert "chunk_size" not in metadata["config"]
    assert set(metadata["studies"]) == {"boltzmann"}
    info = metadata["studies"]["boltzmann"]
    assert (info["param"], info["param_symbol"]) == ("tau", "τ")


def test_run_prints_where_wall_time_went(tau_sweep, tiny_run):
    _, _, stdout = tau_sweep
    spent = _wall_time(stdout)
    phases = [spent[k] for k in ("import", "compile", "run", "write", "plot")]
    assert all(t >= 0 for t in phases)
    assert sum(phases) <= spent["total"] + 0.03  # each rounded to 0.01 s
    assert spent["compile"] > 0 and spent["run"] > 0 and spent["plot"] > 0
    other = next(path for path in CONFIGS if path != TAU_SWEEP)
    _, code, stdout, _ = tiny_run(other)
    assert code == 0 and _wall_time(stdout)["plot"] == 0.0  # --no-plots


def test_results_line_reports_the_best_tau(tau_sweep):
    # The best tau maximises the mean reward over seeds, references left out.
    out, _, stdout = tau_sweep
    with np.load(out / "studies" / "boltzmann.npz") as data:
        values = data["values"]
        reward = data["reward.run_mean"].astype(np.float64)
        optimal = data["optimal.run_final"].astype(np.float64)
    grid = slice(0, len(values) - 2)  # the greedy and uniform references are last
    means = reward[grid].mean(axis=1)
    best = int(np.argmax(means))
    sem = reward[best].std(ddof=1) / math.sqrt(reward.shape[1])
    match = re.search(
        r"best tau = (\S+) \(95% bootstrap \S+ to \S+\)\s+reward (\S+) ± (\S+) "
        r"\((\d+) seeds, t interval\)\s+% optimal action \(last 10\) (\S+)",
        stdout,
    )
    assert match, stdout
    value, mean, half_width, num_seeds, percent = map(float, match.groups())
    assert value == pytest.approx(float(values[best]), rel=1e-3)
    assert mean == pytest.approx(means[best], abs=5e-4)
    assert num_seeds == 8
    assert half_width == pytest.approx(T95[7] * sem, abs=5e-4)
    assert percent == pytest.approx(100 * optimal[best].mean(), abs=0.05)


def test_saved_values_are_the_log2_grid_and_references(tau_sweep):
    out, _, _ = tau_sweep
    with np.load(out / "studies" / "boltzmann.npz") as data:
        values, seeds = data["values"], data["seeds"]
        reward = data["reward.run_mean"]
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
    assert metrics == {"reward", "optimal", "regret", "entropy", "prob_optimal", "tau"}
    assert len(rows) == len(values) * len(metrics) * 2
    for row in rows:
        assert row["study"] == "boltzmann" and row["param"] == "tau"
        assert int(row["final_steps"]) == 10
        (index,) = np.flatnonzero(values == np.float32(float(row["value"])))
        samples = arrays[f"{row['metric']}.{groups[row['window']]}"][index]
        assert samples.shape == (8,)
        mean, sem, n = _seed_stats(samples)
        assert int(row["num_seeds"]) == n and row["interval"] == "t"
        got = [float(row[k]) for k in ("mean", "sem", "ci95_low", "ci95_high")]
        expected = [mean, sem, mean - T95[n - 1] * sem, mean + T95[n - 1] * sem]
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
    assert uniform["tau"] == math.inf
    greedy = {
        r["metric"]: float(r["mean"])
        for r in rows
        if float(r["value"]) == 0.0 and r["window"] == "all"
    }
    assert greedy["tau"] == 0.0


def test_rerun_resumes_with_the_same_numbers(
    tau_sweep, tmp_path, capsys, compile_events
):
    out = _copy(tau_sweep, tmp_path)
    study = out / "studies" / "boltzmann.npz"
    before = _snapshot(out)
    mtime = study.stat().st_mtime_ns
    assert _run_tau_sweep(out, "--quiet", "--no-plots") == 0
    stdout = capsys.readouterr().out
    assert "reusing" in stdout
    assert study.stat().st_mtime_ns == mtime  # not recomputed, not rewritten
    spent = _wall_time(stdout)
    assert spent["run"] == 0.0  # nothing swept
    assert compile_events == []  # nothing compiled either
    after = _snapshot(out)
    for name in ("summary.csv", "studies/boltzmann.npz"):
        assert after[name] == before[name], name


def test_other_config_in_same_dir_is_refused_unless_overwrite(
    tau_sweep, tmp_path, capsys
):
    out = _copy(tau_sweep, tmp_path)
    with np.load(out / "studies" / "boltzmann.npz") as data:
        eight_seeds = data["reward.run_mean"]
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
        four_seeds = data["reward.run_mean"]
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


def test_plot_refuses_unreadable_or_unfinished_results(tau_sweep, tmp_path, capsys):
    out = _copy(tau_sweep, tmp_path)
    metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    (out / "metadata.json").write_text(json.dumps({**metadata, "status": "stopped"}))
    assert main(["plot", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        err == f"error: {out} holds a run that is stopped; run it again to finish it, "
        "then plot.\n"
    )
    (out / "metadata.json").write_text("not JSON")
    assert main(["plot", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {out / 'metadata.json'}: unreadable (")
    assert err.count("\n") == 1


def _damage(out: Path, how: str) -> None:
    study = out / "studies" / "boltzmann.npz"
    if how == "missing study file":
        study.unlink()
    elif how == "empty study file":
        study.write_bytes(b"")
    elif how == "truncated study file":
        study.write_bytes(study.read_bytes()[:300])
    elif how == "no studies folder":
        shutil.rmtree(out / "studies")
    elif how == "plots is a file":
        shutil.rmtree(out / "plots")
        (out / "plots").write_text("not a folder")


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("missing study file", "boltzmann.npz is missing"),
        ("empty study file", "unreadable (EOFError"),
        ("truncated study file", "unreadable (BadZipFile"),
        ("no studies folder", "boltzmann.npz is missing"),
        ("plots is a file", "is a file, where the plots go; move it away."),
    ],
)
def test_plot_on_damaged_results_names_what_is_broken(
    tau_sweep, tmp_path, capsys, how, expected
):
    out = _copy(tau_sweep, tmp_path)
    _damage(out, how)
    assert main(["plot", str(out)]) == 2
    captured = capsys.readouterr()
    assert expected in captured.err and "Traceback" not in captured.err
    assert captured.err.strip().splitlines()[-1].startswith("error: ")
    assert "wrote" not in captured.out


def test_plot_draws_the_studies_it_can_read_and_says_which_it_skipped(
    tau_sweep, tmp_path, capsys
):
    out = _copy(tau_sweep, tmp_path)
    metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    info = metadata["studies"]["boltzmann"]
    metadata["studies"].update(ghost=info, empty=None)  # no file; a null entry
    (out / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    shutil.rmtree(out / "plots")
    assert main(["plot", str(out)]) == 1  # drew, but not everything
    captured = capsys.readouterr()
    assert f"study 'ghost': {out / 'studies' / 'ghost'}.npz is missing" in captured.err
    assert (
        "study 'empty': unreadable (ValueError: its entry in metadata.json is "
        "empty)" in captured.err
    )
    drawn = {Path(line.split()[-1]).name for line in captured.out.splitlines()}
    assert "boltzmann_sweep.png" in drawn
    assert drawn == {p.name for p in (out / "plots").iterdir()}


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
            reward = data["reward.run_mean"]
            probs = data.get("prob_by_rank.curve_mean")
        assert reward.shape == (num_values, config.num_seeds)
        assert np.isfinite(reward).all()
        if study.track_probs:  # mean action probabilities by rank sum to 1
            assert probs.shape[0] == num_values and probs.shape[-1] == NUM_ARMS
            np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)
        else:
            assert probs is None
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
        (["{good}", "--set", "chunk_size=16"], ["chunk_size", "max_block_runs"]),
        (
            ["{good}", "--set", "studies.0.rule=greedy",
             "--set", "studies.0.schedule=linear"],
            ["studies[0]", "unknown key", "'schedule'", "allowed"],
        ),
        (
            ["{good}", "--set", "studies.0.schedule=inverse_log",
             "--set", "studies.0.schedule_args={{decay_rate = 0.5}}"],
            ["studies[0].schedule_args", "decay_rate"],
        ),
    ],
    ids=[
        "tau<0", "num_seeds=0", "unknown key", "set tau<0", "env", "no =",
        "missing file", "directory", "chunk_size", "schedule on greedy",
        "schedule args",
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
    assert main(["run", *argv, "--out", str(out), "--quiet", "--no-cache"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    for needle in needles:
        assert needle in captured.err, (needle, captured.err)
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()


def test_installed_script_reports_bad_config_without_traceback(tmp_path):
    script = Path(sys.executable).with_name("rl-softmax")
    assert script.exists(), f"{script}: install the package (pip install -e .)"
    out = tmp_path / "r"
    proc = subprocess.run(
        [str(script), "run", str(_bad_config(tmp_path)), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "studies[0].values" in proc.stderr and "-0.5" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_out_naming_an_existing_file_exits_2_with_one_line_error(tmp_path, capsys):
    out = tmp_path / "results.txt"
    out.write_text("not a results directory\n")
    assert _run_tau_sweep(out, "--quiet") == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert str(out) in captured.err and "not a directory" in captured.err
    assert "Traceback" not in captured.err
    assert out.read_text() == "not a results directory\n"
    assert sorted(tmp_path.iterdir()) == [out]  # nothing written beside it


def test_installed_script_runs_with_the_cache_in_cache_dir(tmp_path):
    # A subprocess: turning the cache on is process-wide. Nothing may go to ~/.cache.
    script = Path(sys.executable).with_name("rl-softmax")
    assert script.exists(), f"{script}: install the package (pip install -e .)"
    cache, home = tmp_path / "cache", tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != "RL_SOFTMAX_CACHE_DIR"}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))
    tiny = ["num_seeds=2", "num_steps=10", "final_steps=5", "studies.0.values=[1.0]"]
    proc = subprocess.run(
        [
            str(script), "run", str(TAU_SWEEP), "--out", str(tmp_path / "r"),
            "--cache-dir", str(cache), "--quiet", "--no-plots", *_sets(tiny),
        ],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert _wall_time(proc.stdout)["compile"] > 0
    assert any(p.is_file() for p in cache.rglob("*"))  # compiled programs cached
    assert not home.exists()
    assert (tmp_path / "r" / "studies" / "boltzmann.npz").is_file()


# ------------------------------------------------------------------ list, demo


def test_list_shows_registry_names_and_configs(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # configs are found from the package, not the cwd
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for table in (registry.ENVS, registry.RULES, registry.AGENTS):
        for name, entry in table.items():
            assert f"  {name} " in out and entry.description in out, name
    for names in (registry.OPTIMIZERS, registry.SCHEDULES, registry.ENTROPY_SHAPES):
        assert ", ".join(names) in out
    for path in CONFIGS:  # by the name that `rl-softmax run NAME` takes
        assert f"  {path.stem} " in out and "invalid" not in out


def test_a_shipped_config_runs_by_name_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ folder here
    out = tmp_path / "by name"
    argv = ["run", "bandit_tau_sweep", "--out", str(out), *_sets(TINY), "--no-plots"]
    assert main(argv) == 0
    by_path = tmp_path / "by path"
    argv[1:4] = [str(TAU_SWEEP), "--out", str(by_path)]
    assert main(argv) == 0
    assert (out / "summary.csv").read_bytes() == (by_path / "summary.csv").read_bytes()


def test_an_unknown_config_name_lists_the_shipped_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "bandit_tau_swep", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "bandit_tau_swep: no such config file, nor a shipped config" in err
    for path in CONFIGS:
        assert path.stem in err


def test_bench_refuses_in_one_line_outside_a_clone(capsys, monkeypatch, tmp_path):
    # installed from a wheel: no experiments/ beside the package
    package = tmp_path / "site-packages" / "rl_softmax"
    package.mkdir(parents=True)
    monkeypatch.setattr(cli, "__file__", str(package / "cli.py"))
    assert cli.bench_script() is None
    assert main(["bench", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: rl-softmax bench runs from a clone of the repository: its baselines "
        "live in experiments/\n"
    )


def test_bench_finds_the_clones_experiments():
    assert cli.bench_script() == Path(__file__).resolve().parents[1] / (
        "experiments/bench.py"
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--only", "bandit", "lake"], "no benchmark suite 'lake'; the suites are "),
        (["--only", "hosts", "--update-docs"], "no benchmark suite 'hosts'; "),
    ],
)
def test_bench_argument_errors_take_one_line(capsys, tmp_path, argv, message):
    assert main(["bench", *argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert not any(tmp_path.iterdir())  # nothing ran, nothing written


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``(out_dir, exit_code, stdout)`` of ``rl-softmax demo`` (run once: it compiles
    every claim's computation and draws four figures)."""
    out = tmp_path_factory.mktemp("demo")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["demo", "--out", str(out)])
    return out, code, stdout.getvalue()


def _section(stdout: str, title: str) -> str:
    """The lines of one numbered claim of the demo, up to the next claim."""
    start = stdout.index(f"\n{title}\n")
    end = re.search(r"\n(\d\. |wrote )", stdout[start + 1 :])
    return stdout[start : start + 1 + end.start()]


def _rounded(x) -> str:
    return str(np.round(np.asarray(x, np.float64), 4).tolist())


def test_demo_prints_published_softmax_and_writes_figure(demo):
    out, code, stdout = demo
    assert code == 0
    # DESIGN.md: softmax of [2, 4, 2, 1] and its linear normalisation.
    assert "[0.1025, 0.7573, 0.1025, 0.0377]" in stdout
    assert "[0.2222, 0.4444, 0.2222, 0.1111]" in stdout
    logits = np.array([2.0, 4.0, 2.0, 1.0])
    for tau, line in ((0.5, "0.5 "), (2.0, "2.0 ")):
        probs = np.exp(logits / tau) / np.exp(logits / tau).sum()
        assert f"tau = {line}: {probs.round(4).tolist()}" in stdout
    _assert_png(out / "probs_vs_tau.png")


TOUR_FIGURES = (
    "probs_vs_tau.png", "max_entropy.png", "linear_vs_softmax.png",
    "cross_entropy_gradients.png",
)  # fmt: skip


def test_demo_writes_every_figure_of_the_tour(demo):
    out, _, stdout = demo
    assert sorted(p.name for p in out.iterdir()) == sorted(TOUR_FIGURES)
    for name in TOUR_FIGURES:
        _assert_png(out / name)
        assert f"wrote {out / name}" in stdout
    page = (REPO / "docs" / "why-softmax.md").read_text(encoding="utf-8")
    for name in TOUR_FIGURES:  # the page shows each of them
        assert f"](figures/{name})" in page, name


def test_demo_prints_the_numbers_of_each_claim(demo):
    """Each claim's section against NumPy, computed here from the formulas."""
    _, _, stdout = demo
    z = np.array([2.0, 4.0, 2.0, 1.0])
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    mean, entropy = p @ z, -(p * np.log(p)).sum()

    text = _section(stdout, "1. maximum entropy")
    assert f"p = {_rounded(p)}" in text and f"E = {mean:.4f}" in text
    assert f"entropy H = {entropy:.5f}" in text
    (best,) = re.findall(r"largest H = (\d\.\d+)", text)
    assert entropy - 1e-4 < float(best) <= entropy + 1e-6
    assert "dH/dE along the Boltzmann family at tau = 1: -1.0 " in text

    text = _section(stdout, "2. limits and the base")
    assert "at tau = 0: [0.5, 0.0, 0.5, 0.0]" in text
    assert "at tau = 0.01: [0.5, 0.0, 0.5, 0.0]" in text
    uniform_ish = np.exp(z / 1e3) / np.exp(z / 1e3).sum()
    assert f"at tau = 1000: {_rounded(uniform_ish)}" in text
    base_two = 2.0**z / (2.0**z).sum()
    assert f"2**z / sum 2**z = {_rounded(base_two)}" in text
    assert f"tau = 1/ln 2 = {1 / math.log(2):.4f}: {_rounded(base_two)}" in text

    text = _section(stdout, "3. shift invariance, not linear normalisation")
    assert (
        f"softmax {_rounded(p)}, linear {_rounded((z + 10) / (z + 10).sum())}" in text
    )
    assert "[1.0, -0.5, 0.5] (a negative 'probability')" in text
    assert "[inf, -inf] (sum 0: division by zero)" in text

    text = _section(stdout, "4. the Jacobian")
    jacobian = np.diag(p) - np.outer(p, p)
    for row in jacobian:
        assert f"  {_rounded(row)}" in text
    assert "diagonal > 0: True; off-diagonal < 0: True" in text

    text = _section(stdout, "5. the inverse")
    log_z = np.log(np.exp(z).sum())
    assert f"tau log p = {_rounded(z - log_z)}" in text
    assert f"= -(tau log Z) = {round(-log_z, 4)}" in text

    text = _section(stdout, "6. the exponential family")
    assert f"grad of log Z = logsumexp(z): {_rounded(p)}" in text
    (draws,) = re.findall(r"mean one-hot of 20000 draws: (\[[^]]*\])", text)
    assert np.all(np.abs(np.array(json.loads(draws)) - p) < 4 * np.sqrt(p / 20_000))
    sigmoid = 1 / (1 + math.exp(-1.5))
    assert f"sigmoid(1.5) = {sigmoid:.4f}, softmax([1.5, 0])_0 = {sigmoid:.4f}" in text

    text = _section(stdout, "7. cross-entropy against squared error")
    s = 1 / (1 + math.exp(10.0))  # p of the correct class at margin -10
    assert f"p_0 = {s:.2e}, |grad| cross-entropy {math.sqrt(2) * (1 - s):.2e}" in text
    assert f"squared error {2 * math.sqrt(2) * s * (1 - s) ** 2:.2e}" in text

    text = _section(stdout, "8. overflow")
    assert f"exp(88) = {math.exp(88):.4e}, exp(89) = inf" in text
    assert "z = [1000.0, 999.0]: naive [nan, nan], softmax [0.7311, 0.2689]" in text
    assert "z = [-1000.0, -999.0]: naive [nan, nan], softmax [0.2689, 0.7311]" in text
