"""The table of ``docs/guide/tuning.md``: search against sweep, from the
``tune.json`` files of ``experiments/tune_vs_grid.py``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from table_cells import tau_label

__all__ = ["tune_runs", "tune_table"]


def tune_runs(root: Path) -> dict[str, object]:
    """Every case of ``experiments/tune_vs_grid.py``, run into
    ``root/tune_vs_grid`` where missing."""
    import tune_vs_grid

    return {
        f"tune:{case}": report
        for case, report in tune_vs_grid.runs(root / "tune_vs_grid").items()
    }


def _setting(params: Mapping[str, float]) -> str:
    """A grid's power-of-two tau as a fraction, any other number to 3 digits."""
    return ", ".join(
        f"τ = {tau_label(v)}"
        if k == "tau" and math.log2(v).is_integer()
        else f"{'τ' if k == 'tau' else k} = {v:.3g}"
        for k, v in params.items()
    )


def _digits(*entries: Mapping[str, object]) -> int:
    """Decimals that show two significant digits of the narrowest interval."""
    half = min((e["ci95"][1] - e["ci95"][0]) / 2 for e in entries)
    return max(0, 1 - math.floor(math.log10(half))) if half > 0 else 3


def _mean(entry: Mapping[str, object], digits: int) -> str:
    low, high = entry["ci95"]
    half = (high - low) / 2
    return f"{entry['mean']:.{digits}f} ± {half:.{digits}f} ({entry['num_seeds']})"


def _placed(value: float, interval) -> str:
    low, high = interval
    return "within" if low <= value <= high else "above" if value > high else "below"


def tune_table(results: Mapping[str, object]) -> str:
    """Each case's two answers, their compute and the paired difference."""
    import tune_vs_grid

    lines = [
        "| config (study) | searched | tune's answer | on fresh seeds | grid's best "
        "| on its seeds | grid's best on the fresh seeds | tune − grid (paired) "
        "| tune's answer against the grid's interval | agent-steps, tune / grid |",
        "|---|---|---|---:|---|---:|---:|---:|---|---:|",
    ]
    for case, (config, _) in tune_vs_grid.CASES.items():
        report = results[f"tune:{case}"]
        ((study, entry),) = report["studies"].items()
        grid, best = entry["grid"], entry["best"]
        diff = grid["tune_minus_grid"]
        digits = _digits(best, grid, grid["fresh"], diff)
        low, high = diff["ci95"]
        searched = ", ".join(p["name"] for p in entry["search"]["params"])
        lines.append(
            f"| `{config}` ({study}) | {searched}, {len(entry['trials'])} trials x "
            f"{entry['search']['seeds']} seeds | {_setting(best['params'])} "
            f"| {_mean(best, digits)} | {_setting(grid['params'])} "
            f"| {_mean(grid, digits)} | {_mean(grid['fresh'], digits)} "
            f"| {diff['mean']:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}] "
            f"| {_placed(best['mean'], grid['ci95'])} "
            f"| {entry['agent_steps'] / 1e6:.3g}M / {grid['agent_steps'] / 1e6:.3g}M "
            f"({entry['agent_steps_ratio']:.2f}) |"
        )
    metric = {
        "tune:" + c: r["studies"][next(iter(r["studies"]))]["best"]["metric"]
        for c, r in results.items()
        if c.startswith("tune:")
    }
    metrics = sorted(set(metric.values()))
    lines.append("")
    lines.append(
        f"*Objective: the mean {' / '.join(metrics)} per run over all steps (the "
        "headline metric of the sweep plots); mean ± 95% t interval (seeds). "
        '"On fresh seeds": the setting evaluated again on seeds no search and no '
        'grid used; "tune − grid (paired)": both settings on those same fresh '
        "seeds, the mean difference with its 95% t interval. The grid's agent-steps "
        "count every value of the study's sweep (references included) at the "
        "config's seeds; the tune's count its trials (padding included) and the "
        "answer's re-evaluation. The last row searches tau and the step size "
        "together; its grid is the tau sweep at the default step size 0.1. Made by "
        "`python experiments/tune_vs_grid.py` (the commands it prints) and "
        "`python experiments/tables.py tune`.*"
    )
    return "\n".join(lines)
