"""Loads the scripts of ``experiments/`` (not a package) for their tests."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
# the benchmark suites import their harness and baselines from their folder
if str(EXPERIMENTS) not in sys.path:
    sys.path.insert(0, str(EXPERIMENTS))


def script(name: str) -> ModuleType:
    """``experiments/<name>.py``, freshly imported (registered under its name, as
    dataclasses look their module up there)."""
    spec = importlib.util.spec_from_file_location(name, EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def script_main(name: str) -> Callable:
    """``experiments/<name>.py``'s ``main``, from a fresh import of the file."""
    return script(name).main
