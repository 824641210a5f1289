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
from backoffice.devices.selectors import pending_registration_fingerprint
from backoffice.devices.selectors.registration import _fingerprint_rows
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
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
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


def test_not_modified_renders_nothing_and_reads_little(as_admin_a, admin_a, company_a, team_a):
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
    # The session, the user and the company; the rows with their codes; the
    # codes' emails; the license tally and the expired codes' holds.
    assert len(few.captured_queries) == len(many.captured_queries) == 7


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


def test_the_clock_changes_the_fingerprint_only_when_the_section_would_change(admin_a, company_a, team_a):
    """ "14 minutes left" becomes "12 minutes left", then the row shows the code expired."""
    add_pending(company_a, admin_a, team_a)
    with company_scope(company_a):
        expires_at = RegistrationCode.objects.get().expires_at

        def at(delta: datetime.timedelta) -> str:
            return pending_registration_fingerprint(user=admin_a, now=expires_at - delta).digest

        assert at(datetime.timedelta(minutes=14, seconds=30)) == at(datetime.timedelta(minutes=14, seconds=10))
        assert at(datetime.timedelta(minutes=14, seconds=30)) != at(datetime.timedelta(minutes=12, seconds=30))
        assert at(datetime.timedelta(seconds=1)) != at(datetime.timedelta(seconds=-1))
        # With days left the text ("2 days, 5 hours") changes once an hour: so does the fingerprint.
        hours = datetime.timedelta(days=2, hours=5)
        assert at(hours + datetime.timedelta(minutes=40)) == at(hours + datetime.timedelta(minutes=10))
        assert at(hours + datetime.timedelta(minutes=10)) != at(hours - datetime.timedelta(minutes=10))
        # After the grace days, the row says the license is released at the next housekeeping pass.
        grace = datetime.timedelta(days=company_a.expired_code_grace_days)
        assert at(-grace + datetime.timedelta(seconds=1)) != at(-grace - datetime.timedelta(seconds=1))


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


def test_a_team_administrators_etag_ignores_other_teams(as_teamadmin_a, admin_a, company_a, team_a):
    add_pending(company_a, admin_a, team_a)
    etag = current_etag(as_teamadmin_a)
    with company_scope(company_a):
        other = TeamFactory(company=company_a)
    add_pending(company_a, admin_a, other, nickname="Other team tablet")
    # The counts beside the section changed (one license fewer free), so the tag did too ...
    changed = poll(as_teamadmin_a, etag)
    assert changed.status_code == 200
    assert "Other team tablet" not in changed.content.decode()
    # ... but an email sent for the other team's device changes nothing this user sees.
    with company_scope(company_a):
        OutboxEmail.objects.filter(registration_code__device__team=other).update(
            state=EmailState.SENT, sent_at=timezone.now()
        )
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
def test_the_fingerprint_reads_the_rows_the_user_may_see(
    role, admin_a, teamadmin_a, admin_b, company_a, company_b, team_a, default_team_a
):
    """The fingerprint's rows: the company's pending devices (a Team Administrator's team's only), never another's."""
    mine = add_pending(company_a, admin_a, team_a)
    other_team = add_pending(company_a, admin_a, default_team_a, nickname="Other team")
    with company_scope(company_b):
        add_pending(company_b, admin_b, TeamFactory(company=company_b), recipients=["tech@b.example"])
    user = admin_a if role == "admin" else teamadmin_a
    with company_scope(company_a):
        rows = _fingerprint_rows(user=user)
    expected = [mine.pk, other_team.pk] if role == "admin" else [mine.pk]
    assert [row[0] for row in rows] == sorted(expected)
    assert all(row[8] is not None for row in rows)  # each with its open code joined
