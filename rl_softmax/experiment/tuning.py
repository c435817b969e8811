"""Search instead of sweep: ``tune(config) -> TuneResult`` with Optuna.

Each tuned study (:mod:`rl_softmax.experiment.tune_config`) is one Optuna study
driven by ask and tell. A batch of asked trials is evaluated as the rows of one
sweep: the study's run, built once with every searched parameter traced
(``swept`` a tuple), is compiled once per shape and called once per batch with
the trials' values as inputs, every trial on the same seeds (common random
numbers). A partial batch is padded to the same shape. With ``fidelity_seeds``,
every trial is first evaluated on fewer seeds and only the best ``keep`` of each
batch on the rest (the others end pruned, their low-fidelity value reported).

The answer is honest: the best trial's setting is evaluated again on fresh seeds
(seed indices from :data:`FRESH_SEED`, which no search and no grid uses) and
reported with that mean and its 95% t interval, not the value that selected it.

Trials live in Optuna storage (:mod:`rl_softmax.experiment.tune_storage`): a run
killed at any point resumes where it stopped, and several processes or machines
on one storage share the budget with no trial evaluated twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from rl_softmax.engine import compile_sweep, sweep
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import outdir, pipeline, stats, tune_config, tune_storage
from rl_softmax.experiment.tune_config import Search

__all__ = [
    "FRESH_SEED",
    "SAMPLERS",
    "TUNE_FILE",
    "StudyTune",
    "TuneResult",
    "report",
    "tune",
    "tuned_study",
]

FRESH_SEED = 2**31
"""The first seed index of the re-evaluation: searches and grids use seeds from 0."""

TUNE_FILE = "tune.json"


class StudyTune(NamedTuple):
    """One study's search and its answer.

    Attributes:
      search: what was searched (:class:`~rl_softmax.experiment.tune_config.Search`).
      best: ``{"params", "at_edge", "metric", "window", "mean", "ci95",
        "num_seeds", "trial", "search_mean"}``: the best trial's setting with its
        mean and 95% interval on ``num_seeds`` fresh seeds (``search_mean``: its
        value in the search; ``at_edge``: the parameters it sets within 5% of an
        end of their range, where a wider range may do better).
      trials: every trial of the budget: ``{"number", "params", "value", "state",
        "seeds"}``.
      agent_steps: the agent-steps this process computed: search (padding
        included) and re-evaluation.
      programs: the compiled programs the evaluations used.
      grid: the config's own sweep of the study, when compared (``--compare-grid``).
    """

    search: Search
    best: dict[str, Any]
    trials: list[dict[str, Any]]
    agent_steps: int
    programs: int
    grid: dict[str, Any] | None = None


class TuneResult(NamedTuple):
    """What :func:`tune` returns: ``{study name: StudyTune}`` and where it wrote
    them (``out/tune.json`` and ``out/plots``), None when not written."""

    studies: dict[str, StudyTune]
    out: Path | None
    paths: list[Path]


def _sampler(name: str, seed: int, batch: int):
    import optuna

    if name == "tpe":
        # the first batch explores; constant_liar spreads a batch's trials apart
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=batch, multivariate=True, constant_liar=True
        )
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    needs = {"gp": ("GPSampler", "torch"), "cmaes": ("CmaEsSampler", "cmaes")}
    cls, package = needs[name]
    try:
        __import__(package)
    except ImportError:
        raise config_lib.ConfigError(
            f"tune.sampler: {name!r} needs the package {package!r} "
            f"(pip install {package}); or use 'tpe' or 'random'."
        ) from None
    return getattr(optuna.samplers, cls)(seed=seed)


SAMPLERS = ("tpe", "gp", "cmaes", "random")


def _distributions(search: Search) -> dict[str, Any]:
    from optuna.distributions import FloatDistribution, IntDistribution

    return {
        p.name: (
            IntDistribution(int(p.low), int(p.high), log=p.log)
            if p.integer
            else FloatDistribution(p.low, p.high, log=p.log)
        )
        for p in search.params
    }


def tuned_study(study: config_lib.StudyConfig, search: Search):
    """``study`` with the searched parameters traced together (its other numbers
    fixed), for one run that evaluates any batch of settings."""
    names = tuple(p.name for p in search.params)
    return dataclasses.replace(
        study,
        param=names[0],
        params=names,
        values=(tuple(p.low for p in search.params),),
        references={},
        fixed={k: v for k, v in study.fixed.items() if k not in names},
        sample_average=study.sample_average and "step_size" not in names,
    )


class _Evaluator:
    """Evaluates settings ``[n, k]`` on seeds with the study's one run."""

    def __init__(self, config, study, search: Search, progress: bool = False):
        self.config = config
        self.name = study.name
        self.progress = progress
        self.run = pipeline.build_run(config, tuned_study(study, search))
        self.host = isinstance(self.run, pipeline.HostStudy)
        steps = 1 if self.host else self.run.env_steps_per_step
        self.final_steps = pipeline.final_run_steps(config.final_steps, steps)
        self.key = jax.random.key(config.seed)
        self.programs: set[int] = set()
        self.agent_steps = 0
        metrics = [m.name for m in self.run.metrics] if not self.host else None
        self.metric = search.metric or (
            "return" if metrics is None or "return" in metrics else "reward"
        )
        if metrics is not None and self.metric not in metrics:
            raise config_lib.ConfigError(
                f"tune.metric: got {self.metric!r}; study {study.name!r} reports "
                f"{metrics}."
            )
        self.window = search.window

    def __call__(self, values: np.ndarray, seeds: np.ndarray):
        """``(mean, sem, n)`` of the objective per setting, and the result."""
        values = np.asarray(values, np.float32)
        from tqdm import tqdm

        total = self.run.num_steps if self.host else len(values) * seeds.size
        with tqdm(
            total=total, unit="step" if self.host else "run", leave=False,
            desc=f"  {self.name}", disable=not self.progress, file=sys.stderr,
        ) as bar:  # fmt: skip

            def advance(done: float) -> None:
                bar.update(done - bar.n)

            if self.host:
                from rl_softmax.engine.host import host_sweep

                run = self.run
                env_seeds = [
                    pipeline._env_seed(self.config.seed, int(s)) for s in seeds
                ]
                result = host_sweep(
                    run.env, run.agent, run.num_steps, values, seeds, key=self.key,
                    env_seeds=env_seeds, agent_params=run.agent_params,
                    swept=run.swept, final_steps=self.final_steps,
                    rollout_shape=run.rollout_shape, on_step=advance,
                )  # fmt: skip
            else:
                settings = {
                    "final_steps": self.final_steps,
                    "max_block_runs": self.config.max_block_runs or None,
                }
                program = compile_sweep(self.run, len(values), seeds.size, **settings)
                self.programs.add(id(program.compiled))
                result = sweep(
                    self.run, values, seeds, key=self.key, on_progress=advance,
                    **settings,
                )  # fmt: skip
        self.agent_steps += len(values) * seeds.size * self.config.num_steps
        if self.metric not in result.metrics:
            raise config_lib.ConfigError(
                f"tune.metric: got {self.metric!r}; the study reports "
                f"{list(result.metrics)}."
            )
        return stats.seed_stats(result, self.metric, self.window), result


