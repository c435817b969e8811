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

from rl_softmax import backend, sweep
from rl_softmax.agents import make_action_value_agent
from rl_softmax.envs import GaussianBandit

NUM_STEPS = 60


@pytest.fixture(scope="module")
def run():
    agent = make_action_value_agent(10, "boltzmann")
    return sweep.make_run(GaussianBandit(10), agent, NUM_STEPS)


def _sweep(run, values, seeds, **kwargs):
    kwargs.setdefault("chunk_size", 64)
    kwargs.setdefault("final_steps", 10)
    return sweep.sweep(run, values, seeds, key=jax.random.key(3), **kwargs)


def _assert_identical(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_run_returns_per_step_metrics(run):
    metrics = jax.jit(run)(jax.random.key(0), 0.5)
    for name in sweep.METRICS:
        value = getattr(metrics, name)
        assert value.shape == (NUM_STEPS,) and value.dtype == jnp.float32
    # regret is zero exactly when the optimal arm was pulled
    np.testing.assert_array_equal(metrics.regret == 0, metrics.optimal == 1)
    assert np.all((metrics.entropy >= 0) & (metrics.entropy <= np.log(10) + 1e-5))
    assert np.all((metrics.prob_optimal >= 0) & (metrics.prob_optimal <= 1))


@pytest.mark.parametrize("final_steps", [10, 7])  # whole windows of 5, or not
def test_reductions_equal_means_of_per_step_metrics(run, final_steps):
    taus, seeds = np.array([0.1, 1.0]), np.array([0, 5, 9])
    result = _sweep(
        run, taus, seeds, curve_stride=5, keep_runs=True, final_steps=final_steps
    )
    keys = jax.vmap(jax.random.fold_in, (None, 0))(jax.random.key(3), seeds)
    for i, tau in enumerate(taus):
        per_step = jax.vmap(run, (0, None))(keys, jnp.float32(tau))
        for name in sweep.METRICS:
            x = np.asarray(getattr(per_step, name), np.float64)  # [S, T]
            np.testing.assert_allclose(
                getattr(result.run_mean, name)[i], x.mean(1), rtol=1e-5, atol=1e-6
            )
            np.testing.assert_allclose(
                getattr(result.run_final, name)[i],
                x[:, -final_steps:].mean(1),
                rtol=1e-5,
                atol=1e-6,
            )
            windows = x.reshape(len(seeds), -1, 5).mean(2)
            np.testing.assert_allclose(
                getattr(result.curves, name)[i], windows, rtol=1e-5, atol=1e-6
            )
            np.testing.assert_allclose(
                getattr(result.curve_mean, name)[i],
                windows.mean(0),
                rtol=1e-5,
                atol=1e-6,
            )
            np.testing.assert_allclose(
                getattr(result.curve_std, name)[i],
                windows.std(0, ddof=1),
                rtol=1e-4,
                atol=1e-6,
            )
    np.testing.assert_array_equal(result.steps, np.arange(5, NUM_STEPS + 1, 5))


def test_same_key_same_sweep(run):
    _assert_identical(_sweep(run, [0.2, 2.0], 5), _sweep(run, [0.2, 2.0], 5))


def test_seed_row_is_independent_of_the_rest_of_the_grid(run):
    small = _sweep(run, [0.5], [0, 1, 2], keep_runs=True)
    big = _sweep(run, [0.05, 0.5, 4.0], np.arange(8), keep_runs=True)
    for name in sweep.METRICS:
        for field in ("run_mean", "run_final", "curves"):
            a = getattr(getattr(small, field), name)[0]
            b = getattr(getattr(big, field), name)[1, :3]
            np.testing.assert_array_equal(a, b)


def test_chunk_size_does_not_change_any_number(run):
    # blocks of 1 value x 7 or 16 seeds: the same numbers, bit for bit
    results = [_sweep(run, [0.1, 0.7, 3.0], 11, chunk_size=c) for c in (7, 16)]
    _assert_identical(results[0], results[1])


def test_wide_blocks_give_the_same_bits_as_narrow_ones(run):
    """2 values x 2048 seeds per block vs 1 x 7: XLA compiles different programs
    for the two block shapes, and every number still agrees bit for bit."""
    values = [0.0, 0.1, 0.7, 3.0, np.inf]
    narrow = _sweep(run, values, 11, chunk_size=7, keep_runs=True)
    wide = _sweep(run, values, 11, chunk_size=4096, keep_runs=True)
    _assert_identical(narrow, wide)


def test_xla_options_are_part_of_the_compiled_program(run):
    ours = sweep.compile_sweep(run, chunk_size=64, final_steps=10)
    xla_defaults = sweep.compile_sweep(
        run, chunk_size=64, final_steps=10, compiler_options={}
    )
    assert ours is not xla_defaults
    assert ours is sweep.compile_sweep(run, chunk_size=64, final_steps=10)
    # the sweep draws the same tasks and noise; the mean reward agrees statistically
    a = _sweep(run, [0.5], 64).run_mean.reward
    b = _sweep(run, [0.5], 64, compiler_options={}).run_mean.reward
    assert abs(a.mean() - b.mean()) < 3 * np.std(a - b) / np.sqrt(64) + 1e-6


def test_unknown_default_options_fall_back_to_xla_defaults(run, monkeypatch):
    """An older jaxlib that lacks the sweep's option still compiles the sweep."""
    monkeypatch.setattr(backend, "CPU_COMPILER_OPTIONS", {"xla_no_such_option": 1})
    fresh = sweep.make_run(GaussianBandit(10), make_action_value_agent(10), 10)
    result = sweep.sweep(fresh, [0.5], 3, key=jax.random.key(0), final_steps=5)
    xla_defaults = sweep.sweep(
        fresh, [0.5], 3, key=jax.random.key(0), final_steps=5, compiler_options={}
    )
    _assert_identical(result, xla_defaults)  # the fallback is XLA's own defaults
    with pytest.raises(jax.errors.JaxRuntimeError, match="xla_no_such_option"):
        sweep.compile_sweep(
            fresh, final_steps=5, compiler_options={"xla_no_such_option": 1}
        )


def test_keys_of_other_implementations_sweep_with_their_own_bits(run):
    rbg = _sweep_with_key(run, jax.random.key(3, impl="rbg"))
    threefry = _sweep_with_key(run, jax.random.key(3))
    assert not np.array_equal(rbg.run_mean.reward, threefry.run_mean.reward)
    _assert_identical(rbg, _sweep_with_key(run, jax.random.key(3, impl="rbg")))


def _sweep_with_key(run, key):
    return sweep.sweep(run, [0.5, 2.0], 5, key=key, chunk_size=64, final_steps=10)


def test_changing_values_or_seeds_does_not_recompile(run, compile_events):
    agent = make_action_value_agent(10, "epsilon_greedy")
    fresh = sweep.make_run(GaussianBandit(10), agent, 20)
    _sweep(fresh, [0.1], 3)
    first = len(compile_events)
    _sweep(fresh, [0.0, 0.05, 0.2, 0.5], 9)
    _sweep(fresh, np.linspace(0, 1, 7), [4, 7])
    assert first >= 1  # the listener sees compilations at all
    assert len(compile_events) == first


def test_boltzmann_limits_are_greedy_and_uniform(run):
    greedy = sweep.make_run(
        GaussianBandit(10), make_action_value_agent(10, "greedy"), NUM_STEPS
    )
    boltzmann = _sweep(run, [0.0, np.inf], 6, keep_runs=True)
    reference = _sweep(greedy, [0.0], 6, keep_runs=True)
    # tau = 0 is exactly greedy: same keys, same tie-breaking draws, same numbers.
    for name in sweep.METRICS:
        np.testing.assert_array_equal(
            getattr(boltzmann.curves, name)[0], getattr(reference.curves, name)[0]
        )
    # tau = inf is uniform: entropy log K at every step, P(optimal) = 1/K.
    np.testing.assert_allclose(boltzmann.curves.entropy[1], np.log(10), rtol=1e-6)
    np.testing.assert_allclose(boltzmann.curves.prob_optimal[1], 0.1, rtol=1e-6)
    np.testing.assert_array_equal(boltzmann.curves.tau[0], 0.0)
    np.testing.assert_array_equal(boltzmann.curves.tau[1], np.inf)


def test_ranked_probs_put_the_best_arm_first(run):
    """curve_probs[..., 0] is P(optimal action); rows are distributions."""
    result = _sweep(run, [0.0, 0.3, np.inf], 7, track_probs=True, curve_stride=4)
    probs = result.curve_probs
    assert probs.shape == (3, NUM_STEPS // 4, 10)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(
        probs[..., 0], result.curve_mean.prob_optimal, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(probs[2], 0.1, rtol=1e-5)  # uniform: every rank 1/K
    # at tau = 0.3 the policy learns: the best arm ends more likely than the worst
    assert probs[1, -1, 0] > probs[1, -1, -1]


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
        (dict(chunk_size=0), "chunk_size"),
    ],
)
def test_bad_arguments_raise_clear_errors(run, bad, message):
    args = dict(values=[0.5], seeds=2, chunk_size=8, final_steps=10)
    args.update(bad)
    values, seeds = args.pop("values"), args.pop("seeds")
    with pytest.raises(ValueError, match=message):
        sweep.sweep(run, values, seeds, key=jax.random.key(0), **args)


