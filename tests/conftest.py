"""Strict JAX and a fast hypothesis profile for the whole suite.

Rank promotion raises, as in equinox, so an accidental ``[K] + [B, K]`` broadcast is a
test failure rather than a silent batch. Arrays stay float32 by default; float64 is
tested only inside ``with jax.enable_x64(True):`` (``jax.experimental.enable_x64`` is
gone in jax 0.10; ``jax.enable_x64`` is the context manager that replaced it).
"""

import contextlib
import os
from pathlib import Path

import jax
import pytest
from hypothesis import HealthCheck, settings

jax.config.update("jax_numpy_rank_promotion", "raise")

# deadline=None: the first example of each shape pays for XLA compilation.
settings.register_profile(
    "fast",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


@pytest.fixture
def compile_events():
    """The XLA compilations seen while the test runs (a list that grows)."""
    events = []

    def listener(event, duration, **kwargs):
        if "backend_compile" in event:
            events.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    yield events
    jax.monitoring.unregister_event_duration_listener(listener)


@pytest.fixture
def recorded_figures(monkeypatch):
    """``{file name: figure}`` of what ``draw_experiment`` saves, recorded instead of
    rendered (the tests read the figures' data, not their pixels)."""
    from rl_softmax.plotting import sweeps

    figures = {}

    def record(fig, path):
        figures[path.name] = fig
        return path

    monkeypatch.setattr(sweeps, "save_figure", record)
    return figures


# Where the suite's time goes (``pytest --durations=0``, 2026-12-05, 2 cores): about
# 1,300 worker-seconds over two workers that keep both cores busy (1% idle), most of
# it XLA compiling programs that differ from test to test, so only less work helps.
# Tried and measured on the whole suite, and rejected: one persistent compilation
# cache shared by the workers for the session (892 s against 672 s: few programs
# repeat, and every compilation pays for writing its entry); XLA at
# --xla_backend_optimization_level=0 (979 s: the longer runs run slower, and the
# committed numbers of tests/test_golden.py change); single-threaded XLA per worker
# (within noise on four of the slowest files).
#
# pytest-xdist's ``--dist loadfile`` hands whole files to the workers in collection
# order, so a slow file collected last keeps one worker busy after the other has
# finished. The slowest files (``pytest --durations=0``, summed per file) go first.
SLOWEST_FIRST = (
    "test_registry.py", "test_policy_configs.py", "test_cli.py",
    "test_readme_figures.py", "test_rollout.py", "test_faults.py", "test_dqn.py",
    "test_divergence.py", "test_registry_extremes.py",
    "test_policy_gradient.py", "test_softmax.py", "test_actor_critic.py",
    "test_tabular.py", "test_bad_inputs.py", "test_sweep.py", "test_host.py",
)  # fmt: skip


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable


@pytest.fixture(scope="session")
def shared_results(tmp_path_factory):
    """``(config, out, **kwargs) -> Results``: :func:`run_experiment` into ``out``
    under a folder that every test worker of this session shares, one process at a
    time per ``out``.

    Tests that run the same config with the same overrides (the README figures,
    the shipped configs' tiny runs) name the same ``out``: the first run saves its
    studies there and the others reuse them (``run_experiment`` resumes from
    saved studies of the same config) instead of compiling them again.

    ``.script(name, argv, out)`` does the same for a script of ``experiments/``:
    the first call runs its ``main([*argv, "--out", folder / out])`` and saves what
    it returned; the others (same ``argv``, or the test fails) get that back.
    """
    import fcntl
    import pickle

    from rl_softmax.experiment import run_experiment

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers' folders share a parent
        root = root.parent
    folder = root / "shared-results"
    folder.mkdir(exist_ok=True)

    @contextlib.contextmanager
    def alone(out):
        """Holds ``out``'s lock: the run of another worker in it finishes first."""
        with open(folder / f"{Path(out).name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield folder / out

    def run(config, out, **kwargs):
        with alone(out) as path:
            return run_experiment(config, path, **kwargs)

    def script_once(name, argv, out):
        from experiment_scripts import script

        with alone(out) as path:
            returned = path / "returned.pickle"
            if returned.exists():
                first_argv, value = pickle.loads(returned.read_bytes())
                assert first_argv == list(argv), (name, first_argv, argv)
                return value
            value = script(name).main([*argv, "--out", str(path)])
            returned.write_bytes(pickle.dumps((list(argv), value)))
            return value

    run.folder, run.alone, run.script = folder, alone, script_once
    return run
