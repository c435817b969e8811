"""The fail-fast estimates against what the runs then measured, on every shipped
config.

Runs each config in ``configs/`` in a fresh process (``rl-softmax run --no-plots
--no-cache``, so each process's peak memory is its own) and prints, per study, the
memory estimated before compiling against the process's measured peak, and the run
time estimated from the first finished block against the measured run time, with
their ratios. Configs of the host loop (gymnasium on the host) have no estimate and
are skipped.

    python experiments/estimates.py                      # every shipped config
    python experiments/estimates.py --configs bandit_tau_sweep taxi_tau_sweep
    python experiments/estimates.py --set num_seeds=100  # overrides for every config
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]


def measure(config: Path, overrides: list[str], out: Path) -> list[dict]:
    """Runs one config in a fresh process; one row per study."""
    sets = [arg for item in overrides for arg in ("--set", item)]
    command = [sys.executable, "-m", "rl_softmax", "run", str(config), "--out",
               str(out), "--no-plots", "--no-cache", "--quiet", *sets]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=_REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{config.name}: {done.stderr.strip().splitlines()[-1]}")
    metadata = json.loads((out / "metadata.json").read_text())
    rows = []
    for name, info in metadata["studies"].items():
        if "memory_estimate_bytes" not in info or info.get("compile_seconds") == 0:
            continue  # the host loop
        estimated_time = info.get("estimated_run_seconds")
        rows.append({
            "config": config.stem,
            "study": name,
            "memory_estimate_mb": info["memory_estimate_bytes"] / 1e6,
            "peak_memory_mb": info["peak_memory_bytes"] / 1e6,
            "estimated_seconds": estimated_time,
            "run_seconds": info["run_seconds"],
        })  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="*", help="config names (default: all)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    configs = sorted((_REPO / "rl_softmax" / "configs").glob("*.toml"))
    if args.configs:
        configs = [
            _REPO / "rl_softmax" / "configs" / f"{name}.toml" for name in args.configs
        ]
    rows = []
    print("| config | study | memory estimate | peak memory | ratio | time estimate "
          "| run time | ratio |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            if 'backend = "host"' in config.read_text() or "host" in config.stem:
                continue
            for row in measure(config, args.set, Path(tmp) / config.stem):
                rows.append(row)
                memory = row["memory_estimate_mb"] / row["peak_memory_mb"]
                time_text, time_ratio = "-", "-"
                if row["estimated_seconds"] is not None:
                    time_text = f"{row['estimated_seconds']:.1f} s"
                    time_ratio = f"{row['estimated_seconds'] / row['run_seconds']:.2f}"
                print(
                    f"| {row['config']} | {row['study']} | "
                    f"{row['memory_estimate_mb']:.0f} MB | {row['peak_memory_mb']:.0f} "
                    f"MB | {memory:.2f} | {time_text} | {row['run_seconds']:.1f} s | "
                    f"{time_ratio} |",
                    flush=True,
                )
    return rows


if __name__ == "__main__":
    main()
