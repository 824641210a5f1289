"""The "Viewers may see the audit log" setting on the company settings page, saved and audited."""

import re

from backoffice.tenancy.models import Company
from tests.audit.conftest import change, last_event
from tests.dbstate import snapshot

VALID = {"default_time_zone": "America/Chicago", "default_functionality": ["photos"], "expired_code_grace_days": "7"}


def test_administrator_lets_viewers_see_the_audit_log(as_admin_a, admin_a, company_a):
    page = as_admin_a.get("/settings/").content.decode()
    assert 'name="audit_log_for_viewers"' in page
    assert "Viewers may see the audit log" in page
    response = as_admin_a.post("/settings/", {**VALID, "audit_log_for_viewers": "on"})
    assert response.status_code == 302
    assert Company.objects.get(pk=company_a.pk).audit_log_for_viewers is True
    assert re.search(r'name="audit_log_for_viewers"[^>]* checked>', as_admin_a.get("/settings/").content.decode())
    event = last_event(company_a, "company.settings_updated")
    assert event.actor_id == admin_a.pk
    assert event.changes == [
        change(
            "Allowed functionality",
            "Inspections, Invoices, Photos, Service Requests, Signatures, Time Sheets, VIN Scanner, Work Orders",
            "Photos",
        ),
        change("Viewers may see the audit log", "No", "Yes"),
    ]


def test_unticking_it_turns_it_off(as_admin_a, company_a):
    Company.objects.filter(pk=company_a.pk).update(audit_log_for_viewers=True)
    assert as_admin_a.post("/settings/", VALID).status_code == 302
    assert Company.objects.get(pk=company_a.pk).audit_log_for_viewers is False


def test_viewers_see_the_setting_but_cannot_change_it(as_viewer_a, company_a):
    page = as_viewer_a.get("/settings/").content.decode()
    assert '<dt>Viewers may see the audit log</dt><dd id="audit-log-for-viewers">No</dd>' in page
    before = snapshot()
    assert as_viewer_a.post("/settings/", {**VALID, "audit_log_for_viewers": "on"}).status_code == 403
    assert snapshot() == before


def test_bad_input_is_a_form_error_and_changes_nothing(as_admin_a, company_a):
    before = snapshot()
    response = as_admin_a.post(
        "/settings/", {**VALID, "default_time_zone": "Mars/Olympus\x00", "audit_log_for_viewers": "on"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert snapshot() == before
