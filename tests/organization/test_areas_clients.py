import pytest

from backoffice.organization.models import Area, Client, Team
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot
from tests.factories import ClientFactory


def area_names(company):
    with company_scope(company):
        return list(Area.objects.order_by("name").values_list("name", flat=True))


def client_rows(company):
    with company_scope(company):
        return list(Client.objects.order_by("name").values_list("name", "client_type", "area__name", "is_active"))


def listed(response) -> list[str]:
    return [c.name for c in response.context["page"].object_list]


# Areas


def test_areas_list_with_counts(as_admin_a, company_a, area_a, team_a, client_a):
    with company_scope(company_a):
        Team.objects.filter(pk=team_a.pk).update(area=area_a)
        Client.objects.filter(pk=client_a.pk).update(area=area_a)
    response = as_admin_a.get("/areas/")
    assert [(a.name, a.team_count, a.client_count) for a in response.context["areas"]] == [("North Metro", 1, 1)]
    html = response.content.decode()
    assert "not subscribed to Area Support" in html
    assert f'href="/areas/{area_a.pk}/edit/"' in html


def test_add_rename_and_delete_area(as_admin_a, company_a):
    assert as_admin_a.post("/areas/add/", {"name": "South County"}).status_code == 302
    assert area_names(company_a) == ["South County"]
    with company_scope(company_a):
        area = Area.objects.get()
    assert as_admin_a.post(f"/areas/{area.pk}/edit/", {"name": "South"}).status_code == 302
    assert area_names(company_a) == ["South"]
    assert as_admin_a.post(f"/areas/{area.pk}/delete/").status_code == 302
    assert area_names(company_a) == []


def test_deleting_an_area_keeps_its_teams_and_clients_without_area(as_admin_a, company_a, area_a, team_a, client_a):
    with company_scope(company_a):
        Team.objects.filter(pk=team_a.pk).update(area=area_a)
        Client.objects.filter(pk=client_a.pk).update(area=area_a)
    page = as_admin_a.get(f"/areas/{area_a.pk}/delete/").content.decode()
    assert "1 team and 1 client are in this area. They are kept and will have no area" in page
    as_admin_a.post(f"/areas/{area_a.pk}/delete/")
    with company_scope(company_a):
        assert Team.objects.get(pk=team_a.pk).area_id is None
    assert client_rows(company_a) == [("Metro Ford", "wholesale", None, True)]


@pytest.mark.parametrize(
    ("name", "errors"),
    [
        ("", {"name": ["This field is required."]}),
        ("y" * 101, {"name": ["Ensure this value has at most 100 characters (it has 101)."]}),
        ("north METRO", {"name": ["An area with this name already exists."]}),
    ],
)
def test_area_bad_input(as_admin_a, area_a, name, errors):
    before = snapshot()
    added = as_admin_a.post("/areas/add/", {"name": name})
    assert added.context["form"].errors == errors
    assert snapshot() == before


def test_area_rename_to_duplicate_is_refused(as_admin_a, company_a, area_a):
    with company_scope(company_a):
        other = Area.objects.create(company=company_a, name="South")
    before = snapshot()
    response = as_admin_a.post(f"/areas/{other.pk}/edit/", {"name": "NORTH metro"})
    assert response.context["form"].errors == {"name": ["An area with this name already exists."]}
    assert snapshot() == before


def test_areas_of_another_company_answer_404(as_admin_b, area_a):
    before = snapshot()
    assert as_admin_b.get(f"/areas/{area_a.pk}/edit/").status_code == 404
    assert as_admin_b.get(f"/areas/{area_a.pk}/delete/").status_code == 404
    assert as_admin_b.post(f"/areas/{area_a.pk}/edit/", {"name": "Mine"}).status_code == 404
    assert as_admin_b.post(f"/areas/{area_a.pk}/delete/").status_code == 404
    assert "North Metro" not in as_admin_b.get("/areas/").content.decode()
    assert snapshot() == before


def test_areas_read_only_for_team_administrator_and_viewer(as_teamadmin_a, as_viewer_a, area_a):
    for http in (as_teamadmin_a, as_viewer_a):
        html = http.get("/areas/").content.decode()
        assert "North Metro" in html
        assert "/areas/add/" not in html
        assert "/edit/" not in html


# Clients


def test_add_and_edit_client_with_area_support(as_admin_a, area_support_a, area_a):
    html = as_admin_a.get("/clients/add/").content.decode()
    assert 'name="area"' in html
    response = as_admin_a.post(
        "/clients/add/", {"name": "Lakeside Toyota", "client_type": "retail", "area": area_a.pk, "is_active": "on"}
    )
    assert response.status_code == 302
    assert client_rows(area_support_a) == [("Lakeside Toyota", "retail", "North Metro", True)]
    with company_scope(area_support_a):
        client = Client.objects.get()
    as_admin_a.post(f"/clients/{client.pk}/edit/", {"name": "Lakeside", "client_type": "wholesale", "area": ""})
    assert client_rows(area_support_a) == [("Lakeside", "wholesale", None, False)]


