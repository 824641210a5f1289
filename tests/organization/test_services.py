"""The services refuse what the views refuse, for callers that are not views."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from backoffice.organization import services
from backoffice.organization.models import Team
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot


def test_viewer_and_team_administrator_cannot_create_teams(company_a, viewer_a, teamadmin_a):
    before = snapshot()
    with company_scope(company_a):
        for user in (viewer_a, teamadmin_a):
            with pytest.raises(PermissionDenied):
                services.team_create(acting_user=user, name="Nope", time_zone="UTC")
    assert snapshot() == before


def test_deactivated_administrator_cannot_write(company_a, admin_a):
    admin_a.is_active = False
    before = snapshot()
    with company_scope(company_a), pytest.raises(PermissionDenied):
        services.area_create(acting_user=admin_a, name="North")
    assert snapshot() == before


def test_too_long_and_blank_values_are_refused_by_the_services(company_a, admin_a, team_a):
    before = snapshot()
    with company_scope(company_a):
        with pytest.raises(ValidationError) as excinfo:
            services.team_create(acting_user=admin_a, name="t" * 101, time_zone="Moon/Base")
        assert excinfo.value.message_dict == {
            "name": ["Ensure this value has at most 100 characters (it has 101)."],
            "time_zone": ["Choose a time zone from the list."],
        }
        with pytest.raises(ValidationError) as excinfo:
            services.employee_create(acting_user=admin_a, name=" ", email="e" * 250 + "@x.io", team=team_a)
        assert excinfo.value.message_dict == {
            "name": ["Enter a name."],
            "email": ["Ensure this value has at most 254 characters (it has 255)."],
        }
        with pytest.raises(ValidationError) as excinfo:
            services.client_create(acting_user=admin_a, name="c" * 151, client_type="fleet")
        assert excinfo.value.message_dict == {
            "name": ["Ensure this value has at most 150 characters (it has 151)."],
            "client_type": ["Choose Retail or Wholesale."],
        }
    assert snapshot() == before


def test_employee_of_another_company_team_is_refused(company_a, company_b, admin_a):
    with company_scope(company_b):
        team_b = Team.objects.get()
    before = snapshot()
    with company_scope(company_a), pytest.raises(ValidationError):
        services.employee_create(acting_user=admin_a, name="X", email="x@a.example", team=team_b)
    assert snapshot() == before


def test_team_administrator_cannot_place_employees_in_another_team(company_a, teamadmin_a, default_team_a):
    before = snapshot()
    with company_scope(company_a), pytest.raises(ValidationError) as excinfo:
        services.employee_create(acting_user=teamadmin_a, name="X", email="x@a.example", team=default_team_a)
    assert excinfo.value.message_dict == {"team": ["You can only manage employees of your own team."]}
    assert snapshot() == before