def _worst(direction: str) -> float:
    return -math.inf if direction == "maximize" else math.inf


def _rows(search: Search, params: list[dict[str, Any]]) -> np.ndarray:
    """Settings as rows ``[n, k]``, padded to the batch by repeating the last."""
    rows = [[p[q.name] for q in search.params] for p in params]
    rows += [rows[-1]] * (search.batch - len(rows))
    return np.asarray(rows, np.float32)


def _combined(a, b):
    """Means over two disjoint seed sets, each ``(mean, sem, n)``: the mean over
    all of them (each seed one replicate)."""
    (m1, _, n1), (m2, _, n2) = a, b
    with np.errstate(invalid="ignore"):
        return (np.nan_to_num(m1) * n1 + np.nan_to_num(m2) * n2) / (n1 + n2)


def _evaluate_batch(evaluate: _Evaluator, search: Search, taken, study) -> None:
    """Evaluates the taken trials in one call (two with fidelity) and tells them."""
    import optuna

    params = [p for _, p in taken]
    seeds = np.arange(search.seeds, dtype=np.uint32)
    if not search.fidelity_seeds:
        (mean, _, _), _ = evaluate(_rows(search, params), seeds)
        final, fidelity = mean, {}
    else:
        first = evaluate(_rows(search, params), seeds[: search.fidelity_seeds])[0]
        # rank the defined ones only: a NaN would sort first when maximising
        scores = first[0][: len(taken)]
        defined = np.flatnonzero(np.isfinite(scores))
        order = defined[np.argsort(scores[defined])]
        if search.direction == "maximize":
            order = order[::-1]
        keep = max(1, math.ceil(search.keep * search.batch))
        promoted = [int(i) for i in order[:keep]]
        final = np.full(len(taken), np.nan)
        if promoted:
            rows = _rows(
                dataclasses.replace(search, batch=keep), [params[i] for i in promoted]
            )
            rest = evaluate(rows, seeds[search.fidelity_seeds :])[0]
            chosen = tuple(x[promoted] for x in first)
            final[promoted] = _combined(chosen, tuple(x[: len(promoted)] for x in rest))
        fidelity = {i: float(first[0][i]) for i in range(len(taken))}
    worst = _worst(search.direction)
    for i, (number, _) in enumerate(taken):
        value = float(final[i])
        trial_id = study._storage.get_trial_id_from_study_id_trial_number(
            study._study_id, number
        )
        if search.fidelity_seeds:
            low = fidelity[i]
            study._storage.set_trial_intermediate_value(
                trial_id, search.fidelity_seeds, low if math.isfinite(low) else worst
            )
        if search.fidelity_seeds and np.isnan(value) and not np.isnan(fidelity[i]):
            study._storage.set_trial_user_attr(trial_id, "seeds", search.fidelity_seeds)
            study.tell(number, state=optuna.trial.TrialState.PRUNED,
                       skip_if_finished=True)  # fmt: skip
            continue
        study._storage.set_trial_user_attr(trial_id, "seeds", search.seeds)
        if not math.isfinite(value):  # every run diverged or no episode ended
            study._storage.set_trial_user_attr(trial_id, "undefined", True)
            value = worst
        study.tell(number, value, skip_if_finished=True)


