"""The keys of a config file, declared once: type, default, allowed values, meaning.

:mod:`.config` reads its defaults and bounds from these tables and the reference
page of the documentation is written from them. An agent's and a rule's numbers
(``tau``, ``step_size``, ...) are not here: they are the
:class:`~rl_softmax.experiment.registry.Param` entries of the registry, and the
environments' own keys are their :class:`~rl_softmax.experiment.registry.EnvEntry`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from rl_softmax import schedules
from rl_softmax.engine import host_vector
from rl_softmax.envs import ids

__all__ = [
    "ENTROPY",
    "ENV",
    "MAX_NAME",
    "MIN_SWEPT_TOGETHER",
    "NAME_NOTE",
    "OPTIONS",
    "REPLAY",
    "ROLLOUT",
    "STUDY",
    "TOP_LEVEL",
    "TUNE",
    "TUNE_PARAM",
    "Key",
    "default_final_entropy",
    "int_range",
    "max_entropy",
]


def max_entropy(num_actions: int) -> float:
    """``ln K``, the entropy of the uniform policy over ``K`` actions."""
    return math.log(num_actions)


def default_final_entropy(num_actions: int) -> float:
    """``0.01 ln K``, 1% of the uniform policy's entropy."""
    return 0.01 * math.log(num_actions)


def _integer_bound(value: int) -> str:
    """``2**32 - 1`` rather than ``4294967295``."""
    for offset, suffix in ((0, ""), (1, " - 1")):
        power = value + offset
        if power > 2**20 and power & (power - 1) == 0:
            return f"2**{power.bit_length() - 1}{suffix}"
    return str(value)


def int_range(low: int, high: int | None = None) -> str:
    """An integer range in words: ``an integer >= 1``, ``an integer in [0, 2**32 -
    1]``."""
    if high is None:
        return f"an integer >= {low}"
    return f"an integer in [{low}, {_integer_bound(high)}]"


@dataclasses.dataclass(frozen=True)
class Key:
    """A key of a config file.

    Attributes:
      name: the TOML key.
      kind: its TOML type in words (``integer``, ``string``, ``table``, ...).
      meaning: one line for people.
      default: its value when not given; a callable takes the number of actions.
        None with ``required`` unset: see ``default_note``.
      required: whether a config must give it.
      default_note: a default that depends on other keys, in words.
      low, high: the allowed closed range of an integer, or of each number of a
        list (None: unbounded).
      choices: the allowed strings, where they are fixed.
      note: what else a value must be, in words (names, rules across keys).
    """

    name: str
    kind: str
    meaning: str
    default: Any = None
    required: bool = False
    default_note: str = ""
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] = ()
    note: str = ""


def _table(*keys: Key) -> dict[str, Key]:
    return {key.name: key for key in keys}


# Runs compute in float32: a finite number past its largest would become inf, a
# nonzero one below its smallest normal number 0 (XLA:CPU flushes subnormals).
FLOAT32_MAX = 3.4028234663852886e38
FLOAT32_TINY = 1.1754943508222875e-38
FLOAT32_NOTE = (
    "runs compute in float32, which holds 0 and magnitudes in "
    f"[{FLOAT32_TINY:.8g}, {FLOAT32_MAX:.8g}]"
)

# A run sums its rewards over up to 2**31 - 1 steps in float32; rewards up to this
# magnitude keep those sums finite.
REWARD_MAX = FLOAT32_MAX / 2**31

# A name becomes part of file names (plots add ~30 characters, temporary files
# ~20, and file systems hold 255 bytes, a non-ASCII letter taking up to 4).
MAX_NAME = 48
NAME_NOTE = f"letters, digits, _ and -, at most {MAX_NAME} characters"

# A study of several parameters sweeps at least two (one is ``param``).
MIN_SWEPT_TOGETHER = 2

