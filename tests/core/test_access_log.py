"""The access log of the production server never holds a query string (a credential or a code sent there)."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_query_strings_never_reach_the_access_log(tmp_path):
    port = free_port()
    log = tmp_path / "access.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "BACKOFFICE_TESTING": "1"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "backoffice.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--access-logfile",
            str(log),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        secret = "credential=Sup3rSecretCredentialValue&code=BCDFG-HJKLM"
        url = f"http://127.0.0.1:{port}/api/device/v1/config?{secret}"
        status = None
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=2)  # noqa: S310 - a loopback URL built here
            except urllib.error.HTTPError as error:
                status = error.code
                break
            except OSError:
                time.sleep(0.1)
        assert status == 401
    finally:
        server.terminate()
        server.wait(10)
    written = log.read_text()
    assert '"GET /api/device/v1/config HTTP/1.1" 401' in written
    assert "Sup3rSecret" not in written
    assert "BCDFG" not in written
