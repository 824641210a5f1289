"""Fixtures of the audit trail tests: a registered device with a license, and reading events back."""

import datetime

import pytest

from backoffice.audit.models import AuditEvent
from backoffice.tenancy.scoping import company_scope
from tests.factories import DeviceFactory, LicenseFactory, TeamFactory

REGISTERED_AT = datetime.datetime(2026, 5, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def downtown(company_a):
    with company_scope(company_a):
        return TeamFactory(company=company_a, name="Downtown", time_zone="America/Chicago")


@pytest.fixture
def fleet(company_a):
    with company_scope(company_a):
        return TeamFactory(company=company_a, name="Fleet Services", time_zone="America/Denver")


@pytest.fixture
def van(company_a, downtown):
    """A registered device of Downtown with license NW-1, on its team's time zone."""
    with company_scope(company_a):
        return DeviceFactory(
            company=company_a,
            team=downtown,
            nickname="Van 3 tablet",
            time_zone="",
            description="",
            license=LicenseFactory(company=company_a, number="NW-1"),
            registered_at=REGISTERED_AT,
            changed_at=REGISTERED_AT,
        )


def last_event(company, action) -> AuditEvent:
    """The latest event of ``action`` in ``company`` (exactly one must exist)."""
    with company_scope(company):
        return AuditEvent.objects.get(action=action)


def change(field, old, new) -> dict[str, str]:
    return {"field": field, "old": old, "new": new}
