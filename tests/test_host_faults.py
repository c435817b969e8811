"""Host studies that survive faults and scale past one process.

Resume: a study stopped between updates (by a request, or killed with SIGKILL)
and run again gives exactly the arrays of an uninterrupted run, its gymnasium
environments rebuilt from how each episode began and the actions since
(envs.replay); an environment that cannot be rebuilt that way is detected and the
study starts over instead of resuming wrongly. Several processes: a host study
split over two jax.distributed processes writes the same files as one process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import jax
import numpy as np
import pytest
from same_results import assert_same_files, assert_same_sweeps, free_port

from rl_softmax.agents import make_actor_critic_agent, make_td_agent, rules
from rl_softmax.engine import checkpoint as checkpoint_lib
from rl_softmax.engine.checkpoint import Checkpoint
from rl_softmax.engine.host import host_sweep
from rl_softmax.engine.sweep import SweepInterrupted
from rl_softmax.envs import replay
from rl_softmax.envs.host import make_host

REPO = Path(__file__).resolve().parents[1]


def _saved(path: Path) -> tuple[dict, dict]:
    """A checkpoint file's identity (``__meta__``, ``__blocks__``) and state."""
    with np.load(path) as data:
        flat = {k: data[k] for k in data.files}
    meta = {k: flat.pop(k) for k in ("__meta__", "__blocks__")}
    return meta, checkpoint_lib.unflatten_state(flat)


class _StopAfter:
    """A stop request on the ``n``-th time it is asked."""

    def __init__(self, n: int):
        self.n, self.asked = n, 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.asked == self.n


def _frozenlake():
    agent = make_td_agent(16, 4, rules.boltzmann_rule(), target="sarsa")
    kwargs = dict(key=jax.random.key(3), swept="explore", env_seeds=[11, 12])
    return make_host("FrozenLake-v1", is_slippery=True), agent, 400, kwargs


def _lunarlander():
    agent = make_actor_critic_agent(8, 4, anneal_steps=2000)
    kwargs = dict(
        key=jax.random.key(1), swept="tau", rollout_shape=(2, 32), final_steps=2,
        num_eval_episodes=0,
    )  # fmt: skip
    return make_host("LunarLander-v3"), agent, 20, kwargs


