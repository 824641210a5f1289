"""Resend is throttled per device and per company, with a clear message and nothing changed when refused."""

import datetime
import json

import pytest

from backoffice.devices.services import device_add
from backoffice.notifications.models import OutboxEmail
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot
from tests.factories import LicenseFactory

pytestmark = pytest.mark.usefixtures("inside_one_window")  # no test straddles a window's end


@pytest.fixture
def emails(company_a, team_a, admin_a):
    """Two pending devices' emails (one recipient each)."""
    with company_scope(company_a):
        devices = [
            device_add(
                acting_user=admin_a,
                team=team_a,
                license=LicenseFactory(company=company_a, number=f"NW-3000{i}"),
                nickname=f"Resend tablet {i}",
                recipients=[f"tech{i}@a.example"],
                expires_in=datetime.timedelta(hours=1),
            )
            for i in range(2)
        ]
        return [OutboxEmail.objects.get(registration_code__device=device).pk for device in devices]


def resend(http, pk):
    """Resend over htmx; the toast's message."""
    response = http.post(f"/devices/emails/{pk}/resend/", headers={"HX-Request": "true"})
    return json.loads(response["HX-Trigger-After-Settle"])["toast"]["message"]


def test_resends_of_one_device_stop_at_the_limit(settings, as_admin_a, emails):
    settings.RESEND_PER_DEVICE_PER_HOUR = 3
    for _ in range(3):
        assert "will be sent again shortly" in resend(as_admin_a, emails[0])
    before = snapshot()
    message = resend(as_admin_a, emails[0])
    assert "Too many resends for Resend tablet 0 or your company in the last hour" in message
    assert snapshot() == before
    # Another device of the company still has its own allowance.
    assert "will be sent again shortly" in resend(as_admin_a, emails[1])


def test_resends_of_a_company_stop_at_the_company_limit(settings, as_admin_a, emails):
    settings.RESEND_PER_COMPANY_PER_HOUR = 2
    assert "will be sent again shortly" in resend(as_admin_a, emails[0])
    assert "will be sent again shortly" in resend(as_admin_a, emails[1])
    before = snapshot()
    assert "Too many resends for Resend tablet 0" in resend(as_admin_a, emails[0])
    assert snapshot() == before
