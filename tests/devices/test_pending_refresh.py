"""
The Pending Registrations poll costs nothing while nothing changed: it
carries a strong ETag of what the section shows to this user, answers
``304 Not Modified`` with no body on a current ``If-None-Match``, and a new
ETag as soon as anything shown changes. Each row's QR image loads from its
own URL, only when its "Show QR" is opened.
"""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import Device, RegistrationCode
from backoffice.devices.qr import qr_svg_document
from backoffice.devices.selectors import pending_registration_list
from backoffice.devices.services import device_add, registration_code_replace
from backoffice.notifications.choices import EmailState
from backoffice.notifications.models import OutboxEmail
from backoffice.notifications.services import outbox_send_due
from backoffice.tenancy.scoping import company_scope
from tests.conftest import login
from tests.factories import LicenseFactory, TeamFactory

POLL = "/devices/pending/"
HTMX = {"HX-Request": "true"}


def poll(http, etag: str = "", query: str = ""):
    headers = {**HTMX, "If-None-Match": etag} if etag else HTMX
    return http.get(POLL + query, headers=headers)


def current_etag(http, query: str = "") -> str:
    """The poll's ETag once the client holds its CSRF cookie (the first answer sets it)."""
    poll(http, query=query)
    response = poll(http, query=query)
    assert response.status_code == 200
    return response["ETag"]


def add_pending(company, admin, team, nickname: str = "Bay 3 iPad", recipients=("tech@a.example",)) -> Device:
    with company_scope(company):
        return device_add(
            acting_user=admin,
            team=team,
            license=LicenseFactory(company=company),
            nickname=nickname,
            recipients=list(recipients),
        )


