"""experiments/mellowmax_paper.py (Asadi & Littman 2017) on a tiny override, its
results re-checked by independent NumPy code, and the docs page against the
committed results.

References: the Boltzmann and mellowmax operators written out in NumPy float64;
GVI as a NumPy loop; the two-state MDP's Bellman equation in closed form.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jax
import numpy as np
import pytest
from experiment_scripts import script

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "docs" / "figures" / "mellowmax_paper.json"
PAGE = REPO / "docs" / "guide" / "mellowmax.md"
# readme_figures.py's quick run of the script: run once, by the first test to ask
TINY = script("readme_figures").QUICK_MELLOWMAX


def numpy_boltzmann(v, beta):
    v = np.asarray(v, np.float64)
    p = np.exp(beta * (v - v.max(axis=-1, keepdims=True)))
    return np.sum(p * v, axis=-1) / np.sum(p, axis=-1)


def numpy_mellowmax(v, omega):
    v = np.asarray(v, np.float64)
    top = v.max(axis=-1)
    return top + np.log(np.mean(np.exp(omega * (v - top[..., None])), axis=-1)) / omega


def numpy_gvi(tables, discount, op, num_sweeps):
    """``(q, last change)`` after ``num_sweeps`` sweeps from zero."""
    probs, next_states, rewards, terminated = (np.asarray(t) for t in tables)
    go_on = discount * ~terminated
    q = np.zeros(probs.shape[:2])
    change = np.inf
    for _ in range(num_sweeps):
        new = np.sum(probs * (rewards + go_on * op(q)[next_states]), axis=-1)
        change, q = np.max(np.abs(new - q)), new
    return q, change


@pytest.fixture(scope="module")
def tiny(shared_results):
    """``(module, report, out)``: what ``main`` returned and wrote in ``out``."""
    out = "mellowmax_paper_quick"  # the folder readme_figures.py's quick run writes
    report = shared_results.script("mellowmax_paper", TINY, out)
    return script("mellowmax_paper"), report, shared_results.folder / out


def test_tiny_run_saves_what_it_reports(tiny):
    module, report, out = tiny
    assert json.loads((out / "mellowmax_paper.json").read_text()) == json.loads(
        json.dumps(report)
    )
    assert (out / "mellowmax_paper_table.txt").read_text() == module.results_table(
        report
    )
    for figure in ("mellowmax_sarsa.png", "mellowmax_fixed_points.png"):
        assert (out / figure).stat().st_size > 10_000


def test_the_reported_pair_is_expanded_by_boltzmann_in_numpy(tiny):
    _, report, _ = tiny
    for row in report["expansion"]:
        x, y, beta = np.array(row["x"]), np.array(row["y"]), row["beta"]
        factor = abs(numpy_boltzmann(y, beta) - numpy_boltzmann(x, beta))
        factor /= np.max(np.abs(x - y))
        np.testing.assert_allclose(factor, row["factor"], rtol=1e-9)
        assert factor > 1.19  # two actions: 1.1997, the largest there is
        assert abs(numpy_mellowmax(y, beta) - numpy_mellowmax(x, beta)) < np.max(
            np.abs(x - y)
        )
    assert [row["size"] for row in report["expansion"]] == [2, 3, 5]
    factors = [row["largest_gradient_l1"] for row in report["expansion"]]
    assert factors == sorted(factors)  # more actions, more room to expand


def test_mellowmax_never_expands_the_random_pairs(tiny):
    _, report, _ = tiny
    for row in report["random_pairs"]:
        assert row["mellowmax_max_factor"] <= 1.0 + 1e-9, row
        assert row["boltzmann_max_factor"] > 1.0 and row["boltzmann_expanding_pairs"]


def test_gvi_verdicts_hold_in_a_numpy_loop(tiny):
    module, report, _ = tiny
    mdps_report = report["random_mdps"]
    assert mdps_report["mellowmax_not_converged"] == []
    with jax.enable_x64(True):
        mdps = module.random_mdps(jax.random.split(module.study_keys(0)["mdps"])[0], 24)
    assert [(n, t.probs.shape[1]) for n, t in mdps] == [
        tuple(size) for size in mdps_report["sizes"]
    ]
    beta = module.BETA
    for i, (_, tables) in enumerate(mdps):
        q, change = numpy_gvi(tables, 0.98, lambda q: numpy_mellowmax(q, beta), 2000)
        assert change <= 1e-9, i  # a 0.98-contraction: 1e-9 within 2000 sweeps
    for row in mdps_report["boltzmann_not_converged"]:
        _, change = numpy_gvi(
            mdps[row["mdp"]][1], 0.98, lambda q: numpy_boltzmann(q, beta), 5000
        )
        assert change > 1e-3, row  # still cycling


def test_the_two_fixed_points_solve_the_boltzmann_bellman_equation(tiny):
    _, report, _ = tiny
    fixed = report["two_state_gvi"]["two_fixed_points"]
    beta = fixed["beta"]
    points = [np.array(fixed["from_zero"]), np.array(fixed["from_q_star"])]
    for q in points:  # Q(s1, a) = r_a + 0.98 p_stay(a) boltz(Q(s1, .))
        backed_up = np.array([0.122, 0.033]) + 0.98 * np.array(
            [0.66, 0.99]
        ) * numpy_boltzmann(q, beta)
        np.testing.assert_allclose(backed_up, q, atol=1e-7)
    assert np.max(np.abs(points[0] - points[1])) > 0.1
    assert 16.8 < min(fixed["betas"]) <= beta <= max(fixed["betas"]) < 17.1
    assert report["two_state_gvi"]["mellowmax_largest_start_difference"] < 1e-6


def test_sarsa_with_mellowmax_settles_and_with_boltzmann_does_not(tiny):
    _, report, _ = tiny
    check_sarsa(report["sarsa"])


def check_sarsa(sarsa: dict) -> None:
    boltz, mellow = sarsa["boltzmann"], sarsa["mellowmax"]
    assert max(map(max, mellow["drift"])) < min(map(max, boltz["drift"]))
    # mellowmax hovers at its GVI fixed point (the constant step size's bias
    # aside); Boltzmann's Q(s1, b) is far above its own
    late = np.mean(mellow["late_mean"], axis=0)
    np.testing.assert_allclose(late, mellow["gvi_fixed_point"], atol=0.05)
    late = np.mean(boltz["late_mean"], axis=0)
    assert late[1] > boltz["gvi_fixed_point"][1] + 0.3


def test_the_docs_page_holds_the_committed_results_table():
    module = script("mellowmax_paper")
    report = json.loads(COMMITTED.read_text())
    page = PAGE.read_text()
    table = re.search(
        r"<!-- table: mellowmax-paper -->\n(.*?)<!-- /table -->",
        page,
        re.DOTALL,
    )
    assert table is not None
    assert table.group(1) == module.results_table(report)
    # the committed run is the default one and has the paper's properties
    assert report["config"]["num_mdps"] == 200 and report["config"]["seed"] == 0
    assert report["random_mdps"]["mellowmax_not_converged"] == []
    assert report["random_mdps"]["boltzmann_not_converged"]
    assert sum(row["num_pairs"] for row in report["random_pairs"]) >= 100_000
    assert max(row["mellowmax_max_factor"] for row in report["random_pairs"]) <= 1.0
    check_sarsa(report["sarsa"])


@pytest.mark.slow
def test_the_default_run_reproduces_the_committed_results(tmp_path):
    report = script("mellowmax_paper").main(["--out", str(tmp_path)])
    committed = json.loads(COMMITTED.read_text())
    assert json.loads(json.dumps(report)) == committed
