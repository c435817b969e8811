"""Results on disk: studies as ``.npz``, metadata as JSON, a tidy summary as CSV.

A results directory holds one experiment made of named *studies*, each one
:class:`~rl_softmax.sweep.SweepResult` (one agent sweeping one parameter)::

    out_dir/
      metadata.json          config, config hash, versions, per-study label/param/...
      summary.csv            tidy rows: study x value x metric x window
      studies/<name>.npz     every array of one SweepResult

Every write is atomic: the bytes go to a temporary file in the target's directory,
which is then renamed over the target with ``os.replace``. An interrupted save never
leaves a half-written file under the final name, so a study file that exists is
complete and :func:`existing_studies` can resume an interrupted multi-study run.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from rl_softmax.sweep import METRICS, Metrics, SweepResult

__all__ = [
    "atomic_write",
    "existing_studies",
    "load_metadata",
    "load_study",
    "mean_sem",
    "save_metadata",
    "save_study",
    "save_summary",
    "summary_rows",
]

STUDIES_DIR = "studies"
METADATA_FILE = "metadata.json"
SUMMARY_FILE = "summary.csv"
_STUDY_SUFFIX = ".npz"
_METRIC_GROUPS = ("run_mean", "run_final", "curve_mean", "curve_std")
_REQUIRED_KEYS = frozenset(
    ["values", "seeds", "steps", "final_steps"]
    + [f"{group}.{name}" for group in _METRIC_GROUPS for name in METRICS]
)
_Z95 = 1.96  # two-sided 95% quantile of the standard normal


@functools.cache
def _file_mode() -> int:
    # NamedTemporaryFile creates files 0o600; give results the usual umask-based mode.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **kwargs) -> Iterator[IO]:
    """Opens a temporary file next to ``path`` and renames it to ``path`` on success.

    The parent directory is created if needed. If the ``with`` body raises, the
    temporary file is removed and ``path`` (if it existed) is left untouched.

    Args:
      path: the final file name.
      mode: ``"wb"`` or ``"w"``; extra keyword arguments go to the file's ``open``
        (e.g. ``encoding``, ``newline`` for text).

    Yields:
      the open temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        mode,
        dir=path.parent,
        prefix=f".{path.name}.",
        suffix=".tmp",
        delete=False,
        **kwargs,
    ) as f:
        tmp = Path(f.name)
        try:
            yield f
            f.flush()
            os.fsync(f.fileno())
        except BaseException:
            f.close()
            tmp.unlink(missing_ok=True)
            raise
    try:
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- studies


def _study_path(out_dir: str | os.PathLike, name: str) -> Path:
    if (
        not isinstance(name, str)
        or not name
        or name.startswith(".")
        or any(sep in name for sep in ("/", "\\", os.sep))
    ):
        raise ValueError(
            f"study name={name!r}: expected a non-empty file name without path "
            "separators that does not start with '.'."
        )
    return Path(out_dir) / STUDIES_DIR / f"{name}{_STUDY_SUFFIX}"


