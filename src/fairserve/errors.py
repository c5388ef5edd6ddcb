"""Errors that carry what a person needs to fix their input: the file, the row, the field and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FairserveError", "InputError", "Problem"]


class FairserveError(Exception):
    """Base of every error fairserve raises on purpose; the CLI turns it into a message and exit code 2."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: ``row`` is the 1-based data row (header excluded), or None for the file."""

    file: str
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.field is not None:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"


class InputError(FairserveError):
    """An input file was refused; ``problems`` lists every bad row at once."""

    def __init__(self, problems: list[Problem], *, total_rows: int | None = None) -> None:
        self.problems = list(problems)
        self.total_rows = total_rows
        n = len(self.problems)
        head = f"{n} problem{'' if n == 1 else 's'} in input"
        if total_rows is not None:
            head += f" ({total_rows:,} row{'' if total_rows == 1 else 's'} read)"
        shown = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{head}:\n{shown}{more}")