TOP_LEVEL = _table(
    Key("name", "string", "identifier; results go to ``results/<name>`` by default",
        required=True, note=NAME_NOTE),
    Key("description", "string", "one paragraph for people", ""),
    # jax.random.key keeps a seed's low 32 bits: 2**32 + 5 would be 5.
    Key("seed", "integer", "base seed; run ``s`` of every value uses the key "
        "``fold_in(seed, s)``", 0, low=0, high=2**32 - 1),
    # Run s folds s into the key as 32 bits.
    Key("num_seeds", "integer", "independent runs (tasks) per value", 100, low=1,
        high=2**32),
    # the step index is an int32 in the compiled loop
    Key("num_steps", "integer", "steps per run", 1000, low=1, high=2**31 - 1),
    Key("final_steps", "integer", 'the window at the end reported as "final" (e.g. '
        "the last 100 steps); a rollout study's is whole updates (the most that "
        "fit, at least one), as summary.csv's final_steps column shows", 100,
        default_note="min(100, num_steps)", low=1, note="at most num_steps"),
    Key("max_block_runs", "integer", "at most this many runs per compiled call, to "
        "bound memory (0: sized automatically); it never changes a number", 0,
        low=0),
    Key("num_episodes", "integer", "record the return of each of the first "
        "num_episodes episodes of every run (learning curves by episode; 0: none)",
        0, low=0),
    Key("env", "table", "the environment: [env]", default_note="the gaussian "
        "testbed with its defaults"),
    Key("studies", "array of tables", "the agents and their sweeps: one [[studies]] "
        "table each", required=True),
    Key("tune", "table", "what ``rl-softmax tune`` searches and how: [tune] (its "
        "keys below); ``rl-softmax run`` ignores it", {}),
)  # fmt: skip
"""The top-level keys of a config file."""

ENV = _table(
    Key("name", "string", "the environment", "gaussian",
        note="an environment of the registry, or any other gymnasium id with "
        "discrete actions (stepped on the host)"),
    Key("backend", "string", "jax runs the environment's JAX port inside the "
        "compiled sweep, host steps gymnasium itself on the host (any registered id "
        "with discrete actions), auto the JAX port where one exists", "auto",
        choices=ids.BACKENDS),
    Key("vector", "string", "how the host loop steps its environments: sync in "
        "its own process, async in worker processes (one per core, each stepping "
        "a share of the environments), auto async when one step of the "
        "environment, timed at the start of each study, costs more than "
        f"{host_vector.ASYNC_STEP_SECONDS * 1e6:g} µs and there is more than one "
        "core; never changes a number (metadata.json records the choice under "
        "the study's ``vector``)", "auto", choices=host_vector.VECTOR_MODES,
        note="the host backend only (refused with backend jax)"),
)  # fmt: skip
"""The keys of ``[env]`` every environment takes; the others are its own (its sizes,
params and options in the registry; on the host, ``gymnasium.make``'s keywords)."""

STUDY = _table(
    Key("name", "string", "identifier, used in file names", required=True,
        note=f"{NAME_NOTE}; unique among the studies"),
    Key("label", "string", "legend text", default_note="the study's name"),
    Key("agent", "string", "the agent", "action_value", note="an agent's name"),
    Key("rule", "string", "its exploration rule",
        default_note="required by an agent that takes a rule; refused by the others",
        note="a rule the agent takes"),
    Key("param", "string", "the swept parameter",
        default_note="the agent's first parameter (its rule's, if it has one)",
        note="a parameter of the agent or its rule"),
    Key("values", "list of numbers", "the swept values, in order; with ``params``, "
        "a list of tuples (``[[0.25, 0.1], ...]``), one number per parameter",
        note="in the parameter's range; give values or log2_range, not both"),
    Key("params", "list of strings", "parameters swept together over the tuples of "
        "``values``, in one compiled program", default_note="none: one parameter, "
        "``param``",
        note=f"{MIN_SWEPT_TOGETHER} or more distinct parameters of the agent or its "
        "rule (numbers, not sizes); not with param, log2_range, grid or references"),
    Key("grid", "table", "parameters swept together over the product of their "
        "values, the first outermost: ``{ tau = [0.25, 1.0], step_size = { "
        "log2_range = [-4, -1] } }``, in one compiled program", default_note="none: "
        "one parameter, ``param``",
        note=f"{MIN_SWEPT_TOGETHER} or more parameters of the agent or its rule, each "
        "a list of numbers or a table of values or log2_range (with num_values); not "
        "with param, values, log2_range, params or references"),
    Key("log2_range", "list of 2 numbers", "``[first, last]``: the swept values are "
        "``2**first ... 2**last``, exponents evenly spaced",
        low=-126, high=127, note="increasing exponents (float32 holds 2**-126 to "
        "2**127)"),
    # log2_range is spaced in Python when the config loads; past 2**16, a typo
    # (num_values = 1e9) would hang there instead of failing.
    Key("num_values", "integer", "how many values log2_range spaces",
        default_note="last - first + 1", low=1, high=2**16,
        note="only with log2_range"),
    Key("references", "table", "labelled extra values drawn as horizontal lines, "
        "e.g. the greedy (``tau = 0``) and uniform (``tau = inf``) limits", {},
        note="``{label = value}``, values in the parameter's range; only in a "
        "study of one parameter"),
    Key("track_probs", "boolean", "record mean action probabilities by rank "
        "(stacked-area plot); needs an agent's probabilities and the environment's "
        "true action values", False),
)  # fmt: skip
"""The keys of every ``[[studies]]`` table, besides the agent's numbers
(:func:`~rl_softmax.experiment.registry.agent_params`) and its options
(:data:`OPTIONS`)."""

