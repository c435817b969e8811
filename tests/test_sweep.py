"""The sweep engine: reductions, reproducibility, chunking, sharding, compilation."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rl_softmax.agents import make_action_value_agent, rules
from rl_softmax.engine import compile_sweep, executor, make_run, sweep
from rl_softmax.envs import GaussianBandit

NUM_STEPS = 60
METRICS = ("reward", "optimal", "regret", "entropy", "prob_optimal", "tau")


@pytest.fixture(scope="module")
def run():
    return make_run(GaussianBandit(10), make_action_value_agent(10), NUM_STEPS)


def _sweep(run, values, seeds, **kwargs):
    kwargs.setdefault("final_steps", 10)
    return sweep(run, values, seeds, key=jax.random.key(3), **kwargs)


def _assert_identical(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_run_reports_its_metrics_per_step(run):
    assert tuple(m.name for m in run.metrics) == METRICS
    out = jax.jit(run)(jax.random.key(0), 0.5)
    assert out.ended is None  # a bandit never ends an episode
    for name in METRICS:
        value = out.values[name]
        assert value.shape == (NUM_STEPS,) and value.dtype == jnp.float32
    # regret is zero exactly when the optimal arm was pulled
    np.testing.assert_array_equal(out.values["regret"] == 0, out.values["optimal"] == 1)
    entropy, prob_optimal = out.values["entropy"], out.values["prob_optimal"]
    assert np.all((entropy >= 0) & (entropy <= np.log(10) + 1e-5))
    assert np.all((prob_optimal >= 0) & (prob_optimal <= 1))


@pytest.mark.parametrize("final_steps", [10, 7])  # whole windows of 5, or not
def test_reductions_equal_means_of_per_step_metrics(run, final_steps):
    taus, seeds = np.array([0.1, 1.0]), np.array([0, 5, 9])
    result = _sweep(
        run, taus, seeds, curve_stride=5, keep_runs=True, final_steps=final_steps
    )
    keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(3), seeds)
    for i, tau in enumerate(taus):
        per_step = jax.vmap(run, (0, None))(keys, jnp.float32(tau)).values
        for name in METRICS:
            x = np.asarray(per_step[name], np.float64)  # [S, T]
            m = result.metrics[name]
            close = dict(rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(m.run_mean[i], x.mean(1), **close)
            np.testing.assert_allclose(
                m.run_final[i], x[:, -final_steps:].mean(1), **close
            )
            windows = x.reshape(len(seeds), -1, 5).mean(2)
            np.testing.assert_allclose(m.curves[i], windows, **close)
            np.testing.assert_allclose(m.curve_mean[i], windows.mean(0), **close)
            sem = windows.std(0, ddof=1) / np.sqrt(len(seeds))
            np.testing.assert_allclose(m.curve_sem[i], sem, rtol=1e-4, atol=1e-6)
            assert m.run_weight is None  # per-step metrics carry no weights
    np.testing.assert_array_equal(result.steps, np.arange(5, NUM_STEPS + 1, 5))


def test_same_key_same_sweep(run):
    _assert_identical(_sweep(run, [0.2, 2.0], 5), _sweep(run, [0.2, 2.0], 5))


def test_seed_row_is_independent_of_the_rest_of_the_grid(run):
    small = _sweep(run, [0.5], [0, 1, 2], keep_runs=True)
    big = _sweep(run, [0.05, 0.5, 4.0], np.arange(8), keep_runs=True)
    for name in METRICS:
        for field in ("run_mean", "run_final", "curves"):
            a = getattr(small.metrics[name], field)[0]
            b = getattr(big.metrics[name], field)[1, :3]
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seeds", [3, 11, 100, 130])
def test_block_size_does_not_change_any_number(run, seeds):
    # blocks of 1 value x few seeds, 2 values x 128 seeds, or everything at once
    bounds = (8, 2 * 136, None)
    results = [
        _sweep(run, [0.1, 0.7, 3.0], seeds, max_block_runs=m, keep_runs=True)
        for m in bounds
    ]
    for other in results[1:]:
        _assert_identical(results[0], other)


def test_every_block_shape_gives_the_same_bits(run):
    """One value x 8 seeds per block, 5 x 64, or 5 values x 2048 seeds in one
    block: XLA compiles different programs for these block shapes, and every number
    still agrees bit for bit."""
    values = [0.0, 0.1, 0.7, 3.0, np.inf]
    narrow = _sweep(run, values, 2048, max_block_runs=8, keep_runs=True)
    for max_runs in (5 * 64, None):
        other = _sweep(run, values, 2048, max_block_runs=max_runs, keep_runs=True)
        _assert_identical(narrow, other)


def test_block_shape_fills_blocks_evenly():
    shape = executor.block_shape
    # the flagship: 21 values x 2000 seeds on 2 devices -> 3 blocks of 7 x 2000
    assert shape(21, 2000, num_devices=2, bytes_per_run=6000) == (7, 2000)
    # seeds above the per-block bound split evenly, in whole vectors per device
    assert shape(1, 3000, num_devices=2, bytes_per_run=6000) == (1, 1504)
    # few seeds per device: blocks do not share values
    assert shape(3, 5, num_devices=4, bytes_per_run=6000) == (1, 32)
    assert shape(8, 100, num_devices=1, bytes_per_run=100, max_runs=300) == (2, 104)
    # memory bounds runs per block: 1 MiB per run leaves 1024 runs
    assert shape(4, 1000, num_devices=1, bytes_per_run=2**20) == (1, 1000)


def test_xla_options_are_part_of_the_compiled_program(run):
    ours = compile_sweep(run, 1, 64, final_steps=10)
    xla_defaults = compile_sweep(run, 1, 64, final_steps=10, compiler_options={})
    assert ours is not xla_defaults
    assert ours is compile_sweep(run, 1, 64, final_steps=10)
    # the sweep draws the same tasks and noise; the mean reward agrees statistically
    a = _sweep(run, [0.5], 64).metrics["reward"].run_mean
    b = _sweep(run, [0.5], 64, compiler_options={}).metrics["reward"].run_mean
    assert abs(a.mean() - b.mean()) < 3 * np.std(a - b) / np.sqrt(64) + 1e-6


def test_unknown_default_options_fall_back_to_xla_defaults(monkeypatch):
    """An older jaxlib that lacks the sweep's option still compiles the sweep."""
    monkeypatch.setattr(executor, "CPU_COMPILER_OPTIONS", {"xla_no_such_option": 1})
    fresh = make_run(GaussianBandit(10), make_action_value_agent(10), 10)
    result = sweep(fresh, [0.5], 3, key=jax.random.key(0), final_steps=5)
    xla_defaults = sweep(
        fresh, [0.5], 3, key=jax.random.key(0), final_steps=5, compiler_options={}
    )
    _assert_identical(result, xla_defaults)  # the fallback is XLA's own defaults
    with pytest.raises(jax.errors.JaxRuntimeError, match="xla_no_such_option"):
        compile_sweep(
            fresh, 1, 3, final_steps=5, compiler_options={"xla_no_such_option": 1}
        )


