"""Asadi & Littman (2017), "An Alternative Softmax Operator for Reinforcement
Learning" (ICML; arXiv 1612.05628): the Boltzmann operator misbehaves, mellowmax
does not.

Three parts, each written to ``mellowmax_paper.json`` in ``--out``:

* ``expansion``: the Boltzmann operator ``boltz_beta(v) = sum softmax(beta v) v``
  is not a non-expansion. Its largest factor ``|boltz(x) - boltz(y)| / max|x - y|``
  is the largest l1-norm of its gradient (mean value theorem), found by gradient
  ascent from random starts; a pair of vectors ``1e-3 / beta`` apart at the
  maximiser is reported with its exact factor. Random pairs (several sizes and
  parameters) count how often Boltzmann expands and confirm that mellowmax never
  does.
* ``random_mdps``: generalised value iteration (:mod:`rl_softmax.planning`) with
  Boltzmann (``beta = 16.55``) and mellowmax (``omega = 16.55``) on random MDPs
  (2-10 states, 2-5 actions, noisy transition and reward tables, discount 0.98);
  how often each fails to converge, and whether Boltzmann reaches a second fixed
  point from random starts. On the paper's two-state MDP a scan over ``beta``
  finds where Boltzmann GVI has two stable fixed points (one from ``Q = 0``,
  another from ``Q = Q*``); mellowmax has one at every ``omega``.
* ``sarsa``: SARSA (the toolkit's TD agent, ``target="sarsa"``) on that two-state
  MDP with the Boltzmann policy at ``beta = 16.55`` and with the mellowmax policy
  at ``omega = 16.55``; the Q-value trajectories, and how much the mean of the
  late Q values moves from window to window (``drift``).

    python experiments/mellowmax_paper.py                      # ~40 s on 2 cores
    python experiments/mellowmax_paper.py --num-mdps 20 --sarsa-steps 20000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from rl_softmax import planning
from rl_softmax import softmax as sm
from rl_softmax.agents import make_td_agent, rules
from rl_softmax.agents.td import TDParams
from rl_softmax.engine import make_run
from rl_softmax.engine.run import learned_state
from rl_softmax.envs import TabularEnv

BETA = 16.55  # the paper's Boltzmann inverse temperature, also its mellowmax omega
DISCOUNT = 0.98
# The paper's Figure 1 MDP: in s1, action a pays 0.122 and stays w.p. 0.66, action b
# pays 0.033 and stays w.p. 0.99; otherwise the episode ends in s2.
TWO_STATE_P = {
    0: {
        0: [(0.66, 0, 0.122, False), (0.34, 1, 0.122, True)],
        1: [(0.99, 0, 0.033, False), (0.01, 1, 0.033, True)],
    },
    1: {0: [(1.0, 1, 0.0, True)], 1: [(1.0, 1, 0.0, True)]},  # never acted in
}
MAX_STATES = 10  # random MDPs have 2-10 states (padded to 10), 2-5 actions


@dataclasses.dataclass(frozen=True)
class Config:
    """What one run of the script does.

    Attributes:
      seed: the one key every random draw comes from.
      sizes: action-vector sizes of the random pairs.
      expansion_sizes: sizes whose largest Boltzmann factor is searched for.
      omegas: parameters of the random-pair study (Boltzmann at ``beta = omega``).
      num_pairs: random pairs per size and parameter.
      num_starts: gradient-ascent starts for the largest Boltzmann factor.
      num_mdps: random MDPs.
      num_restarts: random starts per converged Boltzmann MDP (second fixed point).
      gvi_tol: GVI stops when no ``Q(s, a)`` moves by more than this (float64).
      gvi_max_iters: GVI's sweeps before it counts as not converged.
      betas: the scan over ``beta`` (and ``omega``) on the two-state MDP.
      sarsa_steps: SARSA steps per run.
      sarsa_seeds: SARSA runs per policy.
      step_size: SARSA's constant step size ``alpha``.
      num_windows: late windows (second half of a run) for the drift.
    """

    seed: int = 0
    sizes: tuple[int, ...] = (2, 3, 5, 10)
    expansion_sizes: tuple[int, ...] = (2, 3, 5)
    omegas: tuple[float, ...] = (1.0, BETA, 100.0)
    num_pairs: int = 100_000
    num_starts: int = 64
    num_mdps: int = 200
    num_restarts: int = 4
    gvi_tol: float = 1e-9
    gvi_max_iters: int = 5000
    betas: tuple[float, ...] = tuple(np.round(np.arange(16.0, 18.0001, 0.01), 2))
    sarsa_steps: int = 200_000
    sarsa_seeds: int = 8
    step_size: float = 0.1
    num_windows: int = 10


# --- (a) the Boltzmann operator expands; mellowmax does not -----------------------


def boltzmann(values, beta):
    """``boltz_beta(v) = sum_k softmax(beta v)_k v_k`` (``expected_value`` at
    ``tau = 1 / beta``)."""
    return sm.expected_value(values, 1.0 / beta)


def _gradient_l1(x, beta):
    return jnp.sum(jnp.abs(jax.grad(boltzmann)(x, beta)))


def largest_expansion(key, size: int, beta: float, num_starts: int) -> dict:
    """The largest l1-norm of ``grad boltz_beta`` (gradient ascent from random
    starts), and a pair of vectors ``1e-3 / beta`` apart at the maximiser."""
    starts = jax.random.normal(key, (num_starts, size), jnp.float64) * 2.0 / beta
    climbed, norms = _climb(starts, jnp.float64(beta))
    x = climbed[int(jnp.argmax(norms))]
    x = x - x.mean()  # the operator commutes with shifts
    y = x + 1e-3 / beta * jnp.sign(jax.grad(boltzmann)(x, beta))
    factor = jnp.abs(boltzmann(y, beta) - boltzmann(x, beta)) / jnp.max(jnp.abs(y - x))
    return {
        "size": size,
        "beta": beta,
        "largest_gradient_l1": float(jnp.max(norms)),
        "x": np.asarray(x).tolist(),
        "y": np.asarray(y).tolist(),
        "factor": float(factor),
    }


@jax.jit
def _climb(starts, beta):
    """1000 normalised gradient-ascent steps of ``|grad boltz_beta|_1`` per start."""
    ascend = jax.grad(_gradient_l1)

    def climb(x, _):
        step = ascend(x, beta)
        return x + 0.05 / beta**2 * step / jnp.maximum(jnp.abs(step).max(), 1.0), None

    climbed, _ = jax.lax.scan(jax.vmap(climb, (0, None)), starts, None, length=1000)
    return climbed, jax.vmap(_gradient_l1, (0, None))(climbed, beta)


def random_pairs(key, size: int, omega: float, num_pairs: int) -> dict:
    """Largest ``|op(x) - op(y)| / max|x - y|`` over random pairs at scales around
    ``1 / omega``, for mellowmax at ``omega`` and Boltzmann at ``beta = omega``."""
    boltz, mellow = _pair_factors(key, size, jnp.float64(omega), num_pairs)
    return {
        "size": size,
        "omega": omega,
        "num_pairs": num_pairs,
        "boltzmann_max_factor": float(boltz.max()),
        "boltzmann_expanding_pairs": int(jnp.sum(boltz > 1.0)),
        "mellowmax_max_factor": float(mellow.max()),
    }


@jax.jit(static_argnums=(1, 3))
def _pair_factors(key, size: int, omega, num_pairs: int):
    key_x, key_scale, key_step, key_length = jax.random.split(key, 4)
    scale = jnp.exp(jax.random.uniform(key_scale, (num_pairs, 1), jnp.float64, -2, 2))
    x = jax.random.normal(key_x, (num_pairs, size), jnp.float64) * scale / omega
    length = jax.random.uniform(key_length, (num_pairs, 1), jnp.float64, 1e-3, 1.0)
    y = x + jax.random.normal(key_step, x.shape, jnp.float64) * length * scale / omega
    distance = jnp.max(jnp.abs(x - y), axis=1)
    boltz = jnp.abs(boltzmann(x, omega) - boltzmann(y, omega)) / distance
    mellow = jnp.abs(sm.mellowmax(x, omega) - sm.mellowmax(y, omega)) / distance
    return boltz, mellow


# --- (b) GVI on random MDPs and on the two-state MDP -------------------------------


def _noisy_table(key, shape):
    """``U[0, 0.01]``, plus ``N(1, 0.1)`` w.p. 0.5, plus ``N(100, 1)`` w.p. 0.1."""
    keys = jax.random.split(key, 5)
    table = jax.random.uniform(keys[0], shape, jnp.float64, 0.0, 0.01)
    noise = 1.0 + jnp.sqrt(0.1) * jax.random.normal(keys[1], shape, jnp.float64)
    table += jax.random.bernoulli(keys[2], 0.5, shape) * noise
    spike = 100.0 + jax.random.normal(keys[3], shape, jnp.float64)
    table += jax.random.bernoulli(keys[4], 0.1, shape) * spike
    return jnp.maximum(table, 0.0)


@jax.jit(static_argnums=1)
def _draw_mdps(key, num_mdps: int):
    """Sizes and noisy tables of ``num_mdps`` MDPs, at the largest size."""
    key_states, key_actions, key_probs, key_rewards = jax.random.split(key, 4)
    states = jax.random.randint(key_states, (num_mdps,), 2, MAX_STATES + 1)
    actions = jax.random.randint(key_actions, (num_mdps,), 2, 6)
    big = (MAX_STATES, 5, MAX_STATES)
    probs = jax.vmap(lambda k: _noisy_table(k, big))(
        jax.random.split(key_probs, num_mdps)
    )
    rewards = jax.vmap(lambda k: _noisy_table(k, big[:2]))(
        jax.random.split(key_rewards, num_mdps)
    )
    return states, actions, probs, rewards


def random_mdps(key, num_mdps: int) -> list[tuple[int, planning.MDPTables]]:
    """``(num_states, tables)`` of random MDPs, each padded to ``MAX_STATES``
    states that its own never reach (a padded state loops on itself, reward 0).

    2-10 states and 2-5 actions, uniformly; transitions are noisy tables normalised
    per ``(s, a)``; rewards are a noisy table scaled to a largest reward of 0.5.
    The tables are drawn at the largest size and cut (one compiled draw).
    """
    states, actions, all_probs, all_rewards = jax.tree.map(
        np.asarray, _draw_mdps(key, num_mdps)
    )
    mdps = []
    for i, (num_states, num_actions) in enumerate(zip(states, actions, strict=True)):
        probs = all_probs[i, :num_states, :num_actions, :num_states]
        probs = probs / probs.sum(-1, keepdims=True)
        rewards = all_rewards[i, :num_states, :num_actions]
        rewards = 0.5 * rewards / rewards.max()
        shape = (MAX_STATES, int(num_actions), MAX_STATES)
        padded = np.zeros(shape)
        padded[:num_states, :, :num_states] = probs
        for s in range(num_states, MAX_STATES):
            padded[s, :, s] = 1.0
        padded_rewards = np.zeros(shape)
        padded_rewards[:num_states] = rewards[:, :, None]
        next_states = np.broadcast_to(np.arange(MAX_STATES), shape)
        terminated = np.zeros(shape, bool)
        tables = planning.MDPTables(padded, next_states, padded_rewards, terminated)
        mdps.append((int(num_states), tables))
    return mdps


def random_mdp_study(key, config: Config) -> dict:
    """GVI with both operators on ``num_mdps`` random MDPs (batched by action
    count), from ``Q = 0``; then Boltzmann again from ``num_restarts`` random starts
    on every MDP where it converged, looking for a second fixed point."""
    key_mdps, key_starts = jax.random.split(key)
    mdps = random_mdps(key_mdps, config.num_mdps)
    settings = {"tol": config.gvi_tol, "max_iters": config.gvi_max_iters}
    runs = {
        "boltzmann": (planning.make_gvi("boltzmann", **settings), 1.0 / BETA),
        "mellowmax": (planning.make_gvi("mellowmax", **settings), BETA),
    }
    out = {name: {"not_converged": [], "iters": [0] * len(mdps)} for name in runs}
    multiple = []
    for num_actions in sorted({t.probs.shape[1] for _, t in mdps}):
        index = [i for i, (_, t) in enumerate(mdps) if t.probs.shape[1] == num_actions]
        batch = _stacked([mdps[i][1] for i in index])
        fixed = {}
        for name, (gvi, param) in runs.items():
            result = jax.jit(jax.vmap(gvi, (0, None, None)))(batch, DISCOUNT, param)
            result = jax.tree.map(np.asarray, result)
            for j, i in enumerate(index):
                out[name]["iters"][i] = int(result.num_iters[j])
                if result.converged[j]:
                    fixed[name, i] = result.q[j]
                else:
                    change = float(result.change[j])
                    out[name]["not_converged"].append({"mdp": i, "change": change})
        # a second Boltzmann fixed point from random starts in [0, 0.5 / (1 - gamma)]
        converged = [i for i in index if ("boltzmann", i) in fixed]
        if not converged or not config.num_restarts:
            continue
        starts = jax.random.uniform(
            jax.random.fold_in(key_starts, num_actions),
            (len(converged), config.num_restarts, MAX_STATES, num_actions),
            jnp.float64, 0.0, 0.5 / (1 - DISCOUNT),
        )  # fmt: skip
        over_starts = jax.vmap(runs["boltzmann"][0], (None, None, None, 0))
        result = jax.jit(jax.vmap(over_starts, (0, None, None, 0)))(
            _stacked([mdps[i][1] for i in converged]), DISCOUNT, 1.0 / BETA, starts
        )
        result = jax.tree.map(np.asarray, result)
        for j, i in enumerate(converged):
            q = result.q[j][result.converged[j]]
            difference = np.max(np.abs(q - fixed["boltzmann", i]), initial=0.0)
            if difference > 1e-4:
                multiple.append({"mdp": i, "largest_difference": float(difference)})
    return {
        "num_mdps": len(mdps),
        "sizes": [(n, int(t.probs.shape[1])) for n, t in mdps],
        "boltzmann_not_converged": out["boltzmann"]["not_converged"],
        "mellowmax_not_converged": out["mellowmax"]["not_converged"],
        "boltzmann_iters": out["boltzmann"]["iters"],
        "mellowmax_iters": out["mellowmax"]["iters"],
        "boltzmann_multiple_fixed_points": multiple,
    }


def _stacked(tables: list[planning.MDPTables]) -> planning.MDPTables:
    return jax.tree.map(lambda *a: np.stack(a), *tables)


def two_state_env() -> TabularEnv:
    """The paper's Figure 1 MDP as a :class:`TabularEnv` (built from its ``P``)."""
    mdp = types.SimpleNamespace(P=TWO_STATE_P, initial_state_distrib=np.array([1, 0]))
    return TabularEnv.from_gymnasium(mdp, discount=DISCOUNT, name="two-state MDP")


