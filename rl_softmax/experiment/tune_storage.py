"""Where a tune's trials live: Optuna storage shared by every process of a search.

A search's trials are numbered by the storage, in one sequence for every process
pointed at it. :class:`TrialStore` hands out trials so that the numbers
``0 .. trials - 1`` are exactly the budget and each is evaluated once:

* a process asks for new trials under an exclusive file lock when the storage is
  a local file (SQLite or a journal), so two processes never ask past the budget;
  on a server database a trial asked past it is marked failed, never evaluated;
* every trial under evaluation carries its process (``host:pid``) and a lease the
  process renews; a trial whose process has died (the same host) or whose lease
  has run out (another host) is taken over and evaluated by the next process
  that looks, and told on the same trial: a killed search loses nothing.

Evaluations are deterministic (the same parameters and seeds give the same bits),
so a trial evaluated again after its process died gets the value it would have got.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "LEASE_SECONDS",
    "TrialStore",
    "default_storage",
    "file_lock",
    "open_storage",
    "storage_file",
]

LEASE_SECONDS = 120.0
"""A trial whose process has not renewed its lease for this long is taken over."""

_WORKER = "worker"
_LEASE = "lease"
_OVER = "over_budget"


def default_storage(out_dir: Path) -> str:
    """The default storage: a SQLite file in the results directory."""
    return f"sqlite:///{(out_dir / 'tune.db').resolve()}"


def storage_file(url: str) -> Path | None:
    """The local file behind a storage URL (SQLite, or a journal file given as
    ``journal:PATH``), else None (a server database)."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if url.startswith("journal:"):
        return Path(url.removeprefix("journal:"))
    return None


def open_storage(url: str) -> Any:
    """Optuna storage for ``url``: ``journal:PATH`` is Optuna's journal file,
    anything else an SQLAlchemy URL (``sqlite:///...``, ``postgresql://...``)."""
    import optuna

    path = storage_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(url):  # two processes must not create the tables together
        if url.startswith("journal:"):
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            return JournalStorage(JournalFileBackend(str(path)))
        # a busy SQLite file waits instead of failing while another process writes
        kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


@contextlib.contextmanager
def file_lock(url: str) -> Iterator[None]:
    """An exclusive lock beside a local storage file (nothing for a server)."""
    path = storage_file(url)
    if path is None:
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(worker: str) -> bool | None:
    """Whether ``worker``'s process lives (None: another host, so unknown)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


class TrialStore:
    """The trials of one Optuna study and this process's share of them.

    Args:
      study: an ``optuna.Study`` on shared storage.
      url: its storage URL (a local file is locked while asking).
      budget: the trials of the whole search.
    """

    def __init__(self, study: Any, url: str, budget: int):
        self.study = study
        self.budget = budget
        self._url = url
        self._mine: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _claim(self, trial_id: int) -> None:
        storage = self.study._storage
        storage.set_trial_user_attr(trial_id, _WORKER, _me())
        storage.set_trial_user_attr(trial_id, _LEASE, time.time())

    def _stale(self, trial) -> bool:
        worker = trial.user_attrs.get(_WORKER)
        if worker is None or worker == _me():
            return worker is None
        alive = _alive(worker)
        if alive is not None:
            return not alive
        return time.time() - trial.user_attrs.get(_LEASE, 0.0) > LEASE_SECONDS

    def take(self, count: int, ask, sample) -> list[tuple[int, dict[str, Any]]]:
        """Up to ``count`` trials to evaluate: first any abandoned by a dead
        process, then new ones from ``ask()`` (which returns an ``optuna.Trial``)
        while the budget lasts. An abandoned trial killed before all its
        parameters were stored gets them from ``sample(trial_id, number)``
        (which returns the params). Returns ``[(number, params)]`` and renews
        their leases until :meth:`done`."""
        import optuna

        running = optuna.trial.TrialState.RUNNING
        taken = []
        with file_lock(self._url):
            for trial in self.study.get_trials(deepcopy=False, states=(running,)):
                wanted = len(taken) < count and trial.number < self.budget
                if wanted and self._stale(trial):
                    self._claim(trial._trial_id)
                    params = sample(trial._trial_id, trial.number)
                    taken.append((trial.number, params))
            limit = self.budget
            if taken:  # finish the abandoned trials' batch (trial numbers in
                # batches of count) and no more: the trials asked next then see
                # the history they would have seen had nothing died
                limit = min(limit, (max(n for n, _ in taken) // count + 1) * count)
            while len(taken) < count and len(self.study.get_trials(False)) < limit:
                trial = ask()
                if trial.number >= self.budget:  # another host asked first
                    self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                    self.study._storage.set_trial_user_attr(
                        trial._trial_id, _OVER, True
                    )
                    break
                self._claim(trial._trial_id)
                taken.append((trial.number, dict(trial.params)))
        self._mine = [number for number, _ in taken]
        self._renew()
        return taken

    def _renew(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._renewing, daemon=True)
            self._thread.start()

    def _renewing(self) -> None:
        storage = self.study._storage
        while not self._stop.wait(LEASE_SECONDS / 6):
            for number in list(self._mine):
                trial_id = storage.get_trial_id_from_study_id_trial_number(
                    self.study._study_id, number
                )
                with contextlib.suppress(Exception):  # finished meanwhile
                    storage.set_trial_user_attr(trial_id, _LEASE, time.time())

    def done(self) -> None:
        """This process holds no trial any more."""
        self._mine = []

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def others_running(self) -> int:
        """Trials of the budget that other live processes are evaluating."""
        import optuna

        running = self.study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)
        )
        return sum(1 for t in running if t.number < self.budget and not self._stale(t))