def save_study(out_dir: str | os.PathLike, name: str, result: SweepResult) -> Path:
    """Writes every array of ``result`` to ``out_dir/studies/<name>.npz`` atomically.

    Keys: ``values``, ``seeds``, ``steps``, ``final_steps`` and ``<group>.<metric>``
    for the groups ``run_mean``, ``run_final``, ``curve_mean``, ``curve_std`` and,
    when ``result.curves`` is not None, ``curves``; ``curve_probs`` when tracked.
    Dtypes are kept as they are.

    Args:
      out_dir: the experiment's results directory (created if needed).
      name: the study's name, a plain file name.
      result: what :func:`rl_softmax.sweep.sweep` returned.

    Returns:
      the path written.
    """
    path = _study_path(out_dir, name)
    arrays = {
        "values": np.asarray(result.values),
        "seeds": np.asarray(result.seeds),
        "steps": np.asarray(result.steps),
        "final_steps": np.asarray(result.final_steps, np.int64),
    }
    groups = _METRIC_GROUPS + (("curves",) if result.curves is not None else ())
    for group in groups:
        metrics = getattr(result, group)
        for metric in METRICS:
            arrays[f"{group}.{metric}"] = np.asarray(getattr(metrics, metric))
    if result.curve_probs is not None:
        arrays["curve_probs"] = np.asarray(result.curve_probs)
    # Writing to an open file object: np.savez appends ".npz" only to names.
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def load_study(out_dir: str | os.PathLike, name: str) -> SweepResult:
    """Reads the study written by :func:`save_study` back, bit for bit.

    Args:
      out_dir: the experiment's results directory.
      name: the study's name.

    Returns:
      the :class:`~rl_softmax.sweep.SweepResult`; ``curves`` is None unless saved.

    Raises:
      FileNotFoundError: no such study.
      ValueError: the file lacks arrays a study must have.
    """
    path = _study_path(out_dir, name)
    with np.load(path, allow_pickle=False) as data:
        missing = _REQUIRED_KEYS.difference(data.files)
        if missing:
            raise ValueError(f"{path} is not a study file: missing {sorted(missing)}.")
        arrays = {key: data[key] for key in data.files}

    def group(prefix: str) -> Metrics:
        return Metrics(*(arrays[f"{prefix}.{metric}"] for metric in METRICS))

    has_curves = all(f"curves.{metric}" in arrays for metric in METRICS)
    return SweepResult(
        values=arrays["values"],
        seeds=arrays["seeds"],
        steps=arrays["steps"],
        run_mean=group("run_mean"),
        run_final=group("run_final"),
        curve_mean=group("curve_mean"),
        curve_std=group("curve_std"),
        curves=group("curves") if has_curves else None,
        final_steps=int(arrays["final_steps"]),
        curve_probs=arrays.get("curve_probs"),
    )


def existing_studies(out_dir: str | os.PathLike) -> set[str]:
    """Names of the complete study files in ``out_dir`` (to resume a run).

    A file counts when it opens as an ``.npz`` holding every array a study needs;
    temporary files of interrupted saves never do (they are hidden ``*.tmp`` files).
    """
    studies_dir = Path(out_dir) / STUDIES_DIR
    if not studies_dir.is_dir():
        return set()
    names = set()
    for path in studies_dir.glob(f"*{_STUDY_SUFFIX}"):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            with np.load(path, allow_pickle=False) as data:
                complete = _REQUIRED_KEYS.issubset(data.files)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):
            complete = False
        if complete:
            names.add(path.name.removesuffix(_STUDY_SUFFIX))
    return names


# -------------------------------------------------------------------------- metadata

_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _encode(value: Any) -> Any:
    """JSON-ready copy: non-finite floats become "inf"/"-inf"/"nan", NumPy to Python."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    elif isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, Mapping):
        return {key: _encode(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, str):
        return _NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def save_metadata(out_dir: str | os.PathLike, metadata: Mapping[str, Any]) -> Path:
    """Writes ``metadata`` to ``out_dir/metadata.json`` (pretty-printed, atomic).

    Strict JSON has no infinities or NaN, so every non-finite *float* (Python or
    NumPy) is written as the string ``"inf"``, ``"-inf"`` or ``"nan"``;
    :func:`load_metadata` turns those strings back into floats. (Consequently a
    string whose value is exactly one of those three comes back as a float.)
    NumPy scalars and arrays are written as Python numbers and lists; tuples as
    lists. Keys are kept in order, whatever they are.

    Args:
      out_dir: the experiment's results directory (created if needed).
      metadata: a JSON-like dict (config, config_hash, versions, studies, ...).

    Returns:
      the path written.
    """
    text = json.dumps(_encode(metadata), indent=2, allow_nan=False, ensure_ascii=False)
    path = Path(out_dir) / METADATA_FILE
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return path


def load_metadata(out_dir: str | os.PathLike) -> dict[str, Any]:
    """Reads ``out_dir/metadata.json``, decoding ``"inf"``/``"-inf"``/``"nan"``."""
    path = Path(out_dir) / METADATA_FILE
    return _decode(json.loads(path.read_text(encoding="utf-8")))


# --------------------------------------------------------------------------- summary


def mean_sem(
    samples: np.ndarray, axis: int = -1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NaN-aware mean over seeds and its standard error, in float64, without warnings.

    NaN samples (a metric undefined for a run) are left out. With ``n`` remaining
    samples the standard error is ``std(ddof=1) / sqrt(n)``; it is 0 when ``n == 1``
    and both results are NaN when ``n == 0``.

    Args:
      samples: e.g. ``[V, S]`` per-run means.
      axis: the seed axis.

    Returns:
      ``(mean, sem, n)``, each of ``samples``' shape without ``axis``.
    """
    x = np.moveaxis(np.asarray(samples, np.float64), axis, -1)
    valid = ~np.isnan(x)
    n = valid.sum(axis=-1)
    safe_n = np.maximum(n, 1)
    # Infinite samples make inf - inf in the deviations: a NaN sem, not a warning.
    with np.errstate(invalid="ignore"):
        mean = np.where(valid, x, 0.0).sum(axis=-1) / safe_n
        squares = np.where(valid, (x - mean[..., None]) ** 2, 0.0).sum(axis=-1)
        std = np.sqrt(squares / np.maximum(n - 1, 1))
    sem = np.where(n > 1, std / np.sqrt(safe_n), 0.0)
    mean = np.where(n > 0, mean, np.nan)
    sem = np.where(n > 0, sem, np.nan)
    return mean, sem, n


