"""Tests for rl_softmax.experiment.results: exact round trips, atomic writes, CSV."""

from __future__ import annotations

import csv
import json
import math
import os
import stat

import numpy as np
import pytest

from rl_softmax.engine import METRICS, MetricResult, SweepResult
from rl_softmax.experiment import results, stats

NUM_ARMS = 4
# A run with action values, probabilities, a temperature and episodes, tracked.
NAMES = (
    "reward", "optimal", "regret", "entropy", "prob_optimal", "tau", "return",
    "length", "prob_by_rank",
)  # fmt: skip


def make_metric(rng, shape, *, name, keep_runs, nan=False) -> MetricResult:
    """One metric with the dtypes of a real sweep: float32 per run, float64 curves."""
    num_values, num_seeds, num_windows = shape
    trailing = (NUM_ARMS,) if METRICS[name].vector else ()
    runs = (num_values, num_seeds, *trailing)
    curves = (num_values, num_windows, *trailing)
    fields = {
        "run_mean": rng.normal(1.0, 0.5, runs).astype(np.float32),
        "run_final": rng.normal(1.0, 0.5, runs).astype(np.float32),
        "curve_mean": rng.normal(1.0, 0.5, curves),
        "curve_sem": rng.uniform(0.0, 0.1, curves),
    }
    if keep_runs:
        fields["curves"] = rng.normal(
            1.0, 0.5, (num_values, num_seeds, num_windows, *trailing)
        ).astype(np.float32)
    if METRICS[name].per_episode:
        # Episode counts; a run in which no episode ended has a NaN mean.
        for window, weight in (
            ("run_mean", "run_weight"),
            ("run_final", "final_weight"),
        ):
            counts = rng.integers(0, 4, (num_values, num_seeds)).astype(np.float32)
            counts[0, 0] = 0.0
            fields[window][counts == 0] = np.nan
            fields[weight] = counts
        if keep_runs:
            fields["curves"][0, 0, :2] = np.nan  # windows without an episode
    if nan:  # undefined for this agent
        for key in ("run_mean", "run_final", "curve_mean", "curve_sem", "curves"):
            if key in fields:
                fields[key][...] = np.nan
    return MetricResult(**fields)


def make_result(
    values=(0.0, 0.25, 1.0, 4.0, math.inf),
    num_seeds=5,
    num_windows=50,
    *,
    keep_runs=True,
    names=NAMES,
    nan_metric="entropy",
    seed=0,
) -> SweepResult:
    """A synthetic SweepResult with the shapes and dtypes of a real sweep."""
    rng = np.random.default_rng(seed)
    shape = (len(values), num_seeds, num_windows)
    metrics = {
        name: make_metric(
            rng, shape, name=name, keep_runs=keep_runs, nan=name == nan_metric
        )
        for name in names
    }
    if "tau" in metrics:
        metrics["tau"].run_mean[-1] = np.inf  # the uniform limit tau = inf
    return SweepResult(
        values=np.asarray(values, np.float32),
        seeds=np.arange(num_seeds, dtype=np.int64),
        steps=np.arange(1, num_windows + 1, dtype=np.int64) * 2,
        final_steps=10,
        metrics=metrics,
    )


