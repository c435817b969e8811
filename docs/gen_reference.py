"""Reference pages generated from the code at build time (mkdocs-gen-files).

One source of truth: config keys come from the registry and the config schema, the
command line from the argument parser, metrics from the metric registry. Nothing on
these pages is typed by hand: the facts (names, types, defaults, ranges, meanings,
help) are read from the code, and only the sentences that join them live here.

Each page is a plain function returning markdown, importable for the tests. Run by
the gen-files plugin, the script writes the pages into the build; run as
``python docs/gen_reference.py [config|cli|metrics]`` it prints them.
"""

from __future__ import annotations

import argparse
import inspect
import math
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rl_softmax import cli
from rl_softmax.engine import metrics as metrics_lib
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import registry, schema

# ------------------------------------------------------------------ markdown


def md(text: str | None) -> str:
    """Text from the code (a docstring, a help string) as one line of markdown:
    reST roles and double backticks become code spans; outside them ``*``, ``<``
    and ``>`` are escaped (``2**k``, ``results/<name>`` stay as written)."""
    text = text or ""
    text = re.sub(r":\w+:`~?([^`]*?)`", lambda m: f"`{m[1].split('.')[-1]}`", text)
    text = " ".join(text.replace("``", "`").split())
    parts = re.split(r"(`[^`]*`)", text)
    for i in range(0, len(parts), 2):  # the text between code spans
        parts[i] = (
            parts[i].replace("*", "\\*").replace("<", "&lt;").replace(">", "&gt;")
        )
    return "".join(parts)


def cell(text: str) -> str:
    """Text safe in a table cell: on one line, ``|`` escaped outside code spans
    (the table extension leaves a ``|`` inside one alone)."""
    parts = re.split(r"(`+[^`]*`+)", " ".join(str(text).split()))
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("|", "\\|")
    return "".join(parts)


def code(text: Any) -> str:
    """``text`` as a code span (longer fences when it holds backticks)."""
    text = str(text)
    fence = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A markdown table (cells escaped)."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def heading(level: int, text: str, anchor: str) -> str:
    """A heading with a stable anchor (``{#anchor}``, attr_list)."""
    return f"{'#' * level} {text} {{#{anchor}}}\n"


def toml(value: Any) -> str:
    """A value as a config file writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return number(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {toml(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    return str(value)


def number(value: float) -> str:
    """A float as TOML reads it, short where that is exact: ``0.1``, ``1``,
    ``1e-12``, ``1e+06``, ``inf``, ``-inf``."""
    value = float(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def formula(function: Callable) -> str:
    """What a callable default or bound is: the first code span of its docstring's
    first line (``0.01 ln K``)."""
    first = (inspect.getdoc(function) or "").split("\n")[0]
    spans = re.findall(r"``([^`]+)``", first)
    return spans[0] if spans else md(first)


def docstring_section(obj: Any, section: str) -> dict[str, str]:
    """``{name: description}`` of a Google-style docstring section (``Attributes``,
    ``Args``) of ``obj`` and the classes it derives from; ``a, b: ...`` describes
    both names."""
    out: dict[str, str] = {}
    for owner in getattr(obj, "__mro__", (obj,)):
        doc = inspect.cleandoc(owner.__doc__ or "")
        lines = doc.split("\n")
        if f"{section}:" not in lines:
            continue
        names: list[str] = []
        indent = None
        for line in lines[lines.index(f"{section}:") + 1 :]:
            if not line.strip():
                continue
            depth = len(line) - len(line.lstrip())
            if depth == 0:
                break  # the next section
            indent = depth if indent is None else indent
            item = re.match(r"([\w*]+(?:, [\w*]+)*): ?(.*)", line.strip())
            if depth == indent and item:
                names = [n.lstrip("*") for n in item[1].split(", ")]
                for name in names:
                    out.setdefault(name, item[2])
            elif names:
                for name in names:
                    out[name] += " " + line.strip()
    return {name: md(text).rstrip(".") for name, text in out.items()}


def summary(obj: Any) -> str:
    """The first paragraph of ``obj``'s docstring, as markdown."""
    return md((inspect.getdoc(obj) or "").split("\n\n")[0])


