"""The ``rl-softmax`` command: run | tune | plot | list | demo | bench. Argument
parsing only.

``rl-softmax run bandit_tau_sweep`` (a shipped config by name, or a path) calls
:func:`rl_softmax.experiment.run_experiment`, which validates the config, compiles
each study once, sweeps it with a progress bar, and writes arrays, metadata, a tidy
CSV summary and plots to ``results/<name>``. An interrupted run resumes: studies
already saved for the same config are reused. The command prints where its wall
time went. ``rl-softmax bench`` runs the benchmark suite of a clone of the
repository (``experiments/bench.py``: its baselines are not library code).
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import sys
import time
import tomllib
from pathlib import Path

__all__ = ["build_parser", "console", "main"]


def _draw_figures(out_dir, studies, metadata):
    from rl_softmax import plotting  # matplotlib only when drawing

    return plotting.draw_experiment(out_dir, studies, metadata)


def _best_line(results, study) -> str:
    """The best setting of a study: its mean with the t interval, the bootstrap
    interval of the best value itself, the values not distinguishable from it."""
    from rl_softmax.engine.metrics import METRICS
    from rl_softmax.experiment import stats

    result = results.studies[study.name]
    best = results.best(study.name)
    if best is None:
        return (
            f"  {study.label:<34} no defined {stats.objective(result)}"
            + _diverged_note(result)
        )
    low, high = best.ci95
    references = results.metadata["studies"][study.name]["references"]
    interval = ""  # a bootstrap interval of the best value: for one parameter only
    if not study.params:
        value_low, value_high = stats.best_value_interval(result, references=references)
        interval = f" (95% bootstrap {value_low:.4g} to {value_high:.4g})"
    line = (
        f"  {study.label:<34} best {stats.setting_text(study.swept, best.value)}"
        f"{interval}   {best.metric} {best.mean:.3f} "
        f"± {(high - low) / 2:.3f} ({best.num_seeds} seeds, t interval)"
    )
    for name in ("optimal", "success", "greedy_success", "solved"):
        if name in result.metrics:
            mean, _, n = stats.seed_stats(result, name, "final")
            metric = METRICS[name]
            span = "" if metric.at_end else f" (last {result.final_steps})"
            value = f"{metric.scale * mean[best.index]:.1f}"
            if metric.binary:
                k, m = round(mean[best.index] * n[best.index]), int(n[best.index])
                value = f"{k} of {m}"
            line += f"   {metric.label}{span} {value}"
    ties = stats.indistinguishable(result, best, references=references)
    if ties and not study.params:
        shown = ", ".join(f"{v:.4g}" for v in ties)
        line += (
            f"\n  {'':<34} not distinguishable from the best (paired t, 95%): "
            f"{study.param} = {shown}"
        )
    elif ties:  # a grid may tie many settings: the first few, and how many more
        shown = "; ".join(stats.setting_text(study.swept, v) for v in ties[:5])
        shown += f"; and {len(ties) - 5} more" if len(ties) > 5 else ""
        line += (
            f"\n  {'':<34} not distinguishable from the best (paired t, 95%): {shown}"
        )
    return line + _diverged_note(result)


def _diverged_note(result) -> str:
    """`` (N of M runs diverged, left out)`` if any run of the study diverged."""
    from rl_softmax.experiment import stats

    count = int(stats.num_diverged(result).sum())
    if not count:
        return ""
    total = len(result.values) * result.seeds.size
    return f"   ({count} of {total} runs diverged, left out of the means)"


def _run(args: argparse.Namespace) -> int:
    start = args.start
    from rl_softmax.engine import executor

    distributed = bool(
        args.distributed or args.coordinator or args.num_processes
        or os.environ.get("JAX_NUM_PROCESSES")
    )  # fmt: skip
    # before JAX starts its backend
    executor.use_cpu_cores(args.devices, start=not distributed)
    if distributed:
        index, count = executor.initialize_distributed(
            args.coordinator, args.num_processes, args.process_id
        )
        if index != 0:  # process 0 reports
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
    from rl_softmax.experiment import config as config_lib
    from rl_softmax.experiment import run_experiment

    import_seconds = time.perf_counter() - start
    config = config_lib.load(args.config, args.set)
    print(f"rl-softmax run {args.config}: {config.description.strip()}")
    results = run_experiment(
        config, args.out, progress=not args.quiet,
        draw=None if args.no_plots else _draw_figures,
        overwrite=args.overwrite, devices=args.devices,
        cache_dir=False if args.no_cache else (args.cache_dir or True),
        log=functools.partial(print, flush=True),
        checkpoint_every=args.checkpoint_every, on_divergence=args.on_divergence,
    )  # fmt: skip
    if distributed:
        import jax

        jax.distributed.shutdown()  # waits for every process
    if results.out is None:  # not process 0: it reports
        return 0
    print("results:")
    for study in config.studies:
        print(_best_line(results, study))
    out = results.out
    print(f"wrote {out / 'summary.csv'}, {out / 'metadata.json'}, {out / 'studies'}/")
    for path in results.paths:
        if path.suffix == ".png":
            print(f"wrote {path}")
    timings = {"import": import_seconds, **results.timings}
    total = time.perf_counter() - start
    spent = ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
    print(f"wall time {total:.2f} s: {spent}")
    return 0


def _tune(args: argparse.Namespace) -> int:
    from rl_softmax.engine import executor

    executor.use_cpu_cores(args.devices)
    from rl_softmax.experiment import config as config_lib
    from rl_softmax.experiment.tuning import tune

    flags = {
        "trials": args.trials, "batch": args.batch, "seeds": args.seeds,
        "eval_seeds": args.eval_seeds, "sampler": args.sampler, "seed": args.seed,
    }  # fmt: skip
    overrides = list(args.set) + [
        f"tune.{k}={v!r}" if isinstance(v, str) else f"tune.{k}={v}"
        for k, v in flags.items()
        if v is not None
    ]
    if args.study:
        overrides.append(f"tune.studies={args.study!r}".replace("'", '"'))
    config = config_lib.load(args.config, overrides)
    print(f"rl-softmax tune {args.config}: {config.description.strip()}")
    draw = draw_grid = None
    if not args.no_plots:
        from rl_softmax.plotting import draw_tune

        draw, draw_grid = draw_tune, _draw_figures
    result = tune(
        config, args.out, storage=args.storage, compare_grid=args.compare_grid,
        draw=draw, draw_grid=draw_grid, log=functools.partial(print, flush=True),
        progress=not args.quiet,
    )  # fmt: skip
    print("answers (re-evaluated on fresh seeds, 95% t interval):")
    for name, tuned in result.studies.items():
        best = tuned.best
        setting = ", ".join(f"{k} = {v:.4g}" for k, v in best["params"].items())
        low, high = best["ci95"]
        print(
            f"  {name:<24} tune {setting}   {best['metric']} {best['mean']:.4g} "
            f"[{low:.4g}, {high:.4g}] ({best['num_seeds']} seeds, "
            f"{tuned.agent_steps / 1e6:.3g}M agent-steps, {tuned.programs} "
            "compiled program(s))"
        )
        if best["at_edge"]:
            print(
                f"  {'':<24} at the edge of the range searched: "
                f"{', '.join(best['at_edge'])}; a wider range may do better"
            )
        if tuned.grid is not None:
            grid = tuned.grid
            setting = ", ".join(f"{k} = {v:.4g}" for k, v in grid["params"].items())
            low, high = grid["ci95"]
            diff = grid["tune_minus_grid"]
            print(
                f"  {'':<24} grid {setting}   {best['metric']} {grid['mean']:.4g} "
                f"[{low:.4g}, {high:.4g}] ({grid['num_seeds']} seeds, "
                f"{grid['agent_steps'] / 1e6:.3g}M agent-steps); on the fresh seeds "
                f"tune - grid = {diff['mean']:+.3g} [{diff['ci95'][0]:+.3g}, "
                f"{diff['ci95'][1]:+.3g}]"
            )
    for path in result.paths:
        print(f"wrote {path}")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from rl_softmax import plotting
    from rl_softmax.experiment import results

    out = Path(args.results)
    if not (out / results.METADATA_FILE).exists():
        print(
            f"error: {out} has no metadata.json; is it a results directory?",
            file=sys.stderr,
        )
        return 2
    try:
        metadata = results.load_metadata(out)
        names = list(metadata["studies"])
    except (ValueError, KeyError, TypeError) as err:  # not JSON, or not ours
        print(f"error: {out / results.METADATA_FILE}: unreadable ({err}).",
              file=sys.stderr)  # fmt: skip
        return 2
    if metadata.get("status", "complete") != "complete":
        status = metadata["status"]
        print(f"error: {out} holds a run that is {status}; run it again to "
              "finish it, then plot.", file=sys.stderr)  # fmt: skip
        return 2
    plots_dir = out / plotting.PLOTS_DIR
    if plots_dir.exists() and not plots_dir.is_dir():
        print(f"error: {plots_dir} is a file, where the plots go; move it away.",
              file=sys.stderr)  # fmt: skip
        return 2
    studies, broken = {}, []
    for name in names:
        try:
            if not isinstance(metadata["studies"][name], dict):
                raise ValueError("its entry in metadata.json is empty")
            studies[name] = results.load_study(out, name)
        except FileNotFoundError:
            broken.append(f"study {name!r}: {out / 'studies' / name}.npz is missing")
        except Exception as err:  # a truncated, empty or foreign file
            broken.append(f"study {name!r}: unreadable ({type(err).__name__}: {err})")
    for problem in broken:
        print(f"warning: {problem}; its plots are skipped.", file=sys.stderr)
    if not studies:
        print(f"error: {out} holds no readable study; nothing to plot.",
              file=sys.stderr)  # fmt: skip
        return 2
    for path in plotting.draw_experiment(out, studies, metadata):
        print(f"wrote {path}")
    return 1 if broken else 0


def _list(args: argparse.Namespace) -> int:
    from rl_softmax.experiment import config as config_lib
    from rl_softmax.experiment import registry

    print("environments:")
    for name, entry in registry.ENVS.items():
        keys = [*entry.sizes, *entry.params, *entry.options]
        print(f"  {name:<16} {entry.description}  [keys: {', '.join(keys)}]")
    print(
        "  (any other gymnasium id with Discrete actions runs on the host: [env] "
        'backend = "auto" | "jax" | "host")'
    )
    print("agents:")
    for name, entry in registry.AGENTS.items():
        params = ", ".join(p.name for p in entry.params)
        print(f"  {name:<16} {entry.description}  [params: {params}]")
    takes_rule = [name for name, entry in registry.AGENTS.items() if entry.takes_rule]
    print(f"exploration rules (agents {', '.join(takes_rule)}):")
    for name, entry in registry.RULES.items():
        param = entry.param.name if entry.param else "-"
        print(f"  {name:<16} {entry.description}  [param: {param}]")
    rollout = [name for name, entry in registry.AGENTS.items()
               if "rollout" in entry.options]  # fmt: skip
    print(f"rollout settings (agents {', '.join(rollout)}):")
    for name, key in registry.ROLLOUT.items():
        print(f"  {name:<16} {key.meaning} (default {key.default})")
    replay = [name for name, entry in registry.AGENTS.items()
              if "replay" in entry.options]  # fmt: skip
    print(f"replay settings (agents {', '.join(replay)}):")
    for name, key in registry.REPLAY.items():
        print(f"  {name:<16} {key.meaning} (default {key.default})")
    print(f"optimizers: {', '.join(registry.OPTIMIZERS)}")
    print(f"temperature schedules: {', '.join(registry.SCHEDULES)}")
    print(f"target-entropy shapes: {', '.join(registry.ENTROPY_SHAPES)}")
    print("configs (rl-softmax run NAME, or a path to your own TOML file):")
    for name, path in config_lib.shipped_configs().items():
        # the description only: validating would build the environment, and one
        # whose optional package is missing (Box2D) is still worth listing
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        first = str(raw.get("description", "")).strip().split("\n")[0]
        print(f"  {name:<28} {first}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    import jax
    import numpy as np

    from rl_softmax import plotting, tour
    from rl_softmax import softmax as sm

    logits = np.array(args.logits, dtype=np.float32)
    key_report, key_figures = jax.random.split(jax.random.key(args.seed))
    print(f"logits {logits.tolist()}")
    for tau in (0.0, 0.5, 1.0, 2.0, float("inf")):
        # float64 before rounding: a rounded float32 prints as 0.10249999910593033.
        probs = np.asarray(sm.softmax(logits, tau), np.float64).round(4)
        print(f"  softmax at tau = {tau:<4}: {probs.tolist()}")
    linear = np.asarray(sm.linear_normalize(logits), np.float64).round(4).tolist()
    print(f"  linear x / sum(x)    : {linear}")
    print("the claims of docs/why-softmax.md:")
    for title, lines in tour.report(key_report, logits):
        print(title)
        for line in lines:
            print(f"  {line}")
    out = Path(args.out)
    for name, figure in plotting.tour_figures(key_figures, logits):
        print(f"wrote {plotting.save_figure(figure, out / name)}")
    return 0


BENCH_OUTSIDE_A_CLONE = (
    "rl-softmax bench runs from a clone of the repository: its baselines live in "
    "experiments/"
)


def bench_script() -> Path | None:
    """``experiments/bench.py`` of the clone this package was installed from (an
    editable install), or None (installed from a wheel)."""
    script = Path(__file__).resolve().parents[1] / "experiments" / "bench.py"
    return script if script.is_file() else None


def _bench(args: argparse.Namespace) -> int:
    script = bench_script()
    if script is None:
        print(f"error: {BENCH_OUTSIDE_A_CLONE}", file=sys.stderr)
        return 2
    spec = importlib.util.spec_from_file_location("bench", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    argv = ["rl-softmax", "bench", *args.argv]
    try:
        bench.run(
            quick=args.quick, only=args.only, out=args.out, repeats=args.repeats,
            update_docs_pages=args.update_docs, devices=args.devices,
            command=" ".join(argv),
        )  # fmt: skip
    except ValueError as err:  # an unknown suite
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, like every other error of the command
    (argparse prints the usage first)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected an integer >= 1")
    return value


def _devices_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--devices", type=_positive_int, default=None,
        help="JAX CPU devices (default: one per core)",
    )  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The ``rl-softmax`` argument parser: its commands, their arguments and help
    (the command-line reference of the documentation is written from it)."""
    parser = _Parser(prog="rl-softmax", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run", help="run an experiment config, save results and plots"
    )
    run.add_argument(
        "config", help="a TOML file, or a shipped config's name (rl-softmax list)"
    )
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
    _devices_argument(run)
    run.add_argument(
        "--cache-dir", default=None,
        help="JAX compilation cache (default $RL_SOFTMAX_CACHE_DIR or "
        "~/.cache/rl_softmax/jax)",
    )  # fmt: skip
    run.add_argument(
        "--no-cache", action="store_true", help="compile without the persistent cache"
    )
    run.add_argument(
        "--checkpoint-every", type=float, default=30.0, metavar="SECONDS",
        help="save the study in progress at most this often (default 30; 0: after "
        "every block); an interrupted run resumes from it",
    )  # fmt: skip
    run.add_argument(
        "--on-divergence", choices=("flag", "stop"), default="flag",
        help="a run whose state or metrics stop being finite: flag it (counted in "
        "summary.csv's num_diverged, left out of every mean; the default) or stop "
        "the study with an error",
    )  # fmt: skip
    group = run.add_argument_group(
        "several processes (jax.distributed; also JAX_COORDINATOR_ADDRESS, "
        "JAX_NUM_PROCESSES, JAX_PROCESS_ID)"
    )
    group.add_argument(
        "--distributed", action="store_true",
        help="join a multi-process run, settings from the environment or the "
        "cluster (SLURM)",
    )  # fmt: skip
    group.add_argument("--coordinator", help="host:port of process 0")
    group.add_argument("--num-processes", type=int, help="processes in the run")
    group.add_argument("--process-id", type=int, help="this process, 0-based")
    run.set_defaults(handler=_run)
    plot = commands.add_parser(
        "plot", help="redraw the plots of a results directory",
        description="Redraws the plots of a results directory. A study whose file "
        "is missing or unreadable is named and skipped (exit code 1); exit code 2 "
        "when nothing can be drawn.",
    )  # fmt: skip
    plot.add_argument("results", help="a directory written by 'rl-softmax run'")
    plot.set_defaults(handler=_plot)
    tune = commands.add_parser(
        "tune", help="search a config's parameters with Optuna, batches of trials "
        "in one compiled program; the answer re-evaluated on fresh seeds",
        description="Searches each study's parameters (the config's [tune] table; "
        "default: its swept parameter over the range of its values) with Optuna. "
        "Trials live in Optuna storage: a killed tune resumes, and several "
        "processes or machines on one --storage share the budget.",
    )  # fmt: skip
    tune.add_argument(
        "config", help="a TOML file, or a shipped config's name (rl-softmax list)"
    )
    tune.add_argument(
        "--out", help="directory of tune.json, plots and the default storage "
        "(default results/<config name>/tune)",
    )  # fmt: skip
    tune.add_argument(
        "--storage", help="an Optuna storage URL shared by every process "
        "(default sqlite:///<out>/tune.db; journal:PATH for a journal file)",
    )  # fmt: skip
    tune.add_argument("--study", nargs="+", help="tune only these studies")
    tune.add_argument("--trials", type=_positive_int, help="the budget of trials")
    tune.add_argument("--batch", type=_positive_int, help="trials per compiled call")
    tune.add_argument("--seeds", type=_positive_int, help="seeds per trial")
    tune.add_argument(
        "--eval-seeds", type=_positive_int, help="fresh seeds of the answer"
    )
    tune.add_argument("--sampler", help="tpe (default), gp, cmaes or random")
    tune.add_argument("--seed", type=int, help="the sampler's seed")
    tune.add_argument(
        "--compare-grid", action="store_true",
        help="also run the config's own sweep and compare the two answers",
    )  # fmt: skip
    tune.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set tune.keep=0.5",
    )  # fmt: skip
    tune.add_argument("--no-plots", action="store_true", help="skip the figures")
    tune.add_argument("--quiet", action="store_true", help="no progress bar")
    _devices_argument(tune)
    tune.set_defaults(handler=_tune)
    listing = commands.add_parser(
        "list", help="show environments, agents, rules and configs"
    )
    listing.set_defaults(handler=_list)
    demo = commands.add_parser(
        "demo",
        help="print the numbers of the 'Why softmax?' page and draw its figures",
    )
    demo.add_argument(
        "--logits", type=float, nargs="+", default=[2.0, 4.0, 2.0, 1.0],
        help="the logits to turn into probabilities at several temperatures",
    )  # fmt: skip
    demo.add_argument(
        "--out", default="results/demo", help="directory the page's figures go to"
    )
    demo.add_argument(
        "--seed", type=int, default=0,
        help="seed of the random distributions and draws",
    )  # fmt: skip
    demo.set_defaults(handler=_demo)
    bench = commands.add_parser(
        "bench",
        help="time the benchmark suite against its baselines, in a clone of the "
        "repository; writes one table (Markdown, CSV)",
    )
    bench.add_argument(
        "--quick", action="store_true",
        help="smoke-test sizes and one round (a few minutes; not representative)",
    )  # fmt: skip
    bench.add_argument(
        "--only", nargs="+", metavar="SUITE",
        help="run only these suites, e.g. --only bandit frozenlake (default: all; "
        "an unknown name lists them)",
    )  # fmt: skip
    bench.add_argument(
        "--out", default="results/bench",
        help="directory of bench.md, bench.csv and bench.json",
    )  # fmt: skip
    bench.add_argument(
        "--repeats", type=_positive_int, default=None,
        help="timed rounds of every row (default 3, 1 with --quick)",
    )  # fmt: skip
    bench.add_argument(
        "--update-docs", action="store_true",
        help="also rewrite the tables of docs/ between their bench markers (of "
        "the suites run; a suite run alone with --only says so under its table)",
    )  # fmt: skip
    _devices_argument(bench)
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rl-softmax`` console script."""
    start = time.perf_counter()  # the "import" phase starts here
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.start, args.argv = start, argv[1:]
    try:
        return args.handler(args)
    except MemoryError as err:
        print(
            f"error: out of memory{f' ({err})' if str(err) else ''}; lower "
            "num_seeds, num_steps or the number of values, or set max_block_runs.",
            file=sys.stderr,
        )
        return 2
    except (Exception, KeyboardInterrupt) as err:
        from rl_softmax.experiment.config import ConfigError
        from rl_softmax.experiment.guard import RunStopped
        from rl_softmax.experiment.pipeline import RunDiverged

        if isinstance(err, KeyboardInterrupt):
            print("stopped at once; run the same command again to resume.",
                  file=sys.stderr)  # fmt: skip
            return 130
        if isinstance(err, RunStopped):
            print(err, file=sys.stderr)
            return 128 + err.signal_number
        if isinstance(err, RunDiverged):
            print(f"error: {err}", file=sys.stderr)
            return 1
        if not isinstance(err, ConfigError):
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2


def console() -> None:
    """The installed ``rl-softmax`` script: :func:`main`, then exit at once.

    Every file is closed and synced by then (atomic writes) and JAX writes its
    compilation cache synchronously, so nothing is lost by skipping the
    interpreter's teardown, which for a process that ran JAX takes ~0.3 s.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
