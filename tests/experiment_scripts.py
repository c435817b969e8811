"""Loads the scripts of ``experiments/`` (not a package) for their tests."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def script_main(name: str) -> Callable:
    """``experiments/<name>.py``'s ``main``, from a fresh import of the file."""
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main
