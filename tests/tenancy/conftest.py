import pytest

from backoffice.tenancy.choices import Role
from tests.factories import make_user


@pytest.fixture
def viewer2_a(company_a):
    """A second Viewer of company A, for administrators to change."""
    return make_user(company_a, Role.VIEWER, email="viewer2@a.example")


@pytest.fixture
def inactive_a(company_a):
    user = make_user(company_a, Role.VIEWER, email="gone@a.example")
    user.is_active = False
    user.save(update_fields=["is_active"])
    return user
