"""Bad inputs to ``rl-softmax run`` and what they get (issue #13).

Every case is data: an id, a kind, the offending input and words its error must
contain (the field, the value, what is allowed). Each must end with exit code 2 and
one line on stderr starting ``error:``, no traceback, and nothing written where it
should not be. Cases run in-process through ``rl_softmax.cli.main`` (the same code
the console script runs); a subprocess holds the lock of the "locked" case, a few
cases go through the installed script as well, and the huge sizes run as
subprocesses with a deadline (their refusal with a memory and time estimate is
another change; until it lands they may xfail).

docs/reference/bad-inputs.md ("Bad inputs and what they get") is the table of these
cases and their actual messages (temporary paths, pids, hosts, times and hashes
replaced by placeholders); ``RL_SOFTMAX_UPDATE_DOCS=1 pytest tests/test_bad_inputs.py``
rewrites it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from rl_softmax.cli import main
from rl_softmax.experiment import results

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "reference" / "bad-inputs.md"
START, END = "<!-- bad-inputs:start -->", "<!-- bad-inputs:end -->"
LONG_SECONDS = 300
# A long case must not take the memory of the other processes on the host.
LONG_MEMORY = 4 * 2**30
# Subprocesses import this checkout's package, whatever is installed.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
)}  # fmt: skip

# A valid config: each case edits one thing. TOML text per key, by table.
BASE = {
    "": {"name": '"tiny"', "num_seeds": "2", "num_steps": "10", "final_steps": "5"},
    "env": {"name": '"gaussian"'},
    "studies": {"name": '"boltzmann"', "rule": '"boltzmann"', "values": "[0.5, 1.0]"},
}


class Case(NamedTuple):
    """One bad input.

    Attributes:
      id: the test id.
      kind: ``config`` (``input``: ``{key: TOML text or None}`` edits of BASE, keys
        ``name``, ``env.name``, ``studies.rule``), ``toml`` (the config file's
        bytes), ``set`` (``--set`` overrides of BASE), ``argv`` (arguments after
        ``run``; ``{config}`` is BASE's file), ``path`` (the name of a setup
        in ``_setup``) or ``long`` (``--set`` overrides of a run that would take
        days: it must say so, then stop cleanly on Ctrl-C).
      input: see ``kind``.
      expected: what the message must contain (``<tmp>`` for the temporary folder).
      shown: the table's "input" cell when it is not derived from ``input``.
    """

    id: str
    kind: str
    input: Any
    expected: tuple[str, ...]
    shown: str = ""


def _two_studies(name: str) -> bytes:
    study = f'[[studies]]\nname = "{name}"\nrule = "boltzmann"\nvalues = [1.0]\n'
    return ('name = "tiny"\nnum_seeds = 2\nnum_steps = 10\n' + study + study).encode()


CASES = [
    # ------------------------------------------------------------- the config file
    Case("malformed TOML", "toml", b"name = = 3\n", ("not valid TOML", "line 1"),
         "`name = = 3`"),
    Case("not UTF-8", "toml", b'name = "caf\xe9"\n', ("not UTF-8", "0xe9"),
         "`name = \"caf\\xe9\"` (Latin-1 bytes)"),
    Case("empty file", "toml", b"", ("studies: missing", "[[studies]]"),
         "an empty file"),
    Case("no studies", "config", {"studies": None}, ("studies: missing",),
         "no `[[studies]]`"),
    Case("empty study list", "toml", b'name = "tiny"\nstudies = []\n',
         ("studies", "[]", "one or more"), "`studies = []`"),
    Case("study not a table", "toml", b'name = "tiny"\nstudies = [1]\n',
         ("studies[0]", "got 1", "a table"), "`studies = [1]`"),
    Case("duplicate study names", "toml", _two_studies("a"),
         ("studies[1].name", "'a'", "unique"), "two `[[studies]]` named `a`"),
    Case("no name", "config", {"name": None}, ("name: missing",)),
    Case("name not a string", "config", {"name": "5"}, ("name", "got 5", "a string")),
    Case("name leaves results/", "config", {"name": '"../escape"'},
         ("name", "'../escape'", "letters, digits")),
    Case("empty name", "config", {"name": '""'}, ("name", "got ''", "letters")),
    Case("unknown top-level key", "config", {"epsilon": "0.1"},
         ("top level", "'epsilon'", "allowed")),
    Case("unknown env key", "config", {"env.arms": "5"},
         ("env", "'arms'", "allowed", "num_arms")),
    Case("unknown study key", "config", {"studies.temperature": "1.0"},
         ("studies[0]", "'temperature'", "allowed")),
    Case("obsolete chunk_size", "config", {"chunk_size": "16"},
         ("chunk_size", "max_block_runs")),
    Case("wrong type: string count", "config", {"num_seeds": '"ten"'},
         ("num_seeds", "'ten'", "an integer >= 1")),
    Case("wrong type: float steps", "config", {"num_steps": "1.5"},
         ("num_steps", "1.5", "an integer")),
    Case("wrong type: bool seed", "config", {"seed": "true"},
         ("seed", "True", "an integer")),
    Case("env not a table", "config", {"env": "3"},
         ("env", "got 3", "a table")),
    Case("unknown env", "config", {"env.name": '"poisson"'},
         ("env.name", "'poisson'", "gaussian")),
    Case("unknown backend", "config", {"env.backend": '"gpu"'},
         ("env.backend", "'gpu'", "'host'")),
    Case("unknown FrozenLake map", "config",
         {"env.name": '"FrozenLake-v1"', "env.map_name": '"9x9"',
          "studies.agent": '"q_learning"'},
         ("env.map_name", "'9x9'", "'4x4'")),
    Case("unknown gymnasium id", "config",
         {"env.name": '"NoSuchEnv-v0"', "env.backend": '"host"'},
         ("NoSuchEnv-v0", "not a registered gymnasium id")),
    Case("unknown agent", "config", {"studies.agent": '"rainbow"'},
         ("studies[0].agent", "'rainbow'", "action_value")),
    Case("unknown rule", "config", {"studies.rule": '"softmax"'},
         ("studies[0].rule", "'softmax'", "boltzmann")),
    Case("rule on an agent without one", "config",
         {"studies.agent": '"gradient_bandit"'},
         ("studies[0].rule", "gradient_bandit", "takes no exploration rule")),
    Case("unknown optimizer", "config",
         {"studies.agent": '"gradient_bandit"', "studies.rule": None,
          "studies.optimizer": '"lbfgs"'},
         ("studies[0].optimizer", "'lbfgs'", "adam")),
    Case("unknown schedule", "config", {"studies.schedule": '"sqrt"'},
         ("studies[0].schedule", "'sqrt'", "inverse_log")),
    Case("bad schedule argument", "config",
         {"studies.schedule": '"inverse_log"',
          "studies.schedule_args": "{decay_rate = 0.5}"},
         ("studies[0].schedule_args", "decay_rate")),
    Case("unknown entropy shape", "config",
         {"studies.rule": '"target_entropy"', "studies.values": "[0.1]",
          "studies.entropy": '{shape = "cubic"}'},
         ("studies[0].entropy.shape", "'cubic'", "linear")),
    # tracebacks before: OverflowError from the step index, and "File name too
    # long" after the whole run had finished
    Case("num_steps past int32", "set", ("num_steps=10000000000000",),
         ("num_steps", "got 10000000000000", "[1, 2**31 - 1]")),
    Case("anneal_steps past int32", "config",
         {"studies.rule": '"target_entropy"', "studies.values": "[0.1]",
          "studies.entropy": "{anneal_steps = 1000000000000}"},
         ("studies[0].entropy.anneal_steps", "got 1000000000000", "2**31 - 1")),
    Case("300-character study name", "config", {"studies.name": '"' + "a" * 300 + '"'},
         ("studies[0].name", "at most 48 characters"),
         "`[[studies]] name = \"aaa...\"` (300 characters)"),
    # toy text: internal messages ("not enough values to unpack") and tracebacks
    # (IndexError) before, and a map with no start or an unknown tile ran
    Case("FrozenLake map with no start", "config",
         {"env.name": '"FrozenLake-v1"', "env.desc": '["FFF", "FHG"]',
          "studies.agent": '"q_learning"'},
         ("env.desc", "['FFF', 'FHG']", "S (start, at least one)")),
    Case("FrozenLake map with an unknown tile", "config",
         {"env.name": '"FrozenLake-v1"', "env.desc": '["SXF", "FHG"]',
          "studies.agent": '"q_learning"'},
         ("env.desc", "['SXF', 'FHG']", "of the tiles S")),
    Case("FrozenLake map not rectangular", "config",
         {"env.name": '"FrozenLake-v1"', "env.desc": '["SFF", "FG"]',
          "studies.agent": '"q_learning"'},
         ("env.desc", "rows of equal length")),
    Case("success_rate above 1", "config",
         {"env.name": '"FrozenLake-v1"', "env.success_rate": "1.5",
          "studies.agent": '"q_learning"'},
         ("env.success_rate", "got 1.5", "[0, 1]")),
    Case("reward_schedule of one number", "config",
         {"env.name": '"FrozenLake-v1"', "env.reward_schedule": "[1]",
          "studies.agent": '"q_learning"'},
         ("env.reward_schedule", "got [1]", "3 finite numbers")),
    Case("rainy_probability above 1", "config",
         {"env.name": '"Taxi-v4"', "env.is_rainy": "true",
          "env.rainy_probability": "2.0", "studies.agent": '"q_learning"'},
         ("env.rainy_probability", "got 2.0", "[0, 1]")),
    # both ran: a string read as true, and a network that never trained
    Case("staircase = \"no\"", "config",
         {"studies.schedule": '"exponential"',
          "studies.schedule_args": '{transition_steps = 10, decay_rate = 0.5, '
          'staircase = "no"}'},
         ("studies[0].schedule_args.staircase", "got 'no'", "true or false")),
    Case("learning_starts after the run", "config",
         {"env.name": '"CartPole-v1"', "num_steps": "512", "studies.agent": '"dqn"',
          "studies.learning_starts": "100000"},
         ("studies[0].learning_starts", "got 100000", "<= num_steps = 512",
          "never trains")),
    # classic control: outside its physics the state turned NaN with done False,
    # and a massless cart and pole reported return 500 and success 1.0
    Case("massless cart and pole", "config",
         {"env.name": '"CartPole-v1"', "env.masspole": "0.0", "env.masscart": "0.0",
          "studies.agent": '"ppo"', "studies.rule": None, "num_steps": "512"},
         ("env.masscart", "got 0.0", "[0.001, 100]", "float32 physics")),
    Case("pole of length 0", "config",
         {"env.name": '"CartPole-v1"', "env.length": "0.0", "studies.agent": '"ppo"',
          "studies.rule": None, "num_steps": "512"},
         ("env.length", "got 0.0", "[0.0005, 50]")),
    Case("reset bounds reversed", "config",
         {"env.name": '"CartPole-v1"', "env.reset_low": "0.1", "studies.agent": '"ppo"',
          "studies.rule": None, "num_steps": "512"},
         ("env.reset_low, env.reset_high", "[0.1, 0.05]", "reset_low <= reset_high")),
    Case("Acrobot time step 0", "config",
         {"env.name": '"Acrobot-v1"', "env.dt": "0.0", "studies.agent": '"ppo"',
          "studies.rule": None, "num_steps": "512"},
         ("env.dt", "got 0.0", "[0.0002, 20]")),
    # a tuple (the actions' torques) read as a number: a TypeError when built
    Case("Acrobot avail_torque", "config",
         {"env.name": '"Acrobot-v1"', "env.avail_torque": "0.0",
          "studies.agent": '"ppo"', "studies.rule": None, "num_steps": "512"},
         ("env", "unknown key(s) ['avail_torque']")),
    Case("MountainCar track reversed", "config",
         {"env.name": '"MountainCar-v0"', "env.min_position": "1.0",
          "studies.agent": '"ppo"', "studies.rule": None, "num_steps": "512"},
         ("env.min_position, env.max_position", "[1.0, 0.6]",
          "min_position < max_position")),
    # float32: these were written as inf or 0 (values), made every arm equal
    # (mean 1e30) or gave inf and NaN rewards, with exit 0
    Case("tau past float32", "config", {"studies.values": "[1e40]"},
         ("studies[0].values", "1e+40", "float32", "or inf")),
    Case("tau below float32", "config", {"studies.values": "[1e-46]"},
         ("studies[0].values", "1e-46", "float32", "1.1754944e-38")),
    Case("tau uniform to float32", "config", {"studies.values": "[1e30]"},
         ("studies[0].values", "1e+30", "[0, 1.58", "float32", "or inf")),
    Case("arms equal in float32", "config", {"env.mean": "1e20"},
         ("env.std", "got 1.0", "|mean| / 2**16", "one value")),
    Case("rewards past float32 sums", "config", {"env.noise_std": "1e38"},
         ("env.mean, env.std, env.noise_std", "1e+38", "<= 1.58e+29")),
    Case("mean and std of 1e308", "config", {"env.mean": "1e308", "env.std": "1e308"},
         ("env.mean", "1e+308", "float32")),
    Case("goal reward past float32 sums", "config",
         {"env.name": '"FrozenLake-v1"', "env.reward_schedule": "[1e38, 0, 0]",
          "studies.agent": '"q_learning"'},
         ("env.reward_schedule", "1e+38", "1.58e+29")),
    Case("gravity of 1e38", "config",
         {"env.name": '"CartPole-v1"', "env.gravity": "1e38", "studies.agent": '"ppo"',
          "studies.rule": None, "num_steps": "512"},
         ("env.gravity", "1e+38", "[0, 980]", "100 times gymnasium's 9.8")),
    # tau logsumexp(Q / tau) is infinite at tau = inf (it bootstrapped inf and
    # reported entropy 0 for the uniform reference)
    Case("soft Q-learning at tau = inf", "config",
         {"env.name": '"FrozenLake-v1"', "studies.agent": '"soft_q"',
          "studies.values": "[0.5, inf]"},
         ("studies[0].values", "got inf", "a finite number",
          "'soft_q' bootstraps from tau logsumexp(Q / tau)")),
    Case("soft Q-learning with target_entropy", "config",
         {"env.name": '"FrozenLake-v1"', "studies.agent": '"soft_q"',
          "studies.rule": '"target_entropy"', "studies.values": "[0.5]"},
         ("studies[0].rule", "'target_entropy'", "tau = inf where the values are "
          "equal", "['boltzmann', 'greedy']")),
    Case("soft DQN's uniform reference", "config",
         {"env.name": '"CartPole-v1"', "num_steps": "64", "studies.agent": '"soft_dqn"',
          "studies.references": '{uniform = inf}'},
         ("studies[0].references.uniform", "got inf", "'soft_dqn'")),
    Case("unknown swept parameter", "config", {"studies.param": '"temperature"'},
         ("studies[0].param", "'temperature'", "tau")),
    Case("study name with a slash", "config", {"studies.name": '"a/b"'},
         ("studies[0].name", "'a/b'", "letters, digits")),
    Case("values and log2_range", "config", {"studies.log2_range": "[0, 1]"},
         ("studies[0]", "exactly one of 'values'", "'log2_range'")),
    Case("empty values", "config", {"studies.values": "[]"},
         ("studies[0].values", "[]", "non-empty list")),
    Case("value not a number", "config", {"studies.values": '["a"]'},
         ("studies[0].values", "'a'", "a number")),
    Case("negative tau", "config", {"studies.values": "[-1.0]"},
         ("studies[0].values", "-1.0", "[0, 1.58456e+29]", "or inf")),
    Case("NaN tau", "config", {"studies.values": "[nan]"},
         ("studies[0].values", "nan", "finite")),
    Case("epsilon above 1", "config",
         {"studies.rule": '"epsilon_greedy"', "studies.values": "[1.5]"},
         ("studies[0].values", "1.5", "[0, 1]")),
    Case("decreasing log2_range", "config",
         {"studies.values": None, "studies.log2_range": "[2, 0]"},
         ("studies[0].log2_range", "[2, 0]", "increasing")),
    Case("log2_range overflows", "config",
         {"studies.values": None, "studies.log2_range": "[0, 2000]"},
         ("studies[0].log2_range", "2000", "[-126, 127]")),
    Case("reference not a number", "config", {"studies.references": '{a = "x"}'},
         ("studies[0].references.a", "'x'", "a number")),
    Case("final_steps > num_steps", "config", {"final_steps": "20"},
         ("final_steps", "20", "num_steps=10")),
    Case("one arm", "config", {"env.num_arms": "1"},
         ("env.num_arms", "got 1", ">= 2")),
    Case("negative noise", "config", {"env.noise_std": "-1.0"},
         ("env.noise_std", "-1.0", ">= 0")),
    Case("Bernoulli low > high", "config",
         {"env.name": '"bernoulli"', "env.low": "0.9", "env.high": "0.1"},
         ("env.low, env.high", "[0.9, 0.1]", "low <= high")),
    Case("rollout batch does not divide", "config",
         {"env.name": '"CartPole-v1"', "studies.agent": '"ppo"',
          "studies.rule": None, "num_steps": "1000"},
         ("num_steps", "1000", "multiple of", "num_envs x rollout_steps")),
    Case("zero-width layer", "config",
         {"env.name": '"CartPole-v1"', "studies.agent": '"ppo"',
          "studies.rule": None, "studies.hidden": "[0]"},
         ("studies[0].hidden", "[0]", "integers >= 1")),
    Case("what only building finds", "config",
         {"studies.rule": '"boltzmann_gumbel"', "studies.track_probs": "true"},
         ("studies[0] (boltzmann)", "track_probs")),
    # --------------------------------------------------------------------- --set
    Case("--set without =", "set", ("num_seeds",), ("--set 'num_seeds'", "KEY=VALUE")),
    Case("--set without key", "set", ("=3",), ("--set '=3'", "KEY=VALUE")),
    Case("--set unknown key", "set", ("epsilon=0.1",), ("top level", "'epsilon'")),
    Case("--set bad value", "set", ("num_seeds=ten",), ("num_seeds", "'ten'")),
    Case("--set unclosed list", "set", ("studies.0.values=[1,2",),
         ("studies[0].values", "'[1,2'", "list of numbers")),
    Case("--set index out of range", "set", ("studies.5.values=[1]",),
         ("'5'", "index below 1")),
    Case("--set index not a number", "set", ("studies.x.values=[1]",),
         ("'x'", "index below 1")),
    Case("--set into a number", "set", ("num_seeds.x=1",),
         ("num_seeds is not a table",)),
    # --------------------------------------------------------------------- sizes
    Case("num_seeds = 0", "set", ("num_seeds=0",), ("num_seeds", "got 0", ">= 1")),
    Case("num_seeds < 0", "set", ("num_seeds=-5",), ("num_seeds", "-5", ">= 1")),
    Case("num_steps = 0", "set", ("num_steps=0",), ("num_steps", "got 0", ">= 1")),
    Case("num_steps < 0", "set", ("num_steps=-1",), ("num_steps", "-1", ">= 1")),
    Case("num_seeds > 2**32", "set", ("num_seeds=5000000000",),
         ("num_seeds", "5000000000", "2**32")),
    Case("seed >= 2**32", "set", ("seed=4294967296",), ("seed", "2**32 - 1")),
    Case("negative seed", "set", ("seed=-1",), ("seed", "-1", ">= 0")),
    Case("num_values = 0", "set",
         ("studies.0.log2_range=[0, 3]", "studies.0.num_values=0"),
         ("studies[0].num_values", "got 0", ">= 1")),
    Case("num_values = 10**21", "set",
         ("studies.0.log2_range=[0, 3]", "studies.0.num_values=1000000000000000000000"),
         ("studies[0].num_values", "1000000000000000000000", "65536")),
    Case("negative max_block_runs", "set", ("max_block_runs=-1",),
         ("max_block_runs", "-1", ">= 0")),
    Case("negative num_episodes", "set", ("num_episodes=-1",),
         ("num_episodes", "-1", ">= 0")),
    # the advice named every knob but the one that asked for 40 GB per value
    Case("num_episodes = 10**8", "config",
         {"env.name": '"FrozenLake-v1"', "studies.agent": '"q_learning"',
          "num_seeds": "100", "num_episodes": "100000000"},
         ("study 'boltzmann' needs about", "lower num_episodes (100000000)")),
    Case("num_seeds = 10**9", "set", ("num_seeds=1000000000",),
         ("study 'boltzmann' needs about", "lower num_seeds (1000000000)")),
    # small blocks: the first window, and so the estimate, comes within seconds
    # whatever memory the machine has free (it sets the default block size); 2 x
    # 100,000 runs of 10**9 steps are days of work even at 10**9 agent-steps/s
    Case("num_steps = 10**9", "long",
         ("num_steps=1000000000", "num_seeds=100000", "max_block_runs=8"),
         ("boltzmann: about ", " days left (measured on the first ")),
    # ----------------------------------------------------------- the command line
    Case("no config", "argv", (), ("the following arguments are required: config",),
         "`rl-softmax run` (no config)"),
    Case("unknown option", "argv", ("{config}", "--seeds", "3"),
         ("unrecognized arguments: --seeds 3",)),
    Case("--devices 0", "argv", ("{config}", "--devices", "0"),
         ("--devices", "'0'", ">= 1")),
    Case("--devices x", "argv", ("{config}", "--devices", "x"),
         ("--devices", "'x'", ">= 1")),
    Case("--set with no value", "argv", ("{config}", "--set"),
         ("--set", "expected one argument")),
    # --------------------------------------------------------------------- paths
    Case("config missing", "argv", ("{tmp}/missing.toml",),
         ("<tmp>/missing.toml", "no such config file")),
    Case("config is a directory", "path", "config_dir",
         ("<tmp>/configs", "a directory, not a config file"),
         "the config path is a directory"),
    Case("--out is a file", "path", "out_file",
         ("--out <tmp>/results.txt", "not a directory"), "`--out` names a file"),
    Case("--out under a file", "path", "out_under_file",
         ("--out <tmp>/results.txt/sub", "a file is in the way"),
         "`--out` is a path under a file"),
    Case("--out read-only", "path", "out_read_only",
         ("--out <tmp>/read-only", "cannot write", "permission denied"),
         "`--out` is a read-only directory"),
    Case("--out empty", "argv", ("{config}", "--out", ""),
         ("--out ''", "empty path")),
    Case("--out locked", "path", "out_locked",
         ("--out <tmp>/locked", "in use by another run", "pid <pid>", "<host>",
          "since <time>"), "`--out` is in use by another run"),
    Case("--out holds another config", "path", "out_other_config",
         ("--out <tmp>/other", "different config", "--overwrite"),
         "`--out` holds another config's results (no `--overwrite`)"),
    Case("--out has a foreign metadata.json", "path", "out_foreign_metadata",
         ("--out <tmp>/foreign", "metadata.json", "did not write", "not JSON"),
         "`--out` holds a `metadata.json` that is not ours (even with `--overwrite`)"),
    Case("--out has a foreign summary.csv", "path", "out_foreign_summary",
         ("--out <tmp>/foreign", "summary.csv", "did not write"),
         "`--out` holds a `summary.csv` but no `metadata.json`"),
    Case("--cache-dir is a file", "path", "cache_dir_file",
         ("--cache-dir <tmp>/cache.txt", "--no-cache"), "`--cache-dir` names a file"),
]  # fmt: skip


# ----------------------------------------------------------------- running cases


def _toml(edits: dict[str, str | None]) -> str:
    """BASE with ``edits``: ``{"key": text}`` sets a key (``table.key`` in a
    table), None leaves it out; a table's name replaces or removes the table."""
    tables = {name: dict(keys) for name, keys in BASE.items()}
    for key, text in edits.items():
        table, _, name = key.rpartition(".")
        if table == "" and name in BASE:
            del tables[name]
            if text is not None:
                tables[""][name] = text
        elif text is None:
            tables[table].pop(name, None)
        else:
            tables[table][name] = text
    lines = [f"{k} = {v}" for k, v in tables.pop("").items()]
    for table, keys in tables.items():
        lines.append(f"[[{table}]]" if table == "studies" else f"[{table}]")
        lines += [f"{k} = {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


HOLDER = """\
import sys
from rl_softmax.experiment import outdir
with outdir.hold_lock(sys.argv[1], command="rl-softmax run other.toml"):
    print("held", flush=True)
    sys.stdin.read()
"""


@contextlib.contextmanager
def _lock_held(out: Path):
    """``out``'s lock held by another process for the ``with`` block."""
    out.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        assert proc.stdout.readline() == "held\n"
        yield
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


@contextlib.contextmanager
def _read_only(folder: Path):
    """``folder`` made read-only: by its mode, or for root (whom modes do not stop)
    by the immutable attribute; skips where neither is possible."""
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(folder)]).returncode:
        pytest.skip("running as root without chattr +i: no read-only directory")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(folder)], check=True)


