"""Tests for rl_softmax/experiment/registry.py: the one table of names.

Every environment, agent and rule the registry names builds a run from a small
config (``config.from_dict`` -> ``pipeline.build_run``) that runs under ``jit``
and reports the metrics the design says it defines. Parameter defaults are checked
against the agents' own params NamedTuples and closed forms (``0.01 log K``),
optimizers against the closed-form first step of each algorithm, schedules traced
against the same schedule built eagerly. ``register_env`` / ``register_agent`` are
tested on a copy of the global tables, restored after each test.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rl_softmax import envs, schedules
from rl_softmax.agents import action_value, rules, td
from rl_softmax.cli import main
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import pipeline, registry
from rl_softmax.experiment.config import ConfigError

NUM_ARMS = 5
NUM_STEPS = 12

# The design's names (API brief), written out independently of the registry.
STEP = {"reward", "optimal", "regret"}
PROBS = STEP | {"entropy", "prob_optimal"}
TAU = PROBS | {"tau"}
RULE_METRICS = {
    "boltzmann": TAU,
    "greedy": TAU,  # tau = 0
    "epsilon_greedy": PROBS,
    "ucb": PROBS,
    "boltzmann_gumbel": STEP,  # no closed-form probabilities
    "target_entropy": TAU,
    "mellowmax": TAU,  # its temperature, solved per state
}
AGENT_METRICS = {"gradient_bandit": TAU, "auto_temperature": TAU}
# Env params that make every reward one known number: (params, reward).
ENV_CASES = {
    "gaussian": ({"mean": 3.5, "std": 0.0, "noise_std": 0.0}, 3.5),
    "nonstationary": (
        {"mean": -2.0, "std": 0.0, "noise_std": 0.0, "walk_std": 0.0},
        -2.0,
    ),
    "bernoulli": ({"low": 1.0, "high": 1.0}, 1.0),
}
# Tabular temporal-difference agents (take a rule) and gymnasium's toy-text envs.
TD_AGENTS = {"q_learning", "sarsa", "expected_sarsa", "soft_q", "mellowmax"}
TOY_TEXT = {"FrozenLake-v1", "FrozenLake8x8-v1", "CliffWalking-v1", "Taxi-v4"}
# Softmax policy networks that learn from rollouts, and the classic-control envs.
ROLLOUT_AGENTS = {"ppo", "a2c", "ppo_auto"}
REPLAY_AGENTS = {"dqn", "double_dqn", "soft_dqn", "mellowmax_dqn"}
CLASSIC = {"CartPole-v1": 2, "Acrobot-v1": 3, "MountainCar-v0": 3}
ROLLOUT_STEPS = 512  # one update of the default 4 environments x 128 steps
OPTIMIZER_NAMES = {"sgd", "momentum", "adam", "rmsprop"}
SCHEDULE_ARGS = {
    "constant": {},
    "linear": {"end_value": 0.01, "transition_steps": 10},
    "exponential": {"decay_rate": 0.5, "transition_steps": 4, "floor": 0.05},
    "cosine": {"decay_steps": 8},
    "piecewise_constant": {"boundaries_and_scales": {3: 0.5, 9: 0.1}},
    "inverse_log": {},
    "inverse_sqrt": {"offset": 2.0},
}


def _config(
    study: dict, env: dict | None = None, num_steps: int = NUM_STEPS
) -> config_lib.ExperimentConfig:
    env = env or {}
    bandit = env.get("name", "gaussian") not in TOY_TEXT | set(CLASSIC)
    raw = {
        "name": "registry",
        "num_seeds": 1,
        "num_steps": num_steps,
        "env": {"name": "gaussian", "num_arms": NUM_ARMS, **env} if bandit else env,
        "studies": [{"name": "s", **study}],
    }
    return config_lib.from_dict(raw)


LAKE = {"name": "FrozenLake-v1", "is_slippery": False}


def _default_value(agent: str, rule: str) -> float:
    """The default of the parameter a study of ``agent`` / ``rule`` sweeps."""
    specs = registry.agent_params(agent, rule, NUM_ARMS)
    return next(iter(specs.values())).default


def _run(config: config_lib.ExperimentConfig, value: float, seed: int = 0):
    study = config.studies[0]
    run = pipeline.build_run(config, study)
    out = jax.jit(run)(jax.random.key(seed), value)
    return run, out


def _check_metrics(run, out, expected: set[str], track_probs: bool) -> None:
    """Shapes, dtypes and ranges of every metric of one bandit run."""
    expected = expected | ({"prob_by_rank"} if track_probs else set())
    names = tuple(m.name for m in run.metrics)
    assert set(names) == expected
    assert set(out.values) == expected  # (jit returns dicts in sorted key order)
    assert out.ended is None  # bandits do not end episodes
    assert run.num_actions == NUM_ARMS and run.num_steps == NUM_STEPS
    for name, value in out.values.items():
        shape = (NUM_STEPS, NUM_ARMS) if name == "prob_by_rank" else (NUM_STEPS,)
        assert value.shape == shape and value.dtype == jnp.float32, name
    v = {k: np.asarray(x, np.float64) for k, x in out.values.items()}
    assert np.isfinite(v["reward"]).all()
    assert set(np.unique(v["optimal"])) <= {0.0, 1.0}
    assert (v["regret"] >= 0).all()
    # optimal <=> no regret (continuous q*: no ties).
    np.testing.assert_array_equal(v["optimal"] == 1.0, v["regret"] == 0.0)
    if "entropy" in v:
        assert (v["entropy"] >= -1e-6).all()
        assert (v["entropy"] <= math.log(NUM_ARMS) + 1e-5).all()
        assert ((v["prob_optimal"] >= 0) & (v["prob_optimal"] <= 1 + 1e-6)).all()
    if "tau" in v:
        assert (v["tau"] >= 0).all()
    if track_probs:
        np.testing.assert_allclose(v["prob_by_rank"].sum(axis=1), 1.0, rtol=1e-5)
        np.testing.assert_allclose(v["prob_by_rank"][:, 0], v["prob_optimal"])


# ------------------------------------------------------------------------ names


def test_registry_holds_the_designed_names():
    assert set(registry.RULES) == set(RULE_METRICS)
    assert set(registry.AGENTS) == {
        "action_value",
        *AGENT_METRICS,
        *TD_AGENTS,
        *ROLLOUT_AGENTS,
        *REPLAY_AGENTS,
    }
    assert set(registry.ENVS) == set(ENV_CASES) | TOY_TEXT | set(CLASSIC)
    assert set(registry.OPTIMIZERS) == OPTIMIZER_NAMES
    assert set(registry.SCHEDULES) == set(SCHEDULE_ARGS)
    assert tuple(registry.ENTROPY_SHAPES) == ("linear", "exponential", "cosine")
    for name, entry in [*registry.RULES.items(), *registry.AGENTS.items()]:
        assert entry.name == name and entry.description
    for name, entry in registry.ENVS.items():
        assert entry.name == name and entry.description
    assert registry.AGENTS["action_value"].takes_rule
    assert all(registry.AGENTS[a].takes_rule for a in TD_AGENTS)
    assert not any(registry.AGENTS[a].takes_rule for a in AGENT_METRICS)
    assert not any(registry.AGENTS[a].takes_rule for a in ROLLOUT_AGENTS)
    assert all(registry.AGENTS[a].takes_rule for a in REPLAY_AGENTS)


# ------------------------------------------------------------- every entry builds


@pytest.mark.parametrize("rule", sorted(registry.RULES))
def test_every_rule_builds_a_run_reporting_its_metrics(rule):
    track_probs = "entropy" in RULE_METRICS[rule]
    value = _default_value("action_value", rule)
    config = _config({"rule": rule, "values": [value], "track_probs": track_probs})
    run, out = _run(config, value)
    spec = next(iter(registry.agent_params("action_value", rule, NUM_ARMS).values()))
    assert run.swept == spec.field
    _check_metrics(run, out, RULE_METRICS[rule], track_probs)
    if rule == "greedy":
        np.testing.assert_array_equal(out.values["tau"], 0.0)
    if rule == "boltzmann":  # constant schedule: tau is the swept value
        np.testing.assert_allclose(out.values["tau"], value, rtol=1e-6)


ROLLOUT_METRICS = {
    "reward", "entropy", "tau", "return", "length", "success", "greedy_return",
    "eval_return", "solved", "steps_to_solve",
}  # fmt: skip


@pytest.mark.parametrize("agent", sorted(ROLLOUT_AGENTS))
@pytest.mark.parametrize("env", sorted(CLASSIC))
def test_every_rollout_agent_runs_on_every_classic_env(agent, env):
    value = _default_value(agent, "")
    config = _config({"agent": agent, "values": [value]}, {"name": env}, ROLLOUT_STEPS)
    run = pipeline.build_run(config, config.studies[0])
    assert {m.name for m in run.metrics} == ROLLOUT_METRICS
    assert run.num_actions == CLASSIC[env] and run.num_steps == 1
    assert run.env_steps_per_step == ROLLOUT_STEPS
    out, end = jax.jit(run.run_with_end)(jax.random.key(0), value)
    reward = float(out.values["reward"][0])
    assert reward == (1.0 if env == "CartPole-v1" else -1.0)  # before any success
    entropy = float(out.values["entropy"][0])
    assert abs(entropy - math.log(CLASSIC[env])) < 1e-3  # the first policy: uniform
    assert float(end["solved"]) == 0.0 and np.isnan(end["steps_to_solve"])


@pytest.mark.parametrize(
    "agent", sorted(set(registry.AGENTS) - TD_AGENTS - ROLLOUT_AGENTS - REPLAY_AGENTS)
)
def test_every_agent_builds_a_run_reporting_its_metrics(agent):
    entry = registry.AGENTS[agent]
    rule = "boltzmann" if entry.takes_rule else ""
    study = {"agent": agent, "values": [_default_value(agent, rule)]}
    if rule:
        study["rule"] = rule
    config = _config({**study, "track_probs": True})
    run, out = _run(config, study["values"][0])
    _check_metrics(run, out, AGENT_METRICS.get(agent, TAU), True)


EPISODE = {"return", "length", "success"}
END = {"greedy_success", "greedy_return", "visits"}


@pytest.mark.parametrize("agent", sorted(TD_AGENTS))
@pytest.mark.parametrize("env", sorted(TOY_TEXT))
def test_every_td_agent_runs_on_every_toy_text_env(agent, env):
    rule = "mellowmax" if agent == "mellowmax" else "boltzmann"
    config = _config({"agent": agent, "rule": rule, "values": [0.5]}, {"name": env})
    run, out = _run(config, 0.5)
    assert {m.name for m in run.metrics} == TAU | EPISODE | END
    assert run.num_actions == config.env.num_actions
    assert out.ended.shape == (NUM_STEPS,)
    values = {k: np.asarray(v) for k, v in out.values.items()}
    assert (values["regret"] >= 0).all()  # the value gap V*(s) - Q*(s, a)
    np.testing.assert_array_equal(values["optimal"] == 1.0, values["regret"] == 0.0)


@pytest.mark.parametrize(
    ("agent", "rule"),
    [("sarsa", "boltzmann_gumbel"), ("expected_sarsa", "boltzmann_gumbel"),
     ("soft_q", "epsilon_greedy"), ("soft_q", "ucb")],
)  # fmt: skip
def test_a_rule_an_agent_cannot_use_is_refused_by_name(agent, rule):
    with pytest.raises(ConfigError) as info:
        _config({"agent": agent, "rule": rule, "values": [0.5]}, LAKE)
    for needle in ("studies[0].rule", repr(rule), *registry.AGENTS[agent].rules):
        assert needle in str(info.value), needle
    built = registry.RULES[rule].make(None, 4, NUM_STEPS)
    with pytest.raises(ValueError, match="rule"):  # the agent itself refuses it
        td.make_td_agent(16, 4, built, target=agent)


def test_a_td_agent_needs_an_environment_with_states():
    with pytest.raises(ConfigError, match="finite number of states"):
        pipeline.run_experiment(
            _config({"agent": "q_learning", "rule": "boltzmann", "values": [0.5]}),
            write=False, progress=False,
        )  # fmt: skip


@pytest.mark.parametrize("env", sorted(ENV_CASES))
def test_every_env_builds_a_run_and_takes_its_params(env):
    params, reward = ENV_CASES[env]
    config = _config({"rule": "boltzmann", "values": [0.5]}, {"name": env})
    run, out = _run(config, 0.5)
    _check_metrics(run, out, TAU, False)
    assert set(params) <= set(registry.ENVS[env].params)
    # The config's env params reach the environment: every reward is known.
    config = _config({"rule": "boltzmann", "values": [0.5]}, {"name": env, **params})
    assert config.env.params == params
    _, out = _run(config, 0.5)
    np.testing.assert_array_equal(out.values["reward"], np.float32(reward))


def test_env_entries_name_fields_of_the_env_params():
    for name, entry in registry.ENVS.items():
        if name in TOY_TEXT:  # built from gymnasium's keywords, nothing to sweep
            env = entry.make()
            assert not entry.sizes and not entry.params and env.episodic, name
            assert "discount" in entry.options, name
            continue
        if name in CLASSIC:  # every number of the dynamics may be set
            env = entry.make()
            assert env.num_actions == CLASSIC[name] and env.episodic, name
            numbers = tuple(
                field for field, value in env.default_params._asdict().items()
                if np.ndim(value) == 0
            )  # fmt: skip
            assert entry.params == numbers, name
            assert not entry.sizes and not entry.options, name
            continue
        assert entry.sizes == {"num_arms": (10, 2)}, name  # (default, minimum)
        env = entry.make(num_arms=NUM_ARMS)
        assert env.num_actions == NUM_ARMS and not env.episodic
        assert set(entry.params) <= set(env.default_params._fields), name
        assert set(entry.nonnegative) <= set(entry.params), name


# ----------------------------------------------------------------------- params


def _cases():
    for agent, entry in registry.AGENTS.items():
        for rule in (entry.rules or registry.RULES) if entry.takes_rule else [""]:
            yield agent, rule


def _num_actions(agent: str, num_actions: int) -> int:
    """A TD agent runs on FrozenLake (4 actions), a rollout agent on CartPole (2),
    the others on a bandit."""
    if agent in ROLLOUT_AGENTS | REPLAY_AGENTS:
        return 2
    return 4 if agent in TD_AGENTS else num_actions


@pytest.mark.parametrize(("agent", "rule"), list(_cases()))
@pytest.mark.parametrize("num_actions", [2, 10])
def test_param_defaults_are_the_agent_params_defaults(agent, rule, num_actions):
    num_actions = _num_actions(agent, num_actions)
    entry = registry.AGENTS[agent]
    raw = {p.name: p for p in entry.params}
    if rule and registry.RULES[rule].param is not None:
        raw = {registry.RULES[rule].param.name: registry.RULES[rule].param, **raw}
    specs = registry.agent_params(agent, rule, num_actions)
    assert list(specs) == list(raw)  # the rule's own parameter first
    if agent in ROLLOUT_AGENTS | REPLAY_AGENTS:
        env, num_steps = {"name": "CartPole-v1"}, ROLLOUT_STEPS
    else:
        env = LAKE if agent in TD_AGENTS else {"num_arms": num_actions}
        num_steps = NUM_STEPS
    config = _config(
        {"agent": agent, "values": [next(iter(specs.values())).default]}
        | ({"rule": rule} if rule else {}),
        env, num_steps,
    )  # fmt: skip
    env_entry = registry.ENVS[config.env.name]
    env = env_entry.make(**config.env.sizes, **config.env.options)
    built = entry.make(config.studies[0], env, num_steps)
    assert built.num_actions == num_actions
    named_tuple_defaults = entry.params_type()
    for name, spec in specs.items():
        assert spec.field in entry.params_type._fields, name
        assert isinstance(spec.default, float) and isinstance(spec.high, float)
        assert spec.low <= spec.default <= spec.high, name
        if raw[name].default is None:
            expected = getattr(named_tuple_defaults, spec.field)
            assert spec.default == expected, name
            assert spec.default == getattr(built.default_params, spec.field), name


@pytest.mark.parametrize("num_actions", [2, 5, 10, 1000])
def test_target_entropy_defaults_resolve_for_the_number_of_actions(num_actions):
    log_k = math.log(num_actions)
    specs = registry.agent_params("action_value", "target_entropy", num_actions)
    final = specs["final_entropy"]
    assert final.field == "explore"
    assert final.default == pytest.approx(0.01 * log_k, rel=1e-12)
    assert final.high == pytest.approx(log_k, rel=1e-12) and final.low == 0.0
    assert not final.allow_inf


def test_rule_params_have_their_ranges_and_symbols():
    specs = registry.agent_params("action_value", "boltzmann", NUM_ARMS)
    assert list(specs) == ["tau", "step_size", "initial_value"]
    tau = specs["tau"]
    # finite values up to what float32 sums over 2**31 steps, and inf itself
    assert (tau.low, tau.allow_inf, tau.symbol) == (0.0, True, "τ")
    assert tau.high == np.finfo(np.float32).max / 2**31
    epsilon = registry.agent_params("action_value", "epsilon_greedy", 3)["epsilon"]
    assert (epsilon.low, epsilon.high, epsilon.allow_inf) == (0.0, 1.0, False)
    assert list(registry.agent_params("action_value", "greedy", 3)) == [
        "step_size",
        "initial_value",
    ]
    gradient = registry.agent_params("gradient_bandit", "", 3)
    assert gradient["tau"].field == "explore" and gradient["tau"].low > 0


# ---------------------------------------------------------- optimizers, schedules


def _first_update(name: str, g: np.ndarray, lr: float) -> np.ndarray:
    """The algorithm's first step on gradient ``g`` (closed forms)."""
    if name in ("sgd", "momentum"):  # a momentum trace starts at the gradient
        return -lr * g
    if name == "adam":  # bias-corrected moments: m = g, v = g**2
        return -lr * g / (np.abs(g) + 1e-8)
    assert name == "rmsprop"  # optax: nu = (1 - 0.9) g**2, g / sqrt(nu + eps)
    return -lr * g / np.sqrt(0.1 * g**2 + 1e-8)


