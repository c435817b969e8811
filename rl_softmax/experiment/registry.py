"""The one table of names: environments, agents, exploration rules, optimizers,
schedules, each with its parameters (type, default, range, label).

Config validation (:mod:`.config`), ``rl-softmax list``, error messages, the
pipeline that builds runs and the plot labels it writes into the results all read
this module; nothing else names an environment, an agent or a parameter.
:func:`register_env` and :func:`register_agent` add entries (a new environment or
agent becomes usable from configs without touching anything else).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import optax

from rl_softmax import envs, schedules
from rl_softmax.agents import (
    action_value,
    actor_critic,
    auto_temperature,
    dqn,
    gradient_bandit,
    rules,
    td,
)
from rl_softmax.experiment import schema
from rl_softmax.experiment.schema import REPLAY, ROLLOUT

__all__ = [
    "AGENTS",
    "ENTROPY_SHAPES",
    "ENVS",
    "GYMNASIUM_OPTIONS",
    "OPTIMIZERS",
    "REPLAY",
    "ROLLOUT",
    "RULES",
    "SCHEDULES",
    "AgentEntry",
    "EnvEntry",
    "Param",
    "RuleEntry",
    "agent_params",
    "is_gymnasium_id",
    "make_host_env",
    "make_temperature",
    "register_agent",
    "register_env",
]

_INF = math.inf


@dataclasses.dataclass(frozen=True)
class Param:
    """A number a config may set or sweep.

    Attributes:
      name: the config key (``tau``, ``step_size``, ...).
      field: the params NamedTuple field it sets (``explore``, ``step_size``, ...).
      default: its value when not given; a callable takes the number of actions
        (its docstring's first line says what it is, e.g. ``0.01 ln K``). None
        takes the params NamedTuple's own default.
      low, high: the allowed closed range (a callable ``high`` as ``default``).
      allow_inf: whether ``inf`` is allowed (``tau = inf`` is the uniform limit).
      why_finite: why ``inf`` is not allowed, when the reason is not obvious.
      symbol: short name in legends (``τ``).
      label: axis label (``temperature τ``).
    """

    name: str
    field: str
    default: float | Callable[[int], float] | None = None
    low: float = -_INF
    high: float | Callable[[int], float] = _INF
    allow_inf: bool = False
    symbol: str = ""
    label: str = ""
    why_finite: str = ""

    def resolved(self, num_actions: int, params_type: Any) -> Param:
        """This parameter with a float ``default`` and ``high`` for an agent with
        ``num_actions`` actions (a None default read from ``params_type``)."""
        default = self.default
        if default is None:
            default = params_type._field_defaults[self.field]
        elif callable(default):
            default = default(num_actions)
        high = self.high(num_actions) if callable(self.high) else self.high
        return dataclasses.replace(self, default=float(default), high=float(high))


@dataclasses.dataclass(frozen=True)
class EnvEntry:
    """An environment configs can name.

    Attributes:
      name: config name (``[env] name = ...``).
      description: one line for ``rl-softmax list``.
      make: ``(**sizes) -> environment``.
      params: names of the ``default_params`` fields a config may set.
      sizes: ``{name: (default, minimum)}`` of the integers ``make`` takes, which
        set shapes (fixed at construction, never swept).
      nonnegative: the params that must be ``>= 0``.
      check: ``params dict -> error message or None`` for cross-field rules (it
        also sees the options); its docstring's first line states the rule.
      options: ``{name: (default, type, meaning)}`` of the other keywords
        ``make`` takes (gymnasium's ``map_name``, ``is_slippery``, ``desc``; our
        ``discount``); a None default is passed only when a config gives the
        option (gymnasium's own default applies).
    """

    name: str
    description: str
    make: Callable[..., Any]
    params: tuple[str, ...]
    sizes: dict[str, tuple[int, int]] = dataclasses.field(
        default_factory=lambda: {"num_arms": (10, 2)}
    )
    nonnegative: tuple[str, ...] = ()
    check: Callable[[dict[str, Any]], str | None] | None = None
    options: dict[str, tuple[Any, type, str]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class RuleEntry:
    """An exploration rule of the ``action_value`` agent.

    Attributes:
      name: config name (``rule = ...``).
      description: one line for ``rl-softmax list``.
      param: the number it takes (its ``explore``), or None.
      options: study keys it takes besides its param (``schedule``, ``entropy``).
      make: ``(study, num_actions, num_steps) -> rule`` (see
        :mod:`rl_softmax.agents.action_value`).
    """

    name: str
    description: str
    param: Param | None
    make: Callable[..., Any]
    options: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class AgentEntry:
    """An agent configs can name.

    Attributes:
      name: config name (``agent = ...``).
      description: one line for ``rl-softmax list``.
      params_type: its params NamedTuple (defaults of fields not in ``params``).
      params: the numbers a config may set or sweep (besides a rule's).
      options: study keys it takes (``optimizer``, ``baseline``, ``entropy``, ...).
      defaults: default option values (``optimizer``).
      make: ``(study, env, num_steps) -> agent`` for the built environment.
      takes_rule: whether a study names an exploration ``rule``.
      rules: the rules it can use (None: every rule).
      finite_tau: whether its backup needs a finite rule temperature (a soft
        backup, ``tau logsumexp(Q / tau)``, is infinite at ``tau = inf``).
    """

    name: str
    description: str
    params_type: Any
    params: tuple[Param, ...]
    make: Callable[..., Any]
    options: tuple[str, ...] = ()
    defaults: dict[str, Any] = dataclasses.field(default_factory=dict)
    takes_rule: bool = False
    rules: tuple[str, ...] | None = None
    finite_tau: bool = False


# ----------------------------------------------------------- optimizers, schedules


def _sgd_momentum(learning_rate):
    """SGD with heavy-ball momentum 0.9 (``optax.sgd(learning_rate, momentum=0.9)``)."""
    return optax.sgd(learning_rate, momentum=0.9)


OPTIMIZERS: dict[str, Callable] = {
    "sgd": optax.sgd,
    "momentum": _sgd_momentum,
    "adam": optax.adam,
    "rmsprop": optax.rmsprop,
}
"""Optimizer names -> optax factories taking ``learning_rate``."""

SCHEDULES: dict[str, Callable] = {
    "constant": schedules.constant,
    "linear": schedules.linear,
    "exponential": schedules.exponential,
    "cosine": schedules.cosine,
    "piecewise_constant": schedules.piecewise_constant,
    "inverse_log": schedules.inverse_log,
    "inverse_sqrt": schedules.inverse_sqrt,
}
"""Temperature schedule names -> factories whose first argument is the swept scale."""

ENTROPY_SHAPES = schedules.SHAPES
"""Shapes of a target-entropy schedule (:func:`rl_softmax.schedules.entropy_target`)."""


def _entropy_schedule(study, num_actions: int) -> Callable:
    """``(step, final_entropy) -> target`` from a study's ``entropy`` table."""
    shape, steps = study.entropy["shape"], study.entropy["anneal_steps"]

    def target(step, final_entropy):
        return schedules.entropy_target(
            num_actions, steps, final_entropy=final_entropy, shape=shape
        )(step)

    return target


# ------------------------------------------------------------------ environments


# Normal draws in float32 stay within 8 standard deviations; a random walk of
# 2**31 steps within 8 sqrt(2**31) of its start.
_DRAWS = 8.0
_WALK = 8.0 * 2**15.5
# Arms closer than this, relative to the mean, float32 may round to one value.
_RESOLUTION = 2.0**-16


def _gaussian_check(random_walk: bool) -> Callable[[dict], str | None]:
    """The check of the Gaussian testbed's parameters (defaults: the env's)."""
    defaults = envs.GaussianBandit(2, random_walk=random_walk).default_params
    names = ("mean", "std", "noise_std") + (("walk_std",) if random_walk else ())

    def check(params: dict[str, float]) -> str | None:
        """Rewards whose sums float32 holds, ``|mean| + 8 (std + noise_std) <=
        1.58e29`` (a random walk adds ``8 sqrt(2**31) walk_std``), and arms float32
        tells apart, ``std = 0`` or ``std >= |mean| / 2**16``."""
        given = {**defaults._asdict(), **params}
        mean, std, noise = given["mean"], given["std"], given["noise_std"]
        walk = given["walk_std"] if random_walk else 0.0
        reach = abs(mean) + _DRAWS * (std + noise) + _WALK * walk
        if reach > schema.REWARD_MAX:
            walk_term = f" + {_WALK:.4g} walk_std" if random_walk else ""
            return (
                f"env.{', env.'.join(names)}: got "
                f"{[float(given[k]) for k in names]}; "
                f"expected rewards float32 can sum over a run: |mean| + {_DRAWS:g} "
                f"(std + noise_std){walk_term} <= {schema.REWARD_MAX:.3g} (it is "
                f"{reach:.3g})."
            )
        if 0 < std < abs(mean) * _RESOLUTION:
            return (
                f"env.std: got {std!r}; expected 0 or at least |mean| / 2**16 = "
                f"{abs(mean) * _RESOLUTION:.3g}: float32 would round arms that "
                f"close to mean = {mean!r} to one value (every action optimal)."
            )
        return None

    return check


def _bernoulli_check(params: dict[str, float]) -> str | None:
    """``0 <= low <= high <= 1``."""
    low, high = params.get("low", 0.0), params.get("high", 1.0)
    if not 0.0 <= low <= high <= 1.0:
        return (
            f"env.low, env.high: got {[low, high]!r}; expected 0 <= low <= high <= 1."
        )
    return None


ENVS: dict[str, EnvEntry] = {}
AGENTS: dict[str, AgentEntry] = {}
RULES: dict[str, RuleEntry] = {}


def register_env(entry: EnvEntry) -> EnvEntry:
    """Adds (or replaces) an environment entry; returns it."""
    ENVS[entry.name] = entry
    return entry


def register_agent(entry: AgentEntry) -> AgentEntry:
    """Adds (or replaces) an agent entry; returns it."""
    AGENTS[entry.name] = entry
    return entry


register_env(EnvEntry(
    "gaussian",
    "K-armed Gaussian testbed, q* ~ N(mean, std), R ~ N(q*(A), noise_std)",
    lambda num_arms: envs.GaussianBandit(num_arms),
    ("mean", "std", "noise_std"),
    nonnegative=("std", "noise_std"),
    check=_gaussian_check(random_walk=False),
))  # fmt: skip
register_env(EnvEntry(
    "nonstationary",
    "Gaussian testbed whose q* take N(0, walk_std) random walks",
    lambda num_arms: envs.GaussianBandit(num_arms, random_walk=True),
    ("mean", "std", "noise_std", "walk_std"),
    nonnegative=("std", "noise_std", "walk_std"),
    check=_gaussian_check(random_walk=True),
))  # fmt: skip
register_env(EnvEntry(
    "bernoulli",
    "K arms paying 1 with probability p ~ U(low, high)",
    lambda num_arms: envs.BernoulliBandit(num_arms),
    ("low", "high"),
    check=_bernoulli_check,
))  # fmt: skip


def _discount_check(params: dict[str, Any]) -> str | None:
    """``discount`` in ``[0, 1]``."""
    discount = params.get("discount", 0.99)
    if not 0.0 <= discount <= 1.0:
        return f"env.discount: got {discount!r}; expected a number in [0, 1]."
    return None


def _frozen_lake_check(params: dict[str, Any]) -> str | None:
    """``map_name`` a built-in map unless ``desc`` is given; ``discount`` in
    ``[0, 1]``."""
    from gymnasium.envs.toy_text.frozen_lake import MAPS

    map_name, desc = params.get("map_name"), params.get("desc")
    if desc is None and map_name not in MAPS:
        return (
            f"env.map_name: got {map_name!r}; expected one of {list(MAPS)} (or a "
            "desc, the map as a list of rows)."
        )
    if desc is not None:
        rows = desc if isinstance(desc, list) else None
        if (
            not rows
            or not all(isinstance(r, str) and r for r in rows)
            or len({len(r) for r in rows}) != 1
            or not set("".join(rows)) <= set("SFHG")
            or "S" not in "".join(rows)
        ):
            return (
                f"env.desc: got {desc!r}; expected a non-empty list of rows of equal "
                "length, of the tiles S (start, at least one), F (frozen), H (hole) "
                "and G (goal)."
            )
    rate = params.get("success_rate")
    if rate is not None and not 0.0 <= rate <= 1.0:
        return f"env.success_rate: got {rate!r}; expected a probability in [0, 1]."
    schedule = params.get("reward_schedule")
    if schedule is not None and not (
        isinstance(schedule, list)
        and len(schedule) == 3
        and all(
            isinstance(r, int | float) and not isinstance(r, bool) and math.isfinite(r)
            for r in schedule
        )
    ):
        return (
            f"env.reward_schedule: got {schedule!r}; expected 3 finite numbers, the "
            "rewards for reaching [goal, hole, frozen tile]."
        )
    if schedule is not None and max(abs(r) for r in schedule) > schema.REWARD_MAX:
        return (
            f"env.reward_schedule: got {schedule!r}; expected rewards float32 can "
            f"sum over a run: each at most {schema.REWARD_MAX:.3g} in magnitude."
        )
    return _discount_check(params)


def _taxi_check(params: dict[str, Any]) -> str | None:
    """``rainy_probability`` in ``[0, 1]``; ``discount`` in ``[0, 1]``."""
    rate = params.get("rainy_probability")
    if rate is not None and not 0.0 <= rate <= 1.0:
        return f"env.rainy_probability: got {rate!r}; expected a probability in [0, 1]."
    return _discount_check(params)


@functools.lru_cache(maxsize=16)
def _cached_toy_text(env_id: str, options: tuple) -> Any:
    kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in options}
    return envs.make(env_id, **kwargs)[0]


def _toy_text(env_id: str):
    """``(**options) -> env`` building gymnasium's ``env_id`` from its P table (one
    build per distinct options: the table and its value iteration are reused)."""

    def make(**options):
        given = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
        return _cached_toy_text(env_id, tuple(sorted(given.items())))

    return make


_DISCOUNT = {
    "discount": (0.99, float, "discount of the exact action values Q* (value "
                 "iteration) that optimal-action and regret metrics read"),
}  # fmt: skip
_SLIPPERY = "a move goes the intended way only with some probability, else sideways"
GYMNASIUM_OPTIONS = (
    "map_name", "is_slippery", "desc", "success_rate", "reward_schedule", "is_rainy",
    "rainy_probability",
)  # fmt: skip
"""The toy-text options that are ``gymnasium.make``'s keywords (the others, such as
``discount``, concern the exact values of the JAX port only)."""
for _env_id, _description, _options in (
    ("FrozenLake-v1", "gymnasium's FrozenLake (4x4 or 8x8 map, or a desc), exact",
     {"map_name": ("4x4", str, "a built-in map: 4x4 or 8x8"),
      "is_slippery": (True, bool, _SLIPPERY),
      "desc": (None, list, "the map as a list of rows of S, F, H, G (instead of "
               "map_name)"),
      "success_rate": (None, float, "probability that a slippery move goes the "
                       "intended way"),
      "reward_schedule": (None, list, "rewards for reaching [goal, hole, frozen "
                          "tile]")}),
    ("FrozenLake8x8-v1", "gymnasium's FrozenLake on the 8x8 map, exact",
     {"is_slippery": (True, bool, _SLIPPERY)}),
    ("CliffWalking-v1", "gymnasium's cliff walking (S&B Example 6.6), exact",
     {"is_slippery": (False, bool, _SLIPPERY)}),
    ("Taxi-v4", "gymnasium's Taxi (500 states, 6 actions), exact",
     {"is_rainy": (False, bool, "rain: a move goes the intended way only with "
                   "probability rainy_probability, else sideways"),
      "rainy_probability": (None, float, "probability that a move in the rain goes "
                            "the intended way")}),
):  # fmt: skip
    register_env(EnvEntry(
        _env_id, _description, _toy_text(_env_id), (), sizes={},
        check={"FrozenLake-v1": _frozen_lake_check, "Taxi-v4": _taxi_check}.get(
            _env_id, _discount_check
        ),
        options={**_options, **_DISCOUNT},
    ))  # fmt: skip


# The physics of the classic-control parameters: masses, lengths, moments, time
# steps, thresholds and speed limits > 0, gravity, forces and noise >= 0, bounds
# ordered. Outside them the state turns NaN with ``done`` False (a massless cart
# and pole "balanced" for 500 steps) or the episode cannot start.
# ... and within a factor of gymnasium's values, where the float32 physics stay
# finite under random play (tested, tests/test_registry_extremes.py): 1000x below
# for a positive parameter, 100x above (100 for a parameter whose default is 0).
_CLASSIC_BELOW, _CLASSIC_ABOVE = 1000.0, 100.0
_CLASSIC_RANGES = {
    "CartPole-v1": (
        ("masscart", "masspole", "length", "tau", "theta_threshold_radians",
         "x_threshold"),
        ("gravity", "force_mag"),
        (("reset_low", "reset_high", False),),
    ),
    "Acrobot-v1": (
        ("dt", "link_length_1", "link_length_2", "link_mass_1", "link_mass_2",
         "link_moi", "max_vel_1", "max_vel_2"),
        ("link_com_pos_1", "link_com_pos_2", "torque_noise_max", "gravity"),
        (("reset_low", "reset_high", False),),
    ),
    "MountainCar-v0": (
        ("max_speed",),
        ("force", "gravity"),
        (("min_position", "max_position", True), ("reset_low", "reset_high", False)),
    ),
}  # fmt: skip


def _classic_check(env_id: str) -> Callable[[dict], str | None]:
    """The range check of a classic-control environment's parameters (the ones a
    config leaves out keep gymnasium's values)."""
    positive, nonnegative, ordered = _CLASSIC_RANGES[env_id]

    def check(params: dict[str, Any]) -> str | None:
        defaults = envs.classic.IDS[env_id]().default_params._asdict()
        for name in positive + nonnegative:
            if name not in params:
                continue
            default = float(defaults[name])
            low = default / _CLASSIC_BELOW if name in positive else 0.0
            high = default * _CLASSIC_ABOVE if default else _CLASSIC_ABOVE
            if not low <= params[name] <= high:
                span = "1/1000 to 100 times" if name in positive else "0 to 100 times"
                base = f"gymnasium's {default:.4g}" if default else "1"
                return (
                    f"env.{name}: got {params[name]!r}; expected a number in "
                    f"[{low:.4g}, {high:.4g}], {span} {base}, where the float32 "
                    "physics stay finite."
                )

        for low, high, strict in ordered:
            a, b = (float(params.get(k, defaults[k])) for k in (low, high))
            if a < b or (a == b and not strict):
                continue
            relation = "<" if strict else "<="
            return (
                f"env.{low}, env.{high}: got {[a, b]!r}; expected {low} {relation} "
                f"{high}."
            )
        return None

    return check


for _env_id, _description in (
    ("CartPole-v1", "gymnasium's CartPole-v1 in JAX (pole balancing, 500 steps)"),
    ("Acrobot-v1", "gymnasium's Acrobot-v1 in JAX (swing up, RK4, 500 steps)"),
    ("MountainCar-v0", "gymnasium's MountainCar-v0 in JAX (sparse reward, 200 steps)"),
):  # fmt: skip
    _classic = envs.classic.IDS[_env_id]
    # the numbers a config may set: Acrobot's avail_torque is the tuple of the
    # actions' torques (its number of actions), not a number
    _numbers = tuple(
        name for name, value in _classic().default_params._asdict().items()
        if not isinstance(value, tuple)
    )  # fmt: skip
    register_env(EnvEntry(
        _env_id, _description, _classic, _numbers, sizes={},
        check=_classic_check(_env_id),
    ))  # fmt: skip


def is_gymnasium_id(name: str) -> bool:
    """Whether gymnasium has an environment registered as ``name``."""
    import gymnasium  # only for names the registry does not hold

    return name in gymnasium.registry


@functools.lru_cache(maxsize=16)
def _cached_host(env_id: str, options: tuple) -> Any:
    return envs.host.make_host(env_id, **dict(options))


def make_host_env(env_id: str, **kwargs: Any) -> Any:
    """The :class:`~rl_softmax.envs.host.HostEnv` of a gymnasium id (built once per
    distinct keywords: describing it makes the environment once)."""
    frozen = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    try:
        return _cached_host(env_id, tuple(sorted(frozen.items())))
    except TypeError:  # an unhashable keyword: describe it afresh
        return envs.host.make_host(env_id, **kwargs)


# ------------------------------------------------------------------------- rules


def make_temperature(schedule: str, schedule_args: dict[str, Any]) -> Callable:
    """``(step, explore) -> tau`` for a schedule name and its other arguments."""
    return schedules.make_temperature(SCHEDULES[schedule], **schedule_args)


def _boltzmann_rule(study, num_actions, num_steps):
    temperature = make_temperature(study.schedule, study.schedule_args)
    return rules.boltzmann_rule(temperature)


def _target_entropy_rule(study, num_actions, num_steps):
    return rules.target_entropy_rule(_entropy_schedule(study, num_actions))


# A run reports its temperature every step and sums it over up to 2**31 steps in
# float32; past this a temperature is the uniform policy to float32 precision,
# which tau = inf gives exactly.
_TAU_MAX = schema.REWARD_MAX
_TAU = Param("tau", "explore", None, 0.0, _TAU_MAX, True, "τ", "temperature τ")
for _entry in (
    RuleEntry(
        "boltzmann", "softmax of Q at temperature tau (or a schedule scaled by tau)",
        _TAU, _boltzmann_rule, ("schedule", "schedule_args"),
    ),
    RuleEntry(
        "greedy", "argmax Q, ties split evenly (optimistic with initial_value > 0)",
        None, lambda *_: rules.greedy_rule(),
    ),
    RuleEntry(
        "epsilon_greedy", "greedy, uniform with probability epsilon",
        Param("epsilon", "explore", None, 0.0, 1.0, False, "ε",
              "exploration probability ε"),
        lambda *_: rules.epsilon_greedy_rule(),
    ),
    RuleEntry(
        "ucb", "argmax Q + c sqrt(ln t / N)",
        Param("c", "explore", 1.0, 0.0, _INF, False, "c",
              "exploration coefficient c"),
        lambda *_: rules.ucb_rule(),
    ),
    RuleEntry(
        "boltzmann_gumbel",
        "Boltzmann-Gumbel exploration, Gumbel noise of scale c/sqrt(N)",
        Param("c", "explore", 1.0, 1e-12, _INF, False, "C", "Gumbel noise scale C"),
        lambda *_: rules.boltzmann_gumbel_rule(),
    ),
    RuleEntry(
        "target_entropy", "softmax at the tau whose entropy follows a target schedule",
        Param("final_entropy", "explore", schema.default_final_entropy, 0.0,
              schema.max_entropy, False, "final entropy",
              "final target entropy (nats)"),
        _target_entropy_rule, ("entropy",),
    ),
    RuleEntry(
        "mellowmax", "softmax at the tau whose expected value is mellowmax_omega(Q) "
        "(Asadi & Littman 2017; a temperature per state)",
        Param("omega", "explore", 5.0, 0.0, _TAU_MAX, True, "ω", "mellowmax ω"),
        lambda *_: rules.mellowmax_rule(),
    ),
):  # fmt: skip
    RULES[_entry.name] = _entry


# ------------------------------------------------------------------------ agents


def _make_action_value(study, env, num_steps):
    rule = RULES[study.rule].make(study, env.num_actions, num_steps)
    return action_value.make_action_value_agent(
        env.num_actions, rule, sample_average=study.sample_average
    )


def _make_gradient_bandit(study, env, num_steps):
    return gradient_bandit.make_gradient_bandit(
        env.num_actions, OPTIMIZERS[study.optimizer], baseline=study.baseline
    )


def _make_auto_temperature(study, env, num_steps):
    num_actions = env.num_actions
    target = _entropy_schedule(study, num_actions)
    final = study.entropy["final_entropy"]
    return auto_temperature.make_auto_temperature_agent(
        num_actions, lambda step: target(step, final),
        optimizer=OPTIMIZERS[study.optimizer], sample_average=study.sample_average,
    )  # fmt: skip


_STEP_SIZE = Param(
    "step_size", "step_size", None, 1e-12, 1.0, False, "α", "step size α"
)
_INITIAL = Param(
    "initial_value", "initial_value", None, -_INF, _INF, False, "Q₀", "initial value Q₀"
)


register_agent(AgentEntry(
    "action_value", "Q estimates with an exploration rule on top (see rules)",
    action_value.ActionValueParams, (_STEP_SIZE, _INITIAL),
    _make_action_value, options=("step_size",), takes_rule=True,
))  # fmt: skip
register_agent(AgentEntry(
    "gradient_bandit", "softmax preferences trained by an optax optimizer (S&B 2.8)",
    gradient_bandit.GradientBanditParams,
    (Param("step_size", "step_size", None, 1e-12, _INF, False, "α", "step size α"),
     Param("tau", "explore", None, 1e-12, _TAU_MAX, False, "τ", "temperature τ")),
    _make_gradient_bandit, options=("optimizer", "baseline"),
    defaults={"optimizer": "sgd"},
))  # fmt: skip
register_agent(AgentEntry(
    "auto_temperature", "Boltzmann with log tau trained to a target entropy (SAC)",
    auto_temperature.AutoTemperatureParams,
    (Param("tau_learning_rate", "tau_learning_rate", None, 0.0, _INF, False,
           "τ learning rate", "learning rate of log τ"),
     Param("initial_tau", "initial_tau", None, 1e-12, _TAU_MAX, False, "τ₀",
           "initial temperature τ₀"),
     _STEP_SIZE, _INITIAL),
    _make_auto_temperature, options=("optimizer", "entropy", "step_size"),
    defaults={"optimizer": "adam"},
))  # fmt: skip


def _td_maker(target: str) -> Callable:
    def make(study, env, num_steps):
        if getattr(env, "num_states", None) is None:
            raise ValueError(
                f"agent {study.agent!r} learns a table of Q(s, a) and needs an "
                "environment with a finite number of states (a toy-text env)."
            )
        rule = RULES[study.rule].make(study, env.num_actions, num_steps)
        return td.make_td_agent(env.num_states, env.num_actions, rule, target=target)

    return make


_TD_PARAMS = (
    _STEP_SIZE,
    Param("discount", "discount", None, 0.0, 1.0, False, "γ", "discount γ"),
    _INITIAL,
)
# Sarsa and expected Sarsa need the policy's probabilities (expected Sarsa's mean,
# Sarsa's at a truncation); soft Q-learning its temperature.
_WITH_PROBS = tuple(r for r in RULES if r != "boltzmann_gumbel")
# (a soft backup refuses target_entropy's tau = inf, see config._study)
_WITH_TAU = ("boltzmann", "greedy")
for _name, _description, _rules in (
    ("q_learning", "Q-learning: bootstrap from max_a Q(S', a) (S&B 6.5)", None),
    ("sarsa", "Sarsa: bootstrap from Q(S', A') of the next action (S&B 6.4)",
     _WITH_PROBS),
    ("expected_sarsa", "expected Sarsa: bootstrap from E_pi Q(S', .) (S&B 6.6)",
     _WITH_PROBS),
    ("soft_q", "soft Q-learning: bootstrap from tau logsumexp(Q(S', .) / tau)",
     _WITH_TAU),
    ("mellowmax", "mellowmax Q-learning: bootstrap from log(mean(exp(omega "
     "Q(S', .)))) / omega, a non-expansion (Asadi & Littman 2017)", ("mellowmax",)),
):  # fmt: skip
    register_agent(AgentEntry(
        _name, _description, td.TDParams, _TD_PARAMS, _td_maker(_name),
        takes_rule=True, rules=_rules, finite_tau=_name == "soft_q",
    ))  # fmt: skip


def _obs_size(env, agent: str) -> int:
    import jax  # only the rollout agents trace the environment here

    if hasattr(env, "obs_shape"):  # a gymnasium environment on the host
        obs = jax.ShapeDtypeStruct(env.obs_shape, env.obs_dtype)
    else:
        obs = jax.eval_shape(env.reset, jax.random.key(0), env.default_params)[0]
    if len(obs.shape) != 1 or not jax.numpy.issubdtype(obs.dtype, jax.numpy.floating):
        raise ValueError(
            f"agent {agent!r} is a network over vector observations (classic "
            f"control); this environment's observation is {obs.dtype} {obs.shape}."
        )
    return int(obs.shape[0])


def _actor_critic_maker(loss: str, automatic: bool) -> Callable:
    def make(study, env, num_steps):
        rollout = study.rollout
        temperature = entropy_target = None
        if automatic:
            entropy_target = _entropy_schedule(study, env.num_actions)
        elif study.schedule != "constant":
            temperature = make_temperature(study.schedule, study.schedule_args)
        return actor_critic.make_actor_critic_agent(
            _obs_size(env, study.agent), env.num_actions, loss=loss,
            optimizer=OPTIMIZERS[study.optimizer], hidden=tuple(rollout["hidden"]),
            num_epochs=rollout["num_epochs"],
            num_minibatches=rollout["num_minibatches"],
            anneal_steps=num_steps if rollout["anneal_lr"] else None,
            temperature=temperature, entropy_target=entropy_target,
        )  # fmt: skip

    return make


_PG_COMMON = (
    Param("learning_rate", "learning_rate", None, 1e-12, _INF, False, "lr",
          "learning rate"),
    Param("discount", "discount", None, 0.0, 1.0, False, "γ", "discount γ"),
    Param("lam", "lam", None, 0.0, 1.0, False, "λ", "GAE λ"),
    Param("value_coef", "value_coef", None, 0.0, _INF, False, "c_V",
          "value-loss weight"),
    Param("max_grad_norm", "max_grad_norm", None, 1e-12, _INF, False, "max norm",
          "gradient-norm clip"),
)  # fmt: skip
_PG_TAU = Param("tau", "tau", None, 0.0, 1e6, False, "τ", "entropy temperature τ")
_PG_CLIP = Param("clip", "clip", None, 1e-6, 1.0, False, "ε", "PPO clip ε")
for _name, _description, _loss, _params, _options, _defaults in (
    ("ppo", "softmax MLP policy, PPO clipped surrogate + tau * entropy (optax)",
     "ppo", (_PG_TAU, _PG_CLIP, *_PG_COMMON), ("optimizer", "schedule",
     "schedule_args", "rollout"), {}),
    ("a2c", "softmax MLP policy, advantage actor-critic + tau * entropy (optax)",
     "a2c", (_PG_TAU, *_PG_COMMON), ("optimizer", "schedule", "schedule_args",
     "rollout"), {"num_epochs": 1, "num_minibatches": 1}),
    ("ppo_auto", "PPO whose log tau is trained so the entropy tracks a target (SAC)",
     "ppo", (
         Param("final_entropy", "final_entropy", None, 0.0, schema.max_entropy,
               False, "final entropy", "final target entropy (nats)"),
         Param("tau_learning_rate", "tau_learning_rate", None, 0.0, _INF, False,
               "τ learning rate", "learning rate of log τ"),
         dataclasses.replace(_PG_TAU, name="initial_tau", low=1e-12, symbol="τ₀",
                             label="initial temperature τ₀"),
         _PG_CLIP, *_PG_COMMON,
     ), ("optimizer", "entropy", "rollout"), {}),
):  # fmt: skip
    register_agent(AgentEntry(
        _name, _description, actor_critic.PGParams, _params,
        _actor_critic_maker(_loss, _name == "ppo_auto"), options=_options,
        defaults={"optimizer": "adam", **_defaults},
    ))  # fmt: skip


def _dqn_maker(target: str) -> Callable:
    def make(study, env, num_steps):
        rule = RULES[study.rule].make(study, env.num_actions, num_steps)
        settings = study.rollout
        return dqn.make_dqn_agent(
            _obs_size(env, study.agent), env.num_actions, rule, target=target,
            optimizer=OPTIMIZERS[study.optimizer], hidden=tuple(settings["hidden"]),
            **{k: settings[k] for k in ("buffer_size", "batch_size",
                                        "learning_starts", "train_every",
                                        "target_update")},
            anneal_steps=num_steps if settings["anneal_lr"] else None,
        )  # fmt: skip

    return make


_DQN_PARAMS = (
    Param("learning_rate", "learning_rate", None, 1e-12, _INF, False, "lr",
          "learning rate"),
    Param("discount", "discount", None, 0.0, 1.0, False, "γ", "discount γ"),
    Param("target_rate", "target_rate", None, 1e-12, 1.0, False, "ρ",
          "target-network Polyak step ρ"),
    Param("max_grad_norm", "max_grad_norm", None, 1e-12, _INF, False, "max norm",
          "gradient-norm clip"),
)  # fmt: skip
# The rules that need no visit counts; soft DQN's backup needs a temperature.
_DQN_RULES = ("boltzmann", "epsilon_greedy", "greedy", "target_entropy", "mellowmax")
for _name, _description, _rules in (
    ("dqn", "deep Q-network (replay, target network): bootstrap from max Q'",
     _DQN_RULES),
    ("double_dqn", "double DQN: Q' of the online network's argmax at S'",
     _DQN_RULES),
    ("soft_dqn", "soft DQN: bootstrap from tau logsumexp(Q'(S', .) / tau)",
     _WITH_TAU),
    ("mellowmax_dqn", "DeepMellow: bootstrap from mellowmax_omega(Q'(S', .)) (Kim et "
     "al. 2019)", ("mellowmax",)),
):  # fmt: skip
    register_agent(AgentEntry(
        _name, _description, dqn.DQNParams, _DQN_PARAMS, _dqn_maker(_name),
        options=("optimizer", "replay"), defaults={"optimizer": "adam"},
        takes_rule=True, rules=_rules, finite_tau=_name == "soft_dqn",
    ))  # fmt: skip


def agent_params(agent: str, rule: str | None, num_actions: int) -> dict[str, Param]:
    """The numbers a study of ``agent`` (with ``rule``) may set or sweep, by name,
    the rule's own first, resolved for ``num_actions`` actions."""
    entry = AGENTS[agent]
    params = list(entry.params)
    if rule and RULES[rule].param is not None:
        own = RULES[rule].param
        if entry.finite_tau and own.name == "tau":  # the uniform limit is refused
            own = dataclasses.replace(
                own, allow_inf=False,
                why_finite=f"agent {agent!r} bootstraps from tau logsumexp(Q / tau), "
                "which is infinite at tau = inf",
            )  # fmt: skip
        params.insert(0, own)
    return {p.name: p.resolved(num_actions, entry.params_type) for p in params}
