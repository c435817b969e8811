"""The ``rl-softmax`` command: run | plot | list | demo | bench.

``rl-softmax run configs/bandit_tau_sweep.toml`` validates the config, compiles each
study once, sweeps it with a progress bar, and writes arrays, metadata, a tidy CSV
summary and plots to ``results/<name>`` (see :mod:`rl_softmax.results`). A run that
is interrupted resumes: studies already saved for the same config are reused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from importlib import metadata as importlib_metadata
from pathlib import Path

from rl_softmax import config as config_lib

__all__ = ["main"]

_REPO = Path(__file__).resolve().parents[1]


def _versions() -> dict[str, str]:
    names = ("rl_softmax", "jax", "jaxlib", "optax", "gymnasium", "numpy", "matplotlib")
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _config_hash(resolved: dict) -> str:
    return hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()[
        :16
    ]


def _best_row(rows: list[dict], study: config_lib.StudyConfig) -> str:
    refs = set(study.references.values())
    swept = [
        r for r in rows
        if r["metric"] == "reward" and r["window"] == "all" and r["value"] not in refs
    ]  # fmt: skip
    best = max(swept, key=lambda r: r["mean"])
    optimal = next(
        r for r in rows
        if (r["metric"], r["window"], r["value"]) == ("optimal", "final", best["value"])
    )  # fmt: skip
    return (
        f"  {study.label:<34} best {study.param} = {best['value']:<9.4g} "
        f"reward {best['mean']:.3f} ± {1.96 * best['sem']:.3f}   "
        f"% optimal (last {optimal['final_steps']}) {100 * optimal['mean']:.1f}"
    )


def _run(args: argparse.Namespace) -> int:
    import jax
    from tqdm import tqdm

    from rl_softmax import backend, plotting, registry, results, sweep

    config = config_lib.load(args.config, args.set)
    resolved = config_lib.to_dict(config)
    config_hash = _config_hash(resolved)
    out = Path(args.out) if args.out else Path("results") / config.name
    metadata = {}
    if (out / "metadata.json").exists():
        metadata = results.load_metadata(out)
        if metadata.get("config_hash") != config_hash and not args.overwrite:
            print(
                f"error: {out} holds results of a different config "
                f"(hash {metadata.get('config_hash')} != {config_hash}); "
                "choose another --out or pass --overwrite.",
                file=sys.stderr,
            )
            return 2
        if metadata.get("config_hash") != config_hash:
            metadata = {}
    finished = results.existing_studies(out) if metadata else set()

    backend.use_cpu_cores()
    devices = jax.devices()
    print(f"rl-softmax run {args.config}: {config.description.strip()}")
    print(
        f"  env {config.env.name} ({config.env.num_arms} arms), "
        f"{config.num_seeds} seeds x {config.num_steps} steps, seed {config.seed}, "
        f"{len(devices)} {devices[0].platform} device(s) -> {out}"
    )
    metadata.update(
        config=resolved,
        config_hash=config_hash,
        versions=_versions(),
        devices=[str(d) for d in devices],
        created=metadata.get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
    )
    metadata.setdefault("studies", {})
    key = jax.random.key(config.seed)
    studies, rows = {}, []
    for study in config.studies:
        values = registry.study_values(study)
        info = {
            "label": study.label,
            "param": study.param,
            "references": study.references,
        }
        if study.name in finished:
            print(f"  {study.name}: reusing saved results in {out}")
            result = results.load_study(out, study.name)
        else:
            run = registry.make_study_run(config.env, study, config.num_steps)
            start = time.perf_counter()
            settings = dict(
                chunk_size=config.chunk_size,
                final_steps=config.final_steps,
                track_probs=study.track_probs,
            )
            sweep.compile_sweep(run, **settings)
            compile_seconds = time.perf_counter() - start
            num_runs = len(values) * config.num_seeds
            with tqdm(
                total=num_runs, unit="run", desc=f"  {study.name}",
                disable=args.quiet, leave=False,
            ) as bar:  # fmt: skip
                start = time.perf_counter()
                result = sweep.sweep(
                    run, values, config.num_seeds, key=key, on_chunk=bar.update,
                    **settings,
                )  # fmt: skip
                run_seconds = time.perf_counter() - start
            steps_per_second = num_runs * config.num_steps / run_seconds
            info.update(
                compile_seconds=compile_seconds,
                run_seconds=run_seconds,
                agent_steps_per_second=steps_per_second,
            )
            print(
                f"  {study.name}: {len(values)} values x {config.num_seeds} seeds, "
                f"compile {compile_seconds:.1f} s, run {run_seconds:.1f} s "
                f"({steps_per_second / 1e6:.1f}M agent-steps/s)"
            )
            results.save_study(out, study.name, result)
        metadata["studies"][study.name] = {
            **metadata["studies"].get(study.name, {}),
            **info,
        }
        results.save_metadata(out, metadata)
        studies[study.name] = result
        rows += results.summary_rows(
            study.name, result, label=study.label, param=study.param
        )

    results.save_summary(out, rows)
    paths = [] if args.no_plots else plotting.draw_experiment(out, studies, metadata)
    print("results:")
    for study in config.studies:
        print(_best_row([r for r in rows if r["study"] == study.name], study))
    print(f"wrote {out / 'summary.csv'}, {out / 'metadata.json'}, {out / 'studies'}/")
    for path in paths:
        print(f"wrote {path}")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from rl_softmax import plotting, results

    out = Path(args.results)
    if not (out / "metadata.json").exists():
        print(
            f"error: {out} has no metadata.json; is it a results directory?",
            file=sys.stderr,
        )
        return 2
    metadata = results.load_metadata(out)
    studies = {name: results.load_study(out, name) for name in metadata["studies"]}
    for path in plotting.draw_experiment(out, studies, metadata):
        print(f"wrote {path}")
    return 0


def _shipped_configs() -> list[Path]:
    folders = {Path("configs").resolve(), (_REPO / "configs").resolve()}
    return sorted(
        {p for folder in folders if folder.is_dir() for p in folder.glob("*.toml")}
    )


def _list(args: argparse.Namespace) -> int:
    from rl_softmax import registry

    print("environments:")
    for name, text in registry.ENVS.items():
        params = ", ".join(config_lib.ENV_PARAMS[name])
        print(f"  {name:<16} {text}  [params: {params}]")
    print("agents:")
    for name, text in registry.AGENT_INFO.items():
        print(f"  {name:<16} {text}")
    print("exploration rules (agent 'action_value'):")
    for name, text in registry.RULES.items():
        param = config_lib.EXPLORE_PARAM[name] or "-"
        print(f"  {name:<16} {text}  [param: {param}]")
    print("configs:")
    for path in _shipped_configs():
        try:
            description = config_lib.load(path).description.strip().split("\n")[0]
        except config_lib.ConfigError as err:
            description = f"(invalid: {err})"
        print(f"  {path}  {description}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    import numpy as np

    from rl_softmax import plotting
    from rl_softmax import softmax as sm

    logits = np.array(args.logits, dtype=np.float32)
    out = Path(args.out)
    path = plotting.save_figure(
        plotting.plot_probs_vs_tau(logits), out / "probs_vs_tau.png"
    )
    print(f"logits {logits.tolist()}")
    for tau in (0.0, 0.5, 1.0, 2.0, float("inf")):
        # float64 before rounding: a rounded float32 prints as 0.10249999910593033.
        probs = np.asarray(sm.softmax(logits, tau), np.float64).round(4)
        print(f"  softmax at tau = {tau:<4}: {probs.tolist()}")
    linear = np.asarray(sm.linear_normalize(logits), np.float64).round(4).tolist()
    print(f"  linear x / sum(x)    : {linear}")
    print(f"wrote {path}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    import runpy

    script = _REPO / "experiments" / "benchmark_bandit_sweep.py"
    if not script.exists():
        print(
            f"error: {script} not found (bench runs from a source checkout).",
            file=sys.stderr,
        )
        return 2
    sys.argv = [str(script), *args.rest]
    runpy.run_path(str(script), run_name="__main__")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rl-softmax", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run", help="run an experiment config, save results and plots"
    )
    run.add_argument("config", help="a TOML config, e.g. configs/bandit_tau_sweep.toml")
    run.add_argument("--out", help="results directory (default results/<config name>)")
    run.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set num_seeds=100",
    )  # fmt: skip
    run.add_argument(
        "--overwrite", action="store_true", help="replace results of another config"
    )
    run.add_argument("--no-plots", action="store_true", help="skip drawing the figures")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=_run)
    plot = commands.add_parser("plot", help="redraw the plots of a results directory")
    plot.add_argument("results", help="a directory written by 'rl-softmax run'")
    plot.set_defaults(handler=_plot)
    listing = commands.add_parser("list", help="show environments, rules and configs")
    listing.set_defaults(handler=_list)
    demo = commands.add_parser("demo", help="draw softmax probabilities against tau")
    demo.add_argument("--logits", type=float, nargs="+", default=[2.0, 4.0, 2.0, 1.0])
    demo.add_argument("--out", default="results/demo")
    demo.set_defaults(handler=_demo)
    bench = commands.add_parser("bench", help="benchmark the sweep against NumPy")
    bench.add_argument(
        "rest", nargs="*", help="benchmark options, e.g. --quick (see its --help)"
    )
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rl-softmax`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # every later argument belongs to the benchmark script
        return _bench(argparse.Namespace(rest=argv[1:]))
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except config_lib.ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