@pytest.mark.parametrize(
    ("make", "processes"),
    [(_frozenlake, 0), (_lunarlander, 2)],
    ids=["frozenlake-sync", "lunarlander-workers"],
)
def test_a_stopped_host_study_resumes_to_the_uninterrupted_arrays(
    make, processes, tmp_path
):
    env, agent, num_steps, kwargs = make()
    values = [0.1, 1.0]
    straight = host_sweep(env, agent, num_steps, values, 2, **kwargs)
    checkpoint = Checkpoint(tmp_path / "c.npz", tag="t", every=0.0)
    lines = []
    every = max(1, num_steps // 100)  # stop is asked every 1% of the run
    asked = max(1, 37 * num_steps // 100 // every)
    with pytest.raises(SweepInterrupted) as stopped:
        host_sweep(
            env, agent, num_steps, values, 2, checkpoint=checkpoint,
            stop=_StopAfter(asked), processes=processes, **kwargs,
        )  # fmt: skip
    assert stopped.value.steps_done == asked * every < num_steps
    assert checkpoint.path.exists()
    # every episode under way is kept as its beginning and its actions since
    lengths = _saved(checkpoint.path)[1]["lengths"]
    assert lengths.shape == (2 * 2 * kwargs.get("rollout_shape", (1,))[0],)
    assert lengths.max() > 0
    resumed = host_sweep(
        env, agent, num_steps, values, 2, checkpoint=checkpoint, log=lines.append,
        processes=processes, **kwargs,
    )  # fmt: skip
    assert lines == [f"resuming after {stopped.value.steps_done} of {num_steps} steps"]
    assert_same_sweeps(straight, resumed)


def test_a_checkpoint_of_other_settings_or_a_changed_environment_is_not_resumed(
    tmp_path,
):
    env, agent, num_steps, kwargs = _frozenlake()
    straight = host_sweep(env, agent, num_steps, [0.5], 2, **kwargs)
    checkpoint = Checkpoint(tmp_path / "c.npz", tag="t", every=0.0)
    with pytest.raises(SweepInterrupted):
        host_sweep(
            env, agent, num_steps, [0.5], 2, checkpoint=checkpoint,
            stop=_StopAfter(50), **kwargs,
        )  # fmt: skip
    # other settings: another layout, the file is ignored
    copy = Checkpoint(tmp_path / "copy.npz", tag="t", every=0.0)
    shutil.copy(checkpoint.path, copy.path)
    lines = []
    other = host_sweep(
        env, agent, num_steps, [0.5], 2, checkpoint=copy, log=lines.append,
        **{**kwargs, "env_seeds": [11, 14]},
    )  # fmt: skip
    assert lines == []
    assert not np.array_equal(
        other.metrics["return"].run_mean, straight.metrics["return"].run_mean
    )
    # the environments' saved generator states, tampered with: the replay
    # cannot rebuild them, which is said, and the study starts over
    meta, state = _saved(checkpoint.path)
    saved = json.loads(str(state["envs"]))
    saved[0]["rng"]["state"]["state"] += 1
    state["envs"] = np.array(json.dumps(saved))
    np.savez(checkpoint.path, **checkpoint_lib.flatten_state(state), **meta)
    lines = []
    again = host_sweep(
        env, agent, num_steps, [0.5], 2, checkpoint=checkpoint, log=lines.append,
        **kwargs,
    )  # fmt: skip
    assert len(lines) == 1 and "cannot resume" in lines[0], lines
    assert "environment 0: its random generator is not in the saved state" in lines[0]
    assert lines[0].endswith("starting over")
    assert_same_sweeps(straight, again)


def test_an_environment_is_rebuilt_from_its_beginning_and_actions():
    """The replay on its own, against gymnasium stepping straight through: the
    same observation and generator state, for a seeded first episode and for an
    episode begun by an autoreset."""
    make = lambda: replay.RecordResets(gym.make("FrozenLake-v1", is_slippery=True))  # noqa: E731
    env = make()
    env.reset(seed=5)
    rng = np.random.default_rng(0)
    beginnings, taken = [], []
    for _ in range(60):
        action = int(rng.integers(4))
        obs, _, terminated, truncated, _ = env.step(action)
        taken.append(action)
        if terminated or truncated:
            obs, _ = env.reset()
            beginnings.append(len(taken))
    assert beginnings, "no episode ended: the test checks an autoreset"
    since = taken[beginnings[-1] :]
    saved = json.loads(json.dumps(replay.snapshot(env)))  # as a checkpoint keeps it
    assert isinstance(saved["began"], dict)
    rebuilt = make()
    rebuilt.reset(seed=123)  # any state before
    got, problem = replay.restore(rebuilt, saved, np.array(since, np.int64))
    assert problem is None and got == obs
    assert rebuilt.unwrapped.s == env.unwrapped.s
    # the first episode, from its seed
    first = make()
    first.reset(seed=9)
    first.step(1)
    again = make()
    got, problem = replay.restore(again, replay.snapshot(first), np.array([1]))
    assert problem is None and got == first.unwrapped.s


def _cli(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rl_softmax", "run", *args], cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_a_host_study_killed_with_sigkill_resumes_to_identical_results(tmp_path):
    """``rl-softmax run`` of Q-learning on gymnasium's slippery FrozenLake, killed
    with SIGKILL once a checkpoint is on disk, then run again: the same
    summary.csv and arrays as a run straight through."""
    config = tmp_path / "host.toml"
    config.write_text(
        'name = "host_resume"\nnum_seeds = 3\nnum_steps = 8000\n'
        '[env]\nname = "FrozenLake-v1"\nbackend = "host"\nvector = "sync"\n'
        '[[studies]]\nname = "q"\nagent = "q_learning"\nrule = "boltzmann"\n'
        "values = [0.05, 0.5, 5.0]\n"
    )
    common = ["--no-plots", "--quiet", "--no-cache"]
    straight = tmp_path / "straight"
    proc = _cli(str(config), "--out", str(straight), *common)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    killed = tmp_path / "killed"
    proc = _cli(str(config), "--out", str(killed), *common, "--checkpoint-every", "0")
    saved = killed / "checkpoints" / "q.npz"
    deadline = time.monotonic() + 120
    while not saved.exists() and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "summary.csv").exists()
    proc = _cli(str(config), "--out", str(killed), *common)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "q: resuming after " in out
    assert not (killed / "checkpoints").exists()
    assert_same_files(straight, killed)


_SHARED = {
    "frozenlake": (
        'name = "shared"\nnum_seeds = 3\nnum_steps = 3000\n'
        '[env]\nname = "FrozenLake-v1"\nbackend = "host"\nvector = "sync"\n'
        '[[studies]]\nname = "q"\nagent = "q_learning"\nrule = "boltzmann"\n'
        "values = [0.05, 0.5, 5.0]\n"
    ),
    "cartpole": (
        'name = "shared"\nnum_seeds = 2\nnum_steps = 1280\nfinal_steps = 256\n'
        '[env]\nname = "CartPole-v1"\nbackend = "host"\nvector = "sync"\n'
        '[[studies]]\nname = "ppo"\nagent = "ppo"\nvalues = [0.01, 0.1, 1.0]\n'
        "num_envs = 4\nrollout_steps = 32\nnum_minibatches = 2\n"
    ),
}


@pytest.mark.parametrize("name", list(_SHARED))
def test_two_processes_give_the_host_results_of_one(tmp_path, name):
    """FrozenLake (tabular) and CartPole (PPO, with its evaluation episodes) on the
    host, 3 values over two jax.distributed processes (2 + 1, the last value
    repeated to fill): the same summary.csv and arrays as one process, and process
    0 alone writes and reports."""
    config = tmp_path / "shared.toml"
    config.write_text(_SHARED[name])
    common = ["--no-plots", "--quiet", "--no-cache", "--devices", "1"]
    one = tmp_path / "one"
    proc = _cli(str(config), "--out", str(one), *common)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    two = tmp_path / "two"
    port = free_port()
    procs = [
        _cli(str(config), "--out", str(two), *common, "--coordinator",
             f"localhost:{port}", "--num-processes", "2", "--process-id", str(i))
        for i in range(2)
    ]  # fmt: skip
    finished = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, finished, strict=True):
        assert proc.returncode == 0, err
    assert "results:" in finished[0][0] and "results:" not in finished[1][0]
    assert json.loads((two / "metadata.json").read_text())["processes"] == 2
    assert not (two / "checkpoints").exists()
    assert_same_files(one, two)