def assert_bit_identical(a, b):
    assert type(a) is type(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def assert_same_result(loaded: SweepResult, original: SweepResult):
    assert type(loaded) is SweepResult
    for field in ("values", "seeds", "steps"):
        assert_bit_identical(getattr(loaded, field), getattr(original, field))
    assert loaded.final_steps == original.final_steps
    assert type(loaded.final_steps) is int
    assert list(loaded.metrics) == list(original.metrics)
    for name, want in original.metrics.items():
        got = loaded.metrics[name]
        assert type(got) is MetricResult
        for field in MetricResult._fields:
            if getattr(want, field) is None:
                assert getattr(got, field) is None, (name, field)
            else:
                assert_bit_identical(getattr(got, field), getattr(want, field))


# --------------------------------------------------------------------------- studies


@pytest.mark.parametrize("keep_runs", [True, False])
def test_study_round_trip_is_bit_identical(tmp_path, keep_runs):
    original = make_result(keep_runs=keep_runs)
    path = results.save_study(tmp_path, "softmax", original)
    assert path == tmp_path / "studies" / "softmax.npz"
    loaded = results.load_study(tmp_path, "softmax")
    assert_same_result(loaded, original)
    assert np.isinf(loaded.values[-1])
    assert np.isnan(loaded.metrics["entropy"].run_mean).all()
    assert np.isinf(loaded.metrics["tau"].run_mean[-1]).all()
    # What the fixture puts in a study: weights only for per-episode metrics,
    # a [K] vector metric, curves only with keep_runs.
    ret, reward = loaded.metrics["return"], loaded.metrics["reward"]
    assert ret.run_weight.shape == ret.final_weight.shape == (5, 5)
    assert reward.run_weight is None and reward.final_weight is None
    probs = loaded.metrics["prob_by_rank"]
    assert probs.run_mean.shape == (5, 5, NUM_ARMS)
    assert probs.curve_mean.shape == (5, 50, NUM_ARMS)
    assert (probs.curves is not None) == keep_runs
    if keep_runs:
        assert probs.curves.shape == (5, 5, 50, NUM_ARMS)
        assert np.isnan(ret.curves[0, 0, :2]).all()


def test_loaded_metrics_come_in_reporting_order(tmp_path):
    # Any order in, METRICS order out; names the engine does not know go last,
    # sorted, and are kept.
    result = make_result(names=("reward", "optimal", "regret"), keep_runs=False)
    extra = result.metrics["regret"]
    shuffled = {
        "zeta": extra,
        "regret": result.metrics["regret"],
        "alpha": extra,
        "reward": result.metrics["reward"],
        "optimal": result.metrics["optimal"],
    }
    results.save_study(tmp_path, "s", result._replace(metrics=shuffled))
    loaded = results.load_study(tmp_path, "s")
    assert list(loaded.metrics) == ["reward", "optimal", "regret", "alpha", "zeta"]
    for name, metric in shuffled.items():
        for field in ("run_mean", "run_final", "curve_mean", "curve_sem"):
            want = getattr(metric, field)
            assert_bit_identical(getattr(loaded.metrics[name], field), want)


def test_study_name_with_dots_keeps_its_name(tmp_path):
    path = results.save_study(tmp_path, "tau.0.5", make_result())
    assert path.name == "tau.0.5.npz" and path.is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == ["tau.0.5.npz"]
    assert results.existing_studies(tmp_path) == {"tau.0.5"}


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "../up"])
def test_bad_study_name_raises(tmp_path, name):
    with pytest.raises(ValueError, match="study name"):
        results.save_study(tmp_path, name, make_result())


def test_load_missing_study_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        results.load_study(tmp_path, "nope")


@pytest.mark.parametrize(
    "drop",
    ["values", "seeds", "steps", "final_steps", "reward.", "reward.run_mean",
     "return.curve_sem", "prob_by_rank.run_final"],
)  # fmt: skip
def test_load_rejects_incomplete_npz(tmp_path, drop):
    """A file without the grid, without the reward or without one of a metric's
    required arrays is not a study."""
    path = results.save_study(tmp_path, "x", make_result(keep_runs=False))
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    kept = {k: v for k, v in arrays.items() if not k.startswith(drop)}
    assert len(kept) < len(arrays)
    np.savez(path, **kept)
    with pytest.raises(ValueError, match="not a study file.*missing"):
        results.load_study(tmp_path, "x")
    assert results.existing_studies(tmp_path) == set()


