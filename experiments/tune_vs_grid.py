"""Search against sweep: ``rl-softmax tune --compare-grid`` on four shipped configs
and a joint (tau, step size) search on FrozenLake.

    python experiments/tune_vs_grid.py              # into results/tune_vs_grid
    python experiments/tables.py tune               # the table of docs/guide/tuning.md

Each case is the same call as ``rl-softmax tune CONFIG --compare-grid`` with the
overrides below: the tune's answer (re-evaluated on fresh seeds) beside the grid's
best, the agent-steps each spent, and the paired difference of the two settings on
the fresh seeds. A case whose ``tune.json`` exists is read, not run again.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rl_softmax.experiment.config import SHIPPED_DIR
from rl_softmax.experiment.tuning import TUNE_FILE, tune
from rl_softmax.plotting import draw_experiment, draw_tune

__all__ = ["CASES", "runs"]

JOINT = (
    "tune.params={tau={low=0.001,high=4.0,log=true},"
    "step_size={low=0.01,high=1.0,log=true}}"
)
CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "bandit": ("bandit_tau_sweep", ()),
    "frozenlake": ("frozenlake_tau_sweep", ()),
    # the grid's best is its smallest tau: more trials to approach the edge
    "cliff": ("cliff_tau_sweep", ("tune.trials=30", "tune.batch=10")),
    # 10 seeds per setting in the grid: 2 per trial, 10 fresh for the answer
    "cartpole-ppo": (
        "cartpole_entropy_sweep",
        (
            'tune.studies=["ppo"]',
            "tune.trials=12",
            "tune.batch=6",
            "tune.seeds=2",
            "tune.eval_seeds=10",
        ),
    ),  # fmt: skip
    # tau and step size together against the tau sweep at the default step size
    "frozenlake-joint": ("frozenlake_tau_sweep", (JOINT, "tune.trials=32")),
}
"""``{case: (shipped config, overrides)}``."""


def runs(root: Path) -> dict[str, dict]:
    """Each case's ``tune.json`` (run into ``root/<case>`` when missing)."""
    out = {}
    for case, (name, overrides) in CASES.items():
        path = root / case / TUNE_FILE
        if not path.exists():
            sets = " ".join(f"--set '{o}'" for o in overrides)
            print(f"{case}: rl-softmax tune {name} --compare-grid {sets}", flush=True)
            tune(
                SHIPPED_DIR / f"{name}.toml", root / case, overrides=overrides,
                compare_grid=True, draw=draw_tune, draw_grid=draw_experiment, log=print,
            )  # fmt: skip
        out[case] = json.loads(path.read_text())
    return out


if __name__ == "__main__":
    from rl_softmax.engine import executor

    executor.use_cpu_cores()
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("results/tune_vs_grid")
    for case, report in runs(root).items():
        (entry,) = report["studies"].values()
        print(case, entry["best"]["params"], entry["best"]["mean"],
              entry["grid"]["params"], entry["grid"]["mean"],
              f"steps ratio {entry['agent_steps_ratio']:.3f}",
              entry["grid"]["tune_minus_grid"])  # fmt: skip