def paragraphs(text: str) -> list[str]:
    """A docstring's paragraphs (indented blocks and tables left out), as markdown."""
    return [
        md(p)
        for p in inspect.cleandoc(text).split("\n\n")
        if p.strip() and not p.startswith((" ", "=")) and not p.endswith("::")
    ]


# ---------------------------------------------------------------- config keys

_KINDS = {bool: "boolean", str: "string", list: "list", float: "number", int: "integer"}


def _default(key: schema.Key) -> str:
    if key.required:
        return "required"
    if key.default_note:
        return md(key.default_note)
    if callable(key.default):
        return code(formula(key.default))
    if key.default is None:
        return "—"
    return code(toml(key.default))


def _allowed(key: schema.Key) -> str:
    parts = []
    if key.low is not None:
        parts.append(schema.int_range(key.low, key.high))
    elif key.high is not None:
        parts.append(f"each at most {key.high}")
    if key.choices:
        parts.append("one of " + ", ".join(code(c) for c in key.choices))
    if key.note:
        parts.append(md(key.note))
    return "; ".join(parts) or "—"


def _key_rows(keys: Iterable[schema.Key], defaults: dict | None = None):
    defaults = defaults or {}
    for key in keys:
        default = (
            code(toml(defaults[key.name])) if key.name in defaults else _default(key)
        )
        yield [code(key.name), key.kind, default, _allowed(key), md(key.meaning)]


_KEY_HEADERS = ("key", "type", "default", "allowed", "meaning")
_PARAM_HEADERS = ("key", "default", "range", "meaning")


def _bound(value: Any) -> str:
    return formula(value) if callable(value) else number(value)


def param_range(param: registry.Param) -> str:
    """``[low, high]``; an end the config refuses is open: ``[1e-12, inf)``; a
    finite range that also takes the limit ``inf`` ends ``or inf``."""
    low = "(-inf" if param.low == -math.inf else f"[{_bound(param.low)}"
    if callable(param.high) or param.high < math.inf or param.allow_inf:
        high = f"{_bound(param.high)}]"
    else:
        high = "inf)"
    finite_high = callable(param.high) or param.high < math.inf
    return f"{low}, {high}" + (" or inf" if param.allow_inf and finite_high else "")


def param_default(param: registry.Param, params_type: Any) -> str:
    """The default of ``param`` for an agent with ``params_type``."""
    if param.default is None:
        return code(number(params_type._field_defaults[param.field]))
    if callable(param.default):
        return code(formula(param.default))
    return code(number(param.default))


def param_meaning(param: registry.Param, params_type: Any) -> str:
    """The registry's label, and what the params NamedTuple's docstring adds (the
    rule's shared ``explore`` field says nothing of its own)."""
    described = docstring_section(params_type, "Attributes").get(param.field, "")
    if param.field == "explore" or len(re.findall(r"\w+", described)) < 2:
        return md(param.label)  # ``gamma`` adds nothing to "discount γ"
    return f"{md(param.label)}: {described}"


def _anchor(kind: str, name: str) -> str:
    return f"{kind}-{name}"


def _link(kind: str, name: str) -> str:
    return f"[{code(name)}](#{_anchor(kind, name)})"


def _agent_rules(entry: registry.AgentEntry) -> list[str]:
    if not entry.takes_rule:
        return []
    return list(entry.rules or registry.RULES)


def _option_users(option: str) -> list[str]:
    """Links to the agents and rules that take ``option``."""
    agents = [
        _link("agent", a) for a, e in registry.AGENTS.items() if option in e.options
    ]
    rules = [_link("rule", r) for r, e in registry.RULES.items() if option in e.options]
    return agents + [f"rule {r}" for r in rules]


def _env(entry: registry.EnvEntry) -> Any:
    sizes = {name: default for name, (default, _) in entry.sizes.items()}
    return entry.make(**sizes)


