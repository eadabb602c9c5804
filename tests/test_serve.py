"""`lens serve` as a real process: it starts, prints its URL and answers HTTP."""
import json
import subprocess
import sys
import time
import urllib.request

from tests.conftest import ROOT, no_heads
from tests.servers import free_port


def test_serve_answers_health_and_page(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", *no_heads(), "--config", "demo", "serve",
                             "--port", str(port), "--catalog", str(tmp_path / "catalog")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    assert json.loads(resp.read()) == {"status": "ok", "items": 0}
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("lens serve did not answer within 120 s")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            assert b"Choose a photo" in resp.read()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}" in out
