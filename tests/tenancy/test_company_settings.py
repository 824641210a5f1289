import pytest

from backoffice.tenancy.models import Company
from tests.dbstate import snapshot


def settings_of(company):
    company = Company.objects.get(pk=company.pk)
    return (company.default_time_zone, company.default_functionality, company.area_support)


def test_administrator_changes_settings(as_admin_a, company_a):
    page = as_admin_a.get("/settings/").content.decode()
    assert 'id="area-support"><span class="badge badge--neutral">Not subscribed</span>' in page
    assert 'name="default_functionality" value="vin_scanner"' in page
    response = as_admin_a.post(
        "/settings/", {"default_time_zone": "Europe/Paris", "default_functionality": ["photos", "inspections"]}
    )
    assert response.status_code == 302
    assert response["Location"] == "/settings/"
    assert settings_of(company_a) == ("Europe/Paris", ["inspections", "photos"], False)


def test_no_functionality_at_all_is_allowed(as_admin_a, company_a):
    as_admin_a.post("/settings/", {"default_time_zone": "UTC"})
    assert settings_of(company_a) == ("UTC", [], False)


def test_area_support_cannot_be_switched_from_the_page(as_admin_a, company_a):
    as_admin_a.post("/settings/", {"default_time_zone": "UTC", "area_support": "on"})
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
    response = as_admin_a.post("/settings/", data)
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


def test_settings_of_each_company_are_its_own(as_admin_b, company_a, company_b):
    as_admin_b.post("/settings/", {"default_time_zone": "Asia/Tokyo"})
    assert settings_of(company_b)[0] == "Asia/Tokyo"
    assert settings_of(company_a)[0] == "America/Chicago"
