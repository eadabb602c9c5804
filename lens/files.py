"""The one atomic write: a file is either the old one or the whole new one, never half.

:func:`atomic_write` hands ``write`` a temporary file in the target's folder,
then renames it over the target (``os.replace``: atomic on POSIX and
Windows).  ``durable=True`` (the default) also fsyncs the file and the
folder, so an acknowledged write survives a power cut, not just a killed
process: indexes, the catalog's files, checkpoints, label shards.  Caches
that can be rebuilt (synthetic images, exported ONNX graphs) pass
``durable=False``: an fsync per file would cost the synthetic generator
seconds per thousand images for nothing.

Tested in ``tests/test_files.py``.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object], durable: bool = True) -> Path:
    """Call ``write(binary file)`` on a temporary file, then rename it over ``path``; returns ``path``.

    The folder is created if needed; on any error the temporary file is removed and ``path`` is
    left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        _fsync_folder(path.parent)
    return path


def atomic_write_bytes(path: str | Path, data: bytes, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda fh: fh.write(data), durable)


def atomic_write_text(path: str | Path, text: str, durable: bool = True) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")), durable)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows cannot open a folder and needs no fsync)."""
    if os.name != "posix":
        return
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