def _study_name(config, search: Search) -> str:
    """The Optuna study of a search: the config's hash and everything about the
    search but its budget (a rerun with more trials continues it)."""
    what = {
        "config": pipeline._config_hash(config_lib.to_dict(config)),
        **{k: v for k, v in dataclasses.asdict(search).items() if k != "trials"},
    }
    digest = hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()
    return f"{config.name}.{search.study}.{digest[:12]}"


def _search(
    config, study, search: Search, url: str, say: Callable[[str], None],
    progress: bool,
) -> tuple[StudyTune, _Evaluator]:  # fmt: skip
    import optuna

    evaluate = _Evaluator(config, study, search, progress)
    storage = tune_storage.open_storage(url)
    with tune_storage.file_lock(url):
        optuna_study = optuna.create_study(
            storage=storage, study_name=_study_name(config, search),
            direction=search.direction, load_if_exists=True,
        )  # fmt: skip
    store = tune_storage.TrialStore(optuna_study, url, search.trials)
    distributions = _distributions(search)

    def reseed(number: int) -> None:
        # per trial number: the same history asks the same settings, so a search
        # resumed after a kill asks what it would have asked
        optuna_study.sampler = _sampler(
            search.sampler, search.seed * 1_000_003 + number, search.batch
        )

    def ask():
        reseed(len(optuna_study.get_trials(deepcopy=False)))  # the next number
        return optuna_study.ask(distributions)

    def sample(trial_id: int, number: int) -> dict[str, Any]:
        """The params of an abandoned trial (sampled now where its process died
        before storing them)."""
        reseed(number)
        trial = optuna.Trial(optuna_study, trial_id)
        for name, distribution in distributions.items():
            trial._suggest(name, distribution)
        return dict(trial.params)

    start = time.perf_counter()
    try:
        while True:
            taken = store.take(search.batch, ask, sample)
            if not taken:
                if not store.others_running():
                    break
                time.sleep(1.0)  # another process finishes its batch
                continue
            _evaluate_batch(evaluate, search, taken, optuna_study)
            store.done()
            finished = _finished(optuna_study, search.trials)
            say(
                f"  {search.study}: {len(finished)} of {search.trials} trials, "
                f"best {evaluate.metric} {_best_value(finished, search):.4g} "
                f"({time.perf_counter() - start:.1f} s)"
            )
    finally:
        store.close()
    trials = _finished(optuna_study, search.trials)
    best = _answer(evaluate, search, trials)
    say(
        f"  {search.study}: {len(evaluate.programs)} compiled program(s) "
        f"for {search.trials} trials"
    )
    tuned = StudyTune(
        search, best, [_trial_row(t) for t in trials], evaluate.agent_steps,
        len(evaluate.programs),
    )  # fmt: skip
    return tuned, evaluate


