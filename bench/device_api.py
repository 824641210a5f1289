"""
Benchmark of the device API's hottest call, `POST /check-ins`, against the
bare `GET /health` measured in the same run on the same machine (DESIGN §1).

    .venv/bin/python bench/device_api.py [--seconds 10] [--devices 2000] [--clients 4]

It starts a throwaway PostgreSQL and Redis (scripts/with-postgres.sh,
scripts/with-redis.sh; the servers use Redis as production does with several
app servers: the shared cache and company generations, pushed to each
process, so a credential seen before is checked against the generation in
the process's memory; due check-ins are handed to Redis in batches), migrates it,
creates registered devices with credentials, starts gunicorn on the loopback
interface and drives it from separate load-generator processes that keep
their HTTP/1.1 connections open, each cycling through its own share of the
devices. It measures devices' first check-ins (a write and the
configuration's ETag; ``--first-devices`` of them, each once, on processes
warmed by a few hundred others) and bare and coalesced check-ins, each in
alternating rounds with a bare phase (``--rounds``), so that a change in a
shared machine's load hits both alike; it prints requests per second, the
ratios (the median of the rounds'; the aims are 0.7 and 0.3) and the number
of errors (which must be 0). Each round also measures
``GET /ready`` (one ``SELECT 1``, nothing else): the floor of any call that
reads the database, against the same bare call. The outbox worker runs
beside the servers (it writes the buffered check-ins), and the bench checks
at the end that every device's last-seen was written. Two last phases measure,
for information, check-ins with write coalescing turned off and coalesced
check-ins without Redis (each reading the database).

The load generator is Python's http.client in separate processes (one
connection each), so it needs nothing beyond the standard library; it shares
the machine's cores with the server and PostgreSQL, as the DESIGN figures did.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
API = "/api/device/v1"
# Devices whose first check-in warms the processes before the first check-ins are timed.
FIRST_WARM_UP = 300
CHECK_IN_BODY = json.dumps(
    {"name": "Bench tablet", "os_type": "Android 14", "platform": "Android", "app_version": "5.4.1"}
).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(var_dir: str, write_interval: int, redis: bool = True) -> dict[str, str]:
    """
    The servers' environment: with ``redis``, Redis as in production with
    several app servers (``CACHE_URL``: the shared cache, company generations
    and with them the credential cache); without, each process on its own
    (the embedded default) and every check-in reads the database.
    """
    shared = os.environ.get("REDIS_URL", "") if redis else ""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "BACKOFFICE_VAR_DIR": var_dir,
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "CHECK_IN_WRITE_INTERVAL_SECONDS": str(write_interval),
        "CACHE_URL": shared,
        "GENERATIONS_REDIS_URL": shared or "none",
        "RATE_LIMIT_REDIS_URL": shared or "none",
    }


def create_database(url: str) -> None:
    """Create the database that DATABASE_URL names in the throwaway cluster, which starts without it."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def prepare_database(env: dict[str, str], devices: int) -> list[str]:
    """Migrate and create ``devices`` registered devices; return their credentials."""
    create_database(env["DATABASE_URL"])
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "createcachetable"], env=env, check=True, cwd=ROOT)
    script = f"""
import datetime, json, sys
import django
django.setup()
from django.utils import timezone
from backoffice.tenancy.scoping import company_scope
from backoffice.devices.codes import credential_digest, credential_generate
from backoffice.devices.models import Device, DeviceCredential
from backoffice.licensing.models import License
from backoffice.organization.models import Client, Employee, Team
from backoffice.organization.services import company_create
from backoffice.tenancy.permissions import OPERATOR_COMMAND

count = {devices}
company = company_create(acting_user=OPERATOR_COMMAND, name="Bench Co")
now = timezone.now()
with company_scope(company):
    team = Team.objects.get(is_default=True)
    Employee.objects.bulk_create(
        [Employee(company=company, team=team, name=f"Tech {{n}}", email=f"tech{{n}}@bench.example") for n in range(20)]
    )
    Client.objects.bulk_create(
        [Client(company=company, name=f"Client {{n}}", client_type="retail" if n % 3 else "wholesale")
         for n in range(50)]
    )
    licenses = License.objects.bulk_create(
        [License(company=company, number=f"B-{{n:06d}}", license_type="standard") for n in range(count)]
    )
    devices = Device.objects.bulk_create(
        [Device(company=company, team=team, license=lic, nickname=f"Bench {{n:05d}}", device_name="Bench tablet",
                os_type="Android 14", platform="Android", app_version="5.4.1", registered_at=now, changed_at=now,
                last_check_in_at=now - datetime.timedelta(hours=1))
         for n, lic in enumerate(licenses)]
    )
    credentials = [credential_generate() for _ in devices]
    DeviceCredential.objects.bulk_create(
        [DeviceCredential(company=company, device=d, digest=credential_digest(c)) for d, c in zip(devices, credentials)]
    )
json.dump(credentials, sys.stdout)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    )
    return json.loads(result.stdout)


def devices_not_seen_since(env: dict[str, str], moment: float) -> int:
    """Devices whose stored last-seen is older than ``moment``: each checked in since, so 0 once written."""
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as connection:
        row = connection.execute(
            "SELECT count(*) FROM devices_device WHERE last_check_in_at < to_timestamp(%s)", [moment]
        ).fetchone()
    return int(row[0]) if row else 0


def server_command(server: str, port: int, workers: int, threads: int) -> list[str]:
    """The command line of ``server`` (gunicorn or granian) serving the WSGI application on ``port``."""
    if server == "granian":
        return [
            str(Path(sys.executable).with_name("granian")),
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--log-level",
            "warning",
            "--no-ws",
            "backoffice.wsgi:application",
        ]
    return [
        str(Path(sys.executable).with_name("gunicorn")),
        "backoffice.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread" if threads > 1 else "sync",
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]


def start_server(
    env: dict[str, str], port: int, workers: int, threads: int, kind: str = "gunicorn"
) -> subprocess.Popen:
    command = server_command(kind, port, workers, threads)
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", f"{API}/health")
            if connection.getresponse().status == 200:
                connection.close()
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise SystemExit(f"{kind} did not start")


def stop_server(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)


class NoDelayConnection(http.client.HTTPConnection):
    """A client connection that sends each request at once (Nagle's delay would dominate on loopback)."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def load_worker(
    port: int, kind: str, credentials: list[str], start: float, seconds: float, queue, once: bool = False
) -> None:
    """
    Send requests back to back on one kept-alive connection until the deadline
    (or, with ``once``, until every credential was used once); report (done, errors).
    """
    connection = NoDelayConnection("127.0.0.1", port, timeout=30)
    done = errors = 0
    index = 0
    while time.time() < start:
        time.sleep(0.001)
    deadline = start + seconds
    while (index < len(credentials)) if once else (time.time() < deadline):
        try:
            if kind in ("health", "ready"):
                connection.request("GET", f"{API}/{kind}")
            else:
                credential = credentials[index % len(credentials)]
                index += 1
                connection.request(
                    "POST",
                    f"{API}/check-ins",
                    body=CHECK_IN_BODY,
                    headers={"Authorization": f"Bearer {credential}", "Content-Type": "application/json"},
                )
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                done += 1
            else:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
    connection.close()
    queue.put((done, errors))


