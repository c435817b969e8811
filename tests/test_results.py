"""Tests for rl_softmax.results: exact round trips, atomic writes, tidy statistics."""

from __future__ import annotations

import csv
import json
import math
import os
import stat
import warnings

import numpy as np
import pytest

from rl_softmax import results
from rl_softmax.sweep import METRICS, Metrics, SweepResult


def make_result(
    values=(0.0, 0.25, 1.0, 4.0, math.inf),
    num_seeds=5,
    num_windows=50,
    *,
    keep_runs=True,
    nan_metric="entropy",
    seed=0,
) -> SweepResult:
    """A synthetic SweepResult with the dtypes of a real sweep."""
    rng = np.random.default_rng(seed)
    num_values = len(values)

    def metrics(shape, dtype):
        arrays = {m: rng.normal(1.0, 0.5, size=shape).astype(dtype) for m in METRICS}
        arrays["optimal"] = rng.uniform(size=shape).astype(dtype)
        arrays["prob_optimal"] = rng.uniform(size=shape).astype(dtype)
        if nan_metric is not None:
            arrays[nan_metric][...] = np.nan
        return Metrics(**arrays)

    return SweepResult(
        values=np.asarray(values, np.float32),
        seeds=np.arange(num_seeds, dtype=np.int64),
        steps=np.arange(1, num_windows + 1, dtype=np.int64) * 2,
        run_mean=metrics((num_values, num_seeds), np.float32),
        run_final=metrics((num_values, num_seeds), np.float32),
        curve_mean=metrics((num_values, num_windows), np.float64),
        curve_std=metrics((num_values, num_windows), np.float64),
        curves=(
            metrics((num_values, num_seeds, num_windows), np.float32)
            if keep_runs
            else None
        ),
        final_steps=10,
    )


