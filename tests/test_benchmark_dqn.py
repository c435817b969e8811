"""Smoke test of ``experiments/benchmark_dqn.py``: its quick run reports both rows
with consistent rates and their ratio, and the loop's agent is the sweep's."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "benchmark_dqn.py"


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location("benchmark_dqn", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_quick_run_reports_both_rates_and_their_ratio(benchmark, tmp_path):
    returned = benchmark.main(["--quick", "--out", str(tmp_path)])
    report = json.loads((tmp_path / "dqn.json").read_text())
    assert report == json.loads(json.dumps(returned))
    sweep, loop = report["sweep"], report["loop"]
    assert sweep["env_steps"] == 2 * 2 * 1024 and loop["env_steps"] == 200
    for row in (sweep, loop):
        rate = row["env_steps_per_second"]
        assert math.isfinite(rate) and rate > 0 and row["compile_seconds"] > 0
        np.testing.assert_allclose(rate, row["env_steps"] / row["seconds"])
    ratio = sweep["env_steps_per_second"] / loop["env_steps_per_second"]
    np.testing.assert_allclose(report["ratio"], ratio)
    # a random-ish CartPole policy ends an episode every ~10-40 steps
    assert 200 / 60 < loop["episodes"] < 200 / 8
    assert 8 <= sweep["eval_return"] <= 500


def test_the_loop_trains_the_sweeps_agent_once_every_four_steps(benchmark):
    agent = benchmark.loop_agent(starts=0)
    config = benchmark.sweep_config(1, 1, 1024, 0)["studies"][0]
    assert config["num_envs"] == 4 and config["agent"] == "dqn"
    from rl_softmax.agents import dqn

    assert agent.default_params == dqn.DQNParams()  # the registry's defaults too