ENTROPY = _table(
    Key("shape", "string", "how the target entropy falls from ln K to its final "
        "value (held there after)", "linear", choices=schedules.SHAPES),
    Key("anneal_steps", "integer", "steps to reach the final entropy",
        default_note="num_steps", low=1, high=2**31 - 1),
    Key("final_entropy", "number", "the final target entropy (nats); a key here "
        "only when it is not a parameter of the agent or rule", default_final_entropy,
        note="in [0, ln K]; > 0 for the exponential shape"),
)  # fmt: skip
"""The keys of a study's ``entropy`` table (a target-entropy schedule,
:func:`rl_softmax.schedules.entropy_target`)."""

_STEPS_NOTE = "num_envs x rollout_steps divides num_steps"

ROLLOUT = _table(
    Key("num_envs", "integer", "environments stepped together", 4, low=1,
        note=_STEPS_NOTE),
    Key("rollout_steps", "integer", "steps of each environment per update", 128,
        low=1, note=_STEPS_NOTE),
    Key("num_epochs", "integer", "passes over each rollout", 4, low=1),
    Key("num_minibatches", "integer", "optimizer steps per pass", 4, low=1,
        note="divides num_envs x rollout_steps"),
    Key("hidden", "list of integers", "hidden-layer widths of the policy and value "
        "MLPs", [64, 64], note="each >= 1"),
    Key("anneal_lr", "boolean", "learning rate falls linearly to 0 over the run",
        True),
)  # fmt: skip
"""The study keys of a rollout agent; the run takes ``num_steps / (num_envs *
rollout_steps)`` updates (an agent may change a default: its ``defaults``)."""

REPLAY = _table(
    Key("num_envs", "integer", "environments stepped together", 4, low=1,
        note=_STEPS_NOTE),
    Key("rollout_steps", "integer", "steps of each environment per learn", 1, low=1,
        note=_STEPS_NOTE),
    Key("hidden", "list of integers", "hidden-layer widths of the Q-network (ReLU)",
        [64, 64], note="each >= 1"),
    Key("buffer_size", "integer", "replay slots, in transitions", 50_000, low=1,
        note="at least num_envs x rollout_steps and batch_size"),
    Key("batch_size", "integer", "transitions per optimizer step", 64, low=1),
    Key("learning_starts", "integer", "environment steps stored before the first "
        "step", 1000, low=0, default_note="min(1000, num_steps // 10)",
        note="at most num_steps (else the network never trains)"),
    Key("train_every", "integer", "learns per optimizer step", 1, low=1),
    Key("target_update", "integer", "optimizer steps per target update (by "
        "target_rate)", 1, low=1),
    Key("anneal_lr", "boolean", "learning rate falls linearly to 0 over the run",
        False),
)  # fmt: skip
"""The study keys of a replay agent; the run takes ``num_steps / (num_envs *
rollout_steps)`` learns."""

