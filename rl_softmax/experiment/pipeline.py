"""``run_experiment(config) -> Results``: one experiment, config to saved results.

The same function serves the ``rl-softmax run`` command, the scripts in
``experiments/`` and anyone's notebook: it validates the config, builds every
study's environment and agent from the registry, compiles each study once, sweeps
its values x seeds grid, writes arrays, metadata and a tidy summary (atomic
writes; a rerun resumes from the studies already saved for the same config) and
returns everything in memory, so nothing has to be read back from disk.

Plots are drawn by a layer above this one: pass ``draw=`` a function such as
:func:`rl_softmax.plotting.draw_experiment` (what ``rl-softmax run`` does), or
call it later on the results, or run ``rl-softmax plot DIR``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rl_softmax.engine import executor, host_vector, make_rollout_run, make_run, sweep
from rl_softmax.engine.checkpoint import Checkpoint
from rl_softmax.engine.sweep import (
    SweepDiverged,
    SweepInterrupted,
    SweepResult,
    compile_sweep,
    memory_estimate,
)
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import guard, outdir, registry, results, stats

__all__ = [
    "ON_DIVERGENCE",
    "HostStudy",
    "Results",
    "RunDiverged",
    "build_run",
    "run_experiment",
]


@dataclasses.dataclass(frozen=True)
class Results:
    """What :func:`run_experiment` produced.

    Attributes:
      config: the validated config.
      out: the results directory, or None if nothing was written.
      studies: ``{study name: SweepResult}``.
      rows: the tidy summary rows (``summary.csv``).
      metadata: what ``metadata.json`` holds (config, versions, timings, labels).
      paths: every file written, plots included.
      timings: seconds spent compiling, running, writing and plotting.
    """

    config: config_lib.ExperimentConfig
    out: Path | None
    studies: dict[str, SweepResult]
    rows: list[dict[str, Any]]
    metadata: dict[str, Any]
    paths: list[Path]
    timings: dict[str, float]

    def best(self, study: str, **kwargs) -> stats.Best | None:
        """The best setting of a study (see :func:`stats.best_setting`)."""
        info = self.metadata["studies"][study]
        return stats.best_setting(
            self.studies[study], references=info["references"], **kwargs
        )


@dataclasses.dataclass(frozen=True)
class HostStudy:
    """What :func:`rl_softmax.engine.host.host_sweep` needs to run a study of a
    gymnasium environment on the host (the host counterpart of a
    :class:`~rl_softmax.engine.Run`).

    Attributes:
      env: the :class:`~rl_softmax.envs.host.HostEnv`.
      agent: the agent.
      agent_params: its parameters, the swept one's field replaced per run.
      swept: the swept field.
      num_steps: steps of the run (updates for a rollout agent).
      rollout_shape: ``(num_envs, rollout_steps)`` of a rollout agent, else None.
    """

    env: Any
    agent: Any
    agent_params: Any
    swept: str
    num_steps: int
    rollout_shape: tuple[int, int] | None

    @property
    def env_steps_per_step(self) -> int:
        return 1 if self.rollout_shape is None else math.prod(self.rollout_shape)


def build_run(config: config_lib.ExperimentConfig, study: config_lib.StudyConfig):
    """The pure ``run(key, value)`` of a study; ``value`` sets its swept parameter
    (a :class:`HostStudy` for a gymnasium environment stepped on the host)."""
    if config.env.backend == "host":
        env = registry.make_host_env(config.env.name, **config.env.options)
    else:
        env_entry = registry.ENVS[config.env.name]
        env = env_entry.make(**config.env.sizes, **config.env.options)
    agent = registry.AGENTS[study.agent].make(study, env, config.num_steps)
    specs = registry.agent_params(study.agent, study.rule, env.num_actions)
    agent_params = agent.default_params._replace(
        **{specs[k].field: jnp.float32(v) for k, v in study.fixed.items()}
    )
    swept = tuple(specs[p].field for p in study.params) or specs[study.param].field
    if config.env.backend == "host":
        return _host_study(config, study, env, agent, agent_params, swept)
    env_params = env.default_params._replace(
        **{k: jnp.float32(v) for k, v in config.env.params.items()}
    )
    if not study.rollout:
        return make_run(
            env, agent, config.num_steps, env_params=env_params,
            agent_params=agent_params, swept=swept,
            track_probs=study.track_probs, num_episodes=config.num_episodes,
        )  # fmt: skip
    for key, value in (("track_probs", study.track_probs),
                       ("num_episodes", config.num_episodes)):  # fmt: skip
        if value:
            raise ValueError(
                f"{key}={value!r}: agent {study.agent!r} learns from rollouts and "
                "does not record it; leave it out."
            )
    batch = study.rollout["num_envs"] * study.rollout["rollout_steps"]
    return make_rollout_run(
        env, agent, config.num_steps // batch, num_envs=study.rollout["num_envs"],
        rollout_steps=study.rollout["rollout_steps"], env_params=env_params,
        agent_params=agent_params, swept=swept,
    )  # fmt: skip


def _host_study(config, study, env, agent, agent_params, swept) -> HostStudy:
    for key, value in (("track_probs", study.track_probs),
                       ("num_episodes", config.num_episodes)):  # fmt: skip
        if value:
            raise ValueError(
                f"{key}={value!r}: the host backend does not record it; leave it out."
            )
    if not study.rollout:
        return HostStudy(env, agent, agent_params, swept, config.num_steps, None)
    shape = (study.rollout["num_envs"], study.rollout["rollout_steps"])
    return HostStudy(
        env, agent, agent_params, swept, config.num_steps // math.prod(shape), shape
    )


def _as_config(config, overrides: Sequence[str]) -> config_lib.ExperimentConfig:
    if isinstance(config, config_lib.ExperimentConfig):
        if overrides:
            raise ValueError(
                "overrides apply to a config file or dict, not a dataclass"
            )
        return config
    if isinstance(config, Mapping):
        return config_lib.from_dict(config_lib.apply_overrides(dict(config), overrides))
    return config_lib.load(config, list(overrides))


def _versions() -> dict[str, str]:
    names = ("rl_softmax", "jax", "jaxlib", "optax", "gymnasium", "numpy", "matplotlib")
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _machine() -> dict[str, Any]:
    """Where the numbers were measured: neural runs agree across CPU models only
    statistically (docs/guide/reproducibility.md), so a table says which one."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(
                (line.split(":", 1)[1].strip() for line in cpuinfo
                 if line.startswith("model name")),
                model,
            )  # fmt: skip
    except OSError:
        pass
    return {
        "cpu": model,
        "architecture": platform.machine(),
        "cores": os.cpu_count(),
        "system": platform.system(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def _config_hash(resolved: dict) -> str:
    text = json.dumps(resolved, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _env_info(config) -> dict[str, Any]:
    """What the plots need to know of the environment: the backend that ran it
    (``jax`` or ``host``) and a grid world's layout (cells, exact values, an optimal
    policy; see ``TabularEnv.layout``)."""
    info = {"backend": config.env.backend}
    if config.env.backend == "host":
        return info
    entry = registry.ENVS[config.env.name]
    env = entry.make(**config.env.sizes, **config.env.options)
    layout = env.layout() if callable(getattr(env, "layout", None)) else None
    return {**info, "layout": layout} if layout else info


def _study_info(config, study) -> dict[str, Any]:
    """Labels the plots need, from the registry, kept in the metadata; a study of
    several parameters also lists every one's name, symbol and axis label
    (``params``, ``param_symbols``, ``param_labels``; ``param`` is the first)."""
    num_actions = config.env.num_actions
    specs = registry.agent_params(study.agent, study.rule, num_actions)
    spec = specs[study.param]
    info = {
        "label": study.label,
        "param": study.param,
        "param_symbol": spec.symbol or study.param,
        "param_label": spec.label or study.param,
        "references": study.references,
        "num_actions": num_actions,
    }
    if study.params:
        info["params"] = list(study.params)
        info["param_symbols"] = [specs[p].symbol or p for p in study.params]
        info["param_labels"] = [specs[p].label or p for p in study.params]
    return info


Draw = Callable[[Path, Mapping[str, SweepResult], dict], list[Path]]
"""``(out_dir, studies, metadata) -> written paths``: what draws an experiment's
figures (:func:`rl_softmax.plotting.draw_experiment`)."""


def run_experiment(
    config: str | os.PathLike | Mapping | config_lib.ExperimentConfig,
    out: str | os.PathLike | None = None,
    *,
    overrides: Sequence[str] = (),
    progress: bool = True,
    draw: Draw | None = None,
    write: bool = True,
    overwrite: bool = False,
    devices: int | None = None,
    cache_dir: str | os.PathLike | bool | None = None,
    log: Callable[[str], None] | None = None,
    checkpoint_every: float = 30.0,
    on_divergence: str = "flag",
) -> Results:
    """Runs an experiment config and returns its results.

    Args:
      config: a TOML path, a parsed config dict, or an
        :class:`~rl_softmax.experiment.config.ExperimentConfig`.
      out: the results directory (default ``results/<config name>``).
      overrides: ``key=value`` overrides (TOML values) of a path or dict config.
      progress: show a progress bar per study.
      draw: ``(out_dir, studies, metadata) -> paths``, called once the results are
        written, e.g. :func:`rl_softmax.plotting.draw_experiment` (the figures go
        into ``out/plots``); its time is recorded. Default: no figures.
      write: write results at all (False: in memory only, no resume).
      overwrite: replace results of a different config in ``out``.
      devices: JAX CPU devices to ask for before JAX starts (see
        :func:`rl_softmax.engine.executor.use_cpu_cores`); default: leave JAX's
        devices as they are (``rl-softmax run`` asks for one per core).
      cache_dir: turn on JAX's persistent compilation cache in this directory
        (``True``: :func:`rl_softmax.engine.executor.default_cache_dir`); default
        (None or False): leave JAX's configuration as it is. The cache is a
        process-wide setting, so a library call takes it only when asked;
        ``rl-softmax run`` asks.
      log: where progress lines go (default: nowhere).
      checkpoint_every: seconds between checkpoints of the study in progress
        (``out/checkpoints``; 0: after every block). A rerun resumes from them.
      on_divergence: what a run whose state or metrics stop being finite gets:
        ``"flag"`` (counted in ``summary.csv``'s ``num_diverged``, listed in the
        metadata and the log, left out of every mean) or ``"stop"`` (the study
        stops after the block it diverged in, with :class:`RunDiverged`).

    Returns:
      the :class:`Results`. In a multi-process run (see
      :func:`rl_softmax.engine.executor.initialize_distributed`) process 0 writes
      and returns the results; the others compute their share and return
      ``Results`` without studies.

    Raises:
      ConfigError: the config (or ``out``) is not valid, or a study would not fit
        in memory; nothing was run.
      RunStopped: SIGINT or SIGTERM stopped the run after saving what finished.
      RunDiverged: a run diverged with ``on_divergence="stop"``.
    """
    say = log or (lambda line: None)
    if on_divergence not in ON_DIVERGENCE:
        raise config_lib.ConfigError(
            f"on_divergence={on_divergence!r}: expected one of {list(ON_DIVERGENCE)}."
        )
    if not checkpoint_every >= 0:
        raise config_lib.ConfigError(
            f"checkpoint_every={checkpoint_every!r}: expected seconds >= 0."
        )
    config = _as_config(config, overrides)
    resolved = config_lib.to_dict(config)
    config_hash = _config_hash(resolved)
    out_dir = outdir.results_dir(out, config.name)
    if devices is not None:  # before building runs starts JAX's backend
        executor.use_cpu_cores(devices)
    checkpoints = write  # every process keeps its share of a host study's
    if jax.process_index() != 0:  # process 0 writes, plots and talks
        write, progress, say = False, False, (lambda line: None)
    start = time.perf_counter()
    runs = {s.name: _checked_run(config, i, s) for i, s in enumerate(config.studies)}
    estimates = _checked_memory(config, runs)
    build_seconds = time.perf_counter() - start
    opened = (
        outdir.open_results(out_dir, config_hash, overwrite=overwrite, log=say)
        if write
        else contextlib.nullcontext(({}, set()))
    )
    with opened as (metadata, finished):  # locked until the last file is written
        return _run_studies(
            config, runs, out_dir, metadata, finished, resolved=resolved,
            config_hash=config_hash, build_seconds=build_seconds, write=write,
            progress=progress, draw=draw, cache_dir=cache_dir, say=say,
            estimates=estimates, checkpoint_every=checkpoint_every,
            stop_on_divergence=on_divergence == "stop", checkpoints=checkpoints,
        )  # fmt: skip


def _run_studies(
    config, runs, out_dir, metadata, finished, *, resolved, config_hash,
    build_seconds, write, progress, draw, cache_dir, say, estimates,
    checkpoint_every, stop_on_divergence, checkpoints,
) -> Results:  # fmt: skip
    """The rest of :func:`run_experiment`: sweeps (or reuses) every study, writes
    arrays, metadata and summary, and calls ``draw``."""
    mask = executor.from_process_zero(
        sum(1 << i for i, s in enumerate(config.studies) if s.name in finished)
    )
    finished_everywhere = {
        s.name for i, s in enumerate(config.studies) if mask >> i & 1
    }
    if cache_dir is not None and cache_dir is not False:
        try:
            executor.enable_compilation_cache(None if cache_dir is True else cache_dir)
        except OSError as err:  # a file in the way, no permission
            raise config_lib.ConfigError(
                f"--cache-dir {err.filename}: cannot hold the compilation cache "
                f"({outdir.os_error_reason(err)}); choose another or pass --no-cache."
            ) from None
    jax_devices = jax.devices()
    say(
        f"  env {config.env.name} ({config.env.num_actions} actions, "
        f"{'gymnasium on the host' if config.env.backend == 'host' else 'JAX'}), "
        f"{config.num_seeds} seeds x {config.num_steps} steps, seed {config.seed}, "
        f"{len(jax_devices)} {jax_devices[0].platform} device(s)"
        + (f" -> {out_dir}" if write else "")
    )
    metadata.update(
        env=_env_info(config),
        config=resolved,
        config_hash=config_hash,
        versions=_versions(),
        machine=_machine(),
        devices=[str(d) for d in jax_devices],
        created=metadata.get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        status="incomplete",  # until every study is saved
        processes=jax.process_count(),
    )
    metadata.pop("stopped", None)
    metadata.setdefault("studies", {})
    if write:
        results.save_metadata(out_dir, metadata)
    timings = {"compile": build_seconds, "run": 0.0, "write": 0.0, "plot": 0.0}
    key = jax.random.key(config.seed)
    studies, rows, paths = {}, [], []
    with guard.StopSignals(say) as signals:
        for study in config.studies:
            values = study.values + tuple(study.references.values())
            info = _study_info(config, study)
            if study.name in finished_everywhere:
                if not write:  # another process: process 0 has them
                    continue
                say(f"  {study.name}: reusing saved results in {out_dir}")
                result = results.load_study(out_dir, study.name)
            else:
                checkpoint = None
                # a host study over several processes: each keeps its own share
                shared = (
                    isinstance(runs[study.name], HostStudy) and jax.process_count() > 1
                )
                if write or (shared and checkpoints):
                    name = study.name
                    if shared:
                        name += f".process{jax.process_index()}"
                    checkpoint = Checkpoint(
                        out_dir / results.CHECKPOINTS_DIR / f"{name}.npz",
                        tag=f"{config_hash} {study.name} {jax.process_count()}",
                        every=checkpoint_every,
                    )  # fmt: skip
                try:
                    result, measured = _sweep_study(
                        config, runs[study.name], study, values, key, progress,
                        checkpoint=checkpoint, stop=lambda: bool(signals.received),
                        say=say, stop_on_divergence=stop_on_divergence,
                    )  # fmt: skip
                except SweepInterrupted as stop:
                    _stopped(out_dir if write else None, metadata, study, stop, signals)
                except SweepDiverged as error:
                    if checkpoint is not None:
                        checkpoint.remove()
                    raise RunDiverged(
                        f"study {study.name!r}: {error} (on_divergence = 'stop'; "
                        f"lower {' or '.join(study.swept)}'s extremes or the "
                        "learning rate, or "
                        "run with on_divergence = 'flag' to leave such runs out of "
                        "the means)"
                    ) from None
                measured["memory_estimate_bytes"] = estimates[study.name]
                measured["peak_memory_bytes"] = guard.peak_memory()
                for phase in ("compile", "run"):
                    timings[phase] += measured[f"{phase}_seconds"]
                info.update(measured)
                if shared:  # the shares' checkpoints go before process 0 tidies up
                    if result is None and checkpoint is not None:
                        checkpoint.remove()
                    executor.any_process(False)
                if result is None:  # another process: process 0 has the result
                    continue
                say(
                    f"  {study.name}: {len(values)} values x {config.num_seeds} "
                    f"seeds, compile {measured['compile_seconds']:.1f} s, run "
                    f"{measured['run_seconds']:.1f} s "
                    f"({measured['agent_steps_per_second'] / 1e6:.1f}M agent-steps/s)"
                )
                if write:
                    start = time.perf_counter()
                    paths.append(results.save_study(out_dir, study.name, result))
                    checkpoint.remove()
                    timings["write"] += time.perf_counter() - start
            info["diverged"] = _diverged_runs(result)
            if info["diverged"]["count"]:
                say(f"  {study.name}: {_diverged_line(info['diverged'], study)}")
            metadata["studies"][study.name] = {
                **metadata["studies"].get(study.name, {}),
                **info,
            }
            studies[study.name] = result
            rows += stats.summary_rows(
                study.name, result, label=study.label, param=study.swept
            )
    if write:
        start = time.perf_counter()
        metadata["status"] = "complete"
        _remove_if_empty(out_dir / results.CHECKPOINTS_DIR)
        metadata["timings"] = timings
        paths.append(results.save_metadata(out_dir, metadata))
        paths.append(results.save_summary(out_dir, rows))
        timings["write"] += time.perf_counter() - start
        if draw is not None:
            start = time.perf_counter()
            paths += draw(out_dir, studies, metadata)
            timings["plot"] = time.perf_counter() - start
            results.save_metadata(out_dir, metadata)  # with the plot time
    return Results(
        config, out_dir if write else None, studies, rows, metadata, paths, timings
    )


ON_DIVERGENCE = ("flag", "stop")
"""What :func:`run_experiment` does with a diverged run (``on_divergence``)."""

_LISTED_DIVERGED = 20  # runs listed by name in the metadata (all are in the npz)


class RunDiverged(RuntimeError):
    """A run's state or metrics stopped being finite, and ``on_divergence`` is
    ``"stop"``: the study stopped (the studies before it are saved)."""


def _diverged_runs(result: SweepResult) -> dict[str, Any]:
    """The diverged runs of a study, for its metadata: how many, and the first
    :data:`_LISTED_DIVERGED` as ``{value, seed, steps: [first, last]}`` of the
    window they diverged in (every run is in the study file's ``diverged``)."""
    if result.diverged is None:
        return {"count": 0, "runs": []}
    first = np.asarray(result.diverged)
    where = np.argwhere(first >= 0)
    width = int(result.steps[0]) if np.size(result.steps) else 0
    values = np.asarray(result.values)
    runs = [
        {
            # as in summary.csv; a list, one number per parameter swept together
            "value": (
                float(str(values[v]))
                if values.ndim == 1
                else [float(str(x)) for x in values[v]]
            ),  # fmt: skip
            "seed": int(result.seeds[s]),
            "steps": [int(first[v, s]) * width + 1, (int(first[v, s]) + 1) * width],
        }
        for v, s in where[:_LISTED_DIVERGED]
    ]
    return {"count": int(len(where)), "runs": runs}


def _diverged_line(diverged: dict[str, Any], study) -> str:
    """One line naming a study's diverged runs (the first few)."""
    count, runs = diverged["count"], diverged["runs"]

    def setting(value) -> str:  # tau=0.25, or tau=0.25 step_size=0.1
        pairs = zip(study.swept, np.atleast_1d(value), strict=True)
        return " ".join(f"{name}={number:g}" for name, number in pairs)

    shown = ", ".join(
        f"{setting(run['value'])} seed {run['seed']} (steps "
        f"{run['steps'][0]}-{run['steps'][1]})"
        for run in runs[:3]
    )
    more = f" and {count - 3} more" if count > 3 else ""
    return (
        f"{count} run(s) diverged (state or metrics not finite), left out of every "
        f"mean and counted in summary.csv's num_diverged: {shown}{more}"
    )


def _checked_memory(config, runs) -> dict[str, int]:
    """Each study's estimated peak memory (bytes); refuses one that cannot fit
    (in any process) before anything is compiled."""
    baseline = guard.current_memory()
    compiler = max(
        guard.ROLLOUT_COMPILER_BYTES if study.rollout else guard.COMPILER_BYTES
        for study in config.studies
    )
    estimates, error = {}, None
    for index, study in enumerate(config.studies):
        run = runs[study.name]
        if isinstance(run, HostStudy):
            estimates[study.name] = baseline
            continue
        num_values = len(study.values) + len(study.references)
        estimate = memory_estimate(
            run, num_values, config.num_seeds,
            max_block_runs=config.max_block_runs or None,
        )  # fmt: skip
        knob = f"studies.{index}.track_probs" if study.track_probs else None
        try:
            needed = guard.check_memory(
                study.name, estimate, num_seeds=config.num_seeds,
                num_values=num_values, track_probs=knob,
                num_episodes=config.num_episodes,
            )  # fmt: skip
        except config_lib.ConfigError as err:
            error = err
            break
        estimates[study.name] = baseline + compiler + needed
        # the study's results and compiled program stay for the rest of the run
        baseline += estimate.host_bytes + guard.PROGRAM_BYTES
    if executor.any_process(error is not None):
        raise error or config_lib.ConfigError(
            "another process cannot fit a study in its memory (see its message)."
        )
    return estimates


def _stopped(out_dir, metadata, study, stop: SweepInterrupted, signals) -> None:
    """Records a stop in the metadata and raises :class:`guard.RunStopped`."""
    metadata["status"] = "stopped"
    metadata["stopped"] = {
        "signal": signals.name,
        "study": study.name,
        "runs_done": stop.runs_done,
        "num_runs": stop.num_runs,
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    done = f"{stop.runs_done} of {stop.num_runs} runs"
    if stop.steps_done is not None:  # a host study: every run steps together
        metadata["stopped"].update(steps_done=stop.steps_done, num_steps=stop.num_steps)
        done = f"{stop.steps_done} of {stop.num_steps} steps"
    where = "nothing was saved (write=False)"
    if out_dir is not None:
        results.save_metadata(out_dir, metadata)
        where = f"saved in {out_dir}; run the same command again to resume"
    raise guard.RunStopped(
        f"stopped by {signals.name} in study {study.name!r} after {done}; {where}.",
        signals.received,
    ) from None


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):  # missing, or holds another checkpoint
        folder.rmdir()


def _checked_run(config, index: int, study):
    """The study's run; what only building it can find wrong is a ConfigError."""
    try:
        return build_run(config, study)
    except ValueError as err:
        raise config_lib.ConfigError(
            f"studies[{index}] ({study.name}): {err}"
        ) from None


def final_run_steps(final_steps: int, env_steps_per_step: int) -> int:
    """A config's ``final_steps`` (environment steps) in a run's steps.

    A rollout run's step is one update of ``env_steps_per_step`` environment steps,
    so the final window is whole updates: the most that fit in ``final_steps``,
    and at least one (so ``final_steps`` below one update is rounded up to it).
    The study says so when it runs, and ``summary.csv``'s ``final_steps`` column
    holds the window actually used.
    """
    return max(1, final_steps // env_steps_per_step)


def _sweep_study(
    config, run, study, values, key, progress: bool, *, checkpoint=None,
    stop=None, say=None, stop_on_divergence=False,
):  # fmt: skip
    """Compiles and sweeps one study; returns ``(result, timings)``."""
    final_steps = final_run_steps(config.final_steps, run.env_steps_per_step)
    if final_steps * run.env_steps_per_step != config.final_steps and say:
        say(
            f"  {study.name}: final_steps={config.final_steps} is rounded to "
            f"{final_steps} whole update(s) of {run.env_steps_per_step} environment "
            f"steps: the final window is the last "
            f"{final_steps * run.env_steps_per_step} steps"
        )
    if isinstance(run, HostStudy):
        result, measured = _host_sweep_study(
            config, run, study, values, key, progress, stop, final_steps, say,
            checkpoint=checkpoint,
        )  # fmt: skip
        if stop_on_divergence:
            error = SweepDiverged.first_of(
                result.diverged, result.values, result.seeds, int(result.steps[0])
            )
            if error is not None:
                raise error
        if jax.process_index() != 0:  # every process has it; process 0 keeps it
            result = None
        return result, measured
    settings = {
        "final_steps": final_steps,
        "max_block_runs": config.max_block_runs or None,
    }
    start = time.perf_counter()
    compile_sweep(run, len(values), config.num_seeds, **settings)
    compile_seconds = time.perf_counter() - start
    num_runs = len(values) * config.num_seeds
    estimate = guard.TimeEstimate(num_runs)
    from tqdm import tqdm

    with tqdm(
        total=num_runs, unit="run", desc=f"  {study.name}", disable=not progress,
        leave=False, file=sys.stderr,
        bar_format="{l_bar}{bar}| {n:.0f}/{total} runs [{elapsed}<{remaining}]",
    ) as bar:  # fmt: skip

        def on_progress(done: float) -> None:
            if estimate.first is None and done > 0 and say is not None:
                say(f"  {study.name}: resuming after {done:.0f} of {num_runs} runs")
            bar.update(done - bar.n)
            left = estimate.update(done)
            if left is not None and left > 30 and say is not None:
                say(
                    f"  {study.name}: about {guard.format_seconds(left)} left "
                    f"(measured on the first {100 * done / num_runs:.2g}% of it)"
                )

        start = time.perf_counter()
        result = sweep(
            run, values, config.num_seeds, key=key, on_progress=on_progress,
            checkpoint=checkpoint, stop=stop, stop_on_divergence=stop_on_divergence,
            **settings,
        )  # fmt: skip
        run_seconds = time.perf_counter() - start
    return result, {
        "compile_seconds": compile_seconds,
        "run_seconds": run_seconds,
        "estimated_run_seconds": estimate.seconds,
        "agent_steps_per_second": num_runs * config.num_steps / run_seconds,
    }


def _host_sweep_study(
    config, run: HostStudy, study, values, key, progress: bool, stop, final_steps,
    say=None, checkpoint=None,
):  # fmt: skip
    """Steps one study's gymnasium environments on the host (in this process or
    worker processes: ``[env] vector``); progress in steps. It checkpoints and
    resumes as a JAX study does (between updates rather than blocks)."""
    from tqdm import tqdm

    from rl_softmax.engine.host import host_sweep

    num_runs = len(values) * config.num_seeds
    num_envs = num_runs * (run.rollout_shape or (1,))[0]
    choice = host_vector.choose_vector(run.env, config.env.vector, num_envs)
    if say is not None:
        say(f"  {study.name}: {_vector_line(choice, num_envs)}")

    with tqdm(
        total=run.num_steps, unit="step", desc=f"  {study.name} (host)",
        disable=not progress, leave=False, file=sys.stderr,
    ) as bar:  # fmt: skip
        start = time.perf_counter()
        result = host_sweep(
            run.env, run.agent, run.num_steps, values, config.num_seeds, key=key,
            env_seeds=[_env_seed(config.seed, s) for s in range(config.num_seeds)],
            agent_params=run.agent_params, swept=run.swept,
            final_steps=final_steps,
            rollout_shape=run.rollout_shape,
            on_step=lambda done: bar.update(done - bar.n),
            processes=choice.processes, checkpoint=checkpoint,
            stop=None if stop is None else lambda: executor.any_process(stop()),
            log=None if say is None else lambda line: say(f"  {study.name}: {line}"),
        )  # fmt: skip
        run_seconds = time.perf_counter() - start
    return result, {
        "compile_seconds": 0.0,
        "run_seconds": run_seconds,
        "agent_steps_per_second": num_runs * config.num_steps / run_seconds,
        "vector": choice.as_info(),
    }


def _vector_line(choice, num_envs: int) -> str:
    """Where a host study's environments are stepped, and why (for ``auto``)."""
    where = (
        f"{num_envs} environments in {choice.processes} worker processes (async)"
        if choice.processes
        else f"{num_envs} environments in this process (sync)"
    )
    if choice.step_seconds is None:
        return f"{where}, as [env] vector = {choice.requested!r} asks"
    return (
        f"{where}: one step costs {choice.step_seconds * 1e6:.0f} µs (async above "
        f"{host_vector.ASYNC_STEP_SECONDS * 1e6:.0f} µs with more than one core)"
    )


def _env_seed(seed: int, index: int) -> int:
    """gymnasium's seed of seed ``index``'s environments: a function of the config's
    seed and the index only (so a host run repeats bit for bit)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0]) // 1024
