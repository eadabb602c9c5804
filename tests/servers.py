"""Local servers for the tests and the benchmarks: a free loopback port and a real redis-server.

Used by ``tests/conftest.py`` (the session's ``redis_url``), ``tests/test_cache.py`` (Redis
going away and back on the same port), ``tests/test_serve.py`` and ``bench/load_bench.py``.
Everything binds 127.0.0.1 only.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(workdir: str | Path, port: int | None = None, timeout_s: float = 10.0) -> tuple[subprocess.Popen, str]:
    """A redis-server on ``port`` (default: a free one), no persistence, files in ``workdir``;
    returns ``(process, redis://127.0.0.1:PORT/0)`` once it answers PING.  ``RuntimeError`` with
    the fix when redis-server is missing or does not start."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise RuntimeError("redis-server is not installed: run `make redis` (apt-get install redis-server)")
    port = port or free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"redis-server did not answer on port {port} within {timeout_s:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    """Stop a server started here (terminate, then kill after 10 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