def test_sharded_sweep_equals_unsharded(tmp_path):
    script = textwrap.dedent(
        """
        import sys
        import jax, numpy as np
        from rl_softmax import sweep
        from rl_softmax.agents import make_action_value_agent
        from rl_softmax.envs import GaussianBandit
        agent = make_action_value_agent(10, "boltzmann")
        run = sweep.make_run(GaussianBandit(10), agent, 40)
        r = sweep.sweep(run, [0.1, 1.0, 0.0], 13, key=jax.random.key(1),
                        chunk_size=16, final_steps=5)
        arrays = {f"{f}.{m}": getattr(getattr(r, f), m)
                  for f in ("run_mean", "run_final", "curve_mean", "curve_std")
                  for m in sweep.METRICS}
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
    for name in outputs[0].files:
        if name != "devices":
            np.testing.assert_array_equal(
                outputs[0][name], outputs[1][name], err_msg=name
            )


def test_use_cpu_cores_gives_one_device_per_core_before_jax_starts():
    script = textwrap.dedent(
        """
        import jax
        from rl_softmax import backend
        assert backend.use_cpu_cores(3) == 3
        jax.numpy.zeros(1)
        assert backend.use_cpu_cores(5) == 3  # too late: the backend has started
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
        backend.use_cpu_cores(0)