def test_client_without_area_support_has_no_area_field(as_admin_a, company_a, area_a):
    assert 'name="area"' not in as_admin_a.get("/clients/add/").content.decode()
    as_admin_a.post("/clients/add/", {"name": "Metro", "client_type": "retail", "area": area_a.pk, "is_active": "on"})
    assert client_rows(company_a) == [("Metro", "retail", None, True)]


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"name": "", "client_type": ""},
            {"name": ["This field is required."], "client_type": ["This field is required."]},
        ),
        (
            {"name": "z" * 151, "client_type": "retail"},
            {"name": ["Ensure this value has at most 150 characters (it has 151)."]},
        ),
        (
            {"name": "Metro", "client_type": "fleet"},
            {"client_type": ["Select a valid choice. fleet is not one of the available choices."]},
        ),
    ],
)
def test_client_bad_input(as_admin_a, client_a, data, errors):
    before = snapshot()
    added = as_admin_a.post("/clients/add/", data)
    assert added.context["form"].errors == errors
    edited = as_admin_a.post(f"/clients/{client_a.pk}/edit/", data)
    assert edited.context["form"].errors == errors
    assert snapshot() == before


def test_client_with_another_company_area_is_refused(as_admin_a, area_support_a, area_b, client_a):
    before = snapshot()
    data = {"name": "Metro", "client_type": "retail", "area": area_b.pk}
    error = {"area": ["Select a valid choice. That choice is not one of the available choices."]}
    assert as_admin_a.post("/clients/add/", data).context["form"].errors == error
    assert as_admin_a.post(f"/clients/{client_a.pk}/edit/", data).context["form"].errors == error
    assert snapshot() == before


@pytest.fixture
def many_clients(company_a, area_a):
    with company_scope(company_a):
        ClientFactory(company=company_a, name="Alpha Retail", client_type="retail", area=area_a)
        ClientFactory(company=company_a, name="Beta Wholesale", client_type="wholesale", area=area_a)
        ClientFactory(company=company_a, name="Gamma Wholesale", client_type="wholesale", is_active=False)
        ClientFactory(company=company_a, name="Delta Retail", client_type="retail")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Alpha Retail", "Beta Wholesale", "Delta Retail", "Gamma Wholesale"]),
        ("name=retail", ["Alpha Retail", "Delta Retail"]),
        ("type=wholesale", ["Beta Wholesale", "Gamma Wholesale"]),
        ("active=no", ["Gamma Wholesale"]),
        ("active=yes&type=retail", ["Alpha Retail", "Delta Retail"]),
        ("type=bogus&active=maybe", ["Alpha Retail", "Beta Wholesale", "Delta Retail", "Gamma Wholesale"]),
        ("area=abc", ["Alpha Retail", "Beta Wholesale", "Delta Retail", "Gamma Wholesale"]),
    ],
)
def test_client_search(as_admin_a, many_clients, query, expected):
    assert listed(as_admin_a.get(f"/clients/?{query}")) == expected


def test_client_search_by_area(as_admin_a, many_clients, area_a):
    assert listed(as_admin_a.get(f"/clients/?area={area_a.pk}")) == ["Alpha Retail", "Beta Wholesale"]


def test_client_search_by_another_company_area_finds_nothing(as_admin_b, many_clients, area_a):
    assert listed(as_admin_b.get(f"/clients/?area={area_a.pk}")) == []


def test_client_list_pages_by_fifty_keeping_the_search(as_admin_a, company_a):
    with company_scope(company_a):
        for i in range(55):
            ClientFactory(company=company_a, name=f"Dealer {i:02d}", client_type="wholesale")
        ClientFactory(company=company_a, name="Dealer retail", client_type="retail")
    first = as_admin_a.get("/clients/?type=wholesale")
    assert len(listed(first)) == 50
    assert "55 clients · showing 1–50" in first.content.decode()
    assert 'href="?type=wholesale&amp;page=2"' in first.content.decode()
    assert listed(as_admin_a.get("/clients/?type=wholesale&page=2")) == [f"Dealer {i}" for i in range(50, 55)]


def test_htmx_client_search_renders_only_the_table(as_admin_a, client_a):
    html = as_admin_a.get("/clients/?name=metro", headers={"HX-Request": "true"}).content.decode()
    assert html.lstrip().startswith('<section class="card" id="client-table"')


def test_clients_of_another_company_answer_404(as_admin_b, client_a):
    before = snapshot()
    assert as_admin_b.get(f"/clients/{client_a.pk}/edit/").status_code == 404
    response = as_admin_b.post(f"/clients/{client_a.pk}/edit/", {"name": "Mine", "client_type": "retail"})
    assert response.status_code == 404
    assert "Metro Ford" not in as_admin_b.get("/clients/").content.decode()
    assert snapshot() == before


def test_clients_read_only_for_team_administrator_and_viewer(as_teamadmin_a, as_viewer_a, client_a):
    for http in (as_teamadmin_a, as_viewer_a):
        html = http.get("/clients/").content.decode()
        assert "Metro Ford" in html
        assert "/clients/add/" not in html
        assert "/edit/" not in html