def test_unchanged_section_answers_304_without_a_body(as_admin_a, admin_a, company_a, team_a):
    add_pending(company_a, admin_a, team_a)
    etag = current_etag(as_admin_a)
    first = poll(as_admin_a)
    assert first.status_code == 200
    assert first["ETag"] == etag
    assert re.fullmatch(r'"p\d+\.\d+\.[0-9a-f]{32}"', etag)
    assert first["Cache-Control"] == "private, no-cache"
    assert "HX-Request" in first["Vary"]
    assert "Bay 3 iPad" in first.content.decode()

    again = poll(as_admin_a, etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert again["Cache-Control"] == "private, no-cache"
    # A list of tags, one of them current, also matches; a stale one alone does not.
    assert poll(as_admin_a, f'"stale", {etag}').status_code == 304
    assert poll(as_admin_a, '"stale"').status_code == 200


def test_not_modified_renders_nothing_and_reads_only_the_signed_in_rows(as_admin_a, admin_a, company_a, team_a):
    for i in range(3):
        add_pending(company_a, admin_a, team_a, nickname=f"Tablet {i}", recipients=["a@a.example", "b@a.example"])
    etag = current_etag(as_admin_a)
    with CaptureQueriesContext(connection) as few:
        assert poll(as_admin_a, etag).status_code == 304
    for i in range(20):
        add_pending(company_a, admin_a, team_a, nickname=f"More {i}", recipients=["a@a.example"])
    etag = current_etag(as_admin_a)
    with CaptureQueriesContext(connection) as many:
        assert poll(as_admin_a, etag).status_code == 304
    # The session, the user and the company (which carries the version): what
    # every signed-in request reads, and nothing of the devices, codes or emails.
    for captured in (few, many):
        tables = [re.findall(r'FROM "(\w+)"', query["sql"]) for query in captured.captured_queries]
        assert [t[0] for t in tables] == ["django_session", "tenancy_user", "tenancy_company"]


def test_a_new_pending_device_changes_the_etag(as_admin_a, admin_a, company_a, team_a):
    add_pending(company_a, admin_a, team_a)
    etag = current_etag(as_admin_a)
    add_pending(company_a, admin_a, team_a, nickname="Yard scanner")
    response = poll(as_admin_a, etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert "Yard scanner" in response.content.decode()
    assert poll(as_admin_a, response["ETag"]).status_code == 304


def test_email_delivery_changes_the_etag(as_admin_a, admin_a, company_a, team_a):
    add_pending(company_a, admin_a, team_a)
    etag = current_etag(as_admin_a)
    outbox_send_due()
    with company_scope(company_a):
        assert OutboxEmail.objects.get().state == EmailState.SENT
    response = poll(as_admin_a, etag)
    assert response.status_code == 200
    assert 'badge--sent">Sent<' in response.content.decode()
    assert response["ETag"] != etag


def test_cancel_and_replace_change_the_etag(as_admin_a, admin_a, company_a, team_a):
    device = add_pending(company_a, admin_a, team_a)
    keep = add_pending(company_a, admin_a, team_a, nickname="Keeper")
    etag = current_etag(as_admin_a)
    with company_scope(company_a):
        registration_code_replace(device=keep, acting_user=admin_a)
    replaced = poll(as_admin_a, etag)
    assert replaced.status_code == 200
    assert replaced["ETag"] != etag
    etag = replaced["ETag"]
    assert as_admin_a.post(f"/devices/{device.pk}/cancel/").status_code == 302
    response = poll(as_admin_a, etag)
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert "Bay 3 iPad" not in response.content.decode()


def test_license_counts_change_the_etag(as_admin_a, admin_a, company_a, team_a):
    add_pending(company_a, admin_a, team_a)
    etag = current_etag(as_admin_a)
    with company_scope(company_a):
        LicenseFactory(company=company_a)
    response = poll(as_admin_a, etag)
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_expiry_changes_the_etag(as_admin_a, admin_a, company_a, team_a):
    add_pending(company_a, admin_a, team_a)
    etag = current_etag(as_admin_a)
    with company_scope(company_a):
        RegistrationCode.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = poll(as_admin_a, etag)
    assert response.status_code == 200
    assert 'badge--expired">Expired<' in response.content.decode()


def test_the_clock_bounds_the_etag(as_admin_a, admin_a, company_a, team_a):
    """
    The ETag names when the clock alone next changes the section: the live
    code's expiry, then (once expired) its license's release; a copy whose
    moment has passed is rendered again even though nothing was written.
    """
    add_pending(company_a, admin_a, team_a)
    etag = current_etag(as_admin_a)
    with company_scope(company_a):
        expires_at = RegistrationCode.objects.get().expires_at
    version, valid_until, scope = re.fullmatch(r'"p(\d+)\.(\d+)\.(\w+)"', etag).groups()
    assert int(valid_until) == int(expires_at.timestamp())
    assert poll(as_admin_a, etag).status_code == 304
    passed = f'"p{version}.{int(timezone.now().timestamp()) - 1}.{scope}"'
    assert poll(as_admin_a, passed).status_code == 200
    # A version or a scope that is not the current one is not current either.
    assert poll(as_admin_a, f'"p{int(version) + 1}.{valid_until}.{scope}"').status_code == 200
    assert poll(as_admin_a, f'"p{version}.{valid_until}.{"0" * 32}"').status_code == 200

    with company_scope(company_a):
        grace = datetime.timedelta(days=company_a.expired_code_grace_days)

        def valid_until_at(now: datetime.datetime) -> datetime.datetime:
            return pending_registration_list(user=admin_a, now=now).valid_until

        assert valid_until_at(expires_at - datetime.timedelta(minutes=5)) == expires_at
        # Expired: until the license is released (when that comes before the next midnight).
        after = expires_at + datetime.timedelta(seconds=1)
        assert valid_until_at(after) == min(expires_at + grace, next_midnight(after))
        # Released: only the next midnight (licenses expire by day) is left.
        later = expires_at + grace + datetime.timedelta(seconds=1)
        assert valid_until_at(later) == next_midnight(later)


def next_midnight(now: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(now)
    return datetime.datetime.combine(local.date() + datetime.timedelta(days=1), datetime.time.min, tzinfo=local.tzinfo)


def test_the_etag_differs_per_scope(
    as_admin_a, as_teamadmin_a, as_viewer_a, as_admin_b, admin_a, admin_b, company_a, company_b, team_a
):
    add_pending(company_a, admin_a, team_a)
    with company_scope(company_b):
        add_pending(company_b, admin_b, TeamFactory(company=company_b), recipients=["tech@b.example"])
    etags = {
        "admin": current_etag(as_admin_a),
        "team admin": current_etag(as_teamadmin_a),
        "viewer": current_etag(as_viewer_a),
        "other company": current_etag(as_admin_b),
        "search": current_etag(as_admin_a, query="?pq=bay"),
    }
    assert len(set(etags.values())) == len(etags)
    # One user's tag is no use to another: each gets the section as they may see it.
    response = poll(as_viewer_a, etags["admin"])
    assert response.status_code == 200
    assert "Shown to administrators only" in response.content.decode()
    assert poll(as_admin_b, etags["admin"]).status_code == 200


def test_a_team_administrator_never_sees_other_teams(as_teamadmin_a, admin_a, company_a, team_a):
    add_pending(company_a, admin_a, team_a)
    etag = current_etag(as_teamadmin_a)
    with company_scope(company_a):
        other = TeamFactory(company=company_a)
    add_pending(company_a, admin_a, other, nickname="Other team tablet")
    # The version is the company's: the section is rendered again, still without the other team's row.
    changed = poll(as_teamadmin_a, etag)
    assert changed.status_code == 200
    assert "Other team tablet" not in changed.content.decode()
    assert "Bay 3 iPad" in changed.content.decode()
    assert poll(as_teamadmin_a, changed["ETag"]).status_code == 304


def test_an_empty_section_has_an_etag_too(as_admin_a, admin_a, company_a, team_a, licenses_a):
    etag = current_etag(as_admin_a)
    assert poll(as_admin_a, etag).status_code == 304
    add_pending(company_a, admin_a, team_a)
    assert poll(as_admin_a, etag).status_code == 200


def test_without_htmx_the_poll_goes_to_the_page(as_admin_a):
    response = as_admin_a.get(POLL)
    assert response.status_code == 302
    assert response["Location"] == "/devices/#pending-registrations"


# QR images on demand


def live_code(company, device) -> RegistrationCode:
    with company_scope(company):
        return RegistrationCode.objects.open().get(device=device)


def test_qr_image_of_the_live_code(as_admin_a, admin_a, company_a, team_a):
    device = add_pending(company_a, admin_a, team_a)
    code = live_code(company_a, device)
    plain = code_format(code_unseal(code.sealed_code))
    html = poll(as_admin_a).content.decode()
    url = f"/devices/{device.pk}/qr.svg?code={code.pk}"
    assert (
        f'<details class="qr" data-keep-open="qr-{device.pk}">\n                <summary>Show QR</summary>\n'
        f'                <div class="qr__image"><img src="{url}" loading="lazy" '
        'alt="QR code of the registration code" width="116" height="116"></div>'
    ) in html
    assert "<svg" not in html
    assert plain.replace("-", "") not in url.replace("-", "")
    response = as_admin_a.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content == qr_svg_document(plain)
    assert response.content.startswith(
        b'<?xml version="1.0" encoding="utf-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'
    )
    cache_control = response["Cache-Control"]
    assert cache_control.startswith("private, max-age=")
    assert 0 < int(cache_control.rsplit("=", 1)[1]) <= 15 * 60
    # Without ?code=, the device's live code.
    assert as_admin_a.get(f"/devices/{device.pk}/qr.svg").content == response.content


def test_qr_image_refused_alike(
    as_admin_a, as_admin_b, as_teamadmin_a, as_viewer_a, admin_a, company_a, team_a, default_team_a
):
    device = add_pending(company_a, admin_a, team_a)
    code = live_code(company_a, device)
    url = f"/devices/{device.pk}/qr.svg?code={code.pk}"
    assert as_teamadmin_a.get(url).status_code == 200
    # Another company's device, another team's device, a missing one: 404 alike.
    assert as_admin_b.get(url).status_code == 404
    other = add_pending(company_a, admin_a, default_team_a, nickname="Other team")
    assert as_teamadmin_a.get(f"/devices/{other.pk}/qr.svg").status_code == 404
    assert as_admin_a.get("/devices/999999/qr.svg").status_code == 404
    assert as_admin_a.get(f"/devices/{device.pk}/qr.svg?code=abc").status_code == 404
    # A Viewer sees no codes, so no QR images either.
    assert as_viewer_a.get(url).status_code == 403
    # A replaced code's image is gone; the new code has its own.
    with company_scope(company_a):
        registration_code_replace(device=device, acting_user=admin_a)
    assert as_admin_a.get(url).status_code == 404
    new = live_code(company_a, device)
    assert as_admin_a.get(f"/devices/{device.pk}/qr.svg?code={new.pk}").status_code == 200
    # An expired code, and a device with no open code: 404.
    with company_scope(company_a):
        RegistrationCode.objects.filter(pk=new.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert as_admin_a.get(f"/devices/{device.pk}/qr.svg?code={new.pk}").status_code == 404
    assert as_admin_a.post(f"/devices/{device.pk}/cancel/").status_code == 302
    assert as_admin_a.get(f"/devices/{device.pk}/qr.svg").status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_qr_image_is_read_only(as_admin_a, admin_a, company_a, team_a, method):
    device = add_pending(company_a, admin_a, team_a)
    response = getattr(as_admin_a, method)(f"/devices/{device.pk}/qr.svg")
    assert response.status_code == 405
    assert login(admin_a).get(f"/devices/{device.pk}/qr.svg").status_code == 200


@pytest.mark.parametrize("role", ["admin", "team admin"])
def test_the_section_reads_the_rows_the_user_may_see(
    role, admin_a, teamadmin_a, admin_b, company_a, company_b, team_a, default_team_a
):
    """The section's rows and keys: the company's pending devices (a Team Administrator's team's only)."""
    mine = add_pending(company_a, admin_a, team_a)
    other_team = add_pending(company_a, admin_a, default_team_a, nickname="Other team")
    with company_scope(company_b):
        add_pending(company_b, admin_b, TeamFactory(company=company_b), recipients=["tech@b.example"])
    user = admin_a if role == "admin" else teamadmin_a
    with company_scope(company_a):
        pending = pending_registration_list(user=user)
        codes = dict(RegistrationCode.objects.open().values_list("device_id", "pk"))
    expected = [mine, other_team] if role == "admin" else [mine]
    assert [row.device.pk for row in pending.rows] == [device.pk for device in expected]
    # Each key names the device and its open code.
    assert pending.row_keys == [f"{device.pk}:{codes[device.pk]}" for device in expected]


def test_only_the_rows_shown_are_read_in_full(as_admin_a, admin_a, company_a, team_a):
    """
    Beyond the 50 rows the section shows, rows are read only by their keys:
    the count and the page's script still see every one, the search every one.
    """
    with company_scope(company_a):
        devices = [add_pending(company_a, admin_a, team_a, nickname=f"Tablet {i:02d}") for i in range(53)]
        assert pending_registration_list(user=admin_a, limit=51).rows[-1].device == devices[50]
        assert len(pending_registration_list(user=admin_a).rows) == 53
    body = poll(as_admin_a).content.decode()
    assert '<span class="count-pill">53</span>' in body
    assert "Tablet 49" in body
    assert "Tablet 50" not in body
    assert "Showing the 50 oldest of 53" in body
    assert all(f"{device.pk}:" in body for device in devices)
    found = poll(as_admin_a, query="?pq=Tablet 52").content.decode()
    assert "Tablet 52" in found
    assert "Tablet 00" not in found
    everything = poll(as_admin_a, query="?pall=1").content.decode()
    assert "Tablet 52" in everything
