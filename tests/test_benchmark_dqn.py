"""The ``dqn`` suite of ``rl-softmax bench`` (experiments/benchmark_dqn.py): its quick
run reports both rows with consistent rates and their ratio, and the loop's agent is
the sweep's."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from experiment_scripts import script


@pytest.fixture(scope="module")
def benchmark():
    return script("benchmark_dqn")


def test_quick_run_reports_both_rates_and_their_ratio(benchmark, tmp_path):
    script("bench").run(quick=True, only=["dqn"], out=tmp_path)
    report = json.loads((tmp_path / "bench.json").read_text())
    loop, sweep = report["rows"]
    assert sweep["work"] == 2 * 2 * 1024 and loop["work"] == 200
    for row in (sweep, loop):
        rates = [row["work"] / s for s in row["seconds"]]
        assert all(math.isfinite(r) and r > 0 for r in rates)
        assert row["compile_seconds"] > 0
        np.testing.assert_allclose(row["rate_median"], np.median(rates))
    ratio = sweep["rate_median"] / loop["rate_median"]  # one round: paired = plain
    np.testing.assert_allclose(sweep["ratio_median"], ratio)
    assert sweep["baseline"] == loop["name"] == "Python loop"
    details = report["details"]["dqn"]
    # a random-ish CartPole policy ends an episode every ~10-40 steps
    assert 200 / 60 < details["loop_episodes"] < 200 / 8
    assert 8 <= details["eval_return"] <= 500


def test_the_loop_trains_the_sweeps_agent_once_every_four_steps(benchmark):
    agent = benchmark.loop_agent(starts=0)
    config = benchmark.sweep_config(1, 1, 1024, 0)["studies"][0]
    assert config["num_envs"] == 4 and config["agent"] == "dqn"
    from rl_softmax.agents import dqn

    assert agent.default_params == dqn.DQNParams()  # the registry's defaults too
