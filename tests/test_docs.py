"""The documentation builds, links and references resolve, and no text file carries
merge-conflict markers. (The Python blocks of README.md and docs/*.md run as tests of
their own, through pytest-markdown-docs: see ``addopts`` in pyproject.toml.)"""

from __future__ import annotations

import html as html_lib
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFLICT = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    files = []
    for name in filter(None, names):
        path = REPO / name.decode()
        if path.is_symlink():  # configs/: its files are tracked where it points
            continue
        data = path.read_bytes() if path.is_file() else b""
        if b"\0" not in data[:8192]:  # binary files (figures) are not text
            files.append(path)
    return files


def test_no_tracked_text_file_has_merge_conflict_markers():
    files = _tracked_text_files()
    assert any(path.name == "README.md" for path in files)
    marked = [
        f"{path.relative_to(REPO)}:{text[: match.start()].count(chr(10)) + 1}"
        for path in files
        for text in [path.read_text(encoding="utf-8", errors="replace")]
        for match in CONFLICT.finditer(text)
    ]
    assert marked == []


def test_conflict_marker_pattern_finds_git_markers():
    text = "a\n<<<<<<< HEAD\nb\n=======\nc\n>>>>>>> branch\n"
    assert len(CONFLICT.findall(text)) == 3
    assert not CONFLICT.findall("a ======= b\n<<<<<<<< eight\n")


def test_docs_build_strict(tmp_path):
    """``mkdocs build --strict``: a broken link, a missing page in the nav, an
    unresolved API reference or a docstring griffe cannot parse fails it."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    from rl_softmax import policies, softmax

    for module in (softmax, policies):
        page = module.__name__.split(".")[-1]
        html = (site / "api" / page / "index.html").read_text(encoding="utf-8")
        text = _words(html)
        for name in module.__all__:  # every public name, with its docstring
            assert f'id="{module.__name__}.{name}"' in html, name
            summary = _words(getattr(module, name).__doc__.strip().split("\n\n")[0])
            assert summary in text, name


def _words(text: str) -> str:
    """The words of ``text`` (of an HTML page: of its text), one space apart."""
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", text))
    return " ".join(re.findall(r"[A-Za-z0-9]+", text))
