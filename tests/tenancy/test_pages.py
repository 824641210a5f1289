import pytest
from django.test import Client as HttpClient

from backoffice.tenancy.models import User
from backoffice.tenancy.scoping import company_scope
from tests.factories import PASSWORD, AreaFactory, ClientFactory, EmployeeFactory

PAGES = ["/teams/", "/employees/", "/clients/", "/areas/", "/licenses/", "/users/", "/settings/"]


@pytest.fixture
def some_rows(company_a, team_a):
    with company_scope(company_a):
        EmployeeFactory(company=company_a, team=team_a)
        EmployeeFactory(company=company_a, team=team_a, is_active=False)
        ClientFactory(company=company_a, area=AreaFactory(company=company_a))


@pytest.mark.parametrize("path", PAGES)
def test_every_role_reads_every_page(as_admin_a, as_teamadmin_a, as_viewer_a, some_rows, path):
    for http in (as_admin_a, as_teamadmin_a, as_viewer_a):
        assert http.get(path).status_code == 200


@pytest.mark.parametrize("path", [*PAGES, "/employees/?status=all"])
def test_viewer_gets_no_write_control(as_viewer_a, some_rows, path):
    html = as_viewer_a.get(path).content.decode()
    # The only form that posts is the sign-out button.
    assert html.count('method="post"') == 1
    for control in ("/add/", "/edit/", "/delete/", "/archive/", "/restore/", "activate/", ">Save"):
        assert control not in html


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(path):
    response = HttpClient().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


@pytest.mark.parametrize("path", PAGES)
def test_operators_get_404_on_company_pages(path):
    operator = User.objects.create_superuser("op@service.example", PASSWORD)
    http = HttpClient()
    http.force_login(operator)
    assert http.get(path).status_code == 404


def test_navigation_links_every_page(as_admin_a):
    html = as_admin_a.get("/teams/").content.decode()
    for path in PAGES:
        assert f'href="{path}"' in html
    assert 'href="/teams/" aria-current="page"' in html


@pytest.mark.parametrize("path", ["/employees/", "/clients/", "/licenses/"])
def test_lists_with_htmx_fragments_vary_on_the_htmx_header(as_admin_a, path):
    full = as_admin_a.get(path)
    fragment = as_admin_a.get(path, headers={"HX-Request": "true"})
    assert "HX-Request" in full["Vary"]
    assert "HX-Request" in fragment["Vary"]
    assert "<html" in full.content.decode()
    assert "<html" not in fragment.content.decode()
