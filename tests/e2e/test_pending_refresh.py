"""
In the browser, the Pending Registrations poll costs nothing while nothing
changed: it sends the ETag of the copy it shows as ``If-None-Match``, the
server answers ``304 Not Modified`` with no body and htmx leaves the section
as it is (not even swapped). A row's QR image is requested only when its
"Show QR" is opened.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, sign_in

pytestmark = pytest.mark.e2e

REFRESH = "htmx.trigger(document.body, 'registrations-changed')"
MARK = "document.getElementById('pending-registrations').setAttribute('data-seen', '1')"
MARKED = "document.getElementById('pending-registrations').getAttribute('data-seen')"


def add_device(page, nickname: str) -> None:
    page.get_by_role("link", name="Add New Devices").click()
    dialog = page.get_by_role("dialog", name="Device")
    dialog.get_by_label("Lic.#").select_option(index=1)
    dialog.get_by_label("Nickname").fill(nickname)
    dialog.get_by_role("button", name="OK", exact=True).click()
    expect(page.locator("dialog[data-modal]")).to_have_count(0)


def next_poll(page):
    """Wait for the section's own 10-second poll; return its response."""
    with page.expect_response(re.compile(r"/devices/pending/"), timeout=15_000) as info:
        pass
    return info.value


def test_the_poll_revalidates_and_qr_images_load_on_demand(page):
    qr_requests: list[str] = []
    page.on("request", lambda request: qr_requests.append(request.url) if "/qr.svg" in request.url else None)
    sign_in(page, "admin@northwind.example")
    add_device(page, "Revalidated tablet")
    pending = page.get_by_role("region", name="Pending Registrations")
    row = pending.locator("tr", has_text="Revalidated tablet")
    expect(row.locator(".reg-code")).to_be_visible()
    code = row.locator(".reg-code").inner_text()

    # A refresh after an action: the section comes with its ETag.
    with page.expect_response(re.compile(r"/devices/pending/")) as info:
        page.evaluate(REFRESH)
    first = info.value
    assert first.status == 200
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    page.wait_for_load_state("networkidle")

    # The poll sends it back; nothing changed: 304, no body, the section not even swapped.
    page.evaluate(MARK)
    second = next_poll(page)
    assert second.request.all_headers().get("if-none-match") == etag
    assert second.status == 304
    assert second.request.sizes()["responseBodySize"] == 0
    page.wait_for_timeout(300)
    assert page.evaluate(MARKED) == "1"
    expect(row.locator(".reg-code")).to_have_text(code)
    assert qr_requests == []

    # Show QR: only now is the image requested; it shows the code's QR.
    with page.expect_response(re.compile(r"/qr\.svg")) as info:
        row.get_by_text("Show QR").click()
    image = info.value
    assert image.status == 200
    assert image.headers["content-type"] == "image/svg+xml"
    assert code.replace("-", "") not in image.url
    img = row.get_by_role("img", name="QR code of the registration code")
    expect(img).to_be_visible()
    assert img.evaluate("el => el.complete && el.naturalWidth") == 116
    assert_accessible(page)
    assert len(qr_requests) == 1

    # A change (the code replaced) is seen at once, and the next poll brings a new ETag.
    row.get_by_role("button", name="Replace code of Revalidated tablet").click()
    page.get_by_role("dialog", name="Please confirm").get_by_role("button", name="OK").click()
    expect(row.locator(".reg-code")).not_to_have_text(code)
    third = next_poll(page)
    assert third.status == 200
    assert third.headers["etag"] != etag
