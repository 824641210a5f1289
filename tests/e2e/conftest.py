"""
Browser tests: a real server process on a throwaway database, driven by
Playwright in Debian's Chromium.

The server is granian (scripts/serve.sh) serving the Back Office on a free loopback port, with
its own database (a temporary SQLite file, or a new database on the
PostgreSQL cluster when the suite runs on PostgreSQL), migrated and loaded
with the demo data. Tests talk to it only through the browser and HTTP.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_PASSWORD = "reconpro-demo"

if not Path(CHROMIUM).exists():
    message = (
        f"BROWSER TESTS SKIPPED: no Chromium at {CHROMIUM}. Install Debian's chromium "
        "(apt-get install -y chromium) or set CHROMIUM_PATH."
    )
    print(f"\n{'!' * 80}\n{message}\n{'!' * 80}", file=sys.stderr)
    pytestmark = pytest.mark.skip(reason=message)


@pytest.fixture(autouse=True)
def _db():
    """Browser tests talk to their own server process, never to the test database."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def throwaway_database(tmp: Path) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp / 'e2e.sqlite3'}"
        return
    import psycopg

    name = f"backoffice_e2e_{os.getpid()}"
    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_app_server(port: int, env: dict[str, str], log) -> subprocess.Popen:
    """Start the app server as production runs it (``scripts/serve.sh``, granian) on a loopback ``port``."""
    return subprocess.Popen(
        [str(ROOT / "scripts" / "serve.sh")],
        cwd=ROOT,
        env={**env, "HOST": "127.0.0.1", "PORT": str(port), "WORKERS": "2", "THREADS": "4", "PYTHON": sys.executable},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


class Server:
    def __init__(self, base_url: str, env: dict[str, str], mail_dir: Path) -> None:
        self.base_url = base_url
        self.env = env
        self.mail_dir = mail_dir

    def manage(self, *args: str) -> str:
        """Run a management command against the server's database and return its output."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return result.stdout


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("e2e")
    port = free_port()
    gen = throwaway_database(tmp)
    database_url = next(gen)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "e2e-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "BACKOFFICE_TESTING": "1",
        "BACKOFFICE_VAR_DIR": str(tmp),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "EMAIL_BACKEND": "file",
        "EMAIL_FILE_PATH": str(tmp / "mail"),
        "PYTHONPATH": str(ROOT / "src"),
    }
    srv = Server(f"http://127.0.0.1:{port}", env, tmp / "mail")
    srv.manage("migrate", "--no-input", "-v", "0")
    srv.manage("createcachetable")
    srv.manage("load_demo")
    log = open(tmp / "server.log", "w")  # noqa: SIM115
    processes = [start_app_server(port, env, log)]
    if "send_outbox" in srv.manage("help", "--commands"):
        processes.append(
            subprocess.Popen(
                [sys.executable, "manage.py", "send_outbox", "--loop"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{srv.base_url}/login/", timeout=2)  # noqa: S310
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline or processes[0].poll() is not None:
                log.flush()
                raise RuntimeError((tmp / "server.log").read_text()) from None
            time.sleep(0.2)
    yield srv
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=10)
    log.close()
    next(gen, None)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageWatch:
    """
    What a page must never do, collected while a test runs: a console error
    of any kind (a Content-Security-Policy violation, a failed request, an
    htmx error, an uncaught exception) and a native dialog (``alert``,
    ``confirm``, ``prompt``; the product asks with its own). ``beforeunload``
    is the browser's own "Leave site?" question, which a changed Device dialog
    asks on purpose: it is recorded in ``leave_prompts`` and answered "stay".
    """

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.native_dialogs: list[str] = []
        self.leave_prompts: list[str] = []
        self.allowed: list[re.Pattern[str]] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("dialog", self._on_dialog)

    def allow(self, pattern: str) -> None:
        """Let console errors matching ``pattern`` pass (a test that visits a 404 on purpose)."""
        self.allowed.append(re.compile(pattern))

    def _on_console(self, message) -> None:
        if message.type == "error" and not any(p.search(message.text) for p in self.allowed):
            self.errors.append(message.text)

    def _on_dialog(self, dialog) -> None:
        if dialog.type == "beforeunload":
            self.leave_prompts.append(dialog.message)
        else:
            self.native_dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def check(self) -> None:
        assert self.errors == [], f"Console errors: {self.errors}"
        assert self.native_dialogs == [], f"Native dialogs (the product must ask with its own): {self.native_dialogs}"


def new_page(browser, server, *, width: int = 1280, height: int = 800, base_url: str | None = None, **options):
    """A page in a fresh browser context on ``server`` (or ``base_url``), with its ``PageWatch`` as ``page.watch``."""
    context = browser.new_context(
        viewport={"width": width, "height": height},
        base_url=base_url or server.base_url,
        accept_downloads=True,
        **options,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.watch = PageWatch(page)
    return page


@pytest.fixture
def page(browser, server):
    """A signed-out page at 1280×800; the test fails on any console error or native dialog."""
    page = new_page(browser, server)
    yield page
    page.context.close()
    page.watch.check()


def sign_in(page, email: str) -> None:
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url("**/devices/")


SCREENSHOTS = ROOT / "docs" / "screenshots"


def screenshot(page, name: str, *, full_page: bool = True) -> None:
    """
    Take a screenshot for the README and docs. Only ``UPDATE_SCREENSHOTS=1``
    writes it to docs/screenshots/<name>.png; an ordinary test run writes it
    under the temporary directory, so that running the tests leaves the
    checkout unchanged (every run renders a few pixels differently).
    """
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        folder = SCREENSHOTS
    else:
        folder = Path(tempfile.gettempdir()) / "backoffice-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def assert_accessible(page) -> None:
    """Run axe-core on the page: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}" for v in bad
    )


# Elements that stick out of the viewport although nothing shows: hidden
# headings and the skip link parked off-screen until focused. Anything inside
# an element that clips or scrolls sideways (overflow-x other than visible)
# is that element's business, and the check below asks that no table
# scrolls sideways inside its region either.
OVERFLOW = """
() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const found = [];
  if (root.scrollWidth > width) { found.push("page scrolls sideways: " + root.scrollWidth + " > " + width); }
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") { return true; }
    }
    return false;
  };
  for (const el of document.body.querySelectorAll("*")) {
    if (el.closest(".visually-hidden, .skip-link, dialog:not([open])")) { continue; }
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) { continue; }
    if ((box.right > width + 1 || box.left < -1) && !clipped(el)) {
      const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
        (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
      found.push(name + " spans " + Math.round(box.left) + ".." + Math.round(box.right));
    }
  }
  for (const wrap of document.querySelectorAll(".table-wrap")) {
    if (wrap.scrollWidth > wrap.clientWidth + 1) {
      const where = (wrap.closest("[id]") || wrap).id;
      found.push("table scrolls sideways in " + where + ": " + wrap.scrollWidth + " > " + wrap.clientWidth);
    }
  }
  return found.slice(0, 8);
}
"""


def assert_fits(page, where: str) -> None:
    """No horizontal overflow: the page, every element outside a clipping region, every table."""
    found = page.evaluate(OVERFLOW)
    assert found == [], f"{where}: {found}"
