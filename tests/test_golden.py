"""Golden values: the exact numbers of small runs, committed, checked on any machine.

The exact environments (bandits, gymnasium's toy text from its tables) with the
bandit and tabular agents give the same bits on every x86-64 CPU with AVX2 and FMA,
with the library versions of ``constraints.txt``: these tests hold them to digests
of every per-run mean of five shipped configs at a reduced size, and of every array
of a host-loop sweep (gymnasium's own FrozenLake). A change in the numbers fails
here on any machine. One test recompiles the flagship with XLA's CPU target capped
at AVX2 (as an older CPU would compile it) and gets the same digest.
Neural agents agree across machines only statistically; the reproducibility page
(docs/guide/reproducibility.md) says why.

With other library versions the golden values do not apply (a new jax may change
the bits), and these tests say so in their skip reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import jax
import numpy as np
import pytest

from rl_softmax.agents import make_td_agent, rules
from rl_softmax.engine.host import host_sweep
from rl_softmax.envs.host import make_host
from rl_softmax.experiment import run_experiment

CONSTRAINTS = Path(__file__).resolve().parents[1] / "constraints.txt"

# config -> (overrides, digest of every per-run mean, studies and metrics sorted)
GOLDEN = {
    "bandit_tau_sweep": (
        ["num_seeds=16", "num_steps=300", "final_steps=100"], "d2b4c096ccb477b0"
    ),
    "anneal_gradient_bandit": (
        ["num_seeds=16", "num_steps=300", "final_steps=100"], "19bebae48a8fd4d7"
    ),
    "frozenlake_tau_sweep": (
        ["num_seeds=16", "num_steps=2000", "final_steps=100"], "ff8765f7ee7a6acc"
    ),
    "cliff_walking": (
        ["num_seeds=8", "num_steps=2000", "final_steps=100"], "2440ca224c135aad"
    ),
    # two parameters swept together: the grid's own program
    "frozenlake_tau_step_size": (
        ["num_seeds=16", "num_steps=2000", "final_steps=100"], "c54eabdb916d2a29"
    ),
}  # fmt: skip

# every array of a host sweep (host_digest)
HOST_GOLDEN = "6e80453ad46d0997"


def _pinned() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line and not line.startswith("#"):
            name, pinned = line.split("==")
            pins[name.strip()] = pinned.strip()
    return pins


def _unpinned() -> list[str]:
    return [
        f"{name} {version(name)} (pinned {pinned})"
        for name, pinned in _pinned().items()
        if version(name) != pinned
    ]


def digest(config: str, overrides: list[str]) -> str:
    """sha256 (16 hex digits) of every per-run mean of the config's studies."""
    results = run_experiment(
        config, overrides=overrides, write=False, progress=False, cache_dir=False
    )
    h = hashlib.sha256()
    for name in sorted(results.studies):
        metrics = results.studies[name].metrics
        for metric in sorted(metrics):
            h.update(np.ascontiguousarray(metrics[metric].run_mean).tobytes())
    return h.hexdigest()[:16]


needs_pins = pytest.mark.skipif(
    bool(_unpinned()),
    reason="the golden values hold for the versions of constraints.txt; installed: "
    + ", ".join(_unpinned()),
)


@needs_pins
@pytest.mark.parametrize("config", sorted(GOLDEN))
def test_exact_runs_give_the_committed_numbers(config):
    overrides, golden = GOLDEN[config]
    assert digest(config, overrides) == golden


def _digest_for_cpu(isa: str) -> str:
    """The flagship's digest compiled with XLA's CPU target capped at ``isa``, in a
    fresh process (the cap is read when JAX starts)."""
    overrides = GOLDEN["bandit_tau_sweep"][0]
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); from test_golden import "
        "digest; print(json.dumps(digest('bandit_tau_sweep', json.loads(sys.argv[2]))))"
    )
    env = {**os.environ, "XLA_FLAGS": f"--xla_cpu_max_isa={isa}"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), json.dumps(overrides)],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@needs_pins
def test_an_avx2_cpu_gives_the_same_bits_and_one_without_fma_does_not():
    """XLA compiles for the CPU it runs on. Capped at AVX2 (no AVX-512), as on an
    older x86 CPU, the flagship's numbers are the same bits; capped at SSE4.2 (no
    AVX, no fused multiply-add) they are not: the bit-identity across machines
    holds for x86-64 CPUs with AVX2 and FMA (every x86 server CPU since 2013)."""
    golden = GOLDEN["bandit_tau_sweep"][1]
    assert _digest_for_cpu("AVX2") == golden
    assert _digest_for_cpu("SSE4_2") != golden


def host_digest() -> str:
    """sha256 (16 hex digits) of every array of a host sweep: Boltzmann Q-learning
    on gymnasium's own FrozenLake (the environment's draws are gymnasium's)."""
    agent = make_td_agent(16, 4, rules.boltzmann_rule(), target="q_learning")
    result = host_sweep(
        make_host("FrozenLake-v1"), agent, 400, [0.1, 1.0], 3,
        key=jax.random.key(0), swept="explore", curve_stride=40, final_steps=60,
    )  # fmt: skip
    h = hashlib.sha256(np.ascontiguousarray(result.diverged).tobytes())
    for metric in sorted(result.metrics):
        for array in result.metrics[metric]:
            if array is not None:
                h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()[:16]


@needs_pins
def test_the_host_loop_gives_the_committed_numbers():
    """The host executor's own bookkeeping (the fold of its steps, its windows, its
    keys) stays exact as it is made faster."""
    assert host_digest() == HOST_GOLDEN
