"""Tests for the results directory (rl_softmax/experiment/outdir.py): its lock, what
``--overwrite`` deletes, and paths with spaces and Unicode.

The lock is held by other processes where it matters (one killed by SIGKILL); the
error messages themselves are in tests/test_bad_inputs.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rl_softmax.cli import main
from rl_softmax.experiment import ConfigError, outdir, pipeline, results, run_experiment

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
)}  # fmt: skip
HOLDER = """\
import sys
from rl_softmax.experiment import outdir
with outdir.hold_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""
TINY = {
    "name": "tiny", "num_seeds": 2, "num_steps": 10, "final_steps": 5,
    "studies": [{"name": "b", "rule": "boltzmann", "values": [0.5, 1.0]}],
}  # fmt: skip


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _holder_process(out: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    assert proc.stdout.readline() == "held\n"
    return proc


# -------------------------------------------------------------------------- lock


@pytest.mark.parametrize("ending", [None, RuntimeError, KeyboardInterrupt])
def test_lock_is_released_on_exit_error_and_interrupt(ending, tmp_path):
    lock = tmp_path / outdir.LOCK_FILE
    try:
        with outdir.hold_lock(tmp_path, command="first") as holder:
            recorded = json.loads(lock.read_text())
            if ending is not None:
                raise ending
    except (RuntimeError, KeyboardInterrupt):
        pass
    assert recorded == holder
    assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    assert holder["command"] == "first"
    assert not lock.exists()
    with outdir.hold_lock(tmp_path):  # free again
        pass


def test_second_holder_is_refused_with_the_first_named(tmp_path):
    with outdir.hold_lock(tmp_path, command="rl-softmax run a.toml") as holder:
        with pytest.raises(ConfigError) as info, outdir.hold_lock(tmp_path):
            pass
        message = str(info.value)
        assert f"pid {os.getpid()} on {socket.gethostname()}" in message
        assert f"since {holder['since']} (rl-softmax run a.toml)" in message
        assert (tmp_path / outdir.LOCK_FILE).exists()  # still the first one's


def test_lock_held_by_another_process_refuses_until_it_ends(tmp_path):
    proc = _holder_process(tmp_path)
    try:
        with (
            pytest.raises(ConfigError, match=f"pid {proc.pid} on "),
            outdir.hold_lock(tmp_path),
        ):
            pass
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    lines = []
    with outdir.hold_lock(tmp_path, log=lines.append):
        pass
    assert lines == []  # a clean release leaves nothing to take over


def test_lock_of_a_killed_run_is_taken_over_with_a_message(tmp_path):
    proc = _holder_process(tmp_path)
    proc.send_signal(signal.SIGKILL)  # no finally, no cleanup: the file stays
    proc.wait(timeout=30)
    assert (tmp_path / outdir.LOCK_FILE).exists()
    lines = []
    with outdir.hold_lock(tmp_path, log=lines.append) as holder:
        assert holder["pid"] == os.getpid()
    (line,) = lines
    assert "taking over the lock of a run that is gone" in line
    assert f"pid {proc.pid} on {socket.gethostname()}" in line


def test_a_reused_pid_does_not_keep_a_lock_nobody_holds(tmp_path):
    # The record names a live process (this one) that holds no flock.
    record = {"pid": os.getpid(), "host": socket.gethostname(), "since": "then",
              "command": "old"}  # fmt: skip
    (tmp_path / outdir.LOCK_FILE).write_text(json.dumps(record))
    lines = []
    with outdir.hold_lock(tmp_path, log=lines.append):
        pass
    assert len(lines) == 1 and "since then (old)" in lines[0]


def test_without_flock_the_holders_pid_decides(tmp_path, monkeypatch):
    monkeypatch.setattr(outdir, "fcntl", None)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    lock = tmp_path / outdir.LOCK_FILE
    host = socket.gethostname()
    for pid, alive in ((os.getpid(), True), (int(dead.stdout), False)):
        lock.write_text(json.dumps({"pid": pid, "host": host, "since": "t"}))
        if alive:
            with (
                pytest.raises(ConfigError, match="in use by another run"),
                outdir.hold_lock(tmp_path),
            ):
                pass
        else:
            with outdir.hold_lock(tmp_path):
                pass
    # Another host's holder cannot be checked: it keeps the directory.
    lock.write_text(json.dumps({"pid": 1, "host": f"not-{host}", "since": "t"}))
    with pytest.raises(ConfigError, match=f"on not-{host}"), outdir.hold_lock(tmp_path):
        pass


def test_run_holds_the_lock_and_releases_it_when_interrupted(tmp_path, monkeypatch):
    out = tmp_path / "out"
    seen = []

    def interrupted(*args, **kwargs):
        seen.append(json.loads((out / outdir.LOCK_FILE).read_text()))
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_sweep_study", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(TINY, out, progress=False, cache_dir=False)
    assert seen[0]["pid"] == os.getpid()
    assert not (out / outdir.LOCK_FILE).exists()
    # The command says so in one line and exits 130.
    config = tmp_path / "tiny.toml"
    config.write_text(  # TINY: the same config, whatever the first run left
        'name = "tiny"\nnum_seeds = 2\nnum_steps = 10\nfinal_steps = 5\n'
        '[[studies]]\nname = "b"\nrule = "boltzmann"\nvalues = [0.5, 1.0]\n'
    )
    code = main(["run", str(config), "--out", str(out), "--quiet", "--no-cache"])
    assert code == 130
    assert not (out / outdir.LOCK_FILE).exists()


# --------------------------------------------------------------------- overwrite


def _old_results(out: Path) -> None:
    """Results of another config, and files of the user beside them."""
    results.save_metadata(out, {"config_hash": "0123456789abcdef", "studies": {}})
    for name in ("summary.csv", "studies/old.npz", "studies/.old.npz.x1.tmp",
                 "plots/old_sweep.png", ".metadata.json.x2.tmp"):  # fmt: skip
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(b"ours")
    for name in ("notes.txt", "plots/mine.svg", "studies/README", "data/x.npz",
                 "figure.png"):  # fmt: skip
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(b"theirs")


USERS = {"notes.txt", "plots/mine.svg", "studies/README", "data/x.npz", "figure.png"}


def test_overwrite_deletes_exactly_the_files_a_run_writes(tmp_path):
    out, beside = tmp_path / "out", tmp_path / "beside"
    _old_results(out)
    _old_results(beside)
    before = _files(beside)
    lines = []
    with outdir.open_results(out, "f" * 16, overwrite=True, log=lines.append) as got:
        assert got == ({}, set())
        assert (out / outdir.LOCK_FILE).exists()
    assert _files(out) == USERS
    assert _files(beside) == before  # nothing outside the directory
    assert lines == [f"  --overwrite: removed 6 files of config 0123456789abcdef "
                     f"from {out}"]  # fmt: skip


def test_overwrite_removes_the_emptied_folders_only(tmp_path):
    out = tmp_path / "out"
    _old_results(out)
    for name in USERS:
        (out / name).unlink()
    (out / "data").rmdir()
    with outdir.open_results(out, "f" * 16, overwrite=True):
        pass
    assert sorted(p.name for p in out.iterdir()) == []


def test_overwrite_does_not_follow_a_symlinked_folder_out(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "kept.npz").write_bytes(b"theirs")
    out.mkdir()
    (out / "studies").symlink_to(elsewhere, target_is_directory=True)
    results.save_metadata(out, {"config_hash": "0123456789abcdef"})
    with outdir.open_results(out, "f" * 16, overwrite=True):
        pass
    assert (elsewhere / "kept.npz").read_bytes() == b"theirs"
    assert not (out / results.METADATA_FILE).exists()


def test_same_config_resumes_and_deletes_nothing(tmp_path):
    out = tmp_path / "out"
    _old_results(out)
    before = _files(out)
    with outdir.open_results(out, "0123456789abcdef", overwrite=True) as got:
        metadata, finished = got
    assert metadata["config_hash"] == "0123456789abcdef"
    assert finished == set()  # old.npz is not a complete study
    assert _files(out) == before


def test_empty_out_is_refused_and_none_means_results_of_the_name():
    assert outdir.results_dir(None, "x") == Path("results") / "x"
    assert outdir.results_dir("a b", "x") == Path("a b")
    with pytest.raises(ConfigError, match="empty path"):
        outdir.results_dir("", "x")


# ------------------------------------------------------------------------ paths


def test_paths_with_spaces_and_unicode_run_resume_and_plot(tmp_path):
    folder = tmp_path / "my configs ü"
    folder.mkdir()
    config = folder / "tiny config 結果.toml"
    config.write_text(
        'name = "tiny"\nnum_seeds = 2\nnum_steps = 10\nfinal_steps = 5\n'
        '[[studies]]\nname = "b"\nlabel = "Boltzmann τ"\nrule = "boltzmann"\n'
        "values = [0.5, 1.0]\n",
        encoding="utf-8",
    )
    out = tmp_path / "my results ü 結果"
    script = Path(sys.executable).with_name("rl-softmax")
    base = [str(script), "run", str(config), "--out", str(out), "--quiet",
            "--no-cache"]  # fmt: skip
    first = subprocess.run(base, capture_output=True, text=True, env=ENV, timeout=300)
    assert first.returncode == 0, first.stderr
    assert f"wrote {out / 'summary.csv'}" in first.stdout
    pngs = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert pngs and (out / "studies" / "b.npz").is_file()
    assert not (out / outdir.LOCK_FILE).exists()
    again = subprocess.run([*base, "--no-plots"], capture_output=True, text=True,
                           env=ENV, timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "reusing saved results" in again.stdout
    assert main(["plot", str(out)]) == 0
    assert sorted(p.name for p in (out / "plots").glob("*.png")) == pngs
    assert {p.name for p in tmp_path.iterdir()} == {folder.name, out.name}
