import pytest

from backoffice.tenancy.scoping import company_scope
from tests.factories import LicenseFactory


@pytest.fixture
def licenses_a(company_a):
    """Three free licenses of Company A."""
    with company_scope(company_a):
        return [LicenseFactory(company=company_a) for _ in range(3)]