TUNE = _table(
    Key("studies", "list of strings", "the studies to tune, each its own search",
        default_note="every study", note="names of the config's studies"),
    Key("params", "table", "the parameters searched: ``{name = {low, high, log, "
        "type}}``, each a traced parameter of every tuned study's agent",
        default_note="each study's swept parameter(s) over the range of its "
        "values, log scale when they span more than a decade",
        note="low < high within the parameter's range; log needs low > 0; type "
        '"float" (default) or "int"'),
    Key("metric", "string", "the objective's metric",
        default_note='"return" where episodes end, else "reward" (the headline '
        "metric of the study's plots and best line)",
        note="a scalar metric the study reports"),
    Key("window", "string", "the objective's window: mean over every step or over "
        "the final window", "all", choices=("all", "final")),
    Key("direction", "string", "maximise or minimise the metric", "maximize",
        choices=("maximize", "minimize")),
    Key("trials", "integer", "the budget: trials in the whole search, shared by "
        "every process on one storage", 16, low=1),
    Key("batch", "integer", "trials evaluated together, in one call of one "
        "compiled program", 8, low=1),
    Key("seeds", "integer", "seeds of each trial (the same seeds for every trial: "
        "common random numbers)", default_note="max(2, num_seeds // 8)", low=1,
        high=2**31),
    Key("eval_seeds", "integer", "fresh seeds on which the best setting is "
        "evaluated again for the reported mean and interval",
        default_note="max(2, num_seeds // 2)", low=2, high=2**31),
    Key("fidelity_seeds", "integer", "cheap first: every trial is first evaluated "
        "on this many seeds and only the best ``keep`` of each batch on ``seeds`` "
        "(the others end pruned); 0: off", 0, low=0,
        note="fewer than seeds"),
    Key("keep", "number", "the fraction of each batch promoted to ``seeds``", 0.25,
        note="in (0, 1]"),
    Key("sampler", "string", "Optuna's sampler: TPE, Gaussian process (needs "
        "torch), CMA-ES (needs cmaes) or random", "tpe",
        choices=("tpe", "gp", "cmaes", "random")),
    Key("seed", "integer", "the sampler's seed", 0, low=0, high=2**32 - 1),
)  # fmt: skip
"""The keys of a config's ``[tune]`` table (:mod:`rl_softmax.experiment.tuning`)."""

TUNE_PARAM = _table(
    Key("low", "number", "the smallest value searched", required=True),
    Key("high", "number", "the largest value searched", required=True),
    Key("log", "boolean", "search on a log scale", False, note="needs low > 0"),
    Key("type", "string", "float or int values", "float", choices=("float", "int")),
)  # fmt: skip
"""The keys of one parameter of ``[tune.params]``."""

OPTIONS: dict[str, tuple[Key, ...]] = {
    "step_size": (
        Key("step_size", "number or string", 'a number is a constant step size; '
            '"sample_average" averages the samples instead', "sample_average",
            note='"sample_average" or a number in the parameter\'s range'),
    ),
    "schedule": (
        Key("schedule", "string", "temperature schedule; the swept tau is its scale",
            "constant", note="a temperature schedule's name"),
    ),
    "schedule_args": (
        Key("schedule_args", "table", "the schedule's other arguments, e.g. "
            "``{ end_value = 0.0, transition_steps = 1000 }``", {}),
    ),
    "entropy": (
        Key("entropy", "table", "the target-entropy schedule (its keys: shape, "
            "anneal_steps, final_entropy)", {}),
    ),
    "optimizer": (
        Key("optimizer", "string", "the optax optimizer",
            default_note="the agent's own (see the agent)",
            note="an optimizer's name"),
    ),
    "baseline": (
        Key("baseline", "boolean", "subtract the average reward from the reward",
            True),
    ),
    "rollout": tuple(ROLLOUT.values()),
    "replay": tuple(REPLAY.values()),
}  # fmt: skip
"""The study keys behind each option an agent or rule takes
(:attr:`~rl_softmax.experiment.registry.AgentEntry.options`)."""