def test_keys_of_other_implementations_sweep_with_their_own_bits(run):
    rbg = _sweep_with_key(run, jax.random.key(3, impl="rbg"))
    threefry = _sweep_with_key(run, jax.random.key(3))
    reward = "reward"
    assert not np.array_equal(
        rbg.metrics[reward].run_mean, threefry.metrics[reward].run_mean
    )
    _assert_identical(rbg, _sweep_with_key(run, jax.random.key(3, impl="rbg")))


def _sweep_with_key(run, key):
    return sweep(run, [0.5, 2.0], 5, key=key, final_steps=10)


def test_a_sweep_compiles_once_and_a_repeat_not_at_all(compile_events):
    agent = make_action_value_agent(10, rules.epsilon_greedy_rule())
    fresh = make_run(GaussianBandit(10), agent, 20)
    _sweep(fresh, np.linspace(0, 1, 7), 9, max_block_runs=9)  # 7 blocks
    first = len(compile_events)
    assert first >= 1  # the listener sees compilations at all
    _sweep(fresh, np.linspace(0, 0.5, 7), np.arange(10, 19), max_block_runs=9)
    assert len(compile_events) == first  # same block shape: the cached program


def test_boltzmann_limits_are_greedy_and_uniform(run):
    agent = make_action_value_agent(10, rules.greedy_rule())
    greedy = make_run(GaussianBandit(10), agent, NUM_STEPS)
    boltzmann = _sweep(run, [0.0, np.inf], 6, keep_runs=True)
    reference = _sweep(greedy, [0.0], 6, keep_runs=True)
    # tau = 0 is exactly greedy: same keys, same tie-breaking draws, same numbers.
    for name in METRICS:
        np.testing.assert_array_equal(
            boltzmann.metrics[name].curves[0], reference.metrics[name].curves[0]
        )
    # tau = inf is uniform: entropy log K at every step, P(optimal) = 1/K.
    curves = {name: m.curves for name, m in boltzmann.metrics.items()}
    np.testing.assert_allclose(curves["entropy"][1], np.log(10), rtol=1e-6)
    np.testing.assert_allclose(curves["prob_optimal"][1], 0.1, rtol=1e-6)
    np.testing.assert_array_equal(curves["tau"][0], 0.0)
    np.testing.assert_array_equal(curves["tau"][1], np.inf)


