import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from backoffice.tenancy.models import Company
from backoffice.tenancy.services import company_settings_update
from tests.dbstate import snapshot


def settings_of(company):
    company = Company.objects.get(pk=company.pk)
    return (company.default_time_zone, company.default_functionality, company.area_support)


# What the form posts besides the field a test is about.
VALID = {
    "default_time_zone": "UTC",
    "default_functionality": ["photos"],
    "expired_code_grace_days": "7",
    "two_factor_required": "optional",
}


def test_administrator_changes_settings(as_admin_a, company_a):
    page = as_admin_a.get("/settings/").content.decode()
    assert 'id="area-support"><span class="badge badge--neutral">Not subscribed</span>' in page
    assert 'name="default_functionality" value="vin_scanner"' in page
    assert 'name="expired_code_grace_days" value="7"' in page
    response = as_admin_a.post(
        "/settings/",
        {
            "default_time_zone": "Europe/Paris",
            "default_functionality": ["photos", "inspections"],
            "expired_code_grace_days": "30",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/settings/"
    assert settings_of(company_a) == ("Europe/Paris", ["inspections", "photos"], False)
    assert Company.objects.get(pk=company_a.pk).expired_code_grace_days == 30


def test_no_functionality_at_all_is_refused(as_admin_a, company_a):
    before = snapshot()
    response = as_admin_a.post("/settings/", {"default_time_zone": "UTC", "expired_code_grace_days": "7"})
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "default_functionality": [
            "Pick at least one function: with none, ReconPro would offer nothing on the devices that use "
            "company settings."
        ]
    }
    assert "Pick at least one function" in response.content.decode()
    assert snapshot() == before


def test_the_service_refuses_no_functionality_too(admin_a, company_a):
    with pytest.raises(ValidationError) as raised:
        company_settings_update(acting_user=admin_a, default_time_zone="UTC", default_functionality=[])
    assert list(raised.value.message_dict) == ["default_functionality"]
    assert settings_of(company_a)[1] != []


@pytest.mark.parametrize("days", [0, 90])
def test_grace_days_bounds_are_accepted(as_admin_a, company_a, days):
    response = as_admin_a.post("/settings/", {**VALID, "expired_code_grace_days": str(days)})
    assert response.status_code == 302
    assert Company.objects.get(pk=company_a.pk).expired_code_grace_days == days


@pytest.mark.parametrize("days", ["-1", "91", "", "seven", "1.5"])
def test_bad_grace_days_change_nothing(as_admin_a, days):
    before = snapshot()
    response = as_admin_a.post("/settings/", {**VALID, "expired_code_grace_days": days})
    assert response.status_code == 200
    assert response.context["form"].errors == {"expired_code_grace_days": ["Enter a number of days from 0 to 90."]}
    assert snapshot() == before


def test_the_database_refuses_more_than_90_grace_days(company_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Company.objects.filter(pk=company_a.pk).update(expired_code_grace_days=91)


def test_area_support_cannot_be_switched_from_the_page(as_admin_a, company_a):
    as_admin_a.post("/settings/", {**VALID, "area_support": "on"})
    assert settings_of(company_a)[2] is False


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"default_time_zone": ""}, {"default_time_zone": ["This field is required."]}),
        (
            {"default_time_zone": "Atlantis/Capital"},
            {"default_time_zone": ["Choose a time zone from the list, e.g. America/Chicago."]},
        ),
        (
            {"default_time_zone": "x" * 65},
            {"default_time_zone": ["Ensure this value has at most 64 characters (it has 65)."]},
        ),
        (
            {"default_time_zone": "UTC", "default_functionality": ["photos", "teleport"]},
            {"default_functionality": ["Select a valid choice. teleport is not one of the available choices."]},
        ),
    ],
)
def test_bad_settings_change_nothing(as_admin_a, data, errors):
    before = snapshot()
    response = as_admin_a.post("/settings/", {**VALID, **data})
    assert response.status_code == 200
    assert response.context["form"].errors == errors
    assert snapshot() == before


def test_other_roles_read_settings_without_a_form(as_teamadmin_a, as_viewer_a, company_a):
    Company.objects.filter(pk=company_a.pk).update(area_support=True, default_functionality=["photos", "invoices"])
    for http in (as_teamadmin_a, as_viewer_a):
        html = http.get("/settings/").content.decode()
        assert '<form method="post" class="card__body"' not in html
        assert "Save settings" not in html
        assert (
            '<span class="badge badge--neutral">Invoices</span> <span class="badge badge--neutral">Photos</span>'
            in html
        )
        assert '<span class="badge badge--active">Subscribed</span>' in html
        assert '<dd id="grace-days">7 days</dd>' in html


def test_settings_of_each_company_are_its_own(as_admin_b, company_a, company_b):
    as_admin_b.post("/settings/", {**VALID, "default_time_zone": "Asia/Tokyo"})
    assert settings_of(company_b)[0] == "Asia/Tokyo"
    assert settings_of(company_a)[0] == "America/Chicago"