def assert_bit_identical(a, b):
    assert type(a) is type(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def assert_same_result(loaded: SweepResult, original: SweepResult):
    for field in ("values", "seeds", "steps"):
        assert_bit_identical(getattr(loaded, field), getattr(original, field))
    for group in ("run_mean", "run_final", "curve_mean", "curve_std", "curves"):
        got, want = getattr(loaded, group), getattr(original, group)
        if want is None:
            assert got is None
            continue
        assert isinstance(got, Metrics)
        for metric in METRICS:
            assert_bit_identical(getattr(got, metric), getattr(want, metric))
    assert loaded.final_steps == original.final_steps
    assert type(loaded.final_steps) is int


# --------------------------------------------------------------------------- studies


@pytest.mark.parametrize("keep_runs", [True, False])
def test_study_round_trip_is_bit_identical(tmp_path, keep_runs):
    original = make_result(keep_runs=keep_runs)
    path = results.save_study(tmp_path, "softmax", original)
    assert path == tmp_path / "studies" / "softmax.npz"
    loaded = results.load_study(tmp_path, "softmax")
    assert_same_result(loaded, original)
    assert np.isinf(loaded.values[-1]) and np.isnan(loaded.run_mean.entropy).all()


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


def test_load_rejects_incomplete_npz(tmp_path):
    (tmp_path / "studies").mkdir()
    np.savez(tmp_path / "studies" / "x.npz", values=np.zeros(3))
    with pytest.raises(ValueError, match="not a study file"):
        results.load_study(tmp_path, "x")


def _boom(*args, **kwargs):
    raise OSError("disk full")


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
    studies = tmp_path / "studies"
    (studies / ".c.npz.abc.tmp").write_bytes(b"partial")  # a temporary file
    (studies / "d.npz").write_bytes(b"not a zip")  # corrupt
    np.savez(studies / "e.npz", values=np.zeros(2))  # not a study
    (studies / "notes.txt").write_text("hi")
    assert results.existing_studies(tmp_path) == {"a", "b"}


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


def independent_stats(x: np.ndarray) -> tuple[float, float, int]:
    x = np.asarray(x, np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, 0
    sem = float(np.std(x, ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0
    return float(np.mean(x)), sem, x.size


def test_summary_rows_match_numpy():
    result = make_result(nan_metric=None)
    rows = results.summary_rows("soft", result, label="softmax", param="tau")
    assert len(rows) == result.values.size * len(METRICS) * 2
    assert list(rows[0]) == [
        "study", "label", "param", "value", "metric", "window", "final_steps",
        "num_seeds", "mean", "sem", "ci95_low", "ci95_high",
    ]  # fmt: skip
    seen = set()
    for row in rows:
        i = [float(str(v)) for v in result.values].index(row["value"])
        group = result.run_mean if row["window"] == "all" else result.run_final
        mean, sem, n = independent_stats(getattr(group, row["metric"])[i])
        assert row["mean"] == pytest.approx(mean, rel=1e-12, abs=1e-15)
        assert row["sem"] == pytest.approx(sem, rel=1e-12)
        assert row["ci95_low"] == pytest.approx(mean - 1.96 * sem, rel=1e-12)
        assert row["ci95_high"] == pytest.approx(mean + 1.96 * sem, rel=1e-12)
        assert row["num_seeds"] == n == 5
        assert (row["study"], row["label"], row["param"]) == ("soft", "softmax", "tau")
        assert row["final_steps"] == 10
        assert all(isinstance(row[k], float) for k in ("value", "mean", "sem"))
        seen.add((row["value"], row["metric"], row["window"]))
    assert len(seen) == len(rows)
    assert {r["value"] for r in rows} == {0.0, 0.25, 1.0, 4.0, math.inf}


def test_summary_values_use_shortest_float32_decimal():
    result = make_result(values=(0.1, 0.3))
    rows = results.summary_rows("s", result, label="s", param="tau")
    assert {row["value"] for row in rows} == {0.1, 0.3}


def test_all_nan_metric_gives_nan_without_warnings():
    result = make_result(nan_metric="entropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = results.summary_rows("ucb", result, label="UCB", param="c")
    entropy = [r for r in rows if r["metric"] == "entropy"]
    assert len(entropy) == result.values.size * 2
    for row in entropy:
        assert math.isnan(row["mean"]) and math.isnan(row["sem"])
        assert math.isnan(row["ci95_low"]) and math.isnan(row["ci95_high"])
        assert row["num_seeds"] == 0
    assert all(np.isfinite(r["mean"]) for r in rows if r["metric"] != "entropy")


def test_partly_nan_metric_averages_defined_seeds():
    result = make_result(nan_metric=None)
    result.run_mean.reward[1, :2] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = results.summary_rows("s", result, label="s", param="tau")
    row = next(
        r
        for r in rows
        if r["value"] == 0.25 and r["metric"] == "reward" and r["window"] == "all"
    )
    mean, sem, n = independent_stats(result.run_mean.reward[1])
    assert n == 3 and row["num_seeds"] == 3
    assert row["mean"] == pytest.approx(mean, rel=1e-12)
    assert row["sem"] == pytest.approx(sem, rel=1e-12)


def test_single_seed_has_zero_sem():
    result = make_result(num_seeds=1, nan_metric=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = results.summary_rows("s", result, label="s", param="tau")
    assert all(
        r["sem"] == 0.0 and r["ci95_low"] == r["mean"] == r["ci95_high"] for r in rows
    )


def test_mean_sem_matches_numpy_along_any_axis():
    x = np.random.default_rng(3).normal(size=(4, 7)).astype(np.float32)
    mean, sem, n = results.mean_sem(x, axis=0)
    assert mean.dtype == sem.dtype == np.float64 and mean.shape == (7,)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=0), rtol=1e-12)
    expected = x.astype(np.float64).std(axis=0, ddof=1) / 2.0
    np.testing.assert_allclose(sem, expected, rtol=1e-12)
    assert (n == 4).all()


def test_summary_csv_round_trips_floats_exactly(tmp_path):
    result = make_result()
    rows = results.summary_rows("soft", result, label="softmax, τ", param="tau")
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