def test_prob_by_rank_puts_the_best_arm_first():
    tracked = make_run(
        GaussianBandit(10), make_action_value_agent(10), NUM_STEPS, track_probs=True
    )
    assert tracked.metrics[-1].name == "prob_by_rank" and tracked.metrics[-1].vector
    result = _sweep(tracked, [0.0, 0.3, np.inf], 7, curve_stride=4)
    probs = result.metrics["prob_by_rank"].curve_mean
    assert probs.shape == (3, NUM_STEPS // 4, 10)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(
        probs[..., 0],
        result.metrics["prob_optimal"].curve_mean,
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(probs[2], 0.1, rtol=1e-5)  # uniform: every rank 1/K
    # at tau = 0.3 the policy learns: the best arm ends more likely than the worst
    assert probs[1, -1, 0] > probs[1, -1, -1]


def test_prob_by_rank_keeps_its_mean_curve_summed_by_seed_groups_on_device():
    """Only the mean curve is kept (it is summed over groups of 8 seeds in the
    block): equal to the NumPy mean of the per-step values, padded seeds left out,
    the same bits for any block size."""
    tracked = make_run(
        GaussianBandit(10), make_action_value_agent(10), NUM_STEPS, track_probs=True
    )
    taus, seeds = np.array([0.1, 1.0]), np.arange(11)  # 8 + 3 seeds: padding
    results = [
        _sweep(tracked, taus, seeds, curve_stride=5, keep_runs=True, max_block_runs=m)
        for m in (8, None)
    ]
    _assert_identical(results[0], results[1])
    probs = results[0].metrics["prob_by_rank"]
    assert probs.curves is None and np.isnan(probs.curve_sem).all()
    assert results[0].metrics["reward"].curves is not None  # others keep theirs
    keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(3), seeds)
    for i, tau in enumerate(taus):
        per_step = jax.vmap(tracked, (0, None))(keys, jnp.float32(tau)).values
        x = np.asarray(per_step["prob_by_rank"], np.float64)  # [S, T, K]
        windows = x.reshape(len(seeds), -1, 5, 10).mean(2)
        np.testing.assert_allclose(probs.curve_mean[i], windows.mean(0), rtol=1e-5)
        np.testing.assert_allclose(probs.run_mean[i], x.mean(1), rtol=1e-5)


def test_metrics_a_rule_cannot_define_are_absent():
    gumbel = make_action_value_agent(10, rules.boltzmann_gumbel_rule())
    names = [m.name for m in make_run(GaussianBandit(10), gumbel, 5).metrics]
    assert names == ["reward", "optimal", "regret"]  # no probabilities, no tau
    eps = make_action_value_agent(10, rules.epsilon_greedy_rule())
    names = [m.name for m in make_run(GaussianBandit(10), eps, 5).metrics]
    assert names == ["reward", "optimal", "regret", "entropy", "prob_optimal"]
    with pytest.raises(ValueError, match="track_probs needs action probabilities"):
        make_run(GaussianBandit(10), gumbel, 5, track_probs=True)


