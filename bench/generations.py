"""
Benchmark of what company generations cost the writer: a device's settings
saved (``device_update``, the Device dialog's save: the locks, the UPDATE,
the audit event, and the company's generations bumped at the commit) on
PostgreSQL, in three set-ups measured in alternating rounds of one run:

- **no Redis**: generations off (the baseline);
- **Redis, pulled**: generations kept in Redis, no watcher (``GENERATIONS_PUSH=0``): a
  bump is one script;
- **Redis, pushed**: this process's watcher and ``--readers`` other processes'
  watchers (each an app process that learned the company's generations): a
  bump returns once each of them acknowledged it.

    scripts/with-postgres.sh scripts/with-redis.sh .venv/bin/python bench/generations.py [--readers 2] [--edits 200]

Each set-up runs in a fresh process of its own (so that no watcher of
another set-up holds a lease); the readers run only during the pushed one
and leave their leases when they exit. It prints the milliseconds per save
(the median over the rounds) and each set-up's ratio to the baseline (the
median of the rounds' ratios). There is no aim: the figures say what a
change costs an administrator's save, for docs/benchmarks.md.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
os.environ.setdefault("BACKOFFICE_TESTING", "1")
os.environ.setdefault("BACKOFFICE_VAR_DIR", "/tmp/backoffice-bench")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
# The set-ups' processes get their own value (SETUPS); this one keeps generations in Redis.
os.environ.setdefault("GENERATIONS_REDIS_URL", os.environ.get("REDIS_URL") or "none")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from backoffice.core.generations import company_generations  # noqa: E402
from backoffice.devices.models import Device  # noqa: E402
from backoffice.devices.services import device_update  # noqa: E402
from backoffice.licensing.models import License  # noqa: E402
from backoffice.organization.models import Team  # noqa: E402
from backoffice.organization.services import company_create  # noqa: E402
from backoffice.tenancy.choices import Role  # noqa: E402
from backoffice.tenancy.models import User  # noqa: E402
from backoffice.tenancy.permissions import OPERATOR_COMMAND  # noqa: E402
from backoffice.tenancy.scoping import company_scope, scopes_disabled  # noqa: E402

ROUNDS = 5
COMPANY = "Generations Co"
ADMIN = "admin@generations.example"
SETUPS = {
    "no Redis": {"GENERATIONS_REDIS_URL": "none", "CACHE_URL": ""},
    "Redis, pulled": {"GENERATIONS_PUSH": "0"},
    "Redis, pushed": {"GENERATIONS_PUSH": "1"},
}

# An app process that learned the company's generations and keeps its
# watcher's lease until its stdin closes.
READER = """
import sys
import django
django.setup()
from backoffice.core import generations
generations.company_generations(int(sys.argv[1]))
while not generations.generations_serving():
    pass
print("serving", flush=True)
sys.stdin.read()
"""


def build(devices: int) -> int:
    """The company, its administrator and ``devices`` registered devices with licenses; the company's id."""
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    company = company_create(acting_user=OPERATOR_COMMAND, name=COMPANY, default_time_zone="UTC")
    User.objects.create_user(ADMIN, "bench-password-1", company=company, role=Role.ADMINISTRATOR)
    now = timezone.now()
    with company_scope(company):
        team = Team.objects.get(is_default=True)
        licenses = License.objects.bulk_create(
            License(company=company, number=f"G-{n:05d}", license_type="standard") for n in range(devices)
        )
        Device.objects.bulk_create(
            Device(
                company=company,
                team=team,
                license=license,
                nickname=f"Van {n:05d}",
                device_name="Tablet",
                os_type="Android 14",
                platform="Android",
                app_version="5.4.1",
                registered_at=now,
                changed_at=now,
            )
            for n, license in enumerate(licenses)
        )
    return company.pk


def saves(edits: int, run: int) -> float:
    """Seconds per save of ``edits`` devices' settings (a new nickname each), after one untimed save."""
    with scopes_disabled():
        user = User.objects.select_related("company").get(email=ADMIN)
    with company_scope(user.company):
        devices = list(Device.objects.select_related("team", "license").order_by("pk")[: edits + 1])
        company_generations(user.company.pk)  # starts this process's watcher when pushed

        def save(device: Device, n: int) -> None:
            device_update(
                device=device, acting_user=user, team=device.team, license=device.license, nickname=f"Van {run}-{n}"
            )

        save(devices[0], 0)
        started = time.perf_counter()
        for n, device in enumerate(devices[1:], start=1):
            save(device, n)
        return (time.perf_counter() - started) / edits


def worker(edits: int, run: int) -> None:
    print(f"{saves(edits, run):.9f}", flush=True)


def measure(setup: str, edits: int, run: int, readers: int, company_id: int) -> float:
    env = {**os.environ, **SETUPS[setup]}
    started = []
    try:
        if setup == "Redis, pushed":
            for _ in range(readers):
                reader = subprocess.Popen(
                    [sys.executable, "-c", READER, str(company_id)],
                    cwd=ROOT,
                    env={**env, "PYTHONPATH": str(ROOT / "src")},
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                started.append(reader)
            for reader in started:
                assert reader.stdout is not None
                assert reader.stdout.readline().strip() == "serving"
        out = subprocess.run(
            [sys.executable, __file__, "--worker", "--edits", str(edits), "--run", str(run)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return float(out.stdout.strip().splitlines()[-1])
    finally:
        for reader in started:  # stdin closed: it exits and leaves its lease
            assert reader.stdin is not None
            reader.stdin.close()
            reader.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1_000)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--run", type=int, default=0)
    args = parser.parse_args()
    if args.worker:
        worker(args.edits, args.run)
        return 0
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("Run under scripts/with-postgres.sh scripts/with-redis.sh (PostgreSQL and Redis needed).")
    company_id = build(max(args.devices, args.edits + 1))
    rounds: dict[str, list[float]] = {setup: [] for setup in SETUPS}
    run = 0
    for number in range(args.rounds):
        order = list(SETUPS) if number % 2 == 0 else list(reversed(SETUPS))
        for setup in order:
            run += 1
            rounds[setup].append(measure(setup, args.edits, run, args.readers, company_id))
    base = rounds["no Redis"]
    heading = f"{'set-up':<16} {'ms per save':>12} {'ratio':>7}"
    print(f"{heading}  ({args.rounds} rounds, {args.readers} other processes pushed)")
    for setup, values in rounds.items():
        ratio = statistics.median(v / b for v, b in zip(values, base, strict=True))
        print(f"{setup:<16} {statistics.median(values) * 1000:>12.2f} {ratio:>6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
