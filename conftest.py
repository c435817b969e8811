"""Every Python block of README.md and docs/**/*.md runs as a test (Sybil).

The blocks of one page run in order in one namespace, as a reader runs them top to
bottom. A block that must not run says so with ``<!-- skip: next -->`` on the line
before it (few should); shell commands go in ``bash`` blocks, which are not run.
"""

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(), SkipParser()],
    patterns=["README.md", "docs/*.md", "docs/**/*.md"],
).pytest()