@pytest.mark.parametrize("name", sorted(registry.OPTIMIZERS))
def test_optimizers_are_optax_factories_taking_the_learning_rate(name):
    factory = registry.OPTIMIZERS[name]
    x = jnp.array([1.0, -2.0, 0.5])

    def step(learning_rate, params):
        optimizer = factory(learning_rate=learning_rate)
        assert isinstance(optimizer, optax.GradientTransformation)
        state = optimizer.init(params)
        grads = jax.grad(lambda p: 0.5 * jnp.sum(p**2))(params)
        updates, _ = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates)

    # The learning rate is swept: it must be traceable.
    new = jax.jit(step)(jnp.float32(0.1), x)
    expected = np.asarray(x) + _first_update(name, np.asarray(x, np.float64), 0.1)
    np.testing.assert_allclose(new, expected, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(registry.SCHEDULES))
def test_schedules_accept_a_traced_first_argument(name):
    args = SCHEDULE_ARGS[name]
    assert registry.SCHEDULES[name] is getattr(schedules, name)
    temperature = registry.make_temperature(name, args)
    steps = jnp.arange(20)
    explores = jnp.array([0.5, 2.0], jnp.float32)
    by_step = jax.vmap(temperature, in_axes=(0, None))
    traced = jax.jit(jax.vmap(by_step, in_axes=(None, 0)))(steps, explores)
    assert traced.shape == (2, 20) and traced.dtype == jnp.float32
    for row, explore in zip(np.asarray(traced), (0.5, 2.0), strict=True):
        schedule = registry.SCHEDULES[name](explore, **args)  # concrete scale
        eager = np.array([float(schedule(t)) for t in range(20)])
        np.testing.assert_allclose(row, eager, rtol=1e-6)
        assert row[0] > 0 and np.isfinite(row).all()