def summary_rows(
    name: str, result: SweepResult, *, label: str, param: str
) -> list[dict[str, Any]]:
    """Tidy rows, one per (value, metric, window), for ``summary.csv``.

    ``window`` is ``"all"`` (per-run means over every step, ``run_mean``) or
    ``"final"`` (over the last ``final_steps`` steps, ``run_final``). Over seeds:
    ``mean``, ``sem`` (see :func:`mean_sem`) and a 95% confidence interval
    ``mean ± 1.96 sem`` from the normal approximation to the mean's sampling
    distribution (fine for the tens of seeds a sweep runs; slightly narrow for very
    few). ``num_seeds`` counts the seeds with a defined (non-NaN) value, so a metric
    the agent cannot define (e.g. entropy without closed-form probabilities) gives
    ``num_seeds == 0`` and NaN statistics. All statistics are float64.

    Args:
      name: the study's name.
      result: the study's results.
      label: human-readable study label (e.g. ``"softmax"``).
      param: name of the swept parameter (e.g. ``"tau"``).

    Returns:
      a list of dicts with keys study, label, param, value, metric, window,
      final_steps, num_seeds, mean, sem, ci95_low, ci95_high.
    """
    # float32 values -> the shortest decimal that reads back as the same float32.
    values = [float(str(v)) for v in np.asarray(result.values)]
    stats = {}
    for window, group in (("all", result.run_mean), ("final", result.run_final)):
        for metric in METRICS:
            stats[metric, window] = mean_sem(getattr(group, metric), axis=1)
    rows = []
    for i, value in enumerate(values):
        for metric in METRICS:
            for window in ("all", "final"):
                mean, sem, n = (float(s[i]) for s in stats[metric, window])
                rows.append(
                    {
                        "study": name,
                        "label": label,
                        "param": param,
                        "value": value,
                        "metric": metric,
                        "window": window,
                        "final_steps": int(result.final_steps),
                        "num_seeds": int(n),
                        "mean": mean,
                        "sem": sem,
                        "ci95_low": mean - _Z95 * sem,
                        "ci95_high": mean + _Z95 * sem,
                    }
                )
    return rows


def _csv_cell(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return repr(float(value))  # shortest string that reads back exactly
    return value


def save_summary(out_dir: str | os.PathLike, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Writes ``rows`` (e.g. from :func:`summary_rows`) to ``out_dir/summary.csv``.

    The header is the union of the rows' keys in first-seen order; floats are
    written with ``repr`` (round-trip precision: ``inf``, ``nan`` as such).

    Returns:
      the path written.

    Raises:
      ValueError: ``rows`` is empty.
    """
    if not rows:
        raise ValueError("rows is empty: nothing to write to summary.csv.")
    fieldnames = list(dict.fromkeys(key for row in rows for key in row))
    path = Path(out_dir) / SUMMARY_FILE
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _csv_cell(value) for key, value in row.items()})
    return path
