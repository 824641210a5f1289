import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def load_caches(tmp_path: Path, cache_url: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with CACHE_URL set and print the default cache."""
    code = "import json, backoffice.settings as s; print(json.dumps(s.CACHES['default']))"
    clean = {k: v for k, v in os.environ.items() if k not in {"BACKOFFICE_TESTING", "DEBUG", "SECRET_KEY", "CACHE_URL"}}
    env = {**clean, "BACKOFFICE_VAR_DIR": str(tmp_path), "SECRET_KEY": "x" * 50, "CACHE_URL": cache_url}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT / "src", env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "url", ["redis://cache:6379/0", "rediss://user:pass@cache.example.com:6380/1", "unix:///run/redis.sock?db=2"]
)
def test_a_redis_cache_url_selects_the_redis_cache(tmp_path, url):
    result = load_caches(tmp_path, url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}


def test_without_a_cache_url_the_cache_is_in_memory(tmp_path):
    result = load_caches(tmp_path, "")
    assert result.returncode == 0, result.stderr
    cache = json.loads(result.stdout)
    assert cache["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert cache["OPTIONS"] == {"MAX_ENTRIES": 100000}


def test_an_unknown_cache_url_scheme_is_refused(tmp_path):
    result = load_caches(tmp_path, "memcache://x")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "CACHE_URL must start with one of redis://, rediss://, unix://" in result.stderr
