"""``run_experiment`` end to end: a small MDP registered from the tests, swept over
tau, against hand-computed and independent NumPy numbers; the results it returns
are the ones it writes."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from chain_mdp import (
    ChainMDP,
    FixedParams,
    fixed_boltzmann,
    ratio_se,
    simulate,
    simulate_learner,
)

from rl_softmax import plotting
from rl_softmax.experiment import ConfigError, registry, results, run_experiment, stats
from rl_softmax.experiment.registry import AgentEntry, EnvEntry, Param

SIGMAS = 4.0
LENGTH, MAX_STEPS, NUM_STEPS, NUM_SEEDS = 4, 12, 300, 300


@pytest.fixture
def chain(monkeypatch):
    """The chain MDP and the fixed-preference Boltzmann agent, registered by name
    for the test only."""
    monkeypatch.setitem(
        registry.ENVS,
        "chain",
        EnvEntry(
            "chain", "a corridor with a goal", ChainMDP, ("goal_reward", "gamma"),
            sizes={"length": (3, 1), "max_steps": (20, 1)},
        ),
    )  # fmt: skip
    tau = Param("tau", "tau", None, 0.0, math.inf, True, "τ", "temperature τ")
    monkeypatch.setitem(
        registry.AGENTS,
        "fixed_boltzmann",
        AgentEntry(
            "fixed_boltzmann", "softmax over fixed preferences", FixedParams, (tau,),
            lambda study, num_actions, num_steps: fixed_boltzmann(),
        ),
    )  # fmt: skip


def _config(**study) -> dict:
    return {
        "name": "chain",
        "seed": 3,
        "num_seeds": NUM_SEEDS,
        "num_steps": NUM_STEPS,
        "final_steps": 50,
        "env": {"name": "chain", "length": LENGTH, "max_steps": MAX_STEPS},
        "studies": [{"name": "s", "param": "tau", **study}],
    }


def _pooled(result, metric, index):
    m = result.metrics[metric]
    return (m.run_mean[index] * m.run_weight[index]).sum() / m.run_weight[index].sum()


def _assert_pooled_agree(result, index, reference, metric):
    """The pooled episode mean of ``metric`` at value ``index`` agrees with the
    NumPy ``reference`` within 4 combined ratio-estimator standard errors."""
    m = result.metrics[metric]
    sums = m.run_mean[index].astype(np.float64) * m.run_weight[index]
    se = math.hypot(
        ratio_se(sums, m.run_weight[index]),
        ratio_se(reference[metric], reference["episodes"]),
    )
    theirs = reference[metric].sum() / reference["episodes"].sum()
    ours = _pooled(result, metric, index)
    assert abs(ours - theirs) <= SIGMAS * se, (index, metric, ours, theirs)


def test_fixed_policy_sweep_matches_hand_computed_and_numpy(chain, tmp_path):
    config = _config(
        agent="fixed_boltzmann", values=[0.5, 2.0],
        references={"greedy (τ = 0)": 0.0, "uniform (τ = ∞)": math.inf},
    )  # fmt: skip
    out = run_experiment(config, tmp_path / "out", progress=False, cache_dir=False)
    result = out.studies["s"]
    np.testing.assert_array_equal(result.values, [0.5, 2.0, 0.0, np.inf])
    # greedy: every episode walks straight to the goal (hand-computed)
    greedy = {m: result.metrics[m] for m in ("return", "length", "success")}
    np.testing.assert_array_equal(greedy["length"].run_mean[2], LENGTH)
    np.testing.assert_array_equal(greedy["return"].run_mean[2], 1.0)
    np.testing.assert_array_equal(greedy["success"].run_weight[2], NUM_STEPS // LENGTH)
    # every other tau against the NumPy simulation of the same policy and chain
    for index, tau in ((0, 0.5), (1, 2.0), (3, math.inf)):
        reference = simulate(tau, LENGTH, MAX_STEPS, NUM_STEPS, NUM_SEEDS, seed=7)
        for metric in ("return", "length", "success"):
            _assert_pooled_agree(result, index, reference, metric)
    # a per-episode summary row is the mean over runs of each run's own episode
    # mean (NumPy from the saved arrays); the pooled mean has its own rows
    rows = {
        r["metric"]: r for r in out.rows if (r["window"], r["value"]) == ("all", 0.5)
    }
    saved = results.load_study(tmp_path / "out", "s")
    for metric in ("return", "length", "success"):
        per_run = saved.metrics[metric].run_mean[0].astype(np.float64)
        assert rows[metric]["mean"] == np.mean(per_run[~np.isnan(per_run)])
        assert rows[metric]["num_seeds"] == np.count_nonzero(~np.isnan(per_run))
        np.testing.assert_allclose(
            rows[metric + "_pooled"]["mean"], _pooled(result, metric, 0), rtol=1e-6
        )
    # the best setting maximises the episode return, references left out
    best = out.best("s")
    assert best.metric == "return" and best.value == 0.5


def test_learning_agent_on_the_mdp_matches_numpy(chain, tmp_path):
    config = _config(agent="action_value", rule="boltzmann", values=[0.1, 1.0])
    out = run_experiment(config, write=False, progress=False, cache_dir=False)
    assert out.out is None and out.paths == []
    result = out.studies["s"]
    for index, tau in enumerate((0.1, 1.0)):
        reference = simulate_learner(
            tau, LENGTH, MAX_STEPS, NUM_STEPS, NUM_SEEDS, seed=11
        )
        for metric in ("return", "success"):
            _assert_pooled_agree(result, index, reference, metric)
        ours = result.metrics["reward"].run_mean[index].astype(np.float64)
        se = math.hypot(ours.std(ddof=1), reference["reward"].std(ddof=1))
        assert abs(ours.mean() - reference["reward"].mean()) <= SIGMAS * se / math.sqrt(
            NUM_SEEDS
        )


def test_returned_results_are_what_was_written(chain, tmp_path):
    config = _config(agent="fixed_boltzmann", values=[1.0, 4.0])
    config["num_seeds"] = 16
    out = run_experiment(
        config, tmp_path, progress=False, cache_dir=False,
        draw=plotting.draw_experiment,
    )  # fmt: skip
    saved = results.load_study(tmp_path, "s")
    for name, metric in out.studies["s"].metrics.items():
        for field, array in metric._asdict().items():
            if array is not None:
                np.testing.assert_array_equal(
                    getattr(saved.metrics[name], field), array
                )
    assert out.rows == stats.summary_rows("s", saved, label="s", param="tau")
    assert (tmp_path / "summary.csv").exists()
    names = sorted(p.name for p in (tmp_path / "plots").iterdir())
    # The chain pays 1 exactly on success: return and success are the same numbers,
    # so the second panel is % optimal action.
    assert names == ["s_curves_optimal.png", "s_curves_return.png", "s_sweep.png"]
    assert set(out.timings) == {"compile", "run", "write", "plot"}
    info = out.metadata["studies"]["s"]
    assert info["param_symbol"] == "τ" and info["num_actions"] == 2


def test_a_different_config_in_the_same_directory_is_refused(chain, tmp_path):
    config = _config(agent="fixed_boltzmann", values=[1.0])
    config["num_seeds"] = 8
    run_experiment(config, tmp_path, progress=False, cache_dir=False)
    config["num_seeds"] = 9
    with pytest.raises(ConfigError, match="different config"):
        run_experiment(config, tmp_path, progress=False, cache_dir=False)
    (tmp_path / "afile").write_text("")
    with pytest.raises(ConfigError, match="not a directory"):
        run_experiment(config, tmp_path / "afile", progress=False, cache_dir=False)


def test_second_process_loads_the_compiled_program_from_the_cache(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        import jax
        hits = []
        jax.monitoring.register_event_listener(
            lambda event, **kw: hits.append(event)
            if event == "/jax/compilation_cache/cache_hits" else None
        )
        from rl_softmax.experiment import run_experiment
        config = {"name": "c", "num_seeds": 4, "num_steps": 10,
                  "studies": [{"name": "b", "rule": "boltzmann", "values": [1.0]}]}
        run_experiment(config, write=False, progress=False, cache_dir=sys.argv[1])
        print(len(hits))
        """
    )
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if k != "RL_SOFTMAX_CACHE_DIR"}
    counts = [
        subprocess.run(
            [sys.executable, "-c", script, str(cache)],
            env=env, check=True, capture_output=True, text=True,
        ).stdout.split()[-1]
        for _ in range(2)
    ]  # fmt: skip
    assert counts[0] == "0" and int(counts[1]) >= 1
    assert any(cache.iterdir())


