"""Configs of the rollout agents (ppo, a2c, ppo_auto) on classic control: the shipped
ones run on a tiny override and draw their figures, and bad settings are refused
with the field, the value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from experiment_scripts import script

from rl_softmax import plotting
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import registry, run_experiment
from rl_softmax.experiment.pipeline import final_run_steps

REPO = Path(__file__).resolve().parents[1]


def _is_rollout(path: Path) -> bool:
    return any(s.rollout for s in config_lib.load(path).studies)


CONFIGS = [
    p
    for p in sorted((REPO / "rl_softmax" / "configs").glob("*.toml"))
    if _is_rollout(p)
]
# readme_figures.py runs some of them at the same size: the first run is reused
TINY = script("readme_figures").QUICK_POLICY  # 2 seeds x 1024 steps
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_the_classic_control_configs_are_shipped():
    names = {p.stem for p in CONFIGS}
    assert {
        "cartpole_softmax_pg", "cartpole_entropy_sweep", "acrobot_entropy_sweep",
        "mountaincar_entropy_sweep", "lunarlander_host",
    } <= names  # fmt: skip


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_runs_on_a_tiny_override(path, shared_results):
    # the folder readme_figures.py's quick run of the config writes
    results = shared_results(
        path, f"{path.stem}_4x20", overrides=TINY, progress=False,
        draw=plotting.draw_experiment,
    )  # fmt: skip
    out = results.out
    config = results.config
    for study in config.studies:
        result = results.studies[study.name]
        num_values = len(study.values) + len(study.references)
        batch = study.rollout["num_envs"] * study.rollout["rollout_steps"]
        # 1024 steps: 1024 / batch updates, a curve point after each
        # (a long curve is kept at evenly spaced points, multiples of the batch)
        steps = np.asarray(result.steps)
        assert steps[-1] == 1024 and np.all(steps % batch == 0)
        assert np.all(np.diff(steps) == steps[0])
        assert result.final_steps == max(512, batch)
        for name in ("return", "entropy", "eval_return", "greedy_return", "solved"):
            assert result.metrics[name].run_mean.shape == (num_values, 2)
        entropy = result.metrics["entropy"].run_mean
        # a greedy behaviour (a DQN study's) has no entropy, every other some
        low = entropy >= 0 if study.rule == "greedy" else entropy > 0
        assert np.all(low) and np.all(entropy <= np.log(config.env.num_actions) + 1e-6)
        if study.agent in ("ppo", "a2c", "ppo_auto"):
            # a policy network starts uniform (its output layer has gain 0.01): the
            # first update's rollout has entropy log K (docs/tutorials/cartpole-...)
            first = result.metrics["entropy"].curve_mean[:, 0]
            np.testing.assert_allclose(first, np.log(config.env.num_actions), atol=1e-4)
    plots = {p.name for p in (out / "plots").glob("*.png")}
    for name in plots:
        assert (out / "plots" / name).read_bytes()[:8] == PNG_MAGIC
    assert results.metadata["env"]["backend"] == config.env.backend
    assert "evaluation.png" in plots
    for study in config.studies:
        assert f"{study.name}_entropy.png" in plots
        if len(study.values) >= 2:
            assert f"{study.name}_sweep.png" in plots
    metrics = {row["metric"] for row in results.rows}
    assert {"eval_return", "greedy_return", "steps_to_solve"} <= metrics


def _config(**study) -> dict:
    return {
        "name": "t",
        "num_steps": 1024,
        "env": {"name": "CartPole-v1"},
        "studies": [{"name": "s", "agent": "ppo", "values": [0.01], **study}],
    }


@pytest.mark.parametrize(
    "study, top, message",
    [
        ({}, {"num_steps": 1000}, "num_steps: got 1000; expected a multiple of "
         "studies[0].num_envs x rollout_steps = 512"),
        ({"num_minibatches": 3}, {}, "studies[0].num_minibatches: got 3; expected a "
         "divisor of num_envs x rollout_steps = 512"),
        ({"hidden": [64, 0]}, {}, "studies[0].hidden: got [64, 0]"),
        ({"hidden": 64}, {}, "studies[0].hidden: got 64"),
        ({"num_envs": 0}, {}, "studies[0].num_envs: got 0; expected an integer >= 1"),
        ({"anneal_lr": "yes"}, {}, "studies[0].anneal_lr: got 'yes'; expected true or "
         "false"),
        ({"tau": -1.0, "param": "clip"}, {}, "studies[0].tau: got -1.0"),
        ({"clip": 0.0, "values": [0.01]}, {}, "studies[0].clip: got 0.0"),
        ({"rule": "boltzmann"}, {}, "takes no exploration rule"),
        ({"track_probs": True}, {}, "track_probs=True"),
        ({}, {"num_episodes": 10}, "num_episodes=10"),
        ({}, {"env": {"name": "FrozenLake-v1"}}, "network over vector observations"),
        ({"optimizer": "adamw"}, {}, "studies[0].optimizer: got 'adamw'"),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_with_the_field(study, top, message, tmp_path):
    raw = _config(**study)
    raw.update(top)
    if top.get("env", {}).get("name") == "FrozenLake-v1":
        raw["num_steps"] = 1024
    with pytest.raises(config_lib.ConfigError) as err:
        run_experiment(raw, tmp_path / "out", progress=False, write=False)
    assert message in str(err.value)


def test_registry_lists_the_rollout_agents_and_classic_envs():
    for name in ("ppo", "a2c", "ppo_auto"):
        assert registry.AGENTS[name].params_type._fields[0] == "tau"
    for env_id in ("CartPole-v1", "Acrobot-v1", "MountainCar-v0"):
        assert env_id in registry.ENVS
    config = config_lib.from_dict(_config(agent="a2c"))
    assert config.studies[0].rollout["num_epochs"] == 1  # A2C: one pass, one batch
    assert config.studies[0].rollout["num_minibatches"] == 1
    config = config_lib.from_dict(_config())
    assert config.studies[0].rollout == {
        "num_envs": 4, "rollout_steps": 128, "num_epochs": 4, "num_minibatches": 4,
        "hidden": [64, 64], "anneal_lr": True,
    }  # fmt: skip


@pytest.mark.parametrize(
    "final_steps, per_update, expected",
    [(100, 512, 1), (512, 512, 1), (1000, 512, 1), (1024, 512, 2), (7, 1, 7)],
)
def test_final_steps_are_the_most_whole_updates_that_fit_and_at_least_one(
    final_steps, per_update, expected
):
    assert final_run_steps(final_steps, per_update) == expected


def test_a_rounded_final_window_is_said_and_recorded(tmp_path):
    raw = _config(num_envs=2, rollout_steps=8, num_epochs=1, num_minibatches=1)
    raw.update(num_steps=64, final_steps=20, num_seeds=1)
    lines = []
    results = run_experiment(
        raw, tmp_path / "out", progress=False, log=lines.append, cache_dir=False
    )
    said = [line for line in lines if "final_steps=20" in line]
    assert said == [
        "  s: final_steps=20 is rounded to 1 whole update(s) of 16 environment "
        "steps: the final window is the last 16 steps"
    ]
    assert results.studies["s"].final_steps == 16
    assert {row["final_steps"] for row in results.rows} == {16}