def test_make_temperature_rejects_arguments_the_schedule_does_not_take():
    with pytest.raises(ValueError, match="decay_rate"):
        registry.make_temperature("inverse_log", {"decay_rate": 0.5})
    with pytest.raises(ValueError, match="transition_steps"):
        registry.make_temperature("linear", {"end_value": 0.0})


# ---------------------------------------------------------------- registration


def _sure_thing_check(params: dict[str, float]) -> str | None:
    low = params.get("low", 1.0)
    return None if low <= 1.0 else f"env.low: got {low}; expected <= 1."


def test_register_env_makes_a_new_environment_configurable(monkeypatch, capsys):
    study = {"rule": "boltzmann", "values": [0.5]}
    with monkeypatch.context() as patch:
        patch.setattr(registry, "ENVS", dict(registry.ENVS))
        entry = registry.EnvEntry(
            "sure_thing",
            "levers paying 1 with probability in [low, 1]",
            lambda num_levers: envs.BernoulliBandit(num_levers),
            ("low",),
            sizes={"num_levers": (3, 2)},
            nonnegative=("low",),
            check=_sure_thing_check,
        )
        assert registry.register_env(entry) is entry
        assert registry.ENVS["sure_thing"] is entry
        env = {"name": "sure_thing", "num_levers": 4, "low": 1.0}
        config = config_lib.from_dict(
            {"name": "new", "num_steps": NUM_STEPS, "env": env,
             "studies": [{"name": "s", **study}]}
        )  # fmt: skip
        assert config.env.params == {"low": 1.0}
        assert config.env.sizes == {"num_levers": 4} and config.env.num_actions == 4
        run, out = _run(config, 0.5)
        assert run.num_actions == 4
        np.testing.assert_array_equal(out.values["reward"], 1.0)  # p = 1
        env = config_lib.from_dict(
            {"name": "new", "env": {"name": "sure_thing"},
             "studies": [{"name": "s", **study}]}
        ).env  # fmt: skip
        assert env.sizes == {"num_levers": 3} and env.num_actions == 3  # default
        # Its own sizes and params are validated: unknown, range, cross-field check.
        for env, needles in (
            ({"high": 1.0}, ["env", "'high'", "allowed", "'low'", "'num_levers'"]),
            ({"num_levers": 1}, ["env.num_levers", "1", ">= 2"]),
            ({"low": -0.5}, ["env.low", "-0.5", ">= 0"]),
            ({"low": 2.0}, ["env.low", "2.0", "<= 1"]),
        ):
            with pytest.raises(ConfigError) as info:
                config_lib.from_dict(
                    {"name": "new", "env": {"name": "sure_thing", **env},
                     "studies": [{"name": "s", **study}]}
                )  # fmt: skip
            for needle in needles:
                assert needle in str(info.value), (needle, str(info.value))
        assert main(["list"]) == 0
        assert "  sure_thing " in capsys.readouterr().out
    assert "sure_thing" not in registry.ENVS  # the global table is restored
    with pytest.raises(ConfigError, match="sure_thing"):
        _config(study, {"name": "sure_thing"})