def _gymnasium_default(env_id: str, option: str) -> str:
    """gymnasium's own default of a ``gymnasium.make`` keyword of ``env_id``."""
    import gymnasium
    from gymnasium.envs.registration import load_env_creator

    spec = gymnasium.spec(env_id)
    if option in spec.kwargs:
        return code(toml(spec.kwargs[option]))
    creator = load_env_creator(spec.entry_point)
    parameter = inspect.signature(creator).parameters.get(option)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return "gymnasium's"
    value = parameter.default
    if value is None:
        return "none (gymnasium's)"
    value = round(value, 4) if isinstance(value, float) else value
    return f"{code(toml(value))} (gymnasium's)"


def env_section(name: str, entry: registry.EnvEntry) -> str:
    """One environment: its description and every key of its ``[env]``."""
    rows, size_docs, param_docs = [], {}, {}
    if entry.sizes or entry.params:  # built only for its docstrings and defaults
        env = _env(entry)
        size_docs = docstring_section(type(env), "Attributes")
        param_docs = docstring_section(type(env.default_params), "Attributes")
    for key, (default, low) in entry.sizes.items():
        rows.append([code(key), "integer", code(default), schema.int_range(low),
                     size_docs.get(key, "")])  # fmt: skip
    for key in entry.params:
        value = getattr(env.default_params, key)
        value = list(value) if isinstance(value, tuple) else float(value)
        allowed = "a number >= 0" if key in entry.nonnegative else "a number"
        rows.append([code(key), "number", code(toml(value)), allowed,
                     param_docs.get(key, "")])  # fmt: skip
    for key, (default, kind, *meaning) in entry.options.items():
        if default is None:
            shown = _gymnasium_default(name, key)
        else:
            shown = code(toml(default))
        rows.append([code(key), _KINDS[kind], shown, "—", md("".join(meaning))])
    out = [heading(3, code(name), _anchor("env", name)), md(entry.description) + ".\n"]
    if rows:
        out.append(table(_KEY_HEADERS, rows))
    else:
        out.append("No keys besides `name` and `backend`.\n")
    if entry.check is not None:
        out.append(f"Also checked: {md(inspect.getdoc(entry.check))}\n")
    if set(entry.options) & set(registry.GYMNASIUM_OPTIONS):
        ours = sorted(set(entry.options) - set(registry.GYMNASIUM_OPTIONS))
        out.append(
            "The other keys are `gymnasium.make`'s keywords"
            + (f"; {', '.join(code(k) for k in ours)} is ours." if ours else ".")
            + "\n"
        )
    return "\n".join(out)


def agent_section(name: str, entry: registry.AgentEntry) -> str:
    """One agent: its parameters with default, range and meaning; its rules; the
    other keys it takes."""
    out = [
        heading(3, code(name), _anchor("agent", name)),
        md(entry.description) + ".\n",
    ]
    params_type = entry.params_type
    rules = _agent_rules(entry)
    averages = "step_size" in entry.options
    (sample_average,) = schema.OPTIONS["step_size"]
    rows = []
    for param in entry.params:
        default = param_default(param, params_type)
        if averages and param.name == "step_size":
            default = f"{code(toml(sample_average.default))} (else {default})"
        rows.append(
            [code(param.name), default, param_range(param),
             param_meaning(param, params_type)]
        )  # fmt: skip
    first = "its rule's parameter, else the first below" if rules else "the first"
    out.append(
        f"**Parameters**: `param` names the one a study sweeps (by default {first}); "
        "the others may be set as keys.\n"
    )
    out.append(table(_PARAM_HEADERS, rows))
    if averages:
        out.append(f"`step_size`: {sample_average.meaning}.\n")
    if rules:
        rule_rows = []
        for rule in rules:
            param = registry.RULES[rule].param
            if param is None:
                rule_rows.append([_link("rule", rule), "—", "—", "—", "—"])
                continue
            rule_rows.append(
                [_link("rule", rule), code(param.name),
                 param_default(param, params_type), param_range(param),
                 md(param.label)]
            )  # fmt: skip
        out.append("**Rules** (`rule`, required): each adds its parameter.\n")
        out.append(
            table(("rule", "parameter", "default", "range", "meaning"), rule_rows)
        )
    keys = [
        key
        for option in entry.options
        if option not in ("rollout", "replay", "step_size")
        for key in schema.OPTIONS[option]
    ]
    if keys:
        out.append("**Other keys**:\n")
        out.append(table(_KEY_HEADERS, _key_rows(keys, entry.defaults)))
    for option, title in (("rollout", "Rollout"), ("replay", "Replay")):
        if option in entry.options:
            changed = {k: v for k, v in entry.defaults.items() if k != "optimizer"}
            note = (
                ", with its own defaults: "
                + ", ".join(f"{code(k)} = {code(toml(v))}" for k, v in changed.items())
                if changed
                else ""
            )
            out.append(f"{title} settings: [{option} keys](#{option}){note}.\n")
    return "\n".join(out)


