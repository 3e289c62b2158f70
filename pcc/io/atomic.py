"""Atomic file output: write to a temporary file in the same folder, then rename.

An interrupted run therefore never leaves a half-written file that looks complete
(``tests/test_hardening_writes.py`` SIGKILLs writers to check it). :func:`refuse_same_file` stops a
command from writing its output over its own input.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pcc.errors import PccError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    >>> with atomic_path("out.bin") as tmp:  # doctest: +SKIP
    ...     tmp.write_bytes(b"...")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates the file 0600; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


class SameFileError(PccError, ValueError):
    """The output path of a command is its input file (same path, symlink or hard link)."""


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` are one file: equal resolved paths, or (both existing) the same
    device and inode, which also catches symlinks and hard links."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def refuse_same_file(src: str | os.PathLike, dst: str | os.PathLike, what: str = "--out") -> None:
    """Raise :class:`SameFileError` when writing ``dst`` would overwrite the input ``src``.

    Call it before reading anything, so nothing is computed or overwritten::

        refuse_same_file(args.input, args.out)
    """
    if same_file(src, dst):
        raise SameFileError(
            f"{what} {os.fspath(dst)!r} is the input file {os.fspath(src)!r}: refusing to "
            "overwrite the input; choose another output path"
        )
