"""Atomic writes: a failure mid-write leaves the previous file untouched and no temporary file behind."""

from __future__ import annotations

import pytest

from pcc.errors import FormatError
from pcc.io.atomic import atomic_path, write_bytes_atomic, write_text_atomic


def test_write_and_replace(tmp_path):
    target = tmp_path / "sub" / "out.bin"
    write_bytes_atomic(target, b"one")
    write_bytes_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    write_text_atomic(tmp_path / "t.txt", "héllo")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo"


def test_interrupted_write_keeps_old_file(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_format_error_names_the_file():
    err = FormatError("/data/x.ply", "truncated after 3 of 10 vertices")
    assert str(err) == "/data/x.ply: truncated after 3 of 10 vertices"
    assert isinstance(err, ValueError)


def test_written_file_has_default_permissions(tmp_path):
    import os

    target = tmp_path / "perm.bin"
    write_bytes_atomic(target, b"x")
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"x")
    assert os.stat(target).st_mode & 0o777 == os.stat(plain).st_mode & 0o777


def test_refuse_same_file_catches_paths_symlinks_and_hard_links(tmp_path):
    import os

    from pcc.io.atomic import SameFileError, refuse_same_file, same_file

    src = tmp_path / "in.ply"
    src.write_bytes(b"data")
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.ply"
    link.symlink_to(src)
    hard = tmp_path / "hard.ply"
    os.link(src, hard)
    for dst in (src, tmp_path / "sub" / ".." / "in.ply", link, hard):
        assert same_file(src, dst)
        with pytest.raises(SameFileError, match="refusing to overwrite the input"):
            refuse_same_file(src, dst)
    refuse_same_file(src, tmp_path / "out.ply")  # a new file: fine
    other = tmp_path / "other.ply"
    other.write_bytes(b"data")  # same bytes, another file: fine
    refuse_same_file(src, other)
    assert src.read_bytes() == b"data"