def _other_results(folder: Path, metadata: str | None, summary: bool = False):
    folder.mkdir()
    if metadata is not None:
        (folder / results.METADATA_FILE).write_text(metadata, encoding="utf-8")
    if summary:
        (folder / results.SUMMARY_FILE).write_text("study,value\n", encoding="utf-8")


def _setup(name: str, tmp: Path, config: Path, stack: contextlib.ExitStack):
    """The arguments after ``run`` of a ``path`` case, its files made."""
    out = ["--out", str(tmp / "out")]
    if name == "config_dir":
        (tmp / "configs").mkdir()
        return [str(tmp / "configs"), *out]
    if name in ("out_file", "out_under_file"):
        (tmp / "results.txt").write_text("not a results directory\n")
        sub = "/sub" if name == "out_under_file" else ""
        return [str(config), "--out", f"{tmp / 'results.txt'}{sub}"]
    if name == "out_read_only":
        stack.enter_context(_read_only(tmp / "read-only"))
        return [str(config), "--out", str(tmp / "read-only")]
    if name == "out_locked":
        stack.enter_context(_lock_held(tmp / "locked"))
        return [str(config), "--out", str(tmp / "locked")]
    if name == "out_other_config":
        _other_results(tmp / "other", '{"config_hash": "0123456789abcdef"}')
        return [str(config), "--out", str(tmp / "other")]
    if name == "out_foreign_metadata":
        _other_results(tmp / "foreign", "my notes, not JSON\n")
        return [str(config), "--out", str(tmp / "foreign"), "--overwrite"]
    if name == "out_foreign_summary":
        _other_results(tmp / "foreign", None, summary=True)
        return [str(config), "--out", str(tmp / "foreign")]
    if name == "cache_dir_file":
        (tmp / "cache.txt").write_text("")
        return [str(config), *out, "--cache-dir", str(tmp / "cache.txt")]
    raise ValueError(f"no setup {name!r}")


