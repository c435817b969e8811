"""The ``host`` suite of ``rl-softmax bench`` (experiments/benchmark_host.py) reports
rates and ratios that agree."""

from __future__ import annotations

import json

import numpy as np
import pytest
from experiment_scripts import script


def test_benchmark_host_reports_rates_and_ratios_that_agree(tmp_path):
    script("bench").run(quick=True, only=["host"], out=tmp_path)
    report = json.loads((tmp_path / "bench.json").read_text())
    rows = report["rows"]
    assert [(r["workload"].split(", ")[1], r["name"]) for r in rows] == [
        (workload, name)
        for workload in ("FrozenLake-v1", "CartPole-v1")
        for name in ("gymnasium", "host loop", "JAX path")
    ]
    assert all(r["workload"].endswith(", 8 envs") for r in rows)
    for gymnasium, host, jax_path in (rows[:3], rows[3:]):
        for row in (gymnasium, host, jax_path):
            rates = [row["work"] / s for s in row["seconds"]]
            assert np.all(np.isfinite(rates)) and min(rates) > 0, row
            assert row["rate_median"] == pytest.approx(np.median(rates), rel=1e-12)
        # one round: the paired ratio is the ratio of the rates
        ratio = host["rate_median"] / gymnasium["rate_median"]
        assert host["ratio_median"] == pytest.approx(ratio, rel=1e-12)
        assert host["baseline"] == "gymnasium"
        assert host["note"] == f"host loop overhead over gymnasium {1 / ratio - 1:.0%}"
        speedup = jax_path["rate_median"] / host["rate_median"]
        assert jax_path["ratio_median"] == pytest.approx(speedup, rel=1e-12)
        assert jax_path["baseline"] == "host loop"
