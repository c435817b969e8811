"""Bit-for-bit comparisons of results, shared by the tests of interrupted, split
and differently stepped runs: two SweepResults, or two results directories; and a
free port for the coordinator of runs split over processes."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np


def assert_same_sweeps(first, second) -> None:
    """Every array of two SweepResults is equal, bit for bit (NaN where NaN)."""
    assert first.final_steps == second.final_steps
    for field in ("values", "seeds", "steps", "diverged"):
        np.testing.assert_array_equal(getattr(first, field), getattr(second, field))
    assert list(first.metrics) == list(second.metrics)
    for name, metric in first.metrics.items():
        for field, array in metric._asdict().items():
            other = getattr(second.metrics[name], field)
            assert (array is None) == (other is None), (name, field)
            if array is not None:
                np.testing.assert_array_equal(array, other, err_msg=f"{name}.{field}")


def assert_same_files(a: Path, b: Path) -> None:
    """Two results directories hold the same summary.csv and study arrays."""
    assert (a / "summary.csv").read_bytes() == (b / "summary.csv").read_bytes()
    names = sorted(p.name for p in (a / "studies").glob("*.npz"))
    assert names == sorted(p.name for p in (b / "studies").glob("*.npz")) != []
    for name in names:
        with np.load(a / "studies" / name) as x, np.load(b / "studies" / name) as y:
            assert sorted(x.files) == sorted(y.files)
            for key in x.files:
                np.testing.assert_array_equal(x[key], y[key], err_msg=key)


def free_port() -> int:
    """A localhost port nobody listens on now (for ``--coordinator``)."""
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]
