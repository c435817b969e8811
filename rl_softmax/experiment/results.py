"""Results on disk: studies as ``.npz``, metadata as JSON, a tidy summary as CSV.

A results directory holds one experiment made of named *studies*, each one
:class:`~rl_softmax.engine.SweepResult` (one agent sweeping one parameter)::

    out_dir/
      metadata.json          config, config hash, versions, machine (CPU, cores,
                             XLA_FLAGS), per-study label/param/...
      summary.csv            tidy rows: study x value x metric x window
      studies/<name>.npz     every array of one SweepResult
      plots/*.png            the figures (rl_softmax.plotting)

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

from rl_softmax.engine.metrics import METRICS
from rl_softmax.engine.sweep import MetricResult, SweepResult

__all__ = [
    "atomic_write",
    "existing_studies",
    "load_metadata",
    "load_study",
    "save_metadata",
    "save_study",
    "save_summary",
]

STUDIES_DIR = "studies"
PLOTS_DIR = "plots"  # rl_softmax.plotting draws into it
CHECKPOINTS_DIR = "checkpoints"
METADATA_FILE = "metadata.json"
SUMMARY_FILE = "summary.csv"
_STUDY_SUFFIX = ".npz"
_GRID_KEYS = ("values", "seeds", "steps", "final_steps")
# Arrays every metric has; MetricResult's other fields are optional.
_METRIC_KEYS = ("run_mean", "run_final", "curve_mean", "curve_sem")


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

    Keys: ``values``, ``seeds``, ``steps``, ``final_steps``, ``diverged`` (when
    recorded) and, per metric,
    ``<metric>.<field>`` for every field of its
    :class:`~rl_softmax.engine.MetricResult` that is not None. Dtypes are kept.

    Args:
      out_dir: the experiment's results directory (created if needed).
      name: the study's name, a plain file name.
      result: what :func:`rl_softmax.engine.sweep` returned.

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
    if result.diverged is not None:
        arrays["diverged"] = np.asarray(result.diverged, np.int32)
    for metric, fields in result.metrics.items():
        for field, array in fields._asdict().items():
            if array is not None:
                arrays[f"{metric}.{field}"] = np.asarray(array)
    # Writing to an open file object: np.savez appends ".npz" only to names.
    with atomic_write(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _missing(keys: Sequence[str]) -> list[str]:
    """What a study file with ``keys`` lacks (nothing if complete)."""
    missing = [k for k in _GRID_KEYS if k not in keys]
    metrics = {k.split(".")[0] for k in keys if "." in k}
    if "reward" not in metrics:
        missing.append("reward.*")
    missing += [f"{m}.{f}" for m in sorted(metrics) for f in _METRIC_KEYS]
    return [k for k in missing if k not in keys]


def load_study(out_dir: str | os.PathLike, name: str) -> SweepResult:
    """Reads the study written by :func:`save_study` back, bit for bit.

    Args:
      out_dir: the experiment's results directory.
      name: the study's name.

    Returns:
      the :class:`~rl_softmax.engine.SweepResult`, metrics in reporting order.

    Raises:
      FileNotFoundError: no such study.
      ValueError: the file lacks arrays a study must have.
    """
    path = _study_path(out_dir, name)
    with np.load(path, allow_pickle=False) as data:
        missing = _missing(data.files)
        if missing:
            raise ValueError(f"{path} is not a study file: missing {missing}.")
        arrays = {key: data[key] for key in data.files}
    names = {k.split(".")[0] for k in arrays if "." in k}
    order = [m for m in METRICS if m in names] + sorted(names - set(METRICS))
    metrics = {
        m: MetricResult(**{f: arrays.get(f"{m}.{f}") for f in MetricResult._fields})
        for m in order
    }
    return SweepResult(
        values=arrays["values"],
        seeds=arrays["seeds"],
        steps=arrays["steps"],
        final_steps=int(arrays["final_steps"]),
        metrics=metrics,
        diverged=arrays.get("diverged"),
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
                complete = not _missing(data.files)
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


def _csv_cell(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return repr(float(value))  # shortest string that reads back exactly
    return value


def save_summary(out_dir: str | os.PathLike, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Writes ``rows`` (from :func:`rl_softmax.experiment.stats.summary_rows`) to
    ``out_dir/summary.csv``.

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
