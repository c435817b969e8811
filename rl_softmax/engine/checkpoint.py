"""Block-level checkpoints of a sweep: what finished survives an interrupted run.

A sweep folds its blocks into an :class:`~rl_softmax.engine.reductions.Accumulator`
in a fixed order (values outer, seeds inner). Its state after block ``k`` is a few
float64 sums per window and the per-run arrays, so a :class:`Checkpoint` saves that
state with ``k``; a resumed sweep restores it and runs blocks ``k, k+1, ...``: the
same inputs folded in the same order, so the results are bit-identical to an
uninterrupted run (tested, SIGKILL included).

The file is replaced atomically (written beside it, flushed to disk, renamed), so a
run killed at any instant leaves either the previous checkpoint or the new one. It
carries a tag (the caller's identity of the study: config hash, study name) and the
grid and block shape; a checkpoint that does not match is ignored, never mixed in.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Checkpoint", "flatten_state", "unflatten_state"]


def flatten_state(state: dict[str, Any]) -> dict[str, np.ndarray]:
    """Nested dicts of arrays (and None) as flat arrays ``"0", "1", ...`` beside
    ``"__tree__"``, the structure as JSON with each array replaced by its name."""
    flat: dict[str, np.ndarray] = {}

    def skeleton(node):
        if isinstance(node, dict):
            return {str(k): skeleton(v) for k, v in node.items()}
        if node is None:
            return None
        name = str(len(flat))
        flat[name] = np.asarray(node)
        return name

    flat["__tree__"] = np.array(json.dumps(skeleton(state)))
    return flat


def unflatten_state(flat: dict[str, np.ndarray]) -> dict[str, Any]:
    """The inverse of :func:`flatten_state`."""

    def build(node):
        if isinstance(node, dict):
            return {k: build(v) for k, v in node.items()}
        return None if node is None else flat[node]

    return build(json.loads(str(flat["__tree__"])))


class Checkpoint:
    """One study's checkpoint file: the sweep's state after its last saved block.

    Args:
      path: the file (``.npz``); its directory is created when first saved.
      tag: what identifies the study (e.g. config hash and study name); a file
        with another tag is ignored.
      every: seconds between saves while blocks finish (0: after every block). A
        stop requested by a signal always saves.
    """

    def __init__(self, path: str | os.PathLike, tag: str, every: float = 30.0):
        self.path = Path(path)
        self.tag = str(tag)
        self.every = float(every)
        self._last = time.monotonic()

    def load(self, layout: str) -> tuple[int, dict[str, Any]] | None:
        """``(blocks done, state)`` saved for this tag and ``layout`` (the grid and
        block shape), or None."""
        try:
            with np.load(self.path, allow_pickle=False) as data:
                flat = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError):
            return None
        meta = flat.pop("__meta__", None)
        if meta is None or meta.tolist() != [self.tag, layout]:
            return None
        return int(flat.pop("__blocks__")), unflatten_state(flat)

    def due(self) -> bool:
        """Whether ``every`` seconds have passed since the last save."""
        return time.monotonic() - self._last >= self.every

    def save(self, layout: str, blocks: int, state: dict[str, Any]) -> None:
        """Atomically replaces the file with ``state`` after ``blocks`` blocks."""
        flat = flatten_state(state)
        flat["__meta__"] = np.array([self.tag, layout])
        flat["__blocks__"] = np.array(blocks)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        with open(partial, "wb") as f:
            np.savez(f, **flat)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, self.path)
        self._last = time.monotonic()

    def remove(self) -> None:
        """Deletes the file (once the study's results are saved)."""
        self.path.unlink(missing_ok=True)
