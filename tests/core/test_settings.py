import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"BACKOFFICE_TESTING", "DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_production_settings_pass_check_deploy(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        BACKOFFICE_VAR_DIR=str(tmp_path),
        SECRET_KEY="a-long-random-production-secret-key-0123456789-abcdefghij",
        ALLOWED_HOSTS="backoffice.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_secret_key(tmp_path):
    result = run_manage("check", BACKOFFICE_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_local_key_file_is_used_when_the_environment_has_none(tmp_path):
    (tmp_path / "secret_key").write_text("a-long-random-local-key-0123456789-abcdefghijklmnopqrstuvwxyz\n")
    result = run_manage("check", BACKOFFICE_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