def _argv(case: Case, tmp: Path, stack: contextlib.ExitStack) -> list[str]:
    """The full argument list of a case, its files made in ``tmp``."""
    config = tmp / "config.toml"
    config.write_text(_toml(case.input if case.kind == "config" else {}))
    out = ["--out", str(tmp / "out")]
    if case.kind == "toml":
        config.write_bytes(case.input)
    if case.kind in ("config", "toml"):
        return [str(config), *out]
    if case.kind in ("set", "long"):
        return [str(config), *out, *(f"--set={item}" for item in case.input)]
    if case.kind == "argv":
        given = [a.format(config=config, tmp=tmp) for a in case.input]
        return given if "--out" in given or not given else [*given, *out]
    return _setup(case.input, tmp, config, stack)


class Outcome(NamedTuple):
    code: int | str
    out: str
    err: str
    tmp: Path
    holder: int | None = None


def _in_process(argv: list[str]) -> tuple[int | str, str, str]:
    """``rl-softmax run ARGV`` in this process: (exit code, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    # The compilation cache is process-wide JAX state: off, unless the case is it.
    cache = [] if "--cache-dir" in argv else ["--no-cache"]
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(["run", "--quiet", "--no-plots", *cache, *argv])
        except SystemExit as stop:  # argparse
            code = stop.code
        except BaseException:  # what the console script would print
            traceback.print_exc()
            code = 1
    return code, stdout.getvalue(), stderr.getvalue()


def _run_case(case: Case, tmp: Path) -> Outcome:
    with contextlib.ExitStack() as stack:
        argv = _argv(case, tmp, stack)
        holder = None
        if case.input == "out_locked":
            holder = json.loads((tmp / "locked" / ".lock").read_text())["pid"]
        return Outcome(*_in_process(argv), tmp, holder)


def normalise(message: str, tmp: Path) -> str:
    """The message with what changes from run to run replaced by placeholders."""
    message = message.replace(str(tmp), "<tmp>")
    message = re.sub(r"\bpid \d+", "pid <pid>", message)
    message = message.replace(f" on {socket.gethostname()} ", " on <host> ")
    message = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}", "<time>", message)
    message = re.sub(r"\d+(\.\d+)? [KMGT]?B is available", "<memory> is available",
                     message)  # fmt: skip
    # the block, and so the estimate, depends on the devices and the free memory
    estimate = r"about \d+(\.\d+)? [KMGT]?B of memory \([^)]* of results\)"
    placeholder = "about <bytes> of memory (<per block>, <results>)"
    message = re.sub(estimate, placeholder, message)
    return re.sub(r"\b[0-9a-f]{16}\b", "<hash>", message)


# Limits set before exec (a preexec_fn would fork a process JAX made threaded).
LIMITED = (
    "import os, resource, sys; "
    f"resource.setrlimit(resource.RLIMIT_AS, ({LONG_MEMORY}, {LONG_MEMORY})); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


@pytest.fixture(scope="module")
def long_runs(tmp_path_factory):
    """``{id: (process, deadline, stdout lines so far)}`` of the long cases, started
    together on one device each, with bounded memory."""
    started = {}
    script = Path(sys.executable).with_name("rl-softmax")
    for case in (c for c in CASES if c.kind == "long"):
        tmp = tmp_path_factory.mktemp("long")
        with contextlib.ExitStack() as stack:
            argv = _argv(case, tmp, stack)
        command = [sys.executable, "-c", LIMITED, str(script), "run", "--quiet",
                   "--no-plots", "--no-cache", "--devices", "1", *argv]  # fmt: skip
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=tmp, env=ENV,
        )  # fmt: skip
        # read from the start: the other cases may keep the test waiting
        lines: list[str] = []
        threading.Thread(target=lambda p=proc, o=lines: o.extend(p.stdout),
                         daemon=True).start()  # fmt: skip
        started[case.id] = (proc, time.monotonic() + LONG_SECONDS, lines)
    yield started
    for proc, _, _ in started.values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    """Every in-process case run once (most fail before anything runs)."""
    done = {}
    for case in CASES:
        if case.kind == "long":
            continue
        tmp = tmp_path_factory.mktemp("case")
        try:
            done[case.id] = _run_case(case, tmp)
        except pytest.skip.Exception as skipped:
            done[case.id] = Outcome("skipped", "", str(skipped), tmp)
    return done


def _assert_clean_error(outcome: Outcome, expected: tuple[str, ...]) -> str:
    """The one-line message, checked; returns it normalised."""
    assert "Traceback" not in outcome.err, outcome.err
    assert outcome.code == 2, (outcome.code, outcome.err)
    assert outcome.err.startswith("error: "), outcome.err
    assert outcome.err.count("\n") == 1 and outcome.err.endswith("\n"), outcome.err
    message = normalise(outcome.err.strip(), outcome.tmp)
    for needle in expected:
        assert needle in message, (needle, message)
    return message


# ------------------------------------------------------------------------- tests


def test_there_are_at_least_40_distinct_cases():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
    kinds = {"config", "toml", "set", "argv", "path", "long"}
    assert {case.kind for case in CASES} == kinds


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.kind != "long"], ids=lambda c: c.id
)
def test_bad_input_gets_a_one_line_error(case, outcomes):
    outcome = outcomes[case.id]
    if outcome.code == "skipped":
        pytest.skip(outcome.err)
    _assert_clean_error(outcome, case.expected)
    written = [p.relative_to(outcome.tmp) for p in outcome.tmp.rglob("*")]
    if case.kind != "path":  # refused before the results directory was made
        assert not (outcome.tmp / "out").exists()
    for path in written:  # neither a lock nor a write probe left behind
        assert not path.name.startswith((".lock", ".write-probe")), path


def test_read_only_case_leaves_the_directory_empty(outcomes):
    outcome = outcomes["--out read-only"]
    if outcome.code == "skipped":
        pytest.skip(outcome.err)
    assert list((outcome.tmp / "read-only").iterdir()) == []


def test_foreign_files_are_left_as_they_were(outcomes):
    foreign = outcomes["--out has a foreign metadata.json"].tmp / "foreign"
    assert (foreign / "metadata.json").read_text() == "my notes, not JSON\n"
    assert sorted(p.name for p in foreign.iterdir()) == ["metadata.json"]
    other = outcomes["--out holds another config"].tmp / "other"
    assert sorted(p.name for p in other.iterdir()) == ["metadata.json"]


def test_locked_case_names_the_holder(outcomes):
    outcome = outcomes["--out locked"]
    assert f"pid {outcome.holder} on {socket.gethostname()} since " in outcome.err
    assert "(rl-softmax run other.toml)" in outcome.err


def _script(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("rl-softmax")
    assert script.exists(), f"{script}: install the package (pip install -e .)"
    return subprocess.run(
        [str(script), "run", "--quiet", "--no-plots", "--no-cache", *argv],
        capture_output=True, text=True, env=ENV, **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize(
    "case_id", ["malformed TOML", "--set unknown key", "--devices 0", "--out is a file"]
)
def test_installed_script_prints_the_same_line(case_id, outcomes, tmp_path):
    case = next(c for c in CASES if c.id == case_id)
    with contextlib.ExitStack() as stack:
        proc = _script(_argv(case, tmp_path, stack), timeout=120, cwd=tmp_path)
    outcome = Outcome(proc.returncode, proc.stdout, proc.stderr, tmp_path)
    message = _assert_clean_error(outcome, case.expected)
    expected = outcomes[case_id]
    assert message == normalise(expected.err.strip(), expected.tmp)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.kind == "long"], ids=lambda c: c.id
)
def test_a_run_of_days_says_so_and_stops_on_ctrl_c(case, long_runs):
    proc, deadline, lines = long_runs[case.id]
    while not any(case.expected[1] in line for line in lines):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"no estimate in {LONG_SECONDS} s"
        time.sleep(0.2)
    line = next(line for line in lines if case.expected[1] in line)
    assert line.strip().startswith(case.expected[0])
    proc.send_signal(signal.SIGINT)  # stop after the block: days away
    time.sleep(1)
    proc.send_signal(signal.SIGINT)  # so again: at once
    proc.wait(timeout=60)
    stderr = proc.stderr.read()
    assert proc.returncode == 130
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        "stopped at once; run the same command again to resume."
    )


# ------------------------------------------------------------ the docs page


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _shown(case: Case) -> str:
    if case.shown:
        return case.shown
    if case.kind == "config":
        parts = []
        for key, text in case.input.items():
            table, _, name = key.rpartition(".")
            where = {"": "", "env": "[env] ", "studies": "[[studies]] "}[table]
            parts.append(f"`{where}{name} = {text}`" if text else f"no `{where}{name}`")
        return ", ".join(parts)
    if case.kind in ("set", "long"):
        return " ".join(f"`--set {item}`" for item in case.input)
    if case.kind == "argv":
        shown = " ".join(["rl-softmax run", *(a or "''" for a in case.input)])
        shown = shown.replace("{config}", "CONFIG").replace("{tmp}", "<tmp>")
        return f"`{shown}`"
    raise ValueError(f"case {case.id!r} needs a shown text")


def bad_inputs_table(outcomes: dict[str, Outcome]) -> str:
    """The Markdown table of every case and the message it gets."""
    rows = ["| input | what it gets |", "|---|---|"]
    for case in CASES:
        if case.kind == "long":
            got = (
                "*runs, and within a minute says how long it would take "
                "(`boltzmann: about 24 h left ...`); Ctrl-C stops it with one line*"
            )
        else:
            outcome = outcomes[case.id]
            got = f"`{normalise(outcome.err.strip(), outcome.tmp)}`"
        rows.append(f"| {_cell(_shown(case))} | {_cell(got)} |")
    return "\n".join(rows)


def test_docs_list_every_case_with_its_message(outcomes):
    if any(o.code == "skipped" for o in outcomes.values()):
        pytest.skip("a case was skipped here, so its row cannot be checked")
    table = bad_inputs_table(outcomes)
    text = PAGE.read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1, (
        f"{PAGE} needs one {START} ... {END} block"
    )
    head, rest = text.split(START)
    block, tail = rest.split(END)
    wanted = f"\n{table}\n"
    if os.environ.get("RL_SOFTMAX_UPDATE_DOCS") == "1":
        PAGE.write_text(head + START + wanted + END + tail, encoding="utf-8")
    assert block == wanted or os.environ.get("RL_SOFTMAX_UPDATE_DOCS") == "1", (
        f"{PAGE}'s bad-inputs table is out of date; rerun with "
        "RL_SOFTMAX_UPDATE_DOCS=1 to rewrite it"
    )