def test_optional_arrays_may_be_missing(tmp_path):
    # Weights and per-run curves are optional fields: a file without them loads.
    path = results.save_study(tmp_path, "x", make_result())
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files if not k.endswith("_weight")}
    np.savez(path, **arrays)
    loaded = results.load_study(tmp_path, "x")
    assert loaded.metrics["return"].run_weight is None
    assert loaded.metrics["return"].final_weight is None
    assert loaded.metrics["return"].curves is not None
    assert results.existing_studies(tmp_path) == {"x"}


def _boom(*args, **kwargs):
    raise OSError("disk full")


def test_atomic_write_replaces_only_on_success(tmp_path):
    path = tmp_path / "new" / "dir" / "file.txt"  # parents are created
    with results.atomic_write(path, "w", encoding="utf-8") as f:
        f.write("first τ")
        assert not path.exists()  # nothing under the final name before the end
    assert path.read_text(encoding="utf-8") == "first τ"
    failing = pytest.raises(RuntimeError, match="body failed")
    with failing, results.atomic_write(path, "w", encoding="utf-8") as f:
        f.write("second")
        raise RuntimeError("body failed")
    assert path.read_text(encoding="utf-8") == "first τ"
    assert [p.name for p in path.parent.iterdir()] == ["file.txt"]


def test_failed_save_keeps_older_study_intact(tmp_path, monkeypatch):
    older = make_result(seed=1)
    results.save_study(tmp_path, "s", older)
    monkeypatch.setattr(os, "replace", _boom)
    with pytest.raises(OSError, match="disk full"):
        results.save_study(tmp_path, "s", make_result(seed=2))
    monkeypatch.undo()
    assert_same_result(results.load_study(tmp_path, "s"), older)
    # The temporary file is cleaned up too.
    assert sorted(p.name for p in (tmp_path / "studies").iterdir()) == ["s.npz"]


