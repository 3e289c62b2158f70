"""Errors raised on bad input: one clear message naming the file and the problem."""

from __future__ import annotations

import os


class PccError(Exception):
    """Base class of every error pcc raises on purpose."""


class FormatError(PccError, ValueError):
    """A file could not be read: it is truncated, corrupt or not of the expected kind.

    The message always starts with the file's path, so a user sees at once which input is bad.
    """

    def __init__(self, path: str | os.PathLike | None, problem: str):
        self.path = None if path is None else os.fspath(path)
        self.problem = problem
        where = self.path if self.path is not None else "<bytes>"
        super().__init__(f"{where}: {problem}")


class BitstreamError(FormatError):
    """A compressed stream is corrupt, truncated or of an unknown version."""
