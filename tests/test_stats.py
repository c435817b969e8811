"""Tests for rl_softmax.experiment.stats: means, standard errors, summary rows and the
best setting, each against an independent NumPy computation."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as scipy_stats

from rl_softmax.engine import METRICS, MetricResult, SweepResult
from rl_softmax.experiment import stats

VALUES = (0.0, 0.25, 1.0, 4.0, math.inf)
BANDIT = ("reward", "optimal", "regret", "entropy", "prob_optimal", "tau")
EPISODIC = ("return", "length", "success")
NUM_ARMS = 4


def make_result(
    values=VALUES,
    num_seeds=5,
    num_windows=6,
    *,
    names=BANDIT,
    nan_metric=None,
    track_probs=False,
    seed=0,
) -> SweepResult:
    """A synthetic SweepResult with the shapes and dtypes of a real sweep.

    Per-episode metrics get episode counts (some 0, with a NaN mean, as for a run
    in which no episode ended); ``prob_by_rank`` is a ``[K]`` vector metric.
    """
    rng = np.random.default_rng(seed)
    num_values = len(values)
    runs, curves = (num_values, num_seeds), (num_values, num_windows)
    names = names + ("prob_by_rank",) if track_probs else names
    metrics = {}
    for name in names:
        trailing = (NUM_ARMS,) if METRICS[name].vector else ()
        fields = {
            "run_mean": rng.normal(1.0, 0.5, (*runs, *trailing)).astype(np.float32),
            "run_final": rng.normal(1.0, 0.5, (*runs, *trailing)).astype(np.float32),
            "curve_mean": rng.normal(1.0, 0.5, (*curves, *trailing)),
            "curve_sem": rng.uniform(0.0, 0.1, (*curves, *trailing)),
        }
        if METRICS[name].per_episode:
            for window, weight in (
                ("run_mean", "run_weight"),
                ("run_final", "final_weight"),
            ):
                counts = rng.integers(0, 6, runs).astype(np.float32)
                counts[0, 0] = 0.0
                fields[window][counts == 0] = np.nan
                fields[weight] = counts
        if name == nan_metric:
            for key in ("run_mean", "run_final", "curve_mean", "curve_sem"):
                fields[key][...] = np.nan
        metrics[name] = MetricResult(**fields)
    return SweepResult(
        values=np.asarray(values, np.float32),
        seeds=np.arange(num_seeds, dtype=np.int64),
        steps=np.arange(1, num_windows + 1, dtype=np.int64) * 10,
        final_steps=20,
        metrics=metrics,
    )


# ------------------------------------------------------------ independent references


def plain_estimate(x) -> tuple[float, float, int]:
    """Mean over the defined samples and ``std(ddof=1) / sqrt(n)``."""
    x = np.asarray(x, np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return math.nan, math.nan, 0
    sem = float(np.std(x, ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0
    return float(np.mean(x)), sem, x.size


def ratio_estimate(x, w) -> tuple[float, float, int]:
    """Pooled mean ``R = sum y / sum w`` of per-seed sums ``y = w x`` and the ratio
    estimator's standard error (Cochran 1977, Sampling Techniques, eq. 6.9, f = 0):
    ``v(R) = s_d**2 / (n wbar**2)``, ``s_d**2 = sum (y - R w)**2 / (n - 1)``."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    keep = (w > 0) & ~np.isnan(x)
    x, w = x[keep], w[keep]
    n = x.size
    if n == 0:
        return math.nan, math.nan, 0
    y = w * x
    ratio = y.sum() / w.sum()
    if n == 1:
        return float(ratio), 0.0, 1
    s2 = np.sum((y - ratio * w) ** 2) / (n - 1)
    return float(ratio), float(np.sqrt(s2 / (n * w.mean() ** 2))), n


# -------------------------------------------------------------------------- mean_sem


def test_mean_sem_matches_numpy_along_any_axis():
    x = np.random.default_rng(3).normal(size=(4, 7)).astype(np.float32)
    mean, sem, n = stats.mean_sem(x, axis=0)
    assert mean.dtype == sem.dtype == np.float64 and mean.shape == (7,)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=0), rtol=1e-12)
    expected = x.astype(np.float64).std(axis=0, ddof=1) / 2.0
    np.testing.assert_allclose(sem, expected, rtol=1e-12)
    assert (n == 4).all()
    # The default axis is the last one.
    mean, sem, n = stats.mean_sem(x.T)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sem, expected, rtol=1e-12)


