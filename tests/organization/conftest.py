import pytest

from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope
from tests.factories import AreaFactory, ClientFactory, EmployeeFactory


@pytest.fixture
def area_support_a(company_a):
    """Company A subscribed to Area Support."""
    Company.objects.filter(pk=company_a.pk).update(area_support=True)
    company_a.refresh_from_db()
    return company_a


@pytest.fixture
def area_a(company_a):
    with company_scope(company_a):
        return AreaFactory(company=company_a, name="North Metro")


@pytest.fixture
def area_b(company_b):
    with company_scope(company_b):
        return AreaFactory(company=company_b, name="Bay Area")


@pytest.fixture
def employee_a(company_a, team_a):
    with company_scope(company_a):
        return EmployeeFactory(company=company_a, team=team_a, name="Ana Alvarez", email="ana@a.example")


@pytest.fixture
def other_team_employee_a(company_a, default_team_a):
    with company_scope(company_a):
        return EmployeeFactory(company=company_a, team=default_team_a, name="Ben Brooks", email="ben@a.example")


@pytest.fixture
def client_a(company_a):
    with company_scope(company_a):
        return ClientFactory(company=company_a, name="Metro Ford", client_type="wholesale")