def rule_section(name: str, entry: registry.RuleEntry) -> str:
    """One exploration rule: its parameter and the keys it adds."""
    out = [heading(3, code(name), _anchor("rule", name)), md(entry.description) + ".\n"]
    param = entry.param
    if param is None:
        out.append("No parameter.\n")
    else:
        default = (
            code(number(param.default))
            if isinstance(param.default, float)
            else code(formula(param.default))
            if callable(param.default)
            else "the agent's (see the agent)"
        )
        out.append(
            table(("parameter", "default", "range", "meaning"),
                  [[code(param.name), default, param_range(param), md(param.label)]])
        )  # fmt: skip
    keys = [key for option in entry.options for key in schema.OPTIONS[option]]
    if keys:
        out.append("**Keys it adds**:\n")
        out.append(table(_KEY_HEADERS, _key_rows(keys)))
    agents = [_link("agent", a) for a, e in registry.AGENTS.items()
              if name in _agent_rules(e)]  # fmt: skip
    out.append(f"Taken by: {', '.join(agents)}.\n")
    return "\n".join(out)


def _schedule_rows():
    for name, factory in registry.SCHEDULES.items():
        parameters = list(inspect.signature(factory).parameters.values())
        args = docstring_section(factory, "Args")
        others = [
            f"{code(p.name)}"
            + ("" if p.default is inspect.Parameter.empty else f" = {toml(p.default)}")
            + (f": {args[p.name]}" if p.name in args else "")
            for p in parameters[1:]
        ]
        yield [code(name), summary(factory), "; ".join(others) or "—"]


def _overrides() -> str:
    doc = inspect.getdoc(config_lib.apply_overrides).split("\n\n")
    first = md(doc[0])
    return (
        "`rl-softmax run CONFIG --set KEY=VALUE`, once per key "
        f"([command line](cli.md#run)), goes through `apply_overrides`, which "
        f"{first[0].lower()}{first[1:]} {md(doc[1])}\n"
    )


