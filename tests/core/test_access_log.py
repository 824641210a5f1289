"""The access log of the production server never holds a query string (a credential or a code sent there)."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(server: str, port: int, log: Path) -> tuple[list[str], dict[str, str]]:
    """The production command line of ``server`` on ``port``, its access log going to ``log``."""
    if server == "granian":
        return [str(ROOT / "scripts" / "serve.sh")], {"PORT": str(port), "WORKERS": "1", "PYTHON": sys.executable}
    command = [
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
    ]
    return command, {}


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_query_strings_never_reach_the_access_log(tmp_path, server):
    port = free_port()
    log = tmp_path / "access.log"
    command, extra = server_command(server, port, log)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "BACKOFFICE_TESTING": "1", **extra}
    with log.open("w") as out:
        server_process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out if server == "granian" else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            secret = "credential=Sup3rSecretCredentialValue&code=BCDFG-HJKLM"
            url = f"http://127.0.0.1:{port}/api/device/v1/config?{secret}"
            status = None
            # The server may take a while to start on a loaded machine (the whole suite runs beside it).
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and server_process.poll() is None:
                try:
                    urllib.request.urlopen(url, timeout=5)  # noqa: S310 - a loopback URL built here
                except urllib.error.HTTPError as error:
                    status = error.code
                    break
                except OSError:
                    time.sleep(0.2)
            assert status == 401
            # The access line is written after the answer: give a loaded machine time to write it.
            line = '"GET /api/device/v1/config HTTP/1.1" 401'
            while time.monotonic() < deadline and line not in log.read_text():
                time.sleep(0.1)
        finally:
            server_process.terminate()
            server_process.wait(10)
    written = log.read_text()
    assert '"GET /api/device/v1/config HTTP/1.1" 401' in written
    assert "Sup3rSecret" not in written
    assert "BCDFG" not in written
