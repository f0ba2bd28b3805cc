"""Errors with messages a user can act on.

Every error caused by input (files, parameters, arguments) is an :class:`InputError`; the
command line turns it into a one-paragraph message and exit code 2.
"""

from __future__ import annotations


class ExodusError(Exception):
    """Base class of the package's own errors."""

    exit_code = 1


class InputError(ExodusError):
    """Bad input: a file, a column, a row, a parameter or an argument."""

    exit_code = 2


class DataError(InputError):
    """A data file is unreadable or violates its schema.

    The message names the file and, where they apply, the column and the row (1-based data row,
    not counting the header) so the user can find the problem.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        value: object = None,
    ) -> None:
        self.file, self.column, self.row, self.value = file, column, row, value
        where = []
        if file is not None:
            where.append(f"file {file}")
        if column is not None:
            where.append(f"column {column!r}")
        if row is not None:
            where.append(f"row {row}")
        prefix = ", ".join(where)
        text = f"{prefix}: {message}" if prefix else message
        if value is not None:
            text += f" (found {value!r})"
        super().__init__(text)


class ParameterError(InputError):
    """An unknown parameter name or a value of the wrong type."""


class NotEstimable(ExodusError):
    """A model cannot be fitted to a series (too few points, all censored, ...)."""


class StorageError(ExodusError):
    """The reports directory cannot be written (read-only, full disk, permissions); exit 1.

    Not bad input: the same command succeeds once there is room or permission.
    """
