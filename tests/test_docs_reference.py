"""Tests for docs/gen_reference.py: the reference pages generated from the code.

Each page is checked against facts found another way: the config loader's own
defaults (a minimal config, loaded), the registry's parameters resolved for ``K``
actions, the environments built, the parser's defaults from ``parse_args`` and its
flags from ``--help``, the metrics a run defines from :func:`available`. The
markdown tables are split as the table extension splits them, and the pages are
rendered by Python-Markdown to check anchors and tables.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import re
import tomllib
from pathlib import Path

import markdown
import numpy as np
import pytest

from rl_softmax import cli
from rl_softmax.engine import metrics as metrics_lib
from rl_softmax.experiment import config as config_lib
from rl_softmax.experiment import registry

REPO = Path(__file__).resolve().parents[1]
K = 10  # the default number of arms of the default environment


def _load_generator():
    path = REPO / "docs" / "gen_reference.py"
    spec = importlib.util.spec_from_file_location("gen_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return {path: render() for path, render in gen.PAGES.items()}


@pytest.fixture(scope="module")
def config_page(pages) -> str:
    return pages["reference/config.md"]


@pytest.fixture(scope="module")
def cli_page(pages) -> str:
    return pages["reference/cli.md"]


@pytest.fixture(scope="module")
def metrics_page(pages) -> str:
    return pages["reference/metrics.md"]


# ------------------------------------------------------------- reading the pages


def split_row(line: str) -> list[str]:
    """A table row's cells, as the table extension splits it: a ``|`` inside a
    code span or escaped does not split."""
    cells, current, i, ticks = [], "", 0, 0
    body = line.strip()[1:-1] if line.strip().endswith("|") else line.strip()[1:]
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            current += body[i : i + 2]
            i += 2
            continue
        if char == "`":
            run = len(re.match("`+", body[i:])[0])
            ticks = 0 if ticks == run else ticks or run
            current += "`" * run
            i += run
            continue
        if char == "|" and not ticks:
            cells.append(current.strip())
            current = ""
        else:
            current += char
        i += 1
    return [*cells, current.strip()]


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every table of ``text``: a list of rows, each ``{header: cell}``."""
    out, lines = [], text.split("\n")
    for i, line in enumerate(lines):
        if (
            line.startswith("|")
            and i + 1 < len(lines)
            and lines[i + 1].startswith("|---")
        ):
            headers = split_row(line)
            rows = []
            for row_line in lines[i + 2 :]:
                if not row_line.startswith("|"):
                    break
                cells = split_row(row_line)
                assert len(cells) == len(headers), (headers, row_line)
                rows.append(dict(zip(headers, cells, strict=True)))
            out.append(rows)
    return out


def section(text: str, anchor: str) -> str:
    """The text under the heading with ``{#anchor}``, to the next heading of the
    same or a higher level."""
    match = re.search(rf"^(#+) .*\{{#{re.escape(anchor)}\}}$", text, re.MULTILINE)
    assert match, f"no heading {{#{anchor}}}"
    level = len(match[1])
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def row(text: str, first: str, column: str | None = None) -> dict[str, str]:
    """The row of a table in ``text`` whose first cell is ``first`` (code)."""
    found = [
        r
        for rows in tables(text)
        for r in rows
        if list(r.values())[0] in (f"`{first}`", first)
        or re.fullmatch(rf"\[`{re.escape(first)}`\]\(#[\w.-]+\)", list(r.values())[0])
    ]
    assert found, f"no row {first!r}"
    return found[0]


def unquote(cell: str) -> str:
    return cell.strip().strip("`").strip()


def toml_value(cell: str):
    """A default cell such as ``"4x4"``, ``true`` or ``[64, 64]`` as Python data."""
    return tomllib.loads(f"v = {unquote(cell)}")["v"]


def formula_value(text: str, num_actions: int) -> float:
    """``ln K`` or ``c ln K`` for ``num_actions`` actions."""
    match = re.fullmatch(r"(?:([\d.e+-]+) )?ln K", unquote(text))
    assert match, text
    return float(match[1] or 1.0) * math.log(num_actions)


def value_or_formula(text: str, num_actions: int = K) -> float:
    text = unquote(text)
    return formula_value(text, num_actions) if "ln K" in text else float(text)


def parse_range(cell: str) -> tuple[str, str, bool]:
    """``[low, high]`` -> ``(low, high, high end closed)``; ``[low, high] or inf``
    -> ``(low, "inf", True)`` (finite values up to high, and inf itself)."""
    match = re.fullmatch(r"[\[(](.+), (.+)([\])])( or inf)?", cell.strip())
    assert match, cell
    if match[4]:
        return match[1], "inf", True
    return match[1], match[2], match[3] == "]"


