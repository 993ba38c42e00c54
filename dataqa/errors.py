"""One exception type for every problem a user can fix themselves.

The CLI turns a `DataQAError` into a one-paragraph message on stderr and exit code 2;
anything else is a bug in dataqa and keeps its traceback.
"""

from __future__ import annotations

import re


class DataQAError(Exception):
    """A problem with the user's input: names the file, row or column, and what to do."""

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        row: int | str | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = path
        self.row = row
        self.column = column
        self.hint = hint
        super().__init__(self.paragraph())

    def paragraph(self) -> str:
        where = []
        if self.path:
            where.append(f"file {self.path}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = (", ".join(where) + ": " if where else "") + _sentence(singular(self.problem))
        if self.hint:
            text += " " + _sentence(_capital(self.hint))
        return text


def _capital(text: str) -> str:
    """A sentence's first letter in upper case, unless it starts with a name from code
    (`clean.dedupe`, `label_col=`, `--force`), which keeps its spelling."""
    first = text.split(" ", 1)[0]
    if not first[:1].islower() or any(c in first for c in "._-=/`'\""):
        return text
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    """`text` ending in one full stop (a question keeps its mark)."""
    text = text.rstrip().rstrip(".")
    return text if text.endswith(("?", "!")) else text + "."


SINGULAR = re.compile(
    r"(?<![\d.,])1 (row|record|text|pair|conversation|label|class)s (have|are|repeat|do|look|"
    r"contain|carry|end|start|appear|fail|leak)\b"
)
VERB_3RD = {"have": "has", "are": "is", "do": "does"}


def singular(message: str) -> str:
    """ "1 rows have" -> "1 row has": messages are built as "{n} rows have ..." templates."""
    return SINGULAR.sub(
        lambda m: f"1 {m.group(1)} {VERB_3RD.get(m.group(2), m.group(2) + 's')}", message
    )


EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