def test_interrupted_savez_leaves_no_final_file(tmp_path, monkeypatch):
    def half_written(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", half_written)
    with pytest.raises(KeyboardInterrupt):
        results.save_study(tmp_path, "s", make_result())
    assert not (tmp_path / "studies" / "s.npz").exists()
    assert list((tmp_path / "studies").iterdir()) == []
    assert results.existing_studies(tmp_path) == set()


def test_existing_studies_lists_only_complete_files(tmp_path):
    assert results.existing_studies(tmp_path) == set()
    results.save_study(tmp_path, "a", make_result())
    results.save_study(tmp_path, "b", make_result(keep_runs=False))
    # Only the reward: a bandit run with no action values is still a study.
    results.save_study(tmp_path, "r", make_result(names=("reward",)))
    studies = tmp_path / "studies"
    (studies / ".c.npz.abc.tmp").write_bytes(b"partial")  # a temporary file
    (studies / "d.npz").write_bytes(b"not a zip")  # corrupt
    np.savez(studies / "e.npz", values=np.zeros(2))  # not a study
    (studies / "notes.txt").write_text("hi")
    assert results.existing_studies(tmp_path) == {"a", "b", "r"}


def test_written_files_are_not_private(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    expected = 0o666 & ~umask
    paths = [
        results.save_study(tmp_path, "s", make_result()),
        results.save_metadata(tmp_path, {"a": 1}),
        results.save_summary(tmp_path, [{"a": 1.0}]),
    ]
    for path in paths:
        assert stat.S_IMODE(path.stat().st_mode) == expected


# -------------------------------------------------------------------------- metadata


def test_metadata_round_trips_non_finite_floats(tmp_path):
    metadata = {
        "config": {
            "taus": [0.0, 0.25, math.inf],
            "name": "x",
            "nested": {"v": -math.inf},
        },
        "config_hash": "abc123",
        "versions": {"jax": "0.10.2"},
        "studies": {
            "softmax": {
                "label": "softmax",
                "param": "tau",
                "references": {"greedy (τ = 0)": 0.0, "uniform (τ = ∞)": math.inf},
                "compile_seconds": 1.5,
                "run_seconds": math.nan,
                "numpy": [np.float32(np.inf), np.float64(0.1), np.int64(3)],
            }
        },
        "unknown": [1, 2.5, None, True, ("t", 1)],
    }
    path = results.save_metadata(tmp_path, metadata)
    assert path == tmp_path / "metadata.json"
    text = path.read_text(encoding="utf-8")

    def reject(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    raw = json.loads(text, parse_constant=reject)  # strict JSON
    assert raw["studies"]["softmax"]["references"]["uniform (τ = ∞)"] == "inf"
    assert raw["config"]["nested"]["v"] == "-inf"
    assert raw["studies"]["softmax"]["run_seconds"] == "nan"
    assert "\n  " in text  # pretty-printed

    loaded = results.load_metadata(tmp_path)
    study = loaded["studies"]["softmax"]
    assert study["references"] == {"greedy (τ = 0)": 0.0, "uniform (τ = ∞)": math.inf}
    assert math.isnan(study["run_seconds"])
    assert study["numpy"] == [math.inf, 0.1, 3]
    assert isinstance(study["numpy"][2], int)
    assert loaded["config"] == {
        "taus": [0.0, 0.25, math.inf],
        "name": "x",
        "nested": {"v": -math.inf},
    }
    assert loaded["unknown"] == [1, 2.5, None, True, ["t", 1]]
    assert list(loaded) == list(metadata)


def test_failed_metadata_save_keeps_older_file(tmp_path, monkeypatch):
    results.save_metadata(tmp_path, {"version": 1})
    monkeypatch.setattr(os, "replace", _boom)
    with pytest.raises(OSError):
        results.save_metadata(tmp_path, {"version": 2})
    monkeypatch.undo()
    assert results.load_metadata(tmp_path) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metadata.json"]


# --------------------------------------------------------------------------- summary


def test_summary_csv_round_trips_floats_exactly(tmp_path):
    result = make_result()
    rows = stats.summary_rows("soft", result, label="softmax, τ", param="tau")
    pooled = {f"{m}_pooled" for m in NAMES if METRICS[m].per_episode}
    assert {r["metric"] for r in rows} == set(NAMES) - {"prob_by_rank"} | pooled
    path = results.save_summary(tmp_path, rows)
    assert path == tmp_path / "summary.csv"
    with path.open(newline="", encoding="utf-8") as f:
        read = list(csv.DictReader(f))
    assert len(read) == len(rows)
    assert list(read[0]) == list(rows[0])
    for got, want in zip(read, rows, strict=True):
        assert got["label"] == "softmax, τ"  # quoted comma survives
        for key in ("value", "mean", "sem", "ci95_low", "ci95_high"):
            back = float(got[key])
            assert back == want[key] or (math.isnan(back) and math.isnan(want[key]))
        assert int(got["num_seeds"]) == want["num_seeds"]
    assert {r["value"] for r in read} >= {"inf", "0.25"}
    assert {r["mean"] for r in read if r["metric"] == "entropy"} == {"nan"}


def test_summary_header_is_union_of_row_keys(tmp_path):
    path = results.save_summary(tmp_path, [{"a": 1, "b": 0.5}, {"a": 2, "c": "x"}])
    assert path.read_text().splitlines() == ["a,b,c", "1,0.5,", "2,,x"]


def test_empty_summary_raises(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        results.save_summary(tmp_path, [])


def test_failed_summary_save_keeps_older_file(tmp_path, monkeypatch):
    results.save_summary(tmp_path, [{"a": 1.0}])
    monkeypatch.setattr(os, "replace", _boom)
    with pytest.raises(OSError):
        results.save_summary(tmp_path, [{"a": 2.0}])
    monkeypatch.undo()
    assert (tmp_path / "summary.csv").read_text().splitlines() == ["a", "1.0"]
    assert [p.name for p in tmp_path.iterdir()] == ["summary.csv"]
