import datetime
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice.tenancy.scoping import company_scope
from tests.factories import DeviceFactory, LicenseFactory, company_today


def listed(response) -> list[str]:
    return [lic.number for lic in response.context["page"].object_list]


def test_lists_licenses_with_status_expiry_holder_and_counts(as_admin_a, company_a, team_a):
    today = company_today(company_a)
    with company_scope(company_a):
        held = LicenseFactory(company=company_a, number="L-001", license_type="professional", expires_on=None)
        LicenseFactory(company=company_a, number="L-002", expires_on=datetime.date(2031, 5, 6))
        LicenseFactory(company=company_a, number="L-003", expires_on=today - datetime.timedelta(days=1))
        LicenseFactory(company=company_a, number="L-004", is_suspended=True)
        device = DeviceFactory(company=company_a, team=team_a, license=held, nickname="Front desk iPad")
    response = as_admin_a.get("/licenses/")
    html = response.content.decode()
    assert response.status_code == 200
    assert listed(response) == ["L-001", "L-002", "L-003", "L-004"]
    assert re.search(r'id="licenses-total">4<', html)
    assert re.search(r'id="licenses-free">1<', html)
    assert f'<a href="/devices/{device.pk}/">Front desk iPad</a>' in html
    assert "Professional" in html
    assert '<span class="badge badge--active">Active</span>' in html
    assert '<span class="badge badge--expired">Expired</span>' in html
    assert '<span class="badge badge--suspended">Suspended</span>' in html
    assert '<time datetime="2031-05-06">2031-05-06</time>' in html
    assert "never" in html


def test_filter_by_status(as_admin_a, company_a):
    today = company_today(company_a)
    with company_scope(company_a):
        LicenseFactory(company=company_a, number="A-1")
        LicenseFactory(company=company_a, number="A-2", expires_on=today)
        LicenseFactory(company=company_a, number="E-1", expires_on=today - datetime.timedelta(days=1))
        LicenseFactory(company=company_a, number="S-1", is_suspended=True)
        LicenseFactory(
            company=company_a, number="S-2", is_suspended=True, expires_on=today - datetime.timedelta(days=1)
        )
    assert listed(as_admin_a.get("/licenses/?status=active")) == ["A-1", "A-2"]
    assert listed(as_admin_a.get("/licenses/?status=expired")) == ["E-1"]
    assert listed(as_admin_a.get("/licenses/?status=suspended")) == ["S-1", "S-2"]
    assert listed(as_admin_a.get("/licenses/?status=nonsense")) == ["A-1", "A-2", "E-1", "S-1", "S-2"]


def test_query_count_is_fixed(as_admin_a, company_a, team_a):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert as_admin_a.get("/licenses/").status_code == 200
        return len(ctx.captured_queries)

    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, license=LicenseFactory(company=company_a))
    few = count()
    with company_scope(company_a):
        for _ in range(30):
            DeviceFactory(company=company_a, team=team_a, license=LicenseFactory(company=company_a))
    assert count() == few


def test_team_administrator_sees_other_teams_holders_without_link(as_teamadmin_a, company_a, team_a, default_team_a):
    with company_scope(company_a):
        mine = DeviceFactory(company=company_a, team=team_a, nickname="Mine", license=LicenseFactory(company=company_a))
        DeviceFactory(
            company=company_a, team=default_team_a, nickname="Theirs", license=LicenseFactory(company=company_a)
        )
    html = as_teamadmin_a.get("/licenses/").content.decode()
    assert f'<a href="/devices/{mine.pk}/">Mine</a>' in html
    assert "Theirs" not in html
    assert "A device of another team" in html


def test_other_company_licenses_are_invisible(as_admin_b, company_a):
    with company_scope(company_a):
        LicenseFactory(company=company_a, number="SECRET-1")
    response = as_admin_b.get("/licenses/")
    assert listed(response) == []
    assert "SECRET-1" not in response.content.decode()


def test_viewer_sees_licenses(as_viewer_a, company_a):
    with company_scope(company_a):
        LicenseFactory(company=company_a, number="V-1")
    assert listed(as_viewer_a.get("/licenses/")) == ["V-1"]


def test_licenses_page_pages_by_fifty(as_admin_a, company_a):
    with company_scope(company_a):
        for i in range(51):
            LicenseFactory(company=company_a, number=f"P-{i:03d}")
    assert len(listed(as_admin_a.get("/licenses/"))) == 50
    assert listed(as_admin_a.get("/licenses/?page=2")) == ["P-050"]
