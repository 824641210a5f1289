"""Take screenshots of Back Office pages with headless Chromium.

    .venv/bin/python scripts/screenshot.py http://127.0.0.1:8000 admin@northwind.example out.png /devices/ [...]

Signs in with the demo password, then saves one PNG per path (out-1.png, ...).
Set WIDTH/HEIGHT to change the viewport.
"""

import os
import sys

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    base, email, out, *paths = sys.argv[1:]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(
            viewport={"width": int(os.environ.get("WIDTH", 1280)), "height": int(os.environ.get("HEIGHT", 800))}
        )
        page.goto(f"{base}/login/")
        if email != "-":
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(os.environ.get("PASSWORD", "reconpro-demo"))
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state("networkidle")
        for i, path in enumerate(paths or ["/devices/"], 1):
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            target = out.replace(".png", f"-{i}.png")
            page.screenshot(path=target, full_page=True)
            print(target)
        browser.close()


if __name__ == "__main__":
    main()