def measure(
    port: int, kind: str, credentials: list[str], clients: int, seconds: float, once: bool = False
) -> tuple[float, int]:
    """
    Requests per second and errors over ``seconds`` (or over one pass through
    every credential, with ``once``), from ``clients`` load-generator processes.
    """
    queue: multiprocessing.Queue = multiprocessing.Queue()
    start = time.time() + 1.0
    shares = [credentials[n::clients] for n in range(clients)]
    processes = [
        multiprocessing.Process(target=load_worker, args=(port, kind, shares[n], start, seconds, queue, once))
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=600) for _ in processes]
    elapsed = time.time() - start
    for process in processes:
        process.join(timeout=30)
    done = sum(result[0] for result in results)
    errors = sum(result[1] for result in results)
    return done / (elapsed if once else seconds), errors


def run(args: argparse.Namespace) -> int:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("DATABASE_URL must point at PostgreSQL (run without --inner to start a throwaway one)")
    with tempfile.TemporaryDirectory(prefix="bench-var-") as var_dir:
        env = server_env(var_dir, write_interval=60)
        print(f"Creating {args.devices} registered devices ...", flush=True)
        every_credential = prepare_database(env, args.devices + args.first_devices)
        # The devices of the later phases, and those whose first check-in is measured (each checks in once).
        credentials, firsts = every_credential[: args.devices], every_credential[args.devices :]
        # The outbox worker, as in production: it writes the buffered check-ins every pass, on the same cores.
        worker = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "send_outbox", "--loop"],
            env=env,
            cwd=ROOT,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
        )
        started = time.time()
        port = free_port()
        generator = "Python http.client (keep-alive, TCP_NODELAY)"
        print(
            f"{args.server}: {args.workers} workers x {args.threads} threads; load: {args.clients} connections "
            f"via {generator}; {args.seconds:g} s per phase; {os.cpu_count()} CPUs",
            flush=True,
        )
        total_errors = 0
        server = start_server(env, port, args.workers, args.threads, args.server)
        bares: list[float] = []
        coalesced: list[float] = []
        readies: list[float] = []
        try:
            measure(port, "health", credentials, args.clients, 2)  # warm-up
            # A device's first check-in (it writes and computes the configuration's ETag) on warm
            # processes, as a long-running server meets it: the processes first meet a few devices
            # of their own, then each round takes fresh devices, alternating with a bare phase.
            warm, cold = firsts[:FIRST_WARM_UP], firsts[FIRST_WARM_UP:]
            _, first_errors = measure(port, "check-ins", warm, args.clients, args.seconds, once=True)
            firsts_rates: list[float] = []
            first_bares: list[float] = []
            bare_errors = 0
            for share in (cold[n :: args.rounds] for n in range(args.rounds)):
                rate, errors = measure(port, "check-ins", share, args.clients, args.seconds, once=True)
                firsts_rates.append(rate)
                first_errors += errors
                rate, errors = measure(port, "health", credentials, args.clients, args.seconds)
                first_bares.append(rate)
                bare_errors += errors
            # The other devices' first check-in, untimed: the coalesced rounds meet held credentials.
            _, check_in_errors = measure(port, "check-ins", credentials, args.clients, args.seconds, once=True)
            # Bare and coalesced check-ins alternate, so that a change in the machine's load hits both alike.
            for _ in range(args.rounds):
                rate, errors = measure(port, "health", credentials, args.clients, args.seconds)
                bares.append(rate)
                bare_errors += errors
                rate, errors = measure(port, "check-ins", credentials, args.clients, args.seconds)
                coalesced.append(rate)
                check_in_errors += errors
                # The floor of any call that reads the database: one trivial statement (GET /ready).
                rate, errors = measure(port, "ready", credentials, args.clients, args.seconds)
                readies.append(rate)
                bare_errors += errors
        finally:
            stop_server(server)
        total_errors += bare_errors + first_errors + check_in_errors

        # Every check-in due (the write interval at 0): the steady state of devices checking in every
        # 5 minutes. Two passes first, so that each process knows and holds every credential, as a
        # long-running server does; then a bare phase on the same server for its ratio.
        server = start_server(server_env(var_dir, write_interval=0), port, args.workers, args.threads, args.server)
        try:
            for _ in range(2):
                measure(port, "check-ins", credentials, args.clients, args.seconds, once=True)
            due_bare, due_bare_errors = measure(port, "health", credentials, args.clients, args.seconds)
            writing, writing_errors = measure(port, "check-ins", credentials, args.clients, args.seconds)
        finally:
            stop_server(server)
        total_errors += writing_errors + due_bare_errors

        # For information: coalesced check-ins without Redis, each reading the database.
        server = start_server(
            server_env(var_dir, write_interval=60, redis=False), port, args.workers, args.threads, args.server
        )
        try:
            measure(port, "check-ins", credentials, args.clients, 2)  # warm-up
            unbare, unbare_errors = measure(port, "health", credentials, args.clients, args.seconds)
            uncached, uncached_errors = measure(port, "check-ins", credentials, args.clients, args.seconds)
        finally:
            stop_server(server)
        total_errors += unbare_errors + uncached_errors
        time.sleep(5)  # two worker passes
        stop_server(worker)
        unwritten = devices_not_seen_since(env, started)
        total_errors += unwritten

    ratios = sorted(c / b for c, b in zip(coalesced, bares, strict=True) if b)
    ratio = ratios[len(ratios) // 2] if ratios else 0.0
    bare = sorted(bares)[len(bares) // 2]
    check_ins = sorted(coalesced)[len(coalesced) // 2]
    first_ratios = sorted(f / b for f, b in zip(firsts_rates, first_bares, strict=True) if b)
    first_ratio = first_ratios[len(first_ratios) // 2] if first_ratios else 0.0
    first = sorted(firsts_rates)[len(firsts_rates) // 2]
    ready_ratios = sorted(r / b for r, b in zip(readies, bares, strict=True) if b)
    ready_ratio = ready_ratios[len(ready_ratios) // 2] if ready_ratios else 0.0
    ready = sorted(readies)[len(readies) // 2]
    print(f"rounds (bare, coalesced): {', '.join(f'{b:.0f}/{c:.0f}' for b, c in zip(bares, coalesced, strict=True))}")
    first_rounds = ", ".join(f"{b:.0f}/{f:.0f}" for b, f in zip(first_bares, firsts_rates, strict=True))
    print(f"rounds (bare, first): {first_rounds}")
    print(f"GET  /health (median)        {bare:8.0f} requests/s   errors {bare_errors}")
    print(f"POST /check-ins (coalesced)  {check_ins:8.0f} requests/s   errors {check_in_errors}  (median)")
    print(f"POST /check-ins (first/cold) {first:8.0f} requests/s   errors {first_errors}")
    print(f"POST /check-ins (every due)  {writing:8.0f} requests/s   errors {writing_errors}  (every check-in writes)")
    print(f"GET  /ready (one SELECT 1)   {ready:8.0f} requests/s   (median; the floor of a call that reads)")
    print(
        f"POST /check-ins (no Redis)   {uncached:8.0f} requests/s   errors {uncached_errors}  "
        f"(information: each reads the database; ratio {uncached / unbare if unbare else 0:.2f} "
        f"to its own bare phase, {unbare:.0f}/s)"
    )
    print(f"ratio coalesced / bare       {ratio:8.2f}   (median of the rounds' ratios; aim >= 0.7)")
    print(f"ratio first / bare           {first_ratio:8.2f}   (median of the rounds' ratios; aim >= 0.3)")
    print(f"ratio ready / bare           {ready_ratio:8.2f}   (one database round trip and nothing else)")
    due_ratio = writing / due_bare if due_bare else 0.0
    print(f"ratio every due / bare       {due_ratio:8.2f}   (warm processes, bare {due_bare:.0f}/s on the same server)")
    print(
        f"last-seen not written        {unwritten:8d}   (devices whose check-ins the worker did not write; must be 0)"
    )
    print(f"errors                       {total_errors:8d}   (must be 0)")
    return 0 if total_errors == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each measured phase (max 60)")
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument(
        "--first-devices", type=int, default=6000, help="devices whose first check-in is measured (once each)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of bare and coalesced check-ins")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gunicorn: 1 means sync workers)")
    parser.add_argument("--server", choices=("gunicorn", "granian"), default="gunicorn", help="the WSGI server")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.seconds = min(max(args.seconds, 1.0), 60.0)
    if args.inner:
        return run(args)
    scripts = ROOT / "scripts"
    return subprocess.run(
        [
            str(scripts / "with-redis.sh"),
            str(scripts / "with-postgres.sh"),
            sys.executable,
            str(Path(__file__).resolve()),
            "--inner",
            *sys.argv[1:],
        ]
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