def check_param(cell_default: str, cell_range: str, param: registry.Param, agent):
    """A parameter's default and range cells say what the registry says."""
    entry = registry.AGENTS[agent]
    resolved = param.resolved(K, entry.params_type)
    default = re.sub(r'^`"sample_average"` \(else (.*)\)$', r"\1", cell_default)
    if callable(param.default):
        for num_actions in (2, K, 17):
            assert formula_value(default, num_actions) == pytest.approx(
                param.default(num_actions)
            )
    assert value_or_formula(default) == pytest.approx(resolved.default, rel=1e-12)
    or_inf = cell_range.strip().endswith(" or inf")
    low, high, closed = parse_range(cell_range.strip().removesuffix(" or inf"))
    finite_high = callable(param.high) or param.high < math.inf
    assert or_inf == (param.allow_inf and finite_high)
    assert float(low) == param.low
    if callable(param.high):
        for num_actions in (2, K, 17):
            assert formula_value(high, num_actions) == pytest.approx(
                param.high(num_actions)
            )
    else:
        assert float(high) == param.high
        assert closed == (param.high < math.inf or param.allow_inf)


# ------------------------------------------------------------------ config page


def _minimal(study: dict | None = None, env: dict | None = None, **top) -> dict:
    raw = {
        "name": "x",
        "studies": [study or {"name": "s", "rule": "boltzmann", "values": [0.5]}],
        **top,
    }
    if env is not None:
        raw["env"] = env
    return raw


def test_top_level_keys_are_the_config_fields_with_the_loaders_defaults(config_page):
    top = {r["key"].strip("`"): r for r in tables(section(config_page, "top-level"))[0]}
    fields = {
        f.name for f in config_lib.dataclasses.fields(config_lib.ExperimentConfig)
    }
    assert set(top) == fields
    loaded = config_lib.from_dict(_minimal())
    for key in ("description", "seed", "num_seeds", "num_steps", "max_block_runs",
                "num_episodes"):  # fmt: skip
        assert toml_value(top[key]["default"]) == getattr(loaded, key), key
    assert "min(100, num_steps)" in top["final_steps"]["default"]
    assert loaded.final_steps == 100
    assert config_lib.from_dict(_minimal(num_steps=40)).final_steps == 40
    for key in ("name", "studies"):
        assert top[key]["default"] == "required"
    assert "2**32 - 1" in top["seed"]["allowed"]
    with pytest.raises(config_lib.ConfigError):
        config_lib.from_dict(_minimal(seed=2**32))


def test_every_parameter_of_every_agent_has_the_registrys_default_and_range(
    config_page,
):
    for agent, entry in registry.AGENTS.items():
        text = section(config_page, f"agent-{agent}")
        params = tables(text)[0]
        assert [r["key"].strip("`") for r in params] == [p.name for p in entry.params]
        for param, cells in zip(entry.params, params, strict=True):
            check_param(cells["default"], cells["range"], param, agent)


def test_every_rule_an_agent_takes_is_listed_with_its_default_for_that_agent(
    config_page,
):
    for agent, entry in registry.AGENTS.items():
        text = section(config_page, f"agent-{agent}")
        if not entry.takes_rule:
            assert "**Rules**" not in text
            continue
        for rule in entry.rules or registry.RULES:
            cells = row(text, rule)
            param = registry.RULES[rule].param
            if param is None:
                assert unquote(cells["parameter"]) == "—"
                continue
            assert unquote(cells["parameter"]) == param.name
            resolved = registry.agent_params(agent, rule, K)[param.name]
            check_param(cells["default"], cells["range"], param, agent)
            assert value_or_formula(cells["default"]) == pytest.approx(resolved.default)


