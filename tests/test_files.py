"""lens.files: the one atomic write."""
from __future__ import annotations

import os

import pytest

from lens.files import atomic_write, atomic_write_bytes, atomic_write_text


@pytest.mark.parametrize("durable", [True, False])
def test_atomic_write_replaces_the_whole_file(tmp_path, durable):
    path = tmp_path / "sub" / "a.json"
    assert atomic_write_text(path, "old", durable) == path          # the folder is created
    atomic_write_bytes(path, b"new", durable)
    assert path.read_bytes() == b"new"
    assert sorted(os.listdir(path.parent)) == ["a.json"]           # no temporary file left


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path):
    path = tmp_path / "a.bin"
    atomic_write_bytes(path, b"kept")

    def fail(fh):
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, fail)
    assert path.read_bytes() == b"kept" and os.listdir(tmp_path) == ["a.bin"]


def test_empty_data_writes_an_empty_file(tmp_path):
    assert atomic_write_bytes(tmp_path / "e", b"").read_bytes() == b""
