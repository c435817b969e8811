"""experiments/benchmark_host.py reports rates and ratios that agree."""

from __future__ import annotations

import numpy as np
from experiment_scripts import script_main


def test_benchmark_host_reports_rates_and_ratios_that_agree():
    rows = script_main("benchmark_host")(["--envs", "8", "--steps", "64"])
    assert [(r["workload"].split(",")[0], r["envs"]) for r in rows] == [
        ("FrozenLake-v1", 8),
        ("CartPole-v1", 8),
    ]
    for row in rows:
        for name in ("gymnasium", "host", "jax"):
            assert np.isfinite(row[name]) and row[name] > 0, (row, name)
        assert row["host_overhead"] == row["gymnasium"] / row["host"] - 1
        assert row["jax_speedup"] == row["jax"] / row["host"]
