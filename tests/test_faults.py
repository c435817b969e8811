"""Runs that survive faults and scale past one process: block checkpoints and
resume (SIGKILL, SIGINT, SIGTERM), a sweep split over two processes with
jax.distributed, in-block progress, and the memory refusal. Every interrupted or
split run is compared bit for bit with one that ran straight through."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from same_results import assert_same_files, free_port

from rl_softmax.agents import make_action_value_agent
from rl_softmax.engine import checkpoint as checkpoint_lib
from rl_softmax.engine import make_run, sweep
from rl_softmax.envs import GaussianBandit
from rl_softmax.experiment import ConfigError, guard

sweep_lib = importlib.import_module("rl_softmax.engine.sweep")  # not the function
REPO = Path(__file__).resolve().parents[1]
FLAGSHIP = str(REPO / "rl_softmax" / "configs" / "bandit_tau_sweep.toml")
# 21 values x 64 seeds in blocks of 16 runs: 84 blocks of 20,000 steps each
SMALL = ["--set", "num_seeds=64", "--set", "num_steps=20000", "--set",
         "max_block_runs=16", "--no-plots", "--quiet"]  # fmt: skip


def _cli(*args, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "rl_softmax", "run", *args], cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
    )  # fmt: skip


def _finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    """The small flagship run, uninterrupted."""
    out = tmp_path_factory.mktemp("straight") / "out"
    code, _, err = _finish(_cli(FLAGSHIP, "--out", str(out), *SMALL))
    assert code == 0, err
    return out


def _metadata(out: Path) -> dict:
    return json.loads((out / "metadata.json").read_text())


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGINT", "SIGTERM"])
def test_interrupted_run_resumes_to_identical_results(straight, tmp_path, sig):
    out = tmp_path / "out"
    proc = _cli(FLAGSHIP, "--out", str(out), *SMALL, "--checkpoint-every", "0")
    saved = out / "checkpoints" / "boltzmann.npz"
    deadline = time.monotonic() + 120
    while not saved.exists() and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    proc.send_signal(getattr(signal, sig))
    code, _, err = _finish(proc)
    metadata = _metadata(out)
    if sig == "SIGKILL":
        assert code == -signal.SIGKILL
        assert metadata["status"] == "incomplete"
    else:
        assert code == 128 + getattr(signal, sig)
        lines = err.strip().splitlines()
        assert "Traceback" not in err
        assert lines[-1].startswith(f"stopped by {sig} in study 'boltzmann' after ")
        assert "run the same command again to resume" in lines[-1]
        assert metadata["status"] == "stopped"
        stopped = metadata["stopped"]
        assert stopped["signal"] == sig and stopped["study"] == "boltzmann"
        assert 0 < stopped["runs_done"] < stopped["num_runs"] == 21 * 64
    assert not (out / "summary.csv").exists()
    code, stdout, err = _finish(_cli(FLAGSHIP, "--out", str(out), *SMALL))
    assert code == 0, err
    assert "boltzmann: resuming after " in stdout
    assert _metadata(out)["status"] == "complete"
    assert "stopped" not in _metadata(out)
    assert not (out / "checkpoints").exists()
    assert_same_files(straight, out)


def test_two_processes_give_the_results_of_one(tmp_path):
    args = ["--set", "num_seeds=48", "--set", "num_steps=2000", "--no-plots",
            "--quiet", "--no-cache"]  # fmt: skip
    one = tmp_path / "one"
    code, _, err = _finish(_cli(FLAGSHIP, "--out", str(one), *args, "--devices", "2"))
    assert code == 0, err
    two = tmp_path / "two"
    port = free_port()
    procs = [
        _cli(FLAGSHIP, "--out", str(two), *args, "--devices", "1", "--coordinator",
             f"localhost:{port}", "--num-processes", "2", "--process-id", str(i))
        for i in range(2)
    ]  # fmt: skip
    finished = [_finish(p) for p in procs]
    for code, _, err in finished:
        assert code == 0, err
    assert "results:" in finished[0][1] and "results:" not in finished[1][1]
    metadata = _metadata(two)
    assert metadata["processes"] == 2 and len(metadata["devices"]) == 2
    assert_same_files(one, two)


# ---------------------------------------------------------------- in-process sweeps


@pytest.fixture(scope="module")
def bandit_run():
    return make_run(GaussianBandit(4), make_action_value_agent(4), 300)


VALUES = [0.05, 0.2, 1.0]


def _assert_same(a, b) -> None:
    assert a.metrics.keys() == b.metrics.keys()
    for name in a.metrics:
        for field, x in a.metrics[name]._asdict().items():
            y = getattr(b.metrics[name], field)
            if x is None:
                assert y is None
            else:
                np.testing.assert_array_equal(x, y, err_msg=f"{name}.{field}")


@pytest.mark.parametrize("stop_after", [1, 4, 8])
def test_stopped_sweep_resumes_bit_identical(bandit_run, tmp_path, stop_after):
    key = jax.random.key(7)
    settings = {"key": key, "max_block_runs": 16, "keep_runs": True}
    straight = sweep(bandit_run, VALUES, 48, **settings)
    store = checkpoint_lib.Checkpoint(tmp_path / "c.npz", tag="t", every=3600)
    asked = []

    def stop():
        asked.append(1)
        return len(asked) > stop_after

    with pytest.raises(sweep_lib.SweepInterrupted) as stopped:
        sweep(bandit_run, VALUES, 48, checkpoint=store, stop=stop, **settings)
    assert stopped.value.runs_done == 16 * stop_after
    assert stopped.value.num_runs == 3 * 48
    seen = []
    resumed = sweep(
        bandit_run, VALUES, 48, checkpoint=store, on_progress=seen.append, **settings
    )
    assert seen[0] == 16 * stop_after and seen[-1] == 3 * 48
    _assert_same(straight, resumed)


def test_checkpoint_of_another_study_or_layout_is_ignored(bandit_run, tmp_path):
    key = jax.random.key(7)
    store = checkpoint_lib.Checkpoint(tmp_path / "c.npz", tag="a", every=0)
    with pytest.raises(sweep_lib.SweepInterrupted):
        sweep(bandit_run, VALUES, 48, key=key, max_block_runs=16, checkpoint=store,
              stop=iter([False, False, True]).__next__)  # fmt: skip
    other_tag = checkpoint_lib.Checkpoint(tmp_path / "c.npz", tag="b", every=0)
    seen = []
    sweep(bandit_run, VALUES, 48, key=key, max_block_runs=16, checkpoint=other_tag,
          on_progress=seen.append)  # fmt: skip
    assert seen[0] == 0  # started over
    # same tag, another grid (other seeds): started over too
    store = checkpoint_lib.Checkpoint(tmp_path / "d.npz", tag="a", every=0)
    with pytest.raises(sweep_lib.SweepInterrupted):
        sweep(bandit_run, VALUES, 48, key=key, max_block_runs=16, checkpoint=store,
              stop=iter([False, True]).__next__)  # fmt: skip
    seen = []
    sweep(bandit_run, VALUES, 40, key=key, max_block_runs=16, checkpoint=store,
          on_progress=seen.append)  # fmt: skip
    assert seen[0] == 0


def test_checkpoint_state_round_trips(tmp_path):
    state = {
        "a": {"x": np.arange(3.0), "y": {"z": np.ones((2, 2), np.float32)}},
        "b": None,
        "c": {},
        "d": np.array(5, np.int64),
    }
    store = checkpoint_lib.Checkpoint(tmp_path / "s.npz", tag="t")
    store.save("layout", 3, state)
    assert not list(tmp_path.glob(".*partial"))  # the partial file was renamed
    blocks, back = store.load("layout")
    assert blocks == 3 and back.keys() == state.keys()
    np.testing.assert_array_equal(back["a"]["x"], state["a"]["x"])
    assert back["a"]["y"]["z"].dtype == np.float32
    assert back["b"] is None and back["c"] == {} and int(back["d"]) == 5
    assert store.load("another layout") is None
    (tmp_path / "s.npz").write_bytes(b"truncated")  # a torn file is ignored
    assert store.load("layout") is None


def test_long_blocks_report_windows_without_changing_a_number(bandit_run, monkeypatch):
    key = jax.random.key(3)
    plain = sweep(bandit_run, VALUES, 16, key=key, curve_stride=30)
    monkeypatch.setattr(sweep_lib, "_LONG_BLOCK_STEPS", 1)
    seen = []
    reported = sweep(
        bandit_run, VALUES, 16, key=key, curve_stride=30, on_progress=seen.append
    )
    _assert_same(plain, reported)
    windows = [x for x in seen if x != int(x)]
    assert windows, "no progress inside a block"
    assert seen == sorted(seen) and seen[-1] == 3 * 16
    # 10 windows of 300 steps per block: fractions of a block in tenths
    block = 16
    fractions = {round((x % block) / block, 6) for x in windows}
    assert fractions <= {round(k / 10, 6) for k in range(1, 10)}


def test_a_long_block_estimates_its_time_from_finished_windows(tmp_path, monkeypatch):
    """One block of 250 windows: the estimate comes from the first window that
    finished, not one that was only started (which made a 130-hour run say
    "about 3 min left")."""
    from rl_softmax.experiment import run_experiment

    monkeypatch.setattr(sweep_lib, "_LONG_BLOCK_STEPS", 1)
    results = run_experiment(
        FLAGSHIP, tmp_path / "o", overrides=["num_seeds=1000"], progress=False,
        cache_dir=False,
    )  # fmt: skip
    info = results.metadata["studies"]["boltzmann"]
    ratio = info["estimated_run_seconds"] / info["run_seconds"]
    assert 0.25 <= ratio <= 4, ratio


def test_default_stride_handles_prime_and_huge_step_counts():
    assert sweep_lib.default_stride(1_000_000_007) == 1_000_000_007
    assert sweep_lib.default_stride(1_000_000_000) == 4_000_000
    assert sweep_lib.default_stride(1000) == 4
    assert sweep_lib.default_stride(7) == 1


# ---------------------------------------------------------------- fail fast


def test_a_study_that_cannot_fit_is_refused_with_the_estimate(bandit_run):
    estimate = sweep_lib.memory_estimate(bandit_run, 21, 10**9)
    with pytest.raises(ConfigError) as err:
        guard.check_memory(
            "boltzmann", estimate, num_seeds=10**9, num_values=21,
            track_probs="studies.0.track_probs", available=8 * 10**9,
        )  # fmt: skip
    message = str(err.value)
    assert (
        "study 'boltzmann' needs about" in message and "8.0 GB is available" in message
    )
    assert "num_seeds (1000000000)" in message
    assert "--set studies.0.track_probs=false" in message
    small = sweep_lib.memory_estimate(bandit_run, 21, 100)
    assert guard.check_memory(
        "b", small, num_seeds=100, num_values=21, available=8 * 10**9,
    ) == small.block_bytes + small.host_bytes  # fmt: skip
    # the host part holds a mean and a final value of every metric per run (at
    # least reward and entropy), the block part is bounded
    assert estimate.host_bytes >= 21 * 10**9 * 2 * 4 * 2
    assert estimate.block_bytes <= 2**30


def test_huge_num_seeds_is_refused_before_compiling(tmp_path):
    start = time.monotonic()
    code, _, err = _finish(
        _cli(
            FLAGSHIP,
            "--out",
            str(tmp_path / "o"),
            "--set",
            "num_seeds=1000000000",
            "--no-plots",
            "--quiet",
        ),  # fmt: skip
        timeout=120,
    )
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: study 'boltzmann' needs about ")
    assert "lower num_seeds (1000000000)" in err
    assert time.monotonic() - start < 60
    assert not (tmp_path / "o" / "studies").exists()


def test_estimates_are_within_a_factor_of_two(tmp_path):
    """Memory (before compiling) and run time (from the first block) against what
    the run then measured, on the flagship config at a reduced size."""
    out = tmp_path / "o"
    code, _, err = _finish(
        _cli(FLAGSHIP, "--out", str(out), "--set", "num_seeds=400", "--set",
             "max_block_runs=1600", "--no-plots", "--quiet", "--no-cache"),
    )  # fmt: skip
    assert code == 0, err
    info = _metadata(out)["studies"]["boltzmann"]
    ratio = info["memory_estimate_bytes"] / info["peak_memory_bytes"]
    assert 0.5 <= ratio <= 2, ratio
    ratio = info["estimated_run_seconds"] / info["run_seconds"]
    assert 0.5 <= ratio <= 2, ratio
