"""The package as users install it: the wheel carries the shipped configs, and from
any directory outside the repository `rl-softmax list` names them and
`rl-softmax run bandit_tau_sweep` runs.

The wheel is installed with ``pip install --no-deps --target`` into a folder that is
put first on ``PYTHONPATH``, so the package and its configs come from the wheel, while
jax and the other dependencies come from the test environment (a fresh virtual
environment would download them again for every run of the suite).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHIPPED = sorted(path.stem for path in (REPO / "rl_softmax" / "configs").glob("*.toml"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(out), str(REPO)],
        check=True, capture_output=True, cwd=out,
    )  # fmt: skip
    (path,) = out.glob("rl_softmax-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> dict[str, str]:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
         str(target), str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    return {**os.environ, "PYTHONPATH": str(target), "target": str(target)}


def _cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    code = "import sys; from rl_softmax.cli import console; console()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_the_wheel_holds_every_shipped_config(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    in_wheel = sorted(
        Path(name).stem for name in names if name.startswith("rl_softmax/configs/")
    )
    assert in_wheel == SHIPPED and len(SHIPPED) >= 19


def test_the_installed_package_is_the_wheel_not_the_checkout(installed, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", "import rl_softmax; print(rl_softmax.__file__)"],
        cwd=tmp_path, env=installed, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.strip().startswith(installed["target"])


def test_list_and_run_by_name_from_outside_the_repository(installed, tmp_path):
    listed = _cli(installed, tmp_path, "list")
    assert listed.returncode == 0, listed.stderr
    configs = listed.stdout.split("configs (")[1]
    for name in SHIPPED:
        assert f"  {name} " in configs, name
    ran = _cli(installed, tmp_path, "run", "bandit_tau_sweep", "--set",
               "num_seeds=10", "--no-plots", "--quiet", "--no-cache")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    out = tmp_path / "results" / "bandit_tau_sweep"
    rows = (out / "summary.csv").read_text().splitlines()
    assert len(rows) > 21 and "best tau" in ran.stdout


def test_bench_refuses_outside_a_clone(installed, tmp_path):
    done = _cli(installed, tmp_path, "bench", "--quick")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "error: rl-softmax bench runs from a clone of the repository: its baselines "
        "live in experiments/\n"
    )
