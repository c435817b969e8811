"""Diverged runs are flagged per run and never averaged (issue 22, item 2).

A hand-made run breaks at a step drawn from its key (its state turns NaN, or its
reward infinite): the sweep must name the window it broke in, leave it out of every
mean, standard error and seed count, and give the same bits whatever the blocks.
The references are NumPy means over the runs that did not break, recomputed from
the plain scan of each run. Then the issue's case: DQN on CartPole with learning
rate 1e30 is flagged in ``summary.csv``, the metadata and the CLI's output, or
stops the study in one line with ``--on-divergence stop``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_softmax.cli import main
from rl_softmax.engine import reductions
from rl_softmax.engine.metrics import METRICS
from rl_softmax.engine.run import Run, StepOutput
from rl_softmax.engine.sweep import SweepDiverged, sweep
from rl_softmax.experiment import RunDiverged, run_experiment, stats

NUM_STEPS, STRIDE, NUM_SEEDS = 64, 8, 40
VALUES = [0.0, 1.0, 2.0]  # value 0 never breaks
NUM_ACTIONS = 3
NEVER = 2**30


def breaking_run(how: str) -> Run:
    """A run of random rewards that breaks at a step drawn from its key (some
    never do): its state turns NaN (``how = "state"``) or its reward becomes
    infinite (``"reward"``). It also reports a vector metric that keeps only its
    mean curve (``prob_by_rank``), which stays finite when only the state breaks."""

    def breaks_at(key, value):
        at = jax.random.randint(jax.random.fold_in(key, 1), (), 0, NUM_STEPS + 24)
        return jnp.where(value > 0, at, NEVER)

    def init(key, value):
        return key, breaks_at(key, value), jnp.zeros((2,))

    def step(carry, t):
        key, at, state = carry
        draw = jax.random.fold_in(key, t)
        reward = jax.random.normal(draw)
        probs = jax.nn.softmax(jax.random.normal(jax.random.fold_in(draw, 1), (3,)))
        broken = t >= at
        if how == "state":
            state = jnp.where(broken, jnp.nan, state + reward)
        else:
            reward = jnp.where(broken, jnp.inf, reward)
        out = {"reward": reward, "prob_by_rank": probs}
        return (key, at, state), StepOutput(out, None)

    return Run(
        init=init, step=step, end=lambda carry: {}, num_steps=NUM_STEPS,
        num_actions=NUM_ACTIONS, swept="tau",
        metrics=(METRICS["reward"], METRICS["prob_by_rank"]),
        checked_state=lambda carry: carry[2],
    )  # fmt: skip


def plain_runs(run: Run, key):
    """Every run's per-step outputs ``[V, S, T, ...]`` and its break step, by the
    plain scan (no reductions)."""
    keys = jax.vmap(jax.random.fold_in, (None, 0))(key, jnp.arange(NUM_SEEDS))
    values = jnp.asarray(VALUES, jnp.float32)
    out = jax.vmap(jax.vmap(run, (0, None)), (None, 0))(keys, values)
    at = jax.vmap(jax.vmap(lambda k, v: run.init(k, v)[1], (0, None)), (None, 0))(
        keys, values
    )
    return jax.tree.map(np.asarray, out.values), np.asarray(at)


@pytest.mark.parametrize("how", ["state", "reward"])
def test_a_diverged_run_is_flagged_at_its_window_and_left_out_of_every_mean(how):
    run = breaking_run(how)
    key = jax.random.key(3)
    result = sweep(
        run, VALUES, NUM_SEEDS, key=key, curve_stride=STRIDE, final_steps=16,
        keep_runs=True,
    )  # fmt: skip
    steps, at = plain_runs(run, key)
    expected = np.where(at < NUM_STEPS, at // STRIDE, -1)
    np.testing.assert_array_equal(result.diverged, expected)
    bad = expected >= 0
    assert not bad[0].any() and 0 < bad.sum() < bad[1:].size  # a real mix

    reward = result.metrics["reward"]
    assert np.isnan(reward.run_mean[bad]).all() and np.isnan(reward.curves[bad]).all()
    windows = steps["reward"].reshape(len(VALUES), NUM_SEEDS, -1, STRIDE).mean(-1)
    for v in range(len(VALUES)):
        keep = ~bad[v]
        np.testing.assert_allclose(
            reward.run_mean[v, keep], steps["reward"][v, keep].mean(-1),
            rtol=1e-5, atol=1e-6,
        )  # fmt: skip
        np.testing.assert_allclose(
            reward.curve_mean[v], windows[v, keep].mean(0), rtol=1e-5, atol=1e-6
        )
        sem = windows[v, keep].std(0, ddof=1) / math.sqrt(keep.sum())
        np.testing.assert_allclose(reward.curve_sem[v], sem, rtol=1e-4)
        # the vector metric summed on device over groups of seeds
        probs = steps["prob_by_rank"].reshape(len(VALUES), NUM_SEEDS, -1, STRIDE, 3)
        np.testing.assert_allclose(
            result.metrics["prob_by_rank"].curve_mean[v],
            probs[v, keep].mean(-2).mean(0), rtol=1e-5,
        )  # fmt: skip

    rows = stats.summary_rows("s", result, label="s", param="tau")
    for row in rows:
        v = VALUES.index(row["value"])
        assert row["num_diverged"] == bad[v].sum()
        assert row["num_seeds"] == NUM_SEEDS - bad[v].sum()
        assert math.isfinite(row["mean"]) and math.isfinite(row["sem"])


def test_divergence_flags_do_not_depend_on_the_blocks():
    run = breaking_run("state")
    key = jax.random.key(5)
    whole = sweep(run, VALUES, NUM_SEEDS, key=key, curve_stride=STRIDE)
    blocks = sweep(
        run, VALUES, NUM_SEEDS, key=key, curve_stride=STRIDE, max_block_runs=8
    )
    np.testing.assert_array_equal(whole.diverged, blocks.diverged)
    for name, metric in whole.metrics.items():
        for field, array in metric._asdict().items():
            if array is not None:
                other = getattr(blocks.metrics[name], field)
                np.testing.assert_array_equal(array, other, err_msg=f"{name}.{field}")


def test_stop_on_divergence_names_the_first_diverged_run():
    run = breaking_run("reward")
    key = jax.random.key(3)
    _, at = plain_runs(run, key)
    with pytest.raises(SweepDiverged) as caught:
        sweep(run, VALUES, NUM_SEEDS, key=key, curve_stride=STRIDE,
              stop_on_divergence=True)  # fmt: skip
    error = caught.value
    v, s = VALUES.index(error.value), error.seed
    window = at[v, s] // STRIDE
    assert error.steps == (window * STRIDE + 1, (window + 1) * STRIDE)
    assert at[:v].min() >= NUM_STEPS and (at[v, :s] >= NUM_STEPS).all()


def test_the_undefined_is_not_the_diverged():
    """NaN per-run means with no divergence (no episode ended) stay in the counts
    as undefined, and tau = inf (a temperature, not an overflow) is no divergence."""
    values = {"reward": jnp.float32(1.0), "tau": jnp.float32(jnp.inf)}
    assert not reductions.diverged(values, (jnp.zeros(3), jnp.int32(7)))
    assert reductions.diverged({**values, "tau": jnp.float32(jnp.nan)}, ())
    assert reductions.diverged({**values, "reward": jnp.float32(-jnp.inf)}, ())
    assert reductions.diverged(values, {"q": jnp.array([0.0, jnp.nan])})


# ------------------------------------------------- the case: DQN at lr 1e30

DQN = {
    "name": "dqn_divergence",
    "seed": 0,
    "num_seeds": 2,
    "num_steps": 1024,
    "final_steps": 256,
    "env": {"name": "CartPole-v1"},
    "studies": [
        {
            "name": "boltzmann",
            "agent": "dqn",
            "rule": "boltzmann",
            "tau": 0.125,
            "learning_starts": 128,
            "param": "learning_rate",
            "values": [0.001, 1e30],
        }
    ],
}


def test_dqn_with_learning_rate_1e30_is_flagged_in_the_summary_and_the_output(
    tmp_path,
):
    config = tmp_path / "dqn.toml"
    config.write_text(_toml(DQN))
    out = tmp_path / "out"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["run", str(config), "--out", str(out), "--no-cache",
                     "--no-plots", "--quiet"])  # fmt: skip
    assert code == 0
    with open(out / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        diverged = float(row["value"]) == 1e30
        assert int(row["num_diverged"]) == (2 if diverged else 0), row
        # undefined, not diverged: no run solved CartPole in 1024 steps
        undefined = row["metric"] == "steps_to_solve"
        assert (int(row["num_seeds"]) == 0) == (diverged or undefined), row
        assert math.isnan(float(row["mean"])) == (diverged or undefined), row
    metadata = json.loads((out / "metadata.json").read_text())
    listed = metadata["studies"]["boltzmann"]["diverged"]
    assert listed["count"] == 2
    assert {(r["value"], r["seed"]) for r in listed["runs"]} == {(1e30, 0), (1e30, 1)}
    # the network broke once it learned: after learning_starts
    assert all(r["steps"][1] > 128 for r in listed["runs"])
    text = stdout.getvalue()
    assert "2 run(s) diverged" in text and "learning_rate=1e+30 seed 0" in text
    assert "(2 of 4 runs diverged, left out of the means)" in text
    assert "best learning_rate = 0.001" in text


def test_on_divergence_stop_refuses_in_one_line(tmp_path, capsys):
    config = tmp_path / "dqn.toml"
    config.write_text(_toml(DQN))
    code = main(["run", str(config), "--out", str(tmp_path / "out"), "--no-cache",
                 "--no-plots", "--quiet", "--on-divergence", "stop"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("error: study 'boltzmann': ")
    assert "value 1e+30 and seed 0 diverged" in err[0]
    assert not (tmp_path / "out" / "checkpoints").exists()
    with pytest.raises(Exception, match="on_divergence='maybe'"):
        run_experiment(DQN, write=False, on_divergence="maybe")
    assert issubclass(RunDiverged, RuntimeError)


def _toml(config: dict) -> str:
    """A flat config with one [[studies]] table as TOML."""

    def value(x):
        if isinstance(x, str):
            return json.dumps(x)
        if isinstance(x, list):
            return "[" + ", ".join(value(i) for i in x) + "]"
        return repr(x)

    top = {k: v for k, v in config.items() if k not in ("env", "studies")}
    lines = [f"{k} = {value(v)}" for k, v in top.items()]
    lines += ["[env]"] + [f"{k} = {value(v)}" for k, v in config["env"].items()]
    for study in config["studies"]:
        lines += ["[[studies]]"] + [f"{k} = {value(v)}" for k, v in study.items()]
    return "\n".join(lines) + "\n"


def test_the_host_loop_flags_the_same_divergence():
    """The host loop (gymnasium's CartPole stepped by NumPy) checks each window
    as the JAX path does."""
    config = {**DQN, "env": {"name": "CartPole-v1", "backend": "host"}}
    results = run_experiment(config, write=False, progress=False, cache_dir=False)
    result = results.studies["boltzmann"]
    diverged = np.asarray(result.diverged)
    assert (diverged[0] == -1).all() and (diverged[1] >= 0).all()
    assert np.isnan(result.metrics["return"].run_mean[1]).all()
    assert np.isfinite(result.metrics["return"].run_mean[0]).all()
    rows = {(r["value"], r["metric"], r["window"]): r for r in results.rows}
    assert rows[1e30, "return", "all"]["num_diverged"] == 2
    assert rows[0.001, "return", "all"]["num_diverged"] == 0


def test_the_sweep_plot_says_how_many_runs_diverged():
    from rl_softmax.plotting import plot_sweep

    result = sweep(breaking_run("state"), VALUES, NUM_SEEDS, key=jax.random.key(3),
                   curve_stride=STRIDE)  # fmt: skip
    count = int((result.diverged >= 0).sum())
    figure = plot_sweep(result, label="breaks", param="tau", metrics=["reward"])
    title = figure._suptitle.get_text().replace("\n", " ")
    assert f"; {count} of the {len(VALUES) * NUM_SEEDS} runs diverged (left out)" in (
        title
    )