def _finished(study, budget: int) -> list:
    import optuna

    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    trials = study.get_trials(deepcopy=False, states=done)
    return sorted((t for t in trials if t.number < budget), key=lambda t: t.number)


def _trial_value(trial) -> float:
    """A complete trial's value, a pruned one's low-fidelity value."""
    if trial.value is not None:
        return float(trial.value)
    steps = trial.intermediate_values
    return float(steps[max(steps)]) if steps else math.nan


def _best_value(trials, search: Search) -> float:
    complete = [float(t.value) for t in trials if t.value is not None]
    if not complete:
        return math.nan
    return max(complete) if search.direction == "maximize" else min(complete)


def _trial_row(trial) -> dict[str, Any]:
    return {
        "number": trial.number,
        "params": dict(trial.params),
        "value": _trial_value(trial),
        "state": trial.state.name.lower(),
        "seeds": trial.user_attrs.get("seeds"),
    }


EDGE = 0.05
"""An answer this close to an end of its range (a fraction of the range, on the
parameter's scale) is flagged: the best may lie outside the range searched."""


def _at_edge(param, value: float) -> bool:
    low, high, x = param.low, param.high, value
    if param.log:
        low, high, x = math.log(low), math.log(high), math.log(value)
    return min(x - low, high - x) <= EDGE * (high - low)


def _answer(evaluate: _Evaluator, search: Search, trials) -> dict[str, Any]:
    """The best complete trial, evaluated again on fresh seeds."""
    complete = [t for t in trials if t.value is not None and math.isfinite(t.value)]
    if not complete:
        raise RuntimeError(
            f"study {search.study!r}: no trial has a defined {evaluate.metric}."
        )
    pick = max if search.direction == "maximize" else min
    best = pick(complete, key=lambda t: t.value)
    seeds = FRESH_SEED + np.arange(search.eval_seeds, dtype=np.uint32)
    row = np.asarray([[best.params[p.name] for p in search.params]], np.float32)
    (mean, sem, n), _ = evaluate(row, seeds)
    mean, sem, n = float(mean[0]), float(sem[0]), int(n[0])
    half = float(stats.half_width(sem, n))
    return {
        "params": {
            p.name: float(str(np.float32(best.params[p.name]))) for p in search.params
        },  # fmt: skip
        "at_edge": [p.name for p in search.params if _at_edge(p, best.params[p.name])],
        "metric": evaluate.metric,
        "window": evaluate.window,
        "mean": mean,
        "ci95": [mean - half, mean + half],
        "num_seeds": n,
        "trial": best.number,
        "search_mean": float(best.value),
    }