def config_page() -> str:
    """Every config key: top level, ``[env]`` per environment, ``[[studies]]``,
    per agent its parameters and rules, and the optimizers, schedules and
    target-entropy shapes."""
    out = [
        "# Config keys\n",
        "A config is a TOML file: top-level keys, an `[env]` table and one "
        "`[[studies]]` table per study (an agent sweeping one parameter, or several "
        "together). This page "
        "is generated from `rl_softmax.experiment.schema` and "
        "`rl_softmax.experiment.registry`; `rl-softmax list` prints the same names.\n",
        "A range `[a, b]` includes both ends; an end written `inf)` or `(-inf` "
        "excludes infinity itself. `K` is the number of actions.\n",
        heading(2, "Top-level keys", "top-level"),
        table(_KEY_HEADERS, _key_rows(schema.TOP_LEVEL.values())),
        heading(2, "Overrides", "overrides"),
        _overrides(),
        heading(2, "[env]", "env"),
        table(_KEY_HEADERS, _key_rows(schema.ENV.values())),
        "Each environment's own keys:\n",
    ]
    out += [env_section(name, entry) for name, entry in registry.ENVS.items()]
    out += [
        heading(3, "Any other gymnasium id", "env-host"),
        'An id with no JAX port (or any id with `backend = "host"`) is gymnasium\'s '
        "own environment stepped on the host: every other key of `[env]` is a "
        "keyword of `gymnasium.make`.\n",
        heading(2, "[[studies]]", "studies"),
        "Every study takes these keys, its agent's [parameters](#agents) and the "
        "keys its agent and rule add.\n",
        table(_KEY_HEADERS, _key_rows(schema.STUDY.values())),
        heading(3, "Keys some agents take", "study-options"),
    ]
    rows = []
    for option, keys in schema.OPTIONS.items():
        if option in ("rollout", "replay"):
            continue
        for row in _key_rows(keys):
            rows.append([*row, ", ".join(_option_users(option))])
    out.append(table((*_KEY_HEADERS, "taken by"), rows))
    out += [
        heading(3, "entropy", "entropy"),
        "The keys of a study's `entropy` table, the target-entropy schedule "
        "(taken by " + ", ".join(_option_users("entropy")) + "):\n",
        table(_KEY_HEADERS, _key_rows(schema.ENTROPY.values())),
    ]
    for option, keys, what in (
        ("rollout", schema.ROLLOUT, "updates"),
        ("replay", schema.REPLAY, "learns"),
    ):
        out += [
            heading(3, f"{option.capitalize()} settings", option),
            f"Taken by {', '.join(_option_users(option))}; a run makes "
            f"`num_steps / (num_envs x rollout_steps)` {what}.\n",
            table(_KEY_HEADERS, _key_rows(keys.values())),
        ]
    out += [
        heading(2, "[tune]", "tune"),
        "What `rl-softmax tune` searches and how (the [tuning guide](../guide/"
        "tuning.md)); `rl-softmax run` ignores the table.\n",
        table(_KEY_HEADERS, _key_rows(schema.TUNE.values())),
        heading(3, "[tune.params]", "tune-params"),
        "One table per searched parameter, e.g. `tau = { low = 0.004, high = 4.0, "
        "log = true }`:\n",
        table(_KEY_HEADERS, _key_rows(schema.TUNE_PARAM.values())),
    ]
    out.append(heading(2, "Agents", "agents"))
    out += [agent_section(name, entry) for name, entry in registry.AGENTS.items()]
    out.append(heading(2, "Exploration rules", "rules"))
    out += [rule_section(name, entry) for name, entry in registry.RULES.items()]
    out += [
        heading(2, "Optimizers", "optimizers"),
        "`optimizer = ...`: an optax optimizer whose learning rate is the agent's "
        "`step_size` or `learning_rate`.\n",
        table(
            ("name", "optimizer"),
            ([code(n), summary(f)] for n, f in registry.OPTIMIZERS.items()),
        ),
        heading(2, "Temperature schedules", "schedules"),
        "`schedule = ...` with `schedule_args = { ... }`: the swept `tau` is the "
        "schedule's first argument (its scale); `schedule_args` are the others.\n",
        table(("name", "schedule", "schedule_args"), _schedule_rows()),
        heading(2, "Target-entropy shapes", "entropy-shapes"),
        "`entropy = { shape = ... }` (see [entropy](#entropy)): "
        + ", ".join(code(s) for s in registry.ENTROPY_SHAPES)
        + ". "
        + summary(registry.schedules.entropy_target)
        + " See [`entropy_target`][rl_softmax.schedules.entropy_target].\n",
    ]
    return "\n".join(out)


# --------------------------------------------------------------- command line