def test_what_only_building_a_run_finds_is_a_config_error(tmp_path):
    config = {
        "name": "g", "num_seeds": 2, "num_steps": 5,
        "studies": [{"name": "bge", "rule": "boltzmann_gumbel", "values": [1.0],
                     "track_probs": True}],
    }  # fmt: skip
    with pytest.raises(ConfigError, match=r"studies\[0\] \(bge\): track_probs"):
        run_experiment(config, tmp_path / "out", progress=False, cache_dir=False)
    assert not (tmp_path / "out").exists()  # nothing written before the error
    (tmp_path / "afile").write_text("")
    config["studies"][0]["track_probs"] = False
    with pytest.raises(ConfigError, match="cannot be a results directory"):
        run_experiment(config, tmp_path / "afile" / "sub", progress=False)


def test_a_library_call_leaves_the_jax_configuration_as_it_found_it(tmp_path):
    """run_experiment from Python turns on no persistent compilation cache and asks
    for no devices unless told to (issue 23): a fresh process has JAX's defaults
    afterwards. Asked, it does both."""
    script = textwrap.dedent(
        """
        import json, sys
        import jax
        from rl_softmax.experiment import run_experiment
        config = {"name": "c", "num_seeds": 4, "num_steps": 10,
                  "studies": [{"name": "b", "rule": "boltzmann", "values": [1.0]}]}
        asked = dict(cache_dir=sys.argv[1], devices=2) if len(sys.argv) > 1 else {}
        run_experiment(config, write=False, progress=False, **asked)
        print(json.dumps([jax.config.jax_compilation_cache_dir, len(jax.devices())]))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "XLA_"))}

    def run(*args):
        out = subprocess.run(
            [sys.executable, "-c", script, *args],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return json.loads(out.stdout.splitlines()[-1])

    assert run() == [None, 1]
    cache = tmp_path / "cache"
    assert run(str(cache)) == [str(cache), 2]
    assert any(cache.iterdir())
