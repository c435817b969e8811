"""The results directory of a run: checked, locked and, with ``overwrite``, cleared
of another config's results before anything is written into it.

A run writes only inside its directory: ``metadata.json``, ``summary.csv``,
``studies/*.npz``, ``plots/*.png`` and, while it runs, ``.lock``. :func:`open_results`
checks that the directory is one (or can be made) and that files can be created in
it, takes the lock, and decides what happens to what is already there:

- no results: a fresh run; other files stay as they are (a ``metadata.json`` or
  ``summary.csv`` that rl_softmax did not write is refused, never replaced);
- results of the same config: the run resumes, reusing the studies saved;
- results of another config: refused, unless ``overwrite``, which deletes exactly
  the files a run writes (never a directory tree, never anything else).

The lock is ``fcntl.flock`` on ``.lock``, held until the ``with`` block ends,
normally or by an exception or KeyboardInterrupt. The kernel also releases it when
the process dies, even by SIGKILL, so the lock of a run that is gone is taken over
(with a message) instead of blocking. The file names its holder (pid, host, start,
command) for the message a second run gets.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rl_softmax.experiment import results
from rl_softmax.experiment.config import ConfigError

try:
    import fcntl
except ImportError:  # no flock (Windows): the holder's pid decides
    fcntl = None

__all__ = [
    "LOCK_FILE",
    "hold_lock",
    "open_results",
    "os_error_reason",
    "results_dir",
]

LOCK_FILE = ".lock"
# What a run writes; --overwrite deletes these and nothing else (hidden *.tmp files
# are atomic writes an interrupted run left behind).
_OUR_FILES = (
    results.METADATA_FILE,
    results.SUMMARY_FILE,
    f".{results.METADATA_FILE}.*.tmp",
    f".{results.SUMMARY_FILE}.*.tmp",
    f"{results.STUDIES_DIR}/*.npz",
    f"{results.STUDIES_DIR}/.*.npz.*.tmp",
    f"{results.PLOTS_DIR}/*.png",
    f"{results.PLOTS_DIR}/.*.png.*.tmp",
    f"{results.CHECKPOINTS_DIR}/*.npz",
    f"{results.CHECKPOINTS_DIR}/.*.npz.*.partial",
)
_OUR_DIRS = (results.STUDIES_DIR, results.PLOTS_DIR, results.CHECKPOINTS_DIR)
_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOTDIR: "a file is in the way",
    errno.EEXIST: "a file is in the way",
}


def results_dir(out: str | os.PathLike | None, name: str) -> Path:
    """``out``, or ``results/<name>`` when it is None; an empty ``out`` (an unset
    shell variable, ``--out ""``) would mean the working directory and is refused."""
    if out is None:
        return Path("results") / name
    if not os.fspath(out):
        raise ConfigError(
            "--out '': an empty path; name a results directory (default "
            f"results/{name})."
        )
    return Path(out)


def os_error_reason(err: OSError) -> str:
    """A short, stable reason for ``err`` ("permission denied", "a file is in the
    way"), else its ``strerror``."""
    return _REASONS.get(err.errno, err.strerror or str(err))


def _check_writable(out: Path) -> None:
    """Creates ``out`` if needed and checks that files can be created in it."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"--out {out}: cannot be a results directory ({os_error_reason(err)})."
        ) from None
    try:  # os.access does not see read-only mounts, ACLs or root's rights
        fd, probe = tempfile.mkstemp(dir=out, prefix=".write-probe-", suffix=".tmp")
    except OSError as err:
        raise ConfigError(
            f"--out {out}: cannot write into this directory ({os_error_reason(err)}); "
            "choose one you can write to."
        ) from None
    os.close(fd)
    os.unlink(probe)


# ---------------------------------------------------------------------------- lock


def _command() -> str:
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if program == "__main__.py":
        program = f"python -m {Path(sys.argv[0]).parent.name}"
    return " ".join([program, *map(shlex.quote, sys.argv[1:])])


def _holder(text: str) -> dict[str, Any] | None:
    try:
        holder = json.loads(text)
    except json.JSONDecodeError:
        return None
    return holder if isinstance(holder, dict) and "pid" in holder else None


def _describe(holder: dict[str, Any] | None) -> str:
    if holder is None:
        return "a process that left no details"
    return (
        f"pid {holder.get('pid')} on {holder.get('host')} since "
        f"{holder.get('since')} ({holder.get('command')})"
    )


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the holder may still run: always, if it is on another host."""
    if holder.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except (OSError, ValueError, TypeError):  # EPERM: alive, another user's
        return True
    return True


def _flock(fd: int) -> bool | None:
    """Takes the lock without waiting: True, False if another process holds it,
    None if the file system has no flock (then the holder's pid decides)."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:
        return None
    return True


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 4096).decode("utf-8", "replace")


def _open_lock(out: Path) -> tuple[int, dict[str, Any] | None]:
    """Opens and locks ``out/.lock``; returns ``(fd, record of a former holder)``."""
    path = out / LOCK_FILE
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise ConfigError(
                f"--out {out}: cannot open its lock file {LOCK_FILE} "
                f"({os_error_reason(err)})."
            ) from None
        try:
            locked = _flock(fd)
            previous = _holder(_read(fd))
            if locked is False or (
                locked is None and previous is not None and _alive(previous)
            ):
                raise ConfigError(
                    f"--out {out}: in use by another run, {_describe(previous)}; "
                    "wait for it to finish or choose another --out."
                )
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd, previous
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            raise
        # The holder unlinked the file as we opened it: lock the new one.
        os.close(fd)


@contextlib.contextmanager
def hold_lock(
    out: str | os.PathLike,
    *,
    log: Callable[[str], None] | None = None,
    command: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Holds ``out/.lock`` for the ``with`` block (``out`` must exist).

    Args:
      out: the results directory.
      log: where the message about taking over the lock of a run that is gone
        goes.
      command: the holder's command the lock file names (default this process's
        command line).

    Yields:
      the holder record written to the lock file (pid, host, since, command).

    Raises:
      ConfigError: another process holds the lock; the message names it.
    """
    out = Path(out)
    fd, previous = _open_lock(out)
    try:
        if previous is not None and log is not None:
            log(f"  {out}: taking over the lock of a run that is gone, "
                f"{_describe(previous)}")  # fmt: skip
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": command if command is not None else _command(),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(holder) + "\n").encode())
        yield holder
    finally:
        # Unlinked while still held: a run that opened it meanwhile sees it is gone.
        with contextlib.suppress(OSError):
            if os.fstat(fd).st_ino == (out / LOCK_FILE).stat().st_ino:
                (out / LOCK_FILE).unlink()
        os.close(fd)


# ------------------------------------------------------------------ what is there


def _not_ours(out: Path, name: str, why: str) -> ConfigError:
    return ConfigError(
        f"--out {out}: holds a {name} that rl_softmax did not write ({why}); "
        "choose another --out."
    )


def _previous_hash(out: Path) -> str | None:
    """The config hash of the results in ``out`` (None: no results)."""
    if not (out / results.METADATA_FILE).exists():
        if (out / results.SUMMARY_FILE).exists():
            raise _not_ours(out, results.SUMMARY_FILE, "no metadata.json beside it")
        return None
    try:
        metadata = results.load_metadata(out)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        why = "not JSON" if isinstance(err, ValueError) else os_error_reason(err)
        raise _not_ours(out, results.METADATA_FILE, why) from None
    config_hash = metadata.get("config_hash") if isinstance(metadata, dict) else None
    if not isinstance(config_hash, str):
        raise _not_ours(out, results.METADATA_FILE, "no config_hash")
    return config_hash


def _remove_results(out: Path) -> int:
    """Deletes the files a run writes (metadata first: the directory stops being
    that config's results at once); returns how many."""
    removed = 0
    for pattern in _OUR_FILES:
        if (out / pattern).parent.is_symlink():  # leads out of the directory
            continue
        for path in sorted(out.glob(pattern)):
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed += 1
    for name in _OUR_DIRS:
        with contextlib.suppress(OSError):  # missing, or holds files of others
            (out / name).rmdir()
    return removed


@contextlib.contextmanager
def open_results(
    out: str | os.PathLike,
    config_hash: str,
    *,
    overwrite: bool = False,
    log: Callable[[str], None] | None = None,
) -> Iterator[tuple[dict[str, Any], set[str]]]:
    """Prepares and locks a results directory for the ``with`` block.

    Args:
      out: the results directory (created if missing).
      config_hash: the hash of the resolved config about to run.
      overwrite: delete the results of a different config instead of refusing.
      log: where messages go (a stale lock taken over, results removed).

    Yields:
      ``(metadata to continue, names of the studies already saved)``: both empty
      unless ``out`` holds results of the same config.

    Raises:
      ConfigError: ``out`` is not a writable directory, is in use by another run,
        holds files rl_softmax did not write under its names, or (without
        ``overwrite``) holds results of another config. Nothing was written.
    """
    out = Path(out)
    say = log or (lambda line: None)
    _check_writable(out)
    with hold_lock(out, log=say):
        previous = _previous_hash(out)
        metadata, finished = {}, set()
        if previous == config_hash:
            metadata = results.load_metadata(out)
            finished = results.existing_studies(out)
        elif previous is not None and not overwrite:
            raise ConfigError(
                f"--out {out}: holds results of a different config (hash "
                f"{previous} != {config_hash}); choose another --out or pass "
                "--overwrite."
            )
        elif previous is not None:
            removed = _remove_results(out)
            say(f"  --overwrite: removed {removed} files of config {previous} "
                f"from {out}")  # fmt: skip
        yield metadata, finished
