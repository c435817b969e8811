"""Strict JAX and a fast hypothesis profile for the whole suite.

Rank promotion raises, as in equinox, so an accidental ``[K] + [B, K]`` broadcast is a
test failure rather than a silent batch. Arrays stay float32 by default; float64 is
tested only inside ``with jax.enable_x64(True):`` (``jax.experimental.enable_x64`` is
gone in jax 0.10; ``jax.enable_x64`` is the context manager that replaced it).
"""

import os

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
