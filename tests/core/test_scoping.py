import pytest
from django.db import IntegrityError, transaction

from backoffice.devices.models import Device
from backoffice.licensing.models import License
from backoffice.organization.models import Employee, Team
from backoffice.tenancy.scoping import ScopeError, company_scope
from tests.factories import DeviceFactory, EmployeeFactory, LicenseFactory, TeamFactory


def test_query_without_company_scope_raises(company_a):
    with pytest.raises(ScopeError):
        list(Team.objects.all())
    with pytest.raises(ScopeError):
        Device.objects.filter(nickname="x").count()


def test_scope_with_no_company_is_refused():
    with pytest.raises(ScopeError), company_scope(None):  # type: ignore[arg-type]
        pass


def test_scope_shows_only_its_company(company_a, company_b):
    with company_scope(company_a):
        TeamFactory(company=company_a, name="Only in A")
    with company_scope(company_b):
        assert list(Team.objects.values_list("name", flat=True)) == ["Default Team"]
    with company_scope(company_a):
        assert sorted(Team.objects.values_list("name", flat=True)) == ["Default Team", "Only in A"]


def test_license_is_held_by_at_most_one_device(company_a, default_team_a):
    with company_scope(company_a):
        lic = LicenseFactory(company=company_a)
        DeviceFactory(company=company_a, team=default_team_a, license=lic)
        with pytest.raises(IntegrityError), transaction.atomic():
            DeviceFactory(company=company_a, team=default_team_a, license=lic)
        assert Device.objects.filter(license=lic).count() == 1


def test_device_team_must_belong_to_device_company(company_a, company_b):
    with company_scope(company_b):
        team_b = Team.objects.get(is_default=True)
    with company_scope(company_a), pytest.raises(IntegrityError), transaction.atomic():
        DeviceFactory(company=company_a, team=team_b)
    with company_scope(company_a):
        assert Device.objects.count() == 0


def test_device_license_must_belong_to_device_company(company_a, company_b, default_team_a):
    with company_scope(company_b):
        lic_b = LicenseFactory(company=company_b)
    with company_scope(company_a), pytest.raises(IntegrityError), transaction.atomic():
        DeviceFactory(company=company_a, team=default_team_a, license=lic_b)
    with company_scope(company_a):
        assert Device.objects.count() == 0


def test_moving_a_device_to_another_company_team_fails(company_a, company_b, default_team_a):
    with company_scope(company_b):
        team_b = Team.objects.get(is_default=True)
    with company_scope(company_a):
        device = DeviceFactory(company=company_a, team=default_team_a)
        with pytest.raises(IntegrityError), transaction.atomic():
            Device.objects.filter(pk=device.pk).update(team=team_b)
        device.refresh_from_db()
        assert device.team_id == default_team_a.pk


def test_employee_team_must_belong_to_employee_company(company_a, company_b):
    with company_scope(company_b):
        team_b = Team.objects.get(is_default=True)
    with company_scope(company_a), pytest.raises(IntegrityError), transaction.atomic():
        EmployeeFactory(company=company_a, team=team_b)
    with company_scope(company_a):
        assert Employee.objects.count() == 0


def test_license_number_is_unique_within_company(company_a, company_b):
    with company_scope(company_a):
        LicenseFactory(company=company_a, number="L-1")
        with pytest.raises(IntegrityError), transaction.atomic():
            LicenseFactory(company=company_a, number="L-1")
    with company_scope(company_b):
        LicenseFactory(company=company_b, number="L-1")
        assert License.objects.count() == 1


def test_every_company_gets_one_default_team(company_a):
    with company_scope(company_a):
        assert list(Team.objects.filter(is_default=True).values_list("name", flat=True)) == ["Default Team"]
        with pytest.raises(IntegrityError), transaction.atomic():
            Team.objects.create(company=company_a, name="Second default", time_zone="UTC", is_default=True)
