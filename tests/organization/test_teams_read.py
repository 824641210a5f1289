from backoffice.organization.models import Team
from backoffice.tenancy.scoping import company_scope


def test_team_pages_answer_404_to_another_company(as_admin_a, as_admin_b, company_a, team_a):
    assert as_admin_a.get(f"/teams/{team_a.pk}/").status_code == 200
    assert as_admin_b.get(f"/teams/{team_a.pk}/").status_code == 404
    assert as_admin_b.get("/teams/999999/").status_code == 404
    assert "Alpha Team" not in as_admin_b.get("/teams/").content.decode()
    with company_scope(company_a):
        assert Team.objects.get(pk=team_a.pk).name == "Alpha Team"
