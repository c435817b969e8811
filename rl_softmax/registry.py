"""Names in configs -> environments, agents and runs.

The one place that turns a validated :class:`~rl_softmax.config.ExperimentConfig`
into the pure pieces the sweep engine runs.
"""

from __future__ import annotations

import jax.numpy as jnp
import optax

from rl_softmax import agents, envs, schedules
from rl_softmax.config import (
    AGENTS,
    ENV_PARAMS,
    EXPLORE_PARAM,
    EnvConfig,
    StudyConfig,
    agent_params,
)
from rl_softmax.sweep import Run, make_run

__all__ = ["AGENT_INFO", "ENVS", "RULES", "make_env", "make_study_run", "study_values"]

ENVS = {
    "gaussian": "K-armed Gaussian testbed, q* ~ N(mean, std), R ~ N(q*(A), noise_std)",
    "nonstationary": "Gaussian testbed whose q* take N(0, walk_std) random walks",
    "bernoulli": "K arms paying 1 with probability p ~ U(low, high)",
}
RULES = {
    "boltzmann": "softmax of Q at temperature tau (or a schedule scaled by tau)",
    "greedy": "argmax Q, ties split evenly (optimistic with initial_value > 0)",
    "epsilon_greedy": "greedy, uniform with probability epsilon",
    "ucb": "argmax Q + c sqrt(ln t / N)",
    "boltzmann_gumbel": "Boltzmann-Gumbel exploration, Gumbel noise of scale c/sqrt(N)",
    "target_entropy": "softmax at the tau whose entropy follows a target schedule",
}
AGENT_INFO = {
    "action_value": "Q estimates with an exploration rule on top (see rules)",
    "gradient_bandit": "softmax preferences trained by an optax optimizer (S&B 2.8)",
    "auto_temperature": "Boltzmann with log tau trained to a target entropy (SAC)",
}
assert set(ENVS) == set(ENV_PARAMS) and set(RULES) == set(EXPLORE_PARAM)
assert set(AGENT_INFO) == set(AGENTS)

_OPTIMIZERS = {
    "sgd": optax.sgd,
    "momentum": lambda learning_rate: optax.sgd(learning_rate, momentum=0.9),
    "adam": optax.adam,
    "rmsprop": optax.rmsprop,
}


def make_env(config: EnvConfig):
    """Returns ``(env, env_params)`` for an environment config."""
    if config.name == "bernoulli":
        env = envs.BernoulliBandit(config.num_arms)
    else:
        walk = config.name == "nonstationary"
        env = envs.GaussianBandit(config.num_arms, random_walk=walk)
    params = env.default_params._replace(
        **{k: jnp.float32(v) for k, v in config.params.items()}
    )
    return env, params


def _entropy_schedule(study: StudyConfig, num_actions: int, final_entropy):
    return schedules.entropy_target(
        num_actions,
        study.entropy["anneal_steps"],
        final_entropy=final_entropy,
        shape=study.entropy["shape"],
    )


def _make_agent(study: StudyConfig, num_actions: int) -> agents.Agent:
    if study.agent == "gradient_bandit":
        return agents.make_gradient_bandit(
            num_actions, _OPTIMIZERS[study.optimizer], baseline=study.baseline
        )
    if study.agent == "auto_temperature":
        target = _entropy_schedule(study, num_actions, study.entropy["final_entropy"])
        return agents.make_auto_temperature_agent(
            num_actions, target, optimizer=_OPTIMIZERS[study.optimizer],
            sample_average=study.sample_average,
        )  # fmt: skip
    kwargs = {}
    if study.rule == "boltzmann":
        kwargs["temperature"] = schedules.make_temperature(
            study.schedule, **study.schedule_args
        )
    if study.rule == "target_entropy":
        kwargs["entropy_target"] = lambda step, final: _entropy_schedule(
            study, num_actions, final
        )(step)
    return agents.make_action_value_agent(
        num_actions, study.rule, sample_average=study.sample_average, **kwargs
    )


def make_study_run(env_config: EnvConfig, study: StudyConfig, num_steps: int) -> Run:
    """The pure ``run(key, value)`` of a study; ``value`` sets its swept parameter."""
    env, env_params = make_env(env_config)
    agent = _make_agent(study, env.num_actions)
    specs = agent_params(study.agent, study.rule, env.num_actions)
    params = agent.default_params._replace(
        **{specs[k].field: jnp.float32(v) for k, v in study.fixed.items()}
    )
    return make_run(
        env, agent, num_steps, env_params=env_params, agent_params=params,
        swept=specs[study.param].field,
    )  # fmt: skip


def study_values(study: StudyConfig) -> tuple[float, ...]:
    """The swept values followed by the reference values."""
    return study.values + tuple(study.references.values())
