"""One exception type for every problem a user can fix themselves.

The CLI turns a `DataQAError` into a one-paragraph message on stderr and exit code 2;
anything else is a bug in dataqa and keeps its traceback.
"""

from __future__ import annotations


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
        text = (", ".join(where) + ": " if where else "") + self.problem.rstrip(".") + "."
        if self.hint:
            text += " " + self.hint.rstrip(".") + "."
        return text


EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