def test_mean_sem_leaves_out_nan_without_warnings():
    x = np.array(
        [
            [1.0, np.nan, 3.0, 7.0],  # three defined
            [np.nan, 2.0, np.nan, np.nan],  # one: sem 0
            [np.nan] * 4,  # none: NaN
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, sem, n = stats.mean_sem(x)
    for i, row in enumerate(x):
        want_mean, want_sem, want_n = plain_estimate(row)
        assert n[i] == want_n
        np.testing.assert_allclose(mean[i], want_mean, rtol=1e-12)
        np.testing.assert_allclose(sem[i], want_sem, rtol=1e-12)
    assert np.isnan(mean[2]) and np.isnan(sem[2]) and sem[1] == 0.0


def test_infinite_samples_give_an_infinite_mean_and_no_warnings():
    x = np.array([[np.inf, np.inf, np.inf], [1.0, np.inf, 2.0]])
    w = np.ones_like(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for weights in (None, w):
            mean, sem, n = stats.mean_sem(x, weights=weights)
            assert (mean == np.inf).all() and (n == 3).all()
            assert not np.isfinite(sem).any()  # no finite spread around inf


def test_weighted_mean_sem_is_the_pooled_ratio_and_its_standard_error():
    rng = np.random.default_rng(7)
    x = rng.normal(2.0, 1.0, size=(6, 9))
    w = rng.integers(1, 20, size=(6, 9)).astype(np.float32)
    mean, sem, n = stats.mean_sem(x, axis=1, weights=w)
    assert mean.dtype == sem.dtype == np.float64 and mean.shape == (6,)
    assert (n == 9).all()
    for i in range(6):
        want_mean, want_sem, _ = ratio_estimate(x[i], w[i])
        # the pooled mean over all episodes: sum(w x) / sum(w)
        assert want_mean == pytest.approx(np.sum(w[i] * x[i]) / np.sum(w[i]))
        assert mean[i] == pytest.approx(want_mean, rel=1e-12)
        assert sem[i] == pytest.approx(want_sem, rel=1e-12)
    # Weights change the mean: the unweighted one differs.
    assert not np.allclose(mean, stats.mean_sem(x, axis=1)[0])


def test_weighted_mean_sem_along_axis_zero_moves_the_weights_too():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(5, 3))
    w = rng.integers(1, 9, size=(5, 3)).astype(np.float64)
    mean, sem, n = stats.mean_sem(x, axis=0, weights=w)
    for j in range(3):
        want_mean, want_sem, want_n = ratio_estimate(x[:, j], w[:, j])
        assert (mean[j], sem[j], n[j]) == (
            pytest.approx(want_mean, rel=1e-12),
            pytest.approx(want_sem, rel=1e-12),
            want_n,
        )


def test_equal_weights_give_the_unweighted_mean_and_sem():
    x = np.random.default_rng(9).normal(size=(3, 8))
    weighted = stats.mean_sem(x, weights=np.full(x.shape, 4.0))
    plain = stats.mean_sem(x)
    for got, want in zip(weighted, plain, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_weighted_mean_sem_leaves_out_zero_weights_and_nan():
    x = np.array(
        [
            [1.0, np.nan, 4.0, 2.0, 5.0],  # NaN with weight 0 (no episode)
            [np.nan, 3.0, 1.0, 9.0, 2.0],  # NaN with a weight: still left out
            [np.nan, np.nan, 7.0, np.nan, np.nan],  # one run with episodes
            [np.nan] * 5,  # no episode anywhere
        ]
    )
    w = np.array(
        [
            [2.0, 0.0, 1.0, 3.0, 0.0],  # 5.0 has weight 0: left out
            [4.0, 1.0, 2.0, 0.0, 5.0],
            [0.0, 0.0, 3.0, 0.0, 0.0],
            [0.0] * 5,
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, sem, n = stats.mean_sem(x, weights=w)
    assert n.tolist() == [3, 3, 1, 0]
    for i in range(4):
        want_mean, want_sem, _ = ratio_estimate(x[i], w[i])
        np.testing.assert_allclose(mean[i], want_mean, rtol=1e-12)
        np.testing.assert_allclose(sem[i], want_sem, rtol=1e-12)
    assert mean[0] == pytest.approx((2 * 1 + 1 * 4 + 3 * 2) / 6)
    assert sem[2] == 0.0 and np.isnan(mean[3]) and np.isnan(sem[3])


def test_weighted_sem_matches_the_spread_of_the_pooled_mean():
    # Seeds with a random number of episodes and a seed effect: the pooled mean's
    # spread over many repeated experiments is what the standard error estimates.
    rng = np.random.default_rng(11)
    repeats, seeds = 4000, 40
    w = rng.poisson(4.0, size=(repeats, seeds)) + 1.0
    seed_effect = rng.normal(0.0, 1.0, size=(repeats, seeds))
    x = 3.0 + seed_effect + rng.normal(size=(repeats, seeds)) * 2.0 / np.sqrt(w)
    mean, sem, n = stats.mean_sem(x, weights=w)
    assert (n == seeds).all()
    spread = np.std(mean, ddof=1)
    assert np.mean(mean) == pytest.approx(3.0, abs=3 * spread / np.sqrt(repeats))
    assert np.sqrt(np.mean(sem**2)) == pytest.approx(spread, rel=0.05)


# ------------------------------------------------------------------------ seed_stats


@pytest.mark.parametrize("window", ["all", "final"])
def test_seed_stats_treat_each_run_as_a_replicate_pooled_only_when_asked(window):
    result = make_result(names=("reward", *EPISODIC))
    run, weight = ("run_mean", "run_weight")
    if window == "final":
        run, weight = ("run_final", "final_weight")
    mean, sem, n = stats.seed_stats(result, "reward", window)
    samples = getattr(result.metrics["reward"], run)
    for i in range(len(VALUES)):
        np.testing.assert_allclose((mean[i], sem[i]), plain_estimate(samples[i])[:2])
    ret = result.metrics["return"]
    mean, sem, n = stats.seed_stats(result, "return", window)
    for i in range(len(VALUES)):
        want = plain_estimate(getattr(ret, run)[i])
        np.testing.assert_allclose((mean[i], sem[i]), want[:2], rtol=1e-12)
        assert n[i] == want[2]
    mean, sem, n = stats.seed_stats(result, "return", window, pooled=True)
    for i in range(len(VALUES)):
        want = ratio_estimate(getattr(ret, run)[i], getattr(ret, weight)[i])
        np.testing.assert_allclose((mean[i], sem[i]), want[:2], rtol=1e-12)
        assert n[i] == want[2]
    with pytest.raises(ValueError, match="'reward' is not a per-episode metric"):
        stats.seed_stats(result, "reward", window, pooled=True)


def test_seed_stats_reject_unknown_window_and_metric():
    result = make_result()
    with pytest.raises(ValueError, match="window"):
        stats.seed_stats(result, "reward", "last")
    with pytest.raises(ValueError, match="'return' is not in this result"):
        stats.seed_stats(result, "return")


# ---------------------------------------------------------------------- summary rows


def test_summary_rows_match_numpy():
    result = make_result()
    rows = stats.summary_rows("soft", result, label="softmax", param="tau")
    assert len(rows) == result.values.size * len(BANDIT) * 2
    assert list(rows[0]) == [
        "study", "label", "param", "value", "metric", "window", "final_steps",
        "num_seeds", "num_diverged", "mean", "sem", "ci95_low", "ci95_high",
        "interval",
    ]  # fmt: skip
    seen = set()
    for row in rows:
        i = [float(str(v)) for v in result.values].index(row["value"])
        metric = result.metrics[row["metric"]]
        runs = metric.run_mean if row["window"] == "all" else metric.run_final
        mean, sem, n = plain_estimate(runs[i])
        assert row["mean"] == pytest.approx(mean, rel=1e-12, abs=1e-15)
        assert row["sem"] == pytest.approx(sem, rel=1e-12)
        t = scipy_stats.t.ppf(0.975, n - 1)
        assert row["ci95_low"] == pytest.approx(mean - t * sem, rel=1e-12)
        assert row["ci95_high"] == pytest.approx(mean + t * sem, rel=1e-12)
        assert row["num_seeds"] == n == 5 and row["interval"] == "t"
        assert row["num_diverged"] == 0
        assert (row["study"], row["label"], row["param"]) == ("soft", "softmax", "tau")
        assert row["final_steps"] == 20
        assert all(isinstance(row[k], float) for k in ("value", "mean", "sem"))
        seen.add((row["value"], row["metric"], row["window"]))
    assert len(seen) == len(rows)
    assert {r["value"] for r in rows} == {0.0, 0.25, 1.0, 4.0, math.inf}
    assert [r["metric"] for r in rows[: 2 * len(BANDIT) : 2]] == list(BANDIT)


def test_summary_rows_give_per_episode_metrics_per_run_and_pooled_by_name():
    result = make_result(names=("reward", *EPISODIC), track_probs=True, seed=4)
    assert "prob_by_rank" in result.metrics
    rows = stats.summary_rows("s", result, label="s", param="tau")
    pooled = {m + "_pooled" for m in EPISODIC}
    assert {r["metric"] for r in rows} == {"reward", *EPISODIC, *pooled}
    assert len(rows) == result.values.size * 7 * 2
    checked = 0
    for row in rows:
        name = row["metric"].removesuffix("_pooled")
        if not METRICS[name].per_episode:
            continue
        metric = result.metrics[name]
        i = [float(str(v)) for v in result.values].index(row["value"])
        if row["window"] == "all":
            runs, weights = metric.run_mean, metric.run_weight
        else:
            runs, weights = metric.run_final, metric.final_weight
        if row["metric"] in pooled:  # the mean over all episodes of all runs
            mean, sem, n = ratio_estimate(runs[i], weights[i])
        else:  # each run's own mean, one replicate
            mean, sem, n = plain_estimate(runs[i])
        assert row["num_seeds"] == n == np.count_nonzero(weights[i])
        t = scipy_stats.t.ppf(0.975, n - 1) if n > 1 else math.nan
        np.testing.assert_allclose(row["mean"], mean, rtol=1e-12)
        np.testing.assert_allclose(row["sem"], sem, rtol=1e-12)
        np.testing.assert_allclose(row["ci95_low"], mean - t * sem, rtol=1e-12)
        np.testing.assert_allclose(row["ci95_high"], mean + t * sem, rtol=1e-12)
        checked += 1
    assert checked == result.values.size * 6 * 2
    first = [r for r in rows if r["value"] == 0.0 and r["metric"] == "return"]
    assert first[0]["num_seeds"] < 5  # the run without an episode is left out
    # the two estimands differ when episode counts vary: here, for some value
    means = {(r["value"], r["metric"], r["window"]): r["mean"] for r in rows}
    assert any(
        abs(means[v, "return", w] - means[v, "return_pooled", w]) > 1e-3
        for v, _, w in means
        if not math.isnan(means[v, "return", w])
    )


def test_summary_values_use_shortest_float32_decimal():
    result = make_result(values=(0.1, 0.3))
    rows = stats.summary_rows("s", result, label="s", param="tau")
    assert {row["value"] for row in rows} == {0.1, 0.3}


def test_all_nan_metric_gives_nan_without_warnings():
    result = make_result(nan_metric="entropy")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = stats.summary_rows("ucb", result, label="UCB", param="c")
    entropy = [r for r in rows if r["metric"] == "entropy"]
    assert len(entropy) == result.values.size * 2
    for row in entropy:
        assert math.isnan(row["mean"]) and math.isnan(row["sem"])
        assert math.isnan(row["ci95_low"]) and math.isnan(row["ci95_high"])
        assert row["num_seeds"] == 0
    assert all(np.isfinite(r["mean"]) for r in rows if r["metric"] != "entropy")


def test_partly_nan_metric_averages_defined_seeds():
    result = make_result()
    result.metrics["reward"].run_mean[1, :2] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = stats.summary_rows("s", result, label="s", param="tau")
    row = next(
        r
        for r in rows
        if r["value"] == 0.25 and r["metric"] == "reward" and r["window"] == "all"
    )
    mean, sem, n = plain_estimate(result.metrics["reward"].run_mean[1])
    assert n == 3 and row["num_seeds"] == 3
    assert row["mean"] == pytest.approx(mean, rel=1e-12)
    assert row["sem"] == pytest.approx(sem, rel=1e-12)


def test_single_seed_has_zero_sem_and_no_interval():
    result = make_result(num_seeds=1, names=("reward", "optimal", "return"), seed=2)
    ret = result.metrics["return"]
    ret.run_weight[...] = ret.final_weight[...] = 3.0  # an episode in every run
    ret.run_mean[...] = ret.run_final[...] = 1.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = stats.summary_rows("s", result, label="s", param="tau")
    assert len(rows) == 5 * 4 * 2  # return_pooled too
    assert all(r["sem"] == 0.0 and r["num_seeds"] == 1 for r in rows)
    assert all(math.isnan(r["ci95_low"]) and math.isnan(r["ci95_high"]) for r in rows)


# ------------------------------------------------------------------ best setting


def test_objective_is_the_return_where_episodes_end_else_the_reward():
    assert stats.objective(make_result()) == "reward"
    assert stats.objective(make_result(names=("reward", *EPISODIC))) == "return"
    assert stats.objective(make_result(names=EPISODIC)) == "return"


def test_best_setting_picks_the_highest_mean_outside_the_references():
    result = make_result(seed=5)
    reward = result.metrics["reward"].run_mean
    reward[...] = np.random.default_rng(0).normal(0.0, 0.1, reward.shape)
    reward[4] += 10.0  # the uniform reference scores highest: not a candidate
    reward[2] += 1.0
    reward[0] += 5.0  # so does greedy
    references = {"greedy (τ = 0)": 0.0, "uniform (τ = ∞)": math.inf}
    best = stats.best_setting(result, references=references)
    mean, sem, _ = plain_estimate(reward[2])
    assert (best.index, best.value, best.metric, best.window) == (
        2,
        1.0,
        "reward",
        "all",
    )
    assert best.mean == pytest.approx(mean, rel=1e-12)
    assert best.sem == pytest.approx(sem, rel=1e-12)
    t = scipy_stats.t.ppf(0.975, 4)
    assert best.num_seeds == 5
    assert best.ci95 == pytest.approx((mean - t * sem, mean + t * sem), rel=1e-12)
    # Without references the overall maximum wins.
    assert stats.best_setting(result).index == 4
    assert isinstance(best.value, float) and isinstance(best.index, int)


def test_best_setting_matches_references_at_the_values_precision():
    # 0.1 is not a float32: the reference must still exclude the swept 0.1.
    result = make_result(values=(0.1, 0.3, 0.7))
    reward = result.metrics["reward"].run_mean
    reward[0] += 10.0
    reward[2] += 5.0
    assert stats.best_setting(result).value == pytest.approx(0.1)
    assert stats.best_setting(result, references={"x": 0.1}).index == 2


def test_best_setting_counts_each_run_once_whatever_its_episodes():
    result = make_result(values=(0.5, 1.0, 2.0), num_seeds=2, names=EPISODIC)
    ret = result.metrics["return"]
    # Value 0.5: one episode of 10 and nine of 0 (pooled 1, per-run mean 5);
    # value 1: 3 on both seeds; value 2: no episode ended at all.
    ret.run_mean[...] = [[10.0, 0.0], [3.0, 3.0], [np.nan, np.nan]]
    ret.run_weight[...] = [[1.0, 9.0], [1.0, 1.0], [0.0, 0.0]]
    best = stats.best_setting(result)
    assert (best.index, best.metric) == (0, "return")
    assert best.mean == pytest.approx(5.0) and best.sem == pytest.approx(5.0)
    pooled, _, _ = stats.seed_stats(result, "return", pooled=True)
    assert pooled[0] == pytest.approx(ratio_estimate([10.0, 0.0], [1.0, 9.0])[0])
    assert pooled[0] == pytest.approx(1.0) and np.isnan(pooled[2])


def test_best_setting_of_a_chosen_metric_and_window():
    result = make_result(seed=6)
    optimal = result.metrics["optimal"]
    optimal.run_final[...] = 0.0
    optimal.run_final[3] = [0.5, 0.7, 0.6, 0.9, 0.8]
    optimal.run_mean[...] = 0.0
    optimal.run_mean[1] = 1.0
    best = stats.best_setting(result, metric="optimal", window="final")
    assert (best.index, best.metric, best.window) == (3, "optimal", "final")
    mean, sem, _ = plain_estimate(optimal.run_final[3])
    assert (best.mean, best.sem) == (pytest.approx(mean), pytest.approx(sem))
    t = scipy_stats.t.ppf(0.975, 4)
    assert best.ci95 == pytest.approx((mean - t * sem, mean + t * sem))
    assert stats.best_setting(result, metric="optimal").index == 1
    with pytest.raises(ValueError, match="window"):
        stats.best_setting(result, window="last")


def test_best_setting_is_none_when_no_candidate_is_defined():
    result = make_result(nan_metric="reward")
    assert stats.best_setting(result) is None
    defined = make_result(values=(0.0, math.inf))
    references = {"greedy": 0.0, "uniform": math.inf}
    assert stats.best_setting(defined, references=references) is None
    # NaN candidates are passed over, not chosen.
    partly = make_result(seed=3)
    reward = partly.metrics["reward"].run_mean
    reward[...] = 0.0
    reward[1] = np.nan
    reward[3] = 1.0
    assert stats.best_setting(partly).index == 3


def _loop_best_values(result, references, picks):
    """The best value on each resample of seeds, by a plain loop."""
    x = result.metrics["reward"].run_mean.astype(np.float64)
    values = np.asarray(result.values)
    out = []
    for idx in picks:
        means = [x[v, idx].mean() for v in range(len(values))]
        means = [
            -np.inf if values[v] in references.values() else m
            for v, m in enumerate(means)
        ]
        out.append(values[int(np.argmax(means))])
    return np.array(out, np.float64)


def test_best_value_interval_matches_a_resampling_loop():
    result = make_result(seed=7, num_seeds=12)
    reward = result.metrics["reward"].run_mean
    rng = np.random.default_rng(1)
    reward[...] = rng.normal(0.0, 1.0, reward.shape)
    reward[1] += 0.6  # values 1 and 2 close, so the interval spans both
    reward[2] += 0.7
    references = {"uniform": math.inf}
    low, high = stats.best_value_interval(
        result, references=references, num_resamples=500, seed=3
    )
    picks = np.random.default_rng(3).integers(0, 12, size=(500, 12))
    best = _loop_best_values(result, references, picks)
    assert (low, high) == tuple(
        np.quantile(best, [0.025, 0.975], method="inverted_cdf")
    )
    assert low < high
    # a clear winner: a point interval at it
    reward[3] += 100.0
    assert stats.best_value_interval(result, references=references) == (
        result.values[3],
        result.values[3],
    )


def test_best_value_interval_counts_runs_and_skips_undefined():
    result = make_result(values=(0.5, 1.0, 2.0), num_seeds=2, names=EPISODIC)
    ret = result.metrics["return"]
    ret.run_mean[...] = [[10.0, 0.0], [3.0, 3.0], [np.nan, np.nan]]
    ret.run_weight[...] = [[1.0, 9.0], [1.0, 1.0], [0.0, 0.0]]
    low, high = stats.best_value_interval(result, num_resamples=400)
    # per-run means: 0.5 scores 10, 5 or 0 on a resample (seed 0 twice, once,
    # never) against 3 for 1.0, so 1.0 wins only on resamples of seed 1 alone
    assert (low, high) == (0.5, 1.0)
    ret.run_mean[...] = np.nan
    assert stats.best_value_interval(result) is None


# ---------------------------------------------------------- intervals and ties

# Student's t, two-sided 95%, from a printed table (Fisher & Yates 1963, Table III)
T_TABLE = {1: 12.706, 2: 4.303, 4: 2.776, 7: 2.365, 9: 2.262, 24: 2.064, 29: 2.045}


@pytest.mark.parametrize("df", sorted(T_TABLE))
def test_t_quantile_matches_the_table_and_scipy(df):
    assert stats.t_quantile(df + 1) == pytest.approx(T_TABLE[df], abs=5e-4)
    assert stats.t_quantile(df + 1) == pytest.approx(
        scipy_stats.t.ppf(0.975, df), rel=1e-12
    )


def test_t_interval_of_ten_seeds_is_wider_than_the_normal_one():
    assert stats.half_width(1.0, 10) / stats.Z95 == pytest.approx(1.154, abs=1e-3)
    assert np.isnan(stats.t_quantile(1)) and np.isnan(stats.half_width(1.0, 1))
    assert stats.half_width(0.0, 10) == 0.0
    np.testing.assert_allclose(
        stats.half_width([1.0, 2.0], [10, 30]),
        [T_TABLE[9], 2 * T_TABLE[29]],
        atol=1e-3,
    )


@pytest.mark.parametrize("k, n", [(0, 10), (7, 10), (10, 10), (1, 3), (40, 50)])
def test_wilson_interval_solves_its_quadratic(k, n):
    # The score interval is {p : (k/n - p)**2 <= z**2 p (1 - p) / n}: the roots of
    # a quadratic in p, found here by numpy.roots.
    z2 = stats.Z95**2
    phat = k / n
    roots = np.sort(np.roots([1 + z2 / n, -(2 * phat + z2 / n), phat**2]).real)
    low, high = stats.proportion_interval(k, n)
    np.testing.assert_allclose((low, high), np.clip(roots, 0, 1), atol=1e-12)
    assert 0.0 <= low <= phat <= high <= 1.0


def test_wilson_interval_matches_published_values():
    # Newcombe (1998), Stat. Med. 17:857, Table I: 81/263 -> 0.2553-0.3662;
    # 15/148 -> 0.0624-0.1605; 0/20 -> 0-0.1611
    for (k, n), want in {
        (81, 263): (0.2553, 0.3662),
        (15, 148): (0.0624, 0.1605),
        (0, 20): (0.0, 0.1611),
    }.items():
        np.testing.assert_allclose(stats.proportion_interval(k, n), want, atol=1e-4)


def test_binary_metric_rows_use_the_wilson_interval():
    result = make_result(values=(0.5, 1.0), num_seeds=10, names=("reward",))
    solved = np.zeros((2, 10), np.float32)
    solved[0, :7] = 1.0
    solved[1] = 1.0
    ones = np.zeros((2, 1))
    result.metrics["solved"] = MetricResult(solved, solved, ones, ones)
    rows = stats.summary_rows("s", result, label="s", param="tau")
    solved_rows = [r for r in rows if r["metric"] == "solved"]
    assert [r["window"] for r in solved_rows] == ["final", "final"]
    for row, k in zip(solved_rows, (7, 10), strict=True):
        assert row["interval"] == "wilson" and row["num_seeds"] == 10
        assert row["mean"] == pytest.approx(k / 10)
        low, high = map(float, stats.proportion_interval(k, 10))
        assert (row["ci95_low"], row["ci95_high"]) == pytest.approx((low, high))
    assert solved_rows[1]["ci95_high"] == 1.0 and solved_rows[1]["ci95_low"] < 0.75


def test_indistinguishable_values_are_those_a_paired_t_test_keeps():
    rng = np.random.default_rng(11)
    result = make_result(values=(0.25, 0.5, 1.0, 2.0, math.inf), num_seeds=12)
    reward = result.metrics["reward"].run_mean
    shared = rng.normal(0.0, 1.0, 12)  # each seed's luck, common to every value
    reward[...] = shared + rng.normal(0.0, 0.05, reward.shape)
    reward[1] += 0.30  # best
    reward[2] += 0.29  # as good, as far as 12 seeds tell
    reward[0] += 0.10  # worse by 0.2 >> 0.05 noise: distinguishable though its
    # unpaired interval (the shared spread of 1) overlaps the best's
    reward[4] += 5.0  # the uniform reference: never a candidate
    references = {"uniform": math.inf}
    best = stats.best_setting(result, references=references)
    assert best.index in (1, 2)
    (other,) = {1, 2} - {best.index}
    ties = stats.indistinguishable(result, best, references=references)
    expected = []
    for i in (0, 1, 2, 3):
        if i == best.index:
            continue
        p = scipy_stats.ttest_rel(reward[best.index], reward[i]).pvalue
        if p >= 0.05:
            expected.append(float(result.values[i]))
    assert ties == expected == [float(result.values[other])]
    low_a, _ = best.ci95
    mean0, sem0, n0 = plain_estimate(reward[0])
    assert mean0 + stats.half_width(sem0, n0) > low_a  # overlapping intervals