def _grid(config, study, tuned: StudyTune, evaluate, out_dir, say, draw):
    """The config's own sweep of the study, its best value (same metric and
    window), and both answers evaluated again on the same fresh seeds (the paired
    difference of tune minus grid, with its 95% t interval)."""
    search = tuned.search
    only = dataclasses.replace(config, studies=(study,))
    results = pipeline.run_experiment(
        only, None if out_dir is None else out_dir / "grid" / study.name,
        write=out_dir is not None, progress=False, draw=draw, overwrite=True,
    )  # fmt: skip
    result = results.studies[study.name]
    mean, sem, n = stats.seed_stats(result, evaluate.metric, search.window)
    values = np.asarray(result.values)
    references = np.asarray(list(study.references.values()), values.dtype)
    swept_values = values if values.ndim == 1 else values[:, 0]
    candidates = np.flatnonzero(~np.isin(swept_values, references) & ~np.isnan(mean))
    pick = np.argmax if search.direction == "maximize" else np.argmin
    i = int(candidates[pick(mean[candidates])])
    half = float(stats.half_width(sem[i], n[i]))
    say(f"  {study.name}: the grid's {len(values)} values x {config.num_seeds} seeds")
    setting = dict(zip(study.swept, np.atleast_1d(values[i]).tolist(), strict=True))
    grid_row = [setting.get(p.name, study.fixed.get(p.name)) for p in search.params]
    tune_row = [tuned.best["params"][p.name] for p in search.params]
    seeds = FRESH_SEED + np.arange(search.eval_seeds, dtype=np.uint32)
    steps_before = evaluate.agent_steps
    (fresh, fresh_sem, fresh_n), both = evaluate(
        np.asarray([tune_row, grid_row], np.float32), seeds
    )
    samples = stats.run_samples(both, evaluate.metric, search.window)
    diff_mean, diff_sem, diff_n = stats.mean_sem(samples[0] - samples[1])
    diff_half = float(stats.half_width(diff_sem, diff_n))
    fresh_half = float(stats.half_width(fresh_sem[1], fresh_n[1]))
    return {
        "params": {k: float(str(np.float32(v))) for k, v in setting.items()},
        "mean": float(mean[i]),
        "ci95": [float(mean[i]) - half, float(mean[i]) + half],
        "num_seeds": int(n[i]),
        "agent_steps": len(values) * config.num_seeds * config.num_steps,
        "values": np.asarray(values, np.float64).tolist(),
        "means": [float(m) for m in mean],
        "fresh": {
            "mean": float(fresh[1]),
            "ci95": [float(fresh[1]) - fresh_half, float(fresh[1]) + fresh_half],
            "num_seeds": int(fresh_n[1]),
        },
        "tune_minus_grid": {
            "mean": float(diff_mean),
            "ci95": [float(diff_mean) - diff_half, float(diff_mean) + diff_half],
            "num_seeds": int(diff_n),
        },
        "comparison_agent_steps": evaluate.agent_steps - steps_before,
    }


def _checked_storage(url: str) -> None:
    """One line if the storage cannot be opened."""
    try:
        tune_storage.open_storage(url)
    except Exception as err:  # SQLAlchemy, OSError, a bad URL: all one line
        reason = (
            str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        )
        raise config_lib.ConfigError(
            f"--storage {url}: cannot open it ({reason})."
        ) from None


