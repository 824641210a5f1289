"""Helpers of the batch-add and code-sheet tests: free licenses and the dialog's post for several devices."""

from backoffice.licensing.models import License
from backoffice.tenancy.scoping import company_scope
from tests.factories import LicenseFactory


def free_licenses(company, count: int, *, prefix: str = "BT") -> list[License]:
    """``count`` free licenses of ``company``, numbered ``<prefix>-00001``…"""
    with company_scope(company):
        return [LicenseFactory(company=company, number=f"{prefix}-{i + 1:05d}") for i in range(count)]


def batch_payload(*, team, **overrides) -> dict:
    """What the Device dialog posts when OK is clicked with a quantity or a list of nicknames."""
    data = {
        "team": str(team.pk),
        "time_zone": "",
        "license": "",
        "nickname": "Van tablet",
        "quantity": "20",
        "nicknames": "",
        "description": "Rollout day",
        "email": "",
        "expires_in": "1440",
        "employee": "",
        "recipients": ["lead@a.example", "tech@a.example"],
        "action": "save",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