def _formatter(parser: argparse.ArgumentParser) -> argparse.HelpFormatter:
    # A fixed, wide formatter: the page does not depend on the terminal's width.
    return argparse.HelpFormatter(parser.prog, width=10_000)


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = _formatter(parser)
    formatter.add_usage(
        parser.usage, parser._actions, parser._mutually_exclusive_groups
    )
    return formatter.format_help().strip()


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    (action,) = (
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    return action


def _flag_default(action: argparse.Action) -> str:
    if not action.option_strings:
        return "required" if action.nargs not in ("?", "*") else "—"
    if isinstance(action, argparse._StoreTrueAction):
        return "off"
    if action.default is None or action.default == []:
        return "—"
    if isinstance(action.default, list):
        return code(" ".join(str(v) for v in action.default))
    return code(action.default)


def command_section(name: str, parser: argparse.ArgumentParser, help_text: str) -> str:
    """One command: what it does, its usage and every argument with its default
    and help."""
    formatter = _formatter(parser)
    out = [
        heading(2, code(f"rl-softmax {name}"), name),
        md(f"{help_text[0].upper()}{help_text[1:]}.") + "\n",
        f"```text\n{_usage(parser)}\n```\n",
    ]
    for group in parser._action_groups:
        actions = [
            a for a in group._group_actions if not isinstance(a, argparse._HelpAction)
        ]
        if not actions:
            continue
        title = group.title[0].upper() + group.title[1:]
        out.append(f"**{md(title)}**\n")
        rows = [
            [
                code(formatter._format_action_invocation(action)),
                _flag_default(action),
                md(formatter._expand_help(action)) if action.help else "",
            ]
            for action in actions
        ]
        out.append(table(("argument", "default", "help"), rows))
    return "\n".join(out)


def cli_page() -> str:
    """Every ``rl-softmax`` command and flag, from the parser of
    :func:`rl_softmax.cli.build_parser`."""
    parser = cli.build_parser()
    commands = _subcommands(parser)
    helps = {a.dest: a.help for a in commands._choices_actions}
    out = [
        "# Command line\n",
        *(f"{p}\n" for p in paragraphs(cli.__doc__)[1:]),
        "Generated from the argument parser (`rl_softmax.cli.build_parser`); every "
        "command also takes `-h`/`--help`.\n",
        f"```text\n{_usage(parser)}\n```\n",
        table(
            ("command", "what it does"),
            ([f"[{code(n)}](#{n})", md(helps[n])] for n in commands.choices),
        ),
    ]
    out += [
        command_section(name, sub, helps[name])
        for name, sub in commands.choices.items()
    ]
    return "\n".join(out)


# -------------------------------------------------------------------- metrics

_PER = (("step", "Per step"), ("episode", "Per episode"), ("run", "Per run"))


def metric_per(metric: metrics_lib.Metric) -> str:
    """``step``, ``episode`` or ``run``."""
    return "run" if metric.at_end else "episode" if metric.per_episode else "step"


def metric_unit(metric: metrics_lib.Metric) -> str:
    """The unit, and the factor from the stored value to the shown one."""
    unit = metric.unit or "—"
    return unit if metric.scale == 1 else f"{unit} (stored x {1 / metric.scale:g})"


def metrics_page() -> str:
    """Every metric with its label, unit, meaning and when it is defined, from
    :data:`rl_softmax.engine.metrics.METRICS`."""
    out = [
        "# Metrics\n",
        *(f"{p}\n" for p in paragraphs(metrics_lib.__doc__)),
        "Generated from `rl_softmax.engine.metrics.METRICS`. The name is the "
        "`metric` column of `summary.csv`, the label the axis label of the plots.\n",
    ]
    for per, title in _PER:
        rows = [
            [code(m.name), md(m.label), metric_unit(m), md(m.meaning), md(m.needs)]
            for m in metrics_lib.METRICS.values()
            if metric_per(m) == per
        ]
        out += [
            heading(2, title, f"per-{per}"),
            table(("name", "label", "unit", "meaning", "defined when"), rows),
        ]
    return "\n".join(out)


# ------------------------------------------------------------------ the pages

PAGES = {
    "reference/config.md": config_page,
    "reference/cli.md": cli_page,
    "reference/metrics.md": metrics_page,
}


def write_pages() -> None:
    """Writes every page into the build (the gen-files plugin's virtual docs)."""
    import mkdocs_gen_files

    for path, render in PAGES.items():
        with mkdocs_gen_files.open(path, "w") as page:
            page.write(render())
        mkdocs_gen_files.set_edit_path(path, "docs/gen_reference.py")


if __name__ == "<run_path>":  # run by the gen-files plugin (runpy.run_path)
    write_pages()
elif __name__ == "__main__":
    wanted = sys.argv[1:] or ["config", "cli", "metrics"]
    for path, render in PAGES.items():
        if any(path == f"reference/{w}.md" for w in wanted):
            print(render())