def test_known_values_of_the_design(config_page):
    """A few numbers written out here: the Boltzmann temperature of the
    action-value agent defaults to 0.1, may be 0 (greedy) and inf (uniform); DQN's
    to 0.125; epsilon lies in [0, 1]; the target entropy ends at 1% of ln K."""
    action_value = section(config_page, "agent-action_value")
    tau = row(action_value, "boltzmann")
    assert (unquote(tau["parameter"]), unquote(tau["default"])) == ("tau", "0.1")
    assert parse_range(tau["range"]) == ("0", "inf", True)
    # finite temperatures up to what float32 sums over a run, and inf itself
    largest = gen.number(float(np.finfo(np.float32).max) / 2**31)
    assert tau["range"].strip() == f"[0, {largest}] or inf"
    assert unquote(row(section(config_page, "agent-dqn"), "boltzmann")["default"]) == (
        "0.125"
    )
    assert parse_range(row(action_value, "epsilon_greedy")["range"]) == ("0", "1", True)
    final = row(action_value, "target_entropy")
    assert unquote(final["default"]) == "0.01 ln K"
    assert parse_range(final["range"]) == ("0", "ln K", True)
    ppo = section(config_page, "agent-ppo")
    assert unquote(row(ppo, "learning_rate")["default"]) == "0.00025"
    assert parse_range(row(ppo, "learning_rate")["range"]) == ("1e-12", "inf", False)
    assert parse_range(row(action_value, "initial_value")["range"]) == (
        "-inf",
        "inf",
        False,
    )


def test_every_rule_has_a_section_with_its_parameter(config_page):
    for name, entry in registry.RULES.items():
        text = section(config_page, f"rule-{name}")
        if entry.param is None:
            assert "No parameter" in text
        else:
            cells = row(text, entry.param.name)
            assert parse_range(cells["range"])[0] == gen.number(entry.param.low)


def test_study_defaults_are_what_the_loader_fills_in(config_page):
    common = {
        r["key"].strip("`"): r for r in tables(section(config_page, "studies"))[0]
    }
    options = {
        r["key"].strip("`"): r for r in tables(section(config_page, "study-options"))[0]
    }
    study = config_lib.from_dict(
        _minimal({"name": "s", "rule": "boltzmann", "values": [0.5]})
    ).studies[0]
    assert toml_value(common["agent"]["default"]) == study.agent
    assert toml_value(common["track_probs"]["default"]) == study.track_probs
    assert toml_value(common["references"]["default"]) == study.references
    assert toml_value(options["schedule"]["default"]) == study.schedule
    assert toml_value(options["schedule_args"]["default"]) == study.schedule_args
    assert study.sample_average and "sample_average" in options["step_size"]["default"]
    bandit = config_lib.from_dict(
        _minimal({"name": "s", "agent": "gradient_bandit", "values": [0.1]})
    ).studies[0]
    assert toml_value(options["baseline"]["default"]) == bandit.baseline
    assert (
        "2**16" in common["num_values"]["allowed"]
        or "65536" in (common["num_values"]["allowed"])
    )


def _agent_study(agent: str) -> config_lib.StudyConfig:
    entry = registry.AGENTS[agent]
    study = {"name": "s", "agent": agent, "values": [0.1]}
    env = None
    if entry.takes_rule:
        study["rule"] = "boltzmann" if agent != "action_value" else "greedy"
        if entry.rules and study["rule"] not in entry.rules:
            study["rule"] = entry.rules[0]  # the mellowmax agents' own rule
    if {"rollout", "replay"} & set(entry.options):
        env = {"name": "CartPole-v1"}
    if entry.takes_rule and study["rule"] == "greedy":
        study["param"] = "initial_value"
    elif entry.takes_rule:
        study["param"] = registry.RULES[study["rule"]].param.name
    return config_lib.from_dict(_minimal(study, env, num_steps=512)).studies[0]


