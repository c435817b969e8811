"""``rl-softmax tune``: the [tune] table, trials evaluated in one compiled program
per shape, each trial's value against the one-parameter sweep of its setting, the
answer against a sweep on the fresh seeds, resume after SIGKILL, two processes on
one storage, and the one-line errors."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import optuna
import pytest

from rl_softmax.cli import main
from rl_softmax.engine import sweep
from rl_softmax.experiment import ConfigError, config, pipeline, stats, tune_config
from rl_softmax.experiment.tuning import FRESH_SEED, tune
from rl_softmax.plotting import draw_tune
from rl_softmax.plotting.tune import trial_points

REPO = Path(__file__).resolve().parents[1]

# a small testbed: 16 trials of 16 seeds, batches of 4 (one compiled call each)
TINY = {
    "name": "tiny_tune",
    "seed": 3,
    "num_seeds": 64,
    "num_steps": 60,
    "final_steps": 20,
    "env": {"name": "gaussian", "num_arms": 5},
    "studies": [
        {
            "name": "boltzmann",
            "rule": "boltzmann",
            "param": "tau",
            "log2_range": [-5, 2],
            "references": {"greedy": 0.0},
        }
    ],
    "tune": {"trials": 12, "batch": 4, "seeds": 16, "eval_seeds": 24},
}


def _config(**tune):
    raw = json.loads(json.dumps(TINY))
    raw["tune"].update(tune)
    return config.from_dict(raw)


def _toml(path: Path, num_steps: int = 4000, **tune) -> Path:
    lines = [
        'name = "tiny_tune"', "seed = 3", "num_seeds = 64", f"num_steps = {num_steps}",
        "final_steps = 20", "[env]", 'name = "gaussian"', "num_arms = 5",
        "[[studies]]", 'name = "boltzmann"', 'rule = "boltzmann"', 'param = "tau"',
        "log2_range = [-5, 2]", "[tune]",
        *(f"{k} = {json.dumps(v)}" for k, v in {**TINY["tune"], **tune}.items()),
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def test_defaults_search_the_swept_parameter_over_its_values():
    (search,) = tune_config.searches(_config())
    (param,) = search.params
    assert (param.name, param.low, param.high, param.log) == ("tau", 2**-5, 4.0, True)
    assert (search.trials, search.batch, search.seeds) == (12, 4, 16)
    shipped = config.load("configs/bandit_tau_sweep.toml")  # the spelling
    (default,) = tune_config.searches(shipped)
    assert default.seeds == shipped.num_seeds // 8
    assert default.eval_seeds == shipped.num_seeds // 2
    assert default.sampler == "tpe" and default.direction == "maximize"


@pytest.mark.parametrize(
    "tune, message",
    [
        ({"trails": 3}, r"tune: unknown key\(s\) \['trails'\]"),
        ({"params": {"num_arms": {"low": 1, "high": 4}}}, "tune.params.num_arms"),
        ({"params": {"tau": {"low": 1.0, "high": 0.5}}}, "low < high"),
        ({"params": {"tau": {"low": 0.0, "high": 1.0, "log": True}}}, "log scale"),
        ({"params": {"tau": {"low": -1.0, "high": 1.0}}}, "tune.params.tau.low"),
        ({"params": {"step_size": {"low": 0.1, "high": 1.0}}}, "add \\['tau'\\]"),
        ({"sampler": "bayes"}, "tune.sampler: got 'bayes'"),
        ({"fidelity_seeds": 16}, "tune.fidelity_seeds"),
        ({"keep": 0}, "tune.keep"),
        ({"studies": ["nope"]}, "tune.studies"),
        ({"trials": 0}, "tune.trials"),
    ],
)
def test_bad_tune_tables_are_refused_naming_the_key(tune, message):
    with pytest.raises(ConfigError, match=message):
        tune_config.searches(_config(**tune))


def test_a_parameter_that_sets_shapes_is_refused_by_name():
    raw = config.load("cartpole_softmax_pg")
    table = {"params": {"num_envs": {"low": 2, "high": 8, "type": "int"}}}
    with pytest.raises(ConfigError, match="num_envs.*sets shapes"):
        tune_config.searches(raw, table)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    out = tmp_path_factory.mktemp("tune")
    events = []

    def listener(event, duration, **kwargs):
        if "backend_compile" in event:
            events.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        result = tune(_config(), out, draw=draw_tune)
        first = len(events)
        # the same search with 3x the batches: no compilation more
        more = tune(_config(trials=36, seed=1), out / "more")
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return result, more, first, len(events) - first


def test_one_compiled_program_per_shape_whatever_the_number_of_batches(tuned):
    result, more, first, second = tuned
    assert result.studies["boltzmann"].programs == 2  # the batches, the answer
    assert more.studies["boltzmann"].programs == 2
    # 9 batches of a new search: two XLA compilations, the batch and the answer
    assert first >= second == 2


def test_every_trial_equals_the_sweep_of_its_setting(tuned):
    """A trial's value is the objective of a one-parameter sweep of its tau on
    the same 16 seeds (the trials of a batch share them)."""
    result = tuned[0]
    study = result.studies["boltzmann"]
    trials = study.trials
    assert [t["number"] for t in trials] == list(range(12))
    assert all(t["state"] == "complete" and t["seeds"] == 16 for t in trials)
    taus = [t["params"]["tau"] for t in trials]
    cfg = dataclasses.replace(_config(), num_seeds=16)
    cfg = dataclasses.replace(
        cfg,
        studies=(
            dataclasses.replace(cfg.studies[0], values=tuple(taus), references={}),
        ),  # fmt: skip
    )
    alone = pipeline.run_experiment(cfg, write=False, progress=False)
    mean = stats.seed_stats(alone.studies["boltzmann"], "reward", "all")[0]
    np.testing.assert_array_equal([t["value"] for t in trials], mean)


def test_the_answer_is_the_best_trial_evaluated_on_fresh_seeds(tuned):
    study = tuned[0].studies["boltzmann"]
    values = [t["value"] for t in study.trials]
    best = study.best
    assert best["trial"] == int(np.argmax(values))
    assert best["search_mean"] == max(values)
    cfg = _config()
    run = pipeline.build_run(cfg, cfg.studies[0])
    seeds = FRESH_SEED + np.arange(24)
    fresh = sweep(run, [best["params"]["tau"]], seeds, key=jax.random.key(3),
                  final_steps=20)  # fmt: skip
    mean, sem, n = stats.seed_stats(fresh, "reward", "all")
    assert best["mean"] == mean[0] and best["num_seeds"] == n[0] == 24
    half = stats.half_width(sem[0], n[0])
    np.testing.assert_allclose(best["ci95"], [mean[0] - half, mean[0] + half])
    # flagged at the edge when within 5% of the log range of an end
    position = np.log(best["params"]["tau"] / 2**-5) / np.log(4.0 / 2**-5)
    assert best["at_edge"] == (["tau"] if min(position, 1 - position) <= 0.05 else [])
    report = json.loads((tuned[0].out / "tune.json").read_text())
    assert report["best"] == best and len(report["trials"]) == 12
    assert report["agent_steps"] == (3 * 4 * 16 + 24) * 60


def test_the_plots_show_the_trials(tuned):
    result = tuned[0]
    names = sorted(p.name for p in result.paths if p.suffix == ".png")
    assert names == ["boltzmann_tune_history.png", "boltzmann_tune_params.png"]
    params, value, complete = trial_points(result.studies["boltzmann"])
    assert complete.all()
    np.testing.assert_array_equal(
        value, [t["value"] for t in result.studies["boltzmann"].trials]
    )
    assert params["tau"].shape == (12,)


def test_two_parameters_and_cheap_first_fidelity(tmp_path):
    cfg = _config(
        trials=8, fidelity_seeds=4, keep=0.5, sampler="random",
        params={"tau": {"low": 0.05, "high": 2.0, "log": True},
                "step_size": {"low": 0.05, "high": 0.5}},
    )  # fmt: skip
    result = tune(cfg, tmp_path, draw=draw_tune)
    study = result.studies["boltzmann"]
    states = [t["state"] for t in study.trials]
    # the best half of each batch of 4 goes on to all 16 seeds
    assert states.count("complete") == states.count("pruned") == 4
    assert {t["seeds"] for t in study.trials if t["state"] == "pruned"} == {4}
    assert (tmp_path / "plots" / "boltzmann_tune_map.png").exists()
    # a complete trial's value is its setting's mean over all 16 seeds
    trial = next(t for t in study.trials if t["state"] == "complete")
    cfg16 = dataclasses.replace(cfg, num_seeds=16)
    tuned_study = dataclasses.replace(
        cfg16.studies[0], values=(trial["params"]["tau"],), references={},
        fixed={**cfg16.studies[0].fixed, "step_size": trial["params"]["step_size"]},
        sample_average=False,
    )  # fmt: skip
    alone = pipeline.run_experiment(
        dataclasses.replace(cfg16, studies=(tuned_study,)), write=False,
        progress=False,
    )  # fmt: skip
    mean = stats.seed_stats(alone.studies["boltzmann"], "reward", "all")[0][0]
    np.testing.assert_allclose(trial["value"], mean, rtol=1e-12)


def _tune_cli(*args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "rl_softmax", "tune", *args, "--no-plots"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _trials(storage: str) -> list:
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    return study.get_trials(deepcopy=False)


def test_sigkill_then_rerun_completes_the_budget_and_loses_nothing(tmp_path):
    # batches of about a second, so that the kill lands inside the search
    path = _toml(tmp_path / "tiny.toml", num_steps=100_000, trials=16)
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    proc = _tune_cli(str(path), "--out", str(tmp_path / "a"), "--storage", storage)
    deadline = time.time() + 120
    while time.time() < deadline:
        time.sleep(0.2)
        try:
            done = [t for t in _trials(storage) if t.state.is_finished()]
        except Exception:  # storage not created yet
            continue
        if len(done) >= 4:
            break
    assert proc.poll() is None, "the search ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {t.number: (t.params, t.value) for t in _trials(storage)
              if t.state.is_finished()}  # fmt: skip
    assert 4 <= len(before) < 16
    rerun = _tune_cli(str(path), "--out", str(tmp_path / "a"), "--storage", storage)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    trials = _trials(storage)
    assert sorted(t.number for t in trials) == list(range(16))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    after = {t.number: (t.params, t.value) for t in trials}
    assert all(after[n] == before[n] for n in before)
    # and an uninterrupted search asks and scores the same 16 trials
    straight = _tune_cli(str(path), "--out", str(tmp_path / "b"))
    assert straight.communicate(timeout=300) and straight.returncode == 0
    report = json.loads((tmp_path / "b" / "tune.json").read_text())
    assert {t["number"]: (t["params"], t["value"]) for t in report["trials"]} == after


def test_two_processes_share_one_budget_without_duplicates(tmp_path):
    path = _toml(tmp_path / "tiny.toml", trials=20)
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    procs = [
        _tune_cli(str(path), "--out", str(tmp_path / f"p{i}"), "--storage", storage)
        for i in range(2)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    trials = _trials(storage)
    assert sorted(t.number for t in trials) == list(range(20))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    reports = [json.loads((tmp_path / f"p{i}" / "tune.json").read_text())
               for i in range(2)]  # fmt: skip
    assert reports[0]["trials"] == reports[1]["trials"]
    assert reports[0]["best"]["params"] == reports[1]["best"]["params"]
    # both did part of the work: more agent-steps than one search alone is false
    searched = [r["agent_steps"] - 24 * 4000 for r in reports]
    assert sum(searched) >= 20 * 16 * 4000  # every trial evaluated (padding aside)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--storage", "sqlite:////proc/no/such/dir/t.db"],
            "--storage sqlite:////proc",
        ),
        (["--storage", "nosuchdb://x"], "--storage nosuchdb://x: cannot open it"),
        (["--sampler", "bayes"], "tune.sampler: got 'bayes'"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, capsys, args, message):
    path = _toml(tmp_path / "tiny.toml")
    code = main(["tune", str(path), "--out", str(tmp_path / "o"), *args])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err


def test_a_host_study_tunes_with_the_runs_of_run_experiment(tmp_path):
    """gymnasium's FrozenLake on the host: each trial's value is the host run of
    its setting on the same seeds (agent keys and gymnasium seeds alike)."""
    raw = {
        "name": "host_tune", "num_seeds": 8, "num_steps": 300, "final_steps": 100,
        "env": {"name": "FrozenLake-v1", "backend": "host"},
        "studies": [{"name": "q", "agent": "q_learning", "rule": "boltzmann",
                     "values": [0.01, 1.0]}],
        "tune": {"trials": 4, "batch": 2, "seeds": 2, "eval_seeds": 3},
    }  # fmt: skip
    result = tune(config.from_dict(raw), tmp_path)
    trials = result.studies["q"].trials
    assert len(trials) == 4 and all(t["state"] == "complete" for t in trials)
    cfg = config.from_dict({**raw, "num_seeds": 2})
    one = dataclasses.replace(
        cfg.studies[0], values=tuple(t["params"]["tau"] for t in trials)
    )
    alone = pipeline.run_experiment(
        dataclasses.replace(cfg, studies=(one,)), write=False, progress=False
    )
    mean = stats.seed_stats(alone.studies["q"], "return", "all")[0]
    np.testing.assert_array_equal([t["value"] for t in trials], mean)
    assert result.studies["q"].best["num_seeds"] == 3