def two_state_scan(config: Config) -> dict:
    """GVI on the two-state MDP over ``beta`` (and ``omega``) from ``Q = 0`` and
    from ``Q = Q*``: the betas where Boltzmann's two starts end at different fixed
    points."""
    env = two_state_env()
    tables = jax.tree.map(
        lambda a: a.astype(np.float64) if a.dtype == np.float32 else a,
        planning.tables_of(env),
    )
    starts = jnp.stack([jnp.zeros((2, 2)), jnp.asarray(env.action_values, jnp.float64)])
    betas = jnp.asarray(config.betas, jnp.float64)
    settings = {"tol": config.gvi_tol, "max_iters": 100 * config.gvi_max_iters}
    out = {"betas": list(config.betas)}
    for name, params in (("boltzmann", 1.0 / betas), ("mellowmax", betas)):
        gvi = planning.make_gvi(name, **settings)
        over_starts = jax.vmap(gvi, (None, None, None, 0))
        result = jax.jit(jax.vmap(over_starts, (None, None, 0, None)))(
            tables, DISCOUNT, params, starts
        )
        out[name] = {
            "converged": np.asarray(result.converged).tolist(),  # [beta, start]
            "q_s1": np.asarray(result.q[:, :, 0]).tolist(),  # [beta, start, action]
        }
    q = np.asarray(out["boltzmann"]["q_s1"])
    apart = np.max(np.abs(q[:, 0] - q[:, 1]), axis=1) > 1e-4
    both = np.all(out["boltzmann"]["converged"], axis=1)
    two = np.flatnonzero(apart & both)
    if len(two):
        pick = int(two[len(two) // 2])
        out["two_fixed_points"] = {
            "betas": [config.betas[i] for i in two],
            "beta": config.betas[pick],
            "from_zero": q[pick, 0].tolist(),
            "from_q_star": q[pick, 1].tolist(),
        }
    mm = np.asarray(out["mellowmax"]["q_s1"])
    out["mellowmax_largest_start_difference"] = float(
        np.max(np.abs(mm[:, 0] - mm[:, 1]))
    )
    return out


# --- (c) SARSA with the Boltzmann and the mellowmax policy -------------------------


def sarsa_trajectories(key, rule, explore: float, config: Config) -> np.ndarray:
    """``[seeds, steps, 2]`` SARSA's ``Q(s1, .)`` after every step, one run per
    seed (the engine's run of the TD agent, its carry read at each step)."""
    env = two_state_env()
    agent = make_td_agent(2, 2, rule, target="sarsa")
    params = TDParams(explore=explore, step_size=config.step_size, discount=DISCOUNT)
    run = make_run(env, agent, config.sarsa_steps, agent_params=params)

    def trajectory(key):
        def step(carry, t):
            carry, _ = run.step(carry, t)
            return carry, learned_state(carry)[2].q[0]

        carry = run.init(key, jnp.float32(explore))
        return jax.lax.scan(step, carry, jnp.arange(config.sarsa_steps))[1]

    keys = jax.random.split(key, config.sarsa_seeds)
    return np.asarray(jax.jit(jax.vmap(trajectory))(keys), np.float64)


def drift(trajectories: np.ndarray, num_windows: int) -> np.ndarray:
    """``[seeds, 2]`` how far the mean of ``Q(s1, .)`` moves between the windows of
    the second half of each run (largest minus smallest window mean)."""
    late = trajectories[:, trajectories.shape[1] // 2 :]
    late = late[:, : late.shape[1] // num_windows * num_windows]
    means = late.reshape(late.shape[0], num_windows, -1, 2).mean(axis=2)
    return means.max(axis=1) - means.min(axis=1)


def sarsa_study(key, config: Config) -> tuple[dict, dict]:
    """Both policies' SARSA runs; returns ``(report, trajectories)``."""
    key_boltz, key_mellow = jax.random.split(key)
    runs = {
        "boltzmann": (key_boltz, rules.boltzmann_rule(), 1.0 / BETA),
        "mellowmax": (key_mellow, rules.mellowmax_rule(), BETA),
    }
    tables = planning.tables_of(two_state_env())
    report, trajectories = {}, {}
    for name, (k, rule, explore) in runs.items():
        q = sarsa_trajectories(k, rule, explore, config)
        fixed = planning.make_gvi(name, tol=1e-7)(tables, DISCOUNT, explore).q[0]
        late = q[:, q.shape[1] // 2 :]
        report[name] = {
            "drift": drift(q, config.num_windows).tolist(),
            "late_mean": late.mean(axis=1).tolist(),
            "late_std": late.std(axis=1).tolist(),
            "gvi_fixed_point": np.asarray(fixed, np.float64).tolist(),
        }
        trajectories[name] = q
    return report, trajectories


# --- figures and the report --------------------------------------------------------


def draw_sarsa(trajectories: dict, report: dict, path: Path) -> None:
    fig = Figure(figsize=(7.5, 4.6), dpi=150, layout="constrained")
    axes = fig.subplots(2, 1, sharex=True, sharey=True)
    titles = {
        "boltzmann": f"Boltzmann policy, β = {BETA}",
        "mellowmax": f"mellowmax policy, ω = {BETA}",
    }
    for ax, (name, q) in zip(axes, trajectories.items(), strict=True):
        stride = max(1, q.shape[1] // 4000)
        steps = np.arange(q.shape[1])[::stride]
        for action, color in ((0, "#d95f02"), (1, "#1b9e77")):
            label = f"Q(s1, {'ab'[action]})"
            ax.plot(steps, q[0, ::stride, action], lw=0.6, color=color, label=label)
            fixed = report[name]["gvi_fixed_point"][action]
            ax.axhline(fixed, color=color, ls="--", lw=0.8)
        ax.set_title(f"SARSA, {titles[name]} (dashed: its GVI fixed point)", fontsize=9)
        ax.set_ylabel("Q")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper right")
    axes[1].set_xlabel("step")
    fig.savefig(path)


def draw_fixed_points(scan: dict, path: Path) -> None:
    fig = Figure(figsize=(6.5, 3.8), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    betas = np.asarray(scan["betas"])
    styles = {
        ("boltzmann", 0): ("Boltzmann GVI from Q = 0", "#d95f02", "-"),
        ("boltzmann", 1): ("Boltzmann GVI from Q = Q*", "#7570b3", "--"),
        ("mellowmax", 0): ("mellowmax GVI (ω = β), both starts", "#1b9e77", "-"),
    }
    for (name, start), (label, color, style) in styles.items():
        q = np.asarray(scan[name]["q_s1"])[:, start]
        ax.plot(betas, q.max(axis=1), style, color=color, label=label)
    ax.set(xlabel="β (and ω)", ylabel="max_a Q(s1, a) at the fixed point")
    ax.set_title(
        "The two-state MDP: where Boltzmann GVI has two fixed points", fontsize=10
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path)


def study_keys(seed: int) -> dict[str, jax.Array]:
    """The key of each part, all from ``key(seed)``."""
    names = ("expansion", "pairs", "mdps", "sarsa")
    return dict(zip(names, jax.random.split(jax.random.key(seed), 4), strict=True))


def results_table(report: dict) -> str:
    """The markdown table of the docs page (docs/guide/mellowmax.md), from a report."""
    expansion = {row["size"]: row for row in report["expansion"]}
    pairs = report["random_pairs"]
    mdps = report["random_mdps"]
    scan = report["two_state_gvi"]
    sarsa = report["sarsa"]
    config = report["config"]
    sizes = " / ".join(str(size) for size in expansion)
    factors = " / ".join(f"{row['factor']:.4f}" for row in expansion.values())
    two = expansion.get(2)
    expanding = sum(row["boltzmann_expanding_pairs"] for row in pairs)
    total = sum(row["num_pairs"] for row in pairs)
    boltz_fail = mdps["boltzmann_not_converged"]
    changes = [row["change"] for row in boltz_fail]
    converged = mdps["num_mdps"] - len(boltz_fail)

    def numbers(values, digits=4):
        return "[" + ", ".join(f"{v:.{digits}f}" for v in values) + "]"

    def span(values, digits=3):
        return f"{min(values):.{digits}f} to {max(values):.{digits}f}"

    rows = [
        (f"largest Boltzmann factor, {sizes} actions (β = {BETA})", factors),
    ]
    if two:
        rows.append(
            ("a pair that Boltzmann pulls apart (2 actions)",
             f"x = {numbers(two['x'], 6)}, y = {numbers(two['y'], 6)}: factor "
             f"{two['factor']:.4f}")
        )  # fmt: skip
    rows += [
        (f"random pairs ({len(config['sizes'])} sizes x {len(config['omegas'])} "
         f"parameters): Boltzmann expands",
         f"{expanding} of {total} (largest factor "
         f"{max(r['boltzmann_max_factor'] for r in pairs):.4f})"),
        ("the same pairs: mellowmax's largest factor",
         f"{max(r['mellowmax_max_factor'] for r in pairs):.9f}"),
        (f"GVI on {mdps['num_mdps']} random MDPs: not converged in "
         f"{config['gvi_max_iters']} sweeps",
         f"Boltzmann {len(boltz_fail)}, mellowmax "
         f"{len(mdps['mellowmax_not_converged'])}"),
        ("Boltzmann's last change where it did not converge",
         span(changes) if changes else "none"),
        ("mellowmax's sweeps to converge, largest", str(max(mdps["mellowmax_iters"]))),
        (f"Boltzmann from {config['num_restarts']} random starts: MDPs with a "
         "second fixed point",
         f"{len(mdps['boltzmann_multiple_fixed_points'])} of {converged}"),
    ]  # fmt: skip
    if "two_fixed_points" in scan:
        fixed = scan["two_fixed_points"]
        rows += [
            ("two-state MDP: β with two Boltzmann fixed points (grid step 0.01)",
             f"{min(fixed['betas']):.2f} to {max(fixed['betas']):.2f}"),
            (f"its two fixed points at β = {fixed['beta']:.2f}: Q(s1, ·)",
             f"{numbers(fixed['from_zero'])} from Q = 0, "
             f"{numbers(fixed['from_q_star'])} from Q = Q*"),
        ]  # fmt: skip
    rows.append(
        ("two-state MDP, mellowmax: largest difference between the starts",
         f"{scan['mellowmax_largest_start_difference']:.1e}")
    )  # fmt: skip
    for name in ("boltzmann", "mellowmax"):
        row = sarsa[name]
        drifts = [max(d) for d in row["drift"]]
        late = np.mean(row["late_mean"], axis=0)
        rows += [
            (f"SARSA, {name} policy: drift of the late window means, per seed "
             f"({config['sarsa_seeds']} seeds)", span(drifts)),
            (f"SARSA, {name} policy: late mean Q(s1, ·) and the GVI fixed point",
             f"{numbers(late, 3)}; {numbers(row['gvi_fixed_point'], 3)}"),
        ]  # fmt: skip
    lines = ["| result | measured |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=Config.seed)
    parser.add_argument("--num-pairs", type=int, default=Config.num_pairs)
    parser.add_argument("--num-starts", type=int, default=Config.num_starts)
    parser.add_argument("--num-mdps", type=int, default=Config.num_mdps)
    parser.add_argument("--sarsa-steps", type=int, default=Config.sarsa_steps)
    parser.add_argument("--sarsa-seeds", type=int, default=Config.sarsa_seeds)
    parser.add_argument("--out", default="results/mellowmax_paper")
    args = parser.parse_args(argv)
    config = Config(
        seed=args.seed, num_pairs=args.num_pairs, num_starts=args.num_starts,
        num_mdps=args.num_mdps, sarsa_steps=args.sarsa_steps,
        sarsa_seeds=args.sarsa_seeds,
    )  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keys = study_keys(config.seed)
    with jax.enable_x64(True):  # the planning and the factors in float64
        expansion = [
            largest_expansion(k, size, BETA, config.num_starts)
            for k, size in zip(
                jax.random.split(keys["expansion"], len(config.expansion_sizes)),
                config.expansion_sizes,
                strict=True,
            )
        ]  # fmt: skip
        pairs = [
            random_pairs(
                jax.random.fold_in(keys["pairs"], i), size, omega, config.num_pairs
            )
            for i, (size, omega) in enumerate(
                (s, w) for s in config.sizes for w in config.omegas
            )
        ]
        mdps = random_mdp_study(keys["mdps"], config)
        scan = two_state_scan(config)
    sarsa, trajectories = sarsa_study(keys["sarsa"], config)
    report = {
        "config": dataclasses.asdict(config),
        "expansion": expansion,
        "random_pairs": pairs,
        "random_mdps": mdps,
        "two_state_gvi": scan,
        "sarsa": sarsa,
    }
    draw_sarsa(trajectories, sarsa, out / "mellowmax_sarsa.png")
    draw_fixed_points(scan, out / "mellowmax_fixed_points.png")
    (out / "mellowmax_paper.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "mellowmax_paper_table.txt").write_text(results_table(report))
    _print(report)
    print(f"wrote {out / 'mellowmax_paper.json'} and two figures")
    return report


def _print(report: dict) -> None:
    for row in report["expansion"]:
        print(
            f"Boltzmann, {row['size']} actions, beta = {row['beta']}: largest factor "
            f"{row['largest_gradient_l1']:.4f}; the pair {row['factor']:.4f}"
        )
    worst = max(r["mellowmax_max_factor"] for r in report["random_pairs"])
    expanding = sum(r["boltzmann_expanding_pairs"] for r in report["random_pairs"])
    total = sum(r["num_pairs"] for r in report["random_pairs"])
    print(f"random pairs: Boltzmann expands {expanding}/{total}, mellowmax's largest "
          f"factor {worst:.6f}")  # fmt: skip
    mdps = report["random_mdps"]
    print(
        f"GVI on {mdps['num_mdps']} random MDPs: Boltzmann did not converge on "
        f"{len(mdps['boltzmann_not_converged'])}, mellowmax on "
        f"{len(mdps['mellowmax_not_converged'])}; Boltzmann reached a second fixed "
        f"point on {len(mdps['boltzmann_multiple_fixed_points'])}"
    )
    two = report["two_state_gvi"].get("two_fixed_points")
    if two:
        print(f"two-state MDP: two Boltzmann fixed points at beta = {two['beta']}: "
              f"Q(s1, .) = {np.round(two['from_zero'], 4).tolist()} and "
              f"{np.round(two['from_q_star'], 4).tolist()}")  # fmt: skip
    for name, row in report["sarsa"].items():
        print(f"SARSA, {name}: drift of the late window means, largest over seeds "
              f"{np.max(row['drift']):.4f}; GVI fixed point "
              f"{np.round(row['gvi_fixed_point'], 4).tolist()}, late mean "
              f"{np.round(np.mean(row['late_mean'], axis=0), 4).tolist()}")  # fmt: skip


if __name__ == "__main__":
    main()