def tune(
    config: str | os.PathLike | Mapping | config_lib.ExperimentConfig,
    out: str | os.PathLike | None = None,
    *,
    overrides: Sequence[str] = (),
    storage: str | None = None,
    compare_grid: bool = False,
    write: bool = True,
    draw: Callable | None = None,
    draw_grid: Callable | None = None,
    log: Callable[[str], None] | None = None,
    progress: bool = False,
) -> TuneResult:
    """Searches each tuned study's parameters with Optuna and answers honestly.

    Args:
      config: a TOML path (or shipped config name), a parsed dict or an
        :class:`~rl_softmax.experiment.config.ExperimentConfig`; its ``[tune]``
        table says what to search (:mod:`~rl_softmax.experiment.tune_config`).
      out: the directory of ``tune.json``, the default storage and the plots
        (default ``results/<config name>/tune``).
      overrides: ``key=value`` overrides (``tune.trials=32``).
      storage: an Optuna storage URL shared by every process of the search
        (default: ``sqlite:///<out>/tune.db``; ``journal:PATH`` for a journal file).
      compare_grid: also run the config's own sweep of each tuned study and
        record its best beside the tune's.
      write: write ``tune.json`` and plots (False: storage only, nothing else).
      draw: ``(out_dir, TuneResult) -> paths``, e.g.
        :func:`rl_softmax.plotting.draw_tune`.
      draw_grid: the compared grid's figures, as ``run_experiment``'s ``draw``
        (e.g. :func:`rl_softmax.plotting.draw_experiment`; into
        ``out/grid/<study>/plots``).
      log: where progress lines go.
      progress: a progress bar for each batch (``rl-softmax tune`` shows it).

    Returns:
      a :class:`TuneResult`.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    say = log or (lambda line: None)
    config = pipeline._as_config(config, overrides)
    searches = tune_config.searches(config)
    out_dir = (
        Path(out) if out is not None else outdir.results_dir(None, config.name) / "tune"
    )
    url = storage or tune_storage.default_storage(out_dir)
    _checked_storage(url)
    by_name = {s.name: s for s in config.studies}
    studies = {}
    for search in searches:
        study = by_name[search.study]
        names = ", ".join(p.name for p in search.params)
        say(
            f"  {study.name}: {search.trials} trials of ({names}), {search.batch} "
            f"per compiled call, {search.seeds} seeds each, {search.sampler} sampler"
            f" -> {url}"
        )
        tuned, evaluate = _search(config, study, search, url, say, progress)
        if compare_grid:
            tuned = tuned._replace(
                grid=_grid(config, study, tuned, evaluate,
                           out_dir if write else None, say, draw_grid)
            )  # fmt: skip
        studies[study.name] = tuned
    result = TuneResult(studies, out_dir if write else None, [])
    if write:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / TUNE_FILE
        path.write_text(json.dumps(report(config, result, url), indent=2) + "\n")
        result.paths.append(path)
        if draw is not None:
            result.paths.extend(draw(out_dir, result))
    return result


def report(config, result: TuneResult, url: str) -> dict[str, Any]:
    """``tune.json``: per study its answer, the agent-steps spent and the trials;
    with one tuned study its ``best``, ``agent_steps`` and ``trials`` also at the
    top."""
    studies = {}
    for name, tuned in result.studies.items():
        maximize = tuned.search.direction == "maximize"
        entry = {
            "best": tuned.best,
            "agent_steps": tuned.agent_steps,
            "trials": tuned.trials,
            "search": dataclasses.asdict(tuned.search),
            "programs": tuned.programs,
        }
        if tuned.grid is not None:
            low, high = tuned.grid["ci95"]
            entry["grid"] = tuned.grid
            entry["within_grid_interval"] = bool(low <= tuned.best["mean"] <= high)
            # paired on the fresh seeds: not worse unless the interval is below 0
            worse = tuned.grid["tune_minus_grid"]["ci95"][1 if maximize else 0]
            entry["not_worse_than_grid"] = bool(worse >= 0 if maximize else worse <= 0)
            entry["agent_steps_ratio"] = tuned.agent_steps / tuned.grid["agent_steps"]
        studies[name] = entry
    out = {"config": config.name, "storage": url, "studies": studies}
    if len(studies) == 1:
        (only,) = studies.values()
        out = {k: only[k] for k in ("best", "agent_steps", "trials")} | out
    return out