def test_parameters_swept_together_give_the_bits_of_sweeping_each(run):
    """A run sweeping (tau, step size) together over a list of pairs gives, pair
    by pair, the bits of the one-parameter run with the other parameter fixed."""
    env = GaussianBandit(10)
    agent = make_action_value_agent(10, sample_average=False)
    joint = make_run(env, agent, NUM_STEPS, swept=("explore", "step_size"))
    assert joint.value_shape == (2,)
    pairs = [(0.25, 0.1), (0.5, 0.1), (0.25, 0.5)]
    together = _sweep(joint, pairs, 3)
    np.testing.assert_array_equal(together.values, np.float32(pairs))
    for i, (tau, step_size) in enumerate(pairs):
        params = agent.default_params._replace(step_size=jnp.float32(step_size))
        alone = _sweep(make_run(env, agent, NUM_STEPS, agent_params=params), [tau], 3)
        for name in METRICS:
            np.testing.assert_array_equal(
                together.metrics[name].run_mean[i], alone.metrics[name].run_mean[0]
            )


@pytest.mark.parametrize(
    "swept, message",
    [(("explore", "explore"), "distinct"), (("explore", "num_arms"), "num_arms"),
     ((), "distinct")],
)  # fmt: skip
def test_swept_tuples_are_checked(swept, message):
    with pytest.raises(ValueError, match=message):
        make_run(GaussianBandit(10), make_action_value_agent(10), 5, swept=swept)


def test_a_joint_run_refuses_values_of_the_wrong_width():
    joint = make_run(
        GaussianBandit(10),
        make_action_value_agent(10),
        5,
        swept=("explore", "step_size"),
    )
    with pytest.raises(ValueError, match="2-tuples"):
        sweep(joint, [0.5, 0.1], 2, key=jax.random.key(0), final_steps=5)


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(values=[]), "values"),
        (dict(values=[[0.1, 0.2]]), "values"),
        (dict(seeds=0), "seeds"),
        (dict(seeds=[1, 1]), "seeds"),
        (dict(seeds=[0, 2**32]), "seeds"),  # would wrap to seed 0
        (dict(seeds=2**32 + 1), "seeds"),
        (dict(final_steps=NUM_STEPS + 1), "final_steps"),
        (dict(curve_stride=7), "curve_stride"),
        (dict(max_block_runs=0), "max_block_runs"),
    ],
)
def test_bad_arguments_raise_clear_errors(run, bad, message):
    args = dict(values=[0.5], seeds=2, final_steps=10)
    args.update(bad)
    values, seeds = args.pop("values"), args.pop("seeds")
    with pytest.raises(ValueError, match=message):
        sweep(run, values, seeds, key=jax.random.key(0), **args)


def test_sharded_sweep_equals_unsharded(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        import jax, numpy as np
        from rl_softmax.agents import make_action_value_agent
        from rl_softmax.engine import make_run, sweep
        from rl_softmax.envs import GaussianBandit
        run = make_run(GaussianBandit(10), make_action_value_agent(10), 40)
        r = sweep(run, [0.1, 1.0, 0.0], 13, key=jax.random.key(1),
                  max_block_runs=16, final_steps=5)
        arrays = {f"{m}.{f}": getattr(r.metrics[m], f) for m in r.metrics
                  for f in ("run_mean", "run_final", "curve_mean", "curve_sem")}
        np.savez(sys.argv[1], devices=len(jax.devices()), **arrays)
        """
    )
    outputs = []
    for count in (1, 4):
        env = dict(
            os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={count}"
        )
        path = tmp_path / f"devices{count}.npz"
        subprocess.run([sys.executable, "-c", script, str(path)], env=env, check=True)
        outputs.append(np.load(path))
    assert outputs[0]["devices"] == 1 and outputs[1]["devices"] == 4
    assert len(outputs[0].files) == 1 + 6 * 4
    for name in outputs[0].files:
        if name != "devices":
            np.testing.assert_array_equal(
                outputs[0][name], outputs[1][name], err_msg=name
            )


def test_use_cpu_cores_before_jax_starts_and_refuses_after():
    script = textwrap.dedent(
        """
        import jax
        from rl_softmax.engine import executor
        assert executor.use_cpu_cores(3) == 3
        jax.numpy.zeros(1)
        assert executor.use_cpu_cores() == 3  # default: keep what JAX has
        try:
            executor.use_cpu_cores(5)  # explicit and too late: a clear error
        except RuntimeError as error:
            assert "already started with 3 CPU device(s)" in str(error), error
        else:
            raise AssertionError("no error")
        print(len(jax.devices()))
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, check=True, capture_output=True
    )
    assert done.stdout.decode().strip() == "3"


def test_use_cpu_cores_rejects_a_bad_count():
    with pytest.raises(ValueError, match="count=0"):
        executor.use_cpu_cores(0)
