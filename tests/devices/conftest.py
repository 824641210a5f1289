"""Fixtures for the registration tests: free licenses, employees and a Device dialog helper."""

import pytest

from backoffice.devices.models import Device, RegistrationCode
from backoffice.licensing.models import License
from backoffice.notifications.models import OutboxEmail
from backoffice.tenancy.scoping import company_scope
from tests.factories import EmployeeFactory, LicenseFactory


@pytest.fixture
def licenses_a(company_a):
    """Three free licenses of company A, numbered NW-10041..NW-10043."""
    with company_scope(company_a):
        return [LicenseFactory(company=company_a, number=f"NW-{10041 + i}") for i in range(3)]


@pytest.fixture
def employee_a(company_a, team_a):
    with company_scope(company_a):
        return EmployeeFactory(company=company_a, team=team_a, name="Ana Alvarez", email="ana@a.example")


@pytest.fixture
def other_team_employee_a(company_a, default_team_a):
    with company_scope(company_a):
        return EmployeeFactory(company=company_a, team=default_team_a, name="Zed Zimmer", email="zed@a.example")


def device_payload(*, team, license, **overrides) -> dict:
    """What the Device dialog posts when OK is clicked."""
    data = {
        "team": str(team.pk),
        "time_zone": "",
        "license": str(license.pk),
        "nickname": "Bay 3 iPad",
        "description": "Shared by the morning shift.",
        "email": "",
        "expires_in": "15",
        "employee": "",
        "recipients": ["tech@a.example"],
        "action": "save",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def snapshot(company) -> dict[str, int]:
    """Row counts that a refused action must leave as they were."""
    with company_scope(company):
        return {
            "devices": Device.objects.count(),
            "codes": RegistrationCode.objects.count(),
            "emails": OutboxEmail.objects.count(),
            "free": License.objects.filter(device__isnull=True).count(),
        }


from tests.notifications.conftest import smtp_server  # noqa: E402, F401 - the real SMTP server fixture, for the bulk Replace email