@pytest.mark.parametrize("agent", sorted(registry.AGENTS))
def test_each_agents_other_keys_default_as_loaded(config_page, agent):
    text = section(config_page, f"agent-{agent}")
    study = _agent_study(agent)
    entry = registry.AGENTS[agent]
    if "optimizer" in entry.options:
        assert toml_value(row(text, "optimizer")["default"]) == study.optimizer
    if "baseline" in entry.options:
        assert toml_value(row(text, "baseline")["default"]) == study.baseline
    for option in ("rollout", "replay"):
        if option not in entry.options:
            continue
        rows = {r["key"].strip("`"): r for r in tables(section(config_page, option))[0]}
        if "learning_starts" in rows:  # a formula of num_steps (512 here)
            starts = rows.pop("learning_starts")["default"]
            assert unquote(starts) == "min(1000, num_steps // 10)"
        settings = {key: toml_value(r["default"]) for key, r in rows.items()}
        changed = dict(re.findall(r"`(\w+)` = `([^`]+)`", text))
        settings.update({k: toml_value(v) for k, v in changed.items()})
        if option == "replay":  # min(1000, num_steps // 10)
            settings["learning_starts"] = min(1000, 512 // 10)
        assert settings == study.rollout


def test_entropy_defaults_are_what_the_loader_fills_in(config_page):
    cells = {r["key"].strip("`"): r for r in tables(section(config_page, "entropy"))[0]}
    study = config_lib.from_dict(
        _minimal({"name": "s", "agent": "auto_temperature", "values": [0.05]})
    ).studies[0]
    assert toml_value(cells["shape"]["default"]) == study.entropy["shape"]
    assert cells["anneal_steps"]["default"] == "num_steps"
    assert study.entropy["anneal_steps"] == 1000
    assert formula_value(cells["final_entropy"]["default"], K) == pytest.approx(
        study.entropy["final_entropy"]
    )
    for shape in registry.ENTROPY_SHAPES:
        assert f"`{shape}`" in cells["shape"]["allowed"]


def test_every_environment_lists_its_keys_with_their_defaults(config_page):
    for name, entry in registry.ENVS.items():
        text = section(config_page, f"env-{name}")
        keys = [*entry.sizes, *entry.params, *entry.options]
        listed = [r["key"].strip("`") for rows in tables(text) for r in rows]
        assert listed == keys, name
        for key, (default, minimum) in entry.sizes.items():
            cells = row(text, key)
            assert toml_value(cells["default"]) == default
            assert f">= {minimum}" in cells["allowed"]
        if entry.params:
            sizes = {k: d for k, (d, _) in entry.sizes.items()}
            params = entry.make(**sizes).default_params
            for key in entry.params:
                value = getattr(params, key)
                shown = toml_value(row(text, key)["default"])
                if isinstance(value, tuple):
                    assert shown == list(value)
                else:
                    assert shown == pytest.approx(float(value), rel=1e-15)
                    assert row(text, key)["meaning"], (name, key)
        for key, (default, *_) in entry.options.items():
            cells = row(text, key)
            if default is not None:
                assert toml_value(cells["default"]) == default
            else:
                assert "gymnasium's" in cells["default"]


def test_the_host_environments_and_backends_are_described(config_page):
    env = {r["key"].strip("`"): r for r in tables(section(config_page, "env"))[0]}
    assert set(env) == {"name", "backend", "vector"}
    loaded = config_lib.from_dict(_minimal())
    assert toml_value(env["name"]["default"]) == loaded.env.name
    for backend in ("auto", "jax", "host"):
        assert f"`{backend}`" in env["backend"]["allowed"]
    for vector in ("auto", "sync", "async"):
        assert f"`{vector}`" in env["vector"]["allowed"]
    assert "gymnasium.make" in section(config_page, "env-host")


def test_optimizers_schedules_and_shapes_are_listed(config_page):
    for name in registry.OPTIMIZERS:
        row(section(config_page, "optimizers"), name)
    for name, factory in registry.SCHEDULES.items():
        cells = row(section(config_page, "schedules"), name)
        parameters = list(gen.inspect.signature(factory).parameters)
        for argument in parameters[1:]:  # the first is the swept scale
            assert f"`{argument}`" in cells["schedule_args"], (name, argument)
    for shape in registry.ENTROPY_SHAPES:
        assert f"`{shape}`" in section(config_page, "entropy-shapes")


# --------------------------------------------------------------------- CLI page


def _help(parser: argparse.ArgumentParser, argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit):
        parser.parse_args(argv)
    return capsys.readouterr().out


def test_every_command_and_flag_appears_with_its_help(cli_page, capsys):
    parser = cli.build_parser()
    top = _help(parser, ["--help"], capsys)
    commands = re.search(r"\{([\w,]+)\}", top)[1].split(",")
    assert commands == ["run", "plot", "tune", "list", "demo", "bench"]
    for command in commands:
        text = section(cli_page, command)
        assert f"`rl-softmax {command}`" in cli_page
        assert f"[`{command}`](#{command})" in cli_page
        help_text = _help(parser, [command, "--help"], capsys)
        flags = set(re.findall(r"(?<![\w-])(--[a-z][\w-]*)", help_text)) - {"--help"}
        arguments = {
            unquote(r["argument"]).split()[0]: r for rows in tables(text) for r in rows
        }
        for flag in flags:
            cells = arguments[flag]
            assert cells["help"], flag
            # the help words, as --help prints them (one space apart)
            words = " ".join(re.findall(r"[\w$~.]+", cells["help"]))
            assert " ".join(words.split()[:3]) in " ".join(
                re.findall(r"[\w$~.]+", help_text)
            ), (flag, cells["help"])
        usage = re.search(r"usage: (.*?)\n\n", help_text, re.S)[1]
        positionals = [
            w for w in re.sub(r"\[[^\]]*\]", "", usage).split()[2:] if w.isalnum()
        ]
        for name in positionals:
            assert unquote(row(text, name)["default"]) == "required"


def test_cli_defaults_are_the_parsers(cli_page):
    parser = cli.build_parser()
    for argv in (["run", "c.toml"], ["demo"]):
        defaults = vars(parser.parse_args(argv))
        text = section(cli_page, argv[0])
        for rows in tables(text):
            for cells in rows:
                invocation = unquote(cells["argument"]).split()[0]
                if not invocation.startswith("--"):
                    continue
                value = defaults[invocation[2:].replace("-", "_")]
                shown = unquote(cells["default"])
                if value is None or value is False or value == []:  # 0 is a value
                    assert shown in ("—", "off"), invocation
                elif isinstance(value, list):
                    assert [float(v) for v in shown.split()] == value
                else:
                    assert shown == str(value), invocation


def test_cli_page_does_not_depend_on_the_terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    narrow = gen.cli_page()
    monkeypatch.setenv("COLUMNS", "300")
    assert gen.cli_page() == narrow


# ----------------------------------------------------------------- metrics page


def test_every_metric_appears_with_its_label_and_unit(metrics_page):
    seen = {}
    for per in ("step", "episode", "run"):
        for cells in tables(section(metrics_page, f"per-{per}"))[0]:
            seen[unquote(cells["name"])] = (per, cells)
    assert sorted(seen) == sorted(metrics_lib.METRICS)  # each once
    for name, metric in metrics_lib.METRICS.items():
        per, cells = seen[name]
        assert gen.md(metric.label) == cells["label"]
        assert cells["unit"].startswith(metric.unit or "—")
        assert cells["meaning"] and cells["defined when"], name


def test_metrics_are_grouped_as_a_run_defines_them(metrics_page):
    """What :func:`available` gives for a run with everything, by kind."""
    everything = metrics_lib.available(
        {"probs": 0, "tau": 0, "values": 0},
        {"action_values": 0, "success": 0},
        episodic=True,
        track_probs=True,
    )
    per_step = [m.name for m in everything if not m.per_episode]
    per_episode = [m.name for m in everything if m.per_episode]
    names = {
        per: [
            unquote(c["name"]) for c in tables(section(metrics_page, f"per-{per}"))[0]
        ]
        for per in ("step", "episode", "run")
    }
    assert names["step"] == per_step
    assert names["episode"] == per_episode
    assert set(names["run"]) == {m.name for m in metrics_lib.METRICS.values()} - set(
        per_step
    ) - set(per_episode)
    only_reward = metrics_lib.available({}, {}, episodic=False)
    assert [m.name for m in only_reward] == ["reward"]
    assert row(section(metrics_page, "per-step"), "reward")["defined when"] == "always"


# ----------------------------------------------------------------- rendering


@pytest.mark.parametrize("path", sorted(gen.PAGES))
def test_pages_render_with_their_tables_and_anchors(pages, path):
    text = pages[path]
    html = markdown.markdown(text, extensions=["tables", "attr_list", "toc"])
    assert html.count("<table>") == len(tables(text)) > 0
    assert "\\|" not in html  # a pipe escaped where it needed no escape
    assert not re.search(r"<(?!/?(?:\w+)[ >/])", html)  # no stray "<"
    for anchor in re.findall(r"\{#([^}]+)\}", text):
        assert f'id="{anchor}"' in html, anchor
    if path == "reference/config.md":
        for agent in registry.AGENTS:
            assert f'id="agent-{agent}"' in html
        for rule in registry.RULES:
            assert f'id="rule-{rule}"' in html
        for env in registry.ENVS:
            assert f'id="env-{env}"' in html
        for link in re.findall(r'href="#([^"]+)"', html):
            assert f'id="{link}"' in html, link


def test_importing_the_generator_writes_nothing():
    for path in gen.PAGES:  # written only into a build, never into docs/
        assert not (REPO / "docs" / path).exists(), path


def test_write_pages_writes_every_page_into_the_build(tmp_path):
    from mkdocs.config import load_config
    from mkdocs.structure.files import Files
    from mkdocs_gen_files.editor import FilesEditor

    config = load_config(str(REPO / "mkdocs.yml"), site_dir=str(tmp_path / "site"))
    with FilesEditor(Files([]), config, str(tmp_path / "docs")):
        gen.write_pages()
    for path, render in gen.PAGES.items():
        assert (tmp_path / "docs" / path).read_text(encoding="utf-8") == render()
