"""Operators read every company's events in the Django admin, and change none."""

from backoffice.audit.models import AuditEvent
from backoffice.tenancy.scoping import scopes_disabled
from tests.auditlog.helpers import record

CHANGELIST = "/admin/audit/auditevent/"


def _setup(company_a, company_b, admin_a, admin_b):
    a = record(company_a, admin_a, "device.changed", summary="Van changed in A")
    b = record(company_b, admin_b, "team.created", summary="Team made in B")
    return a, b


def test_operators_see_every_companys_events_filter_and_search(as_operator, company_a, company_b, admin_a, admin_b):
    a, b = _setup(company_a, company_b, admin_a, admin_b)
    html = as_operator.get(CHANGELIST).content.decode()
    assert "Van changed in A" in html
    assert "Team made in B" in html
    assert "Device changed" in html  # the action's label
    only_b = as_operator.get(CHANGELIST, {"company__id__exact": company_b.pk}).content.decode()
    assert "Team made in B" in only_b
    assert "Van changed in A" not in only_b
    by_action = as_operator.get(CHANGELIST, {"action": "device.changed"}).content.decode()
    assert "Van changed in A" in by_action
    assert "Team made in B" not in by_action
    searched = as_operator.get(CHANGELIST, {"q": "admin@b.example"}).content.decode()
    assert "Team made in B" in searched
    assert "Van changed in A" not in searched
    assert as_operator.get(f"{CHANGELIST}{a.pk}/change/").status_code == 200


def test_the_trail_is_read_only(as_operator, company_a, company_b, admin_a, admin_b):
    a, _ = _setup(company_a, company_b, admin_a, admin_b)
    assert as_operator.get(f"{CHANGELIST}add/").status_code == 403
    assert as_operator.post(f"{CHANGELIST}{a.pk}/delete/", {"post": "yes"}).status_code == 403
    as_operator.post(f"{CHANGELIST}{a.pk}/change/", {"summary": "rewritten"})
    as_operator.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [a.pk], "post": "yes"})
    with scopes_disabled():
        assert AuditEvent.objects.get(pk=a.pk).summary == "Van changed in A"
        assert AuditEvent.objects.count() >= 2


def test_company_users_cannot_open_the_admin(as_admin_a, company_a, company_b, admin_a, admin_b):
    _setup(company_a, company_b, admin_a, admin_b)
    response = as_admin_a.get(CHANGELIST)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