def _make_uniform_softmax(study, env, num_steps):
    return action_value.make_action_value_agent(
        env.num_actions, rules.boltzmann_rule(), sample_average=study.sample_average
    )


def test_register_agent_makes_a_new_agent_configurable(monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(registry, "AGENTS", dict(registry.AGENTS))
        entry = registry.AgentEntry(
            "softmax_values",
            "sample-average Q with a Boltzmann policy, no rule to choose",
            action_value.ActionValueParams,
            (
                registry.Param("tau", "explore", None, 0.0, math.inf, True, "τ"),
                registry.Param("step_size", "step_size", None, 1e-12, 1.0),
            ),
            _make_uniform_softmax,
            options=("step_size",),
        )
        assert registry.register_agent(entry) is entry
        specs = registry.agent_params("softmax_values", "", NUM_ARMS)
        assert list(specs) == ["tau", "step_size"]
        assert specs["tau"].default == action_value.ActionValueParams().explore
        config = _config({"agent": "softmax_values", "values": [math.inf]})
        study = config.studies[0]
        assert (study.param, study.rule, study.optimizer) == ("tau", "", "")
        assert study.sample_average and study.fixed == {"step_size": 0.1}
        run, out = _run(config, math.inf)
        # tau = inf is the uniform policy: entropy log K, P(optimal) 1/K.
        np.testing.assert_allclose(out.values["entropy"], math.log(NUM_ARMS), 1e-6)
        np.testing.assert_allclose(out.values["prob_optimal"], 1 / NUM_ARMS, 1e-6)
        for table, needles in (
            ({"rule": "boltzmann"}, ["studies[0].rule", "no exploration rule"]),
            ({"schedule": "linear"}, ["unknown key", "'schedule'", "'tau'"]),
            ({"values": [-1.0]}, ["studies[0].values", "-1.0"]),
        ):
            with pytest.raises(ConfigError) as info:
                _config({"agent": "softmax_values", "values": [1.0], **table})
            for needle in needles:
                assert needle in str(info.value), (needle, str(info.value))
    assert "softmax_values" not in registry.AGENTS
    with pytest.raises(ConfigError, match="softmax_values"):
        _config({"agent": "softmax_values", "values": [1.0]})


@pytest.mark.parametrize("name", sorted(registry.AGENTS))
def test_each_run_constructor_takes_its_agents_and_names_the_other(name):
    """make_run builds every per-step agent of the registry and make_rollout_run
    every rollout agent; each refuses the other kind in one line naming the right
    constructor (issue 23)."""
    from rl_softmax.agents.base import Agent
    from rl_softmax.engine import make_rollout_run, make_run

    entry = registry.AGENTS[name]
    rules = [r for r in registry.RULES if entry.rules is None or r in entry.rules]
    rule = rules[0] if entry.takes_rule else None
    param, spec = next(iter(registry.agent_params(name, rule, 2).items()))
    study = {"name": "s", "agent": name, "param": param, "values": [spec.default]}
    if rule:
        study["rule"] = rule
    env_name = "FrozenLake-v1" if name in TD_AGENTS else "CartPole-v1"
    raw = {"name": "c", "num_steps": 512, "env": {"name": env_name},
           "studies": [study]}  # fmt: skip
    config = config_lib.from_dict(raw)
    env = registry.ENVS[env_name].make(**config.env.options)
    agent = entry.make(config.studies[0], env, 512)
    field = registry.agent_params(name, rule, env.num_actions)[param].field
    assert isinstance(agent, Agent)  # one contract for every agent
    if not agent.per_step:
        run = make_rollout_run(env, agent, 1, num_envs=2, rollout_steps=4, swept=field)
        with pytest.raises(TypeError) as refused:
            make_run(env, agent, 8, swept=field)
        right = "make_rollout_run(env, agent, num_updates"
    else:
        run = make_run(env, agent, 8, swept=field)
        with pytest.raises(TypeError) as refused:
            make_rollout_run(env, agent, 1, num_envs=2, rollout_steps=4, swept=field)
        right = "make_run(env, agent, num_steps)"
    assert run.swept == field
    message = str(refused.value)
    assert "\n" not in message and right in message, message
