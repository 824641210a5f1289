"""Audit events older than AUDIT_RETENTION_DAYS are pruned, in bounded batches, by the worker's housekeeping."""

import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.audit.services import audit_events_prune, audit_record
from backoffice.notifications.services import worker_tasks_run
from backoffice.tenancy.permissions import HOUSEKEEPING
from backoffice.tenancy.scoping import scopes_disabled

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)


def _events(company, ages_in_days: list[float]) -> None:
    """One event per age, created that many days before NOW."""
    for age in ages_in_days:
        event = audit_record(company=company, actor=HOUSEKEEPING, action="test.event", summary=f"{age} days old")
        with scopes_disabled():
            AuditEvent.objects.filter(pk=event.pk).update(created_at=NOW - datetime.timedelta(days=age))


def _ages() -> list[str]:
    with scopes_disabled():
        return sorted(AuditEvent.objects.filter(action="test.event").values_list("summary", flat=True))


def test_prune_deletes_only_events_older_than_the_retention_in_every_company(settings, company_a, company_b):
    settings.AUDIT_RETENTION_DAYS = 30
    _events(company_a, [1, 29.9, 30.1, 400])
    _events(company_b, [0, 31, 2000])
    assert audit_events_prune(now=NOW) == 4
    assert _ages() == ["0 days old", "1 days old", "29.9 days old"]
    assert audit_events_prune(now=NOW) == 0


def test_prune_works_in_batches_of_bounded_size(settings, company_a):
    settings.AUDIT_RETENTION_DAYS = 730
    _events(company_a, [800 + i for i in range(7)] + [10, 729])
    with CaptureQueriesContext(connection) as queries:
        assert audit_events_prune(now=NOW, batch_size=3) == 7
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("DELETE")]
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    # 3 + 3 + 1: the third, short batch ends it without another read.
    assert len(deletes) == 3
    assert len(selects) == 3
    assert all("LIMIT 3" in sql for sql in selects)
    assert _ages() == ["10 days old", "729 days old"]


def test_a_pass_deletes_at_most_max_batches_and_the_next_goes_on(settings, company_a):
    settings.AUDIT_RETENTION_DAYS = 730
    _events(company_a, [800 + i for i in range(7)] + [10])
    assert audit_events_prune(now=NOW, batch_size=3, max_batches=2) == 6
    assert len(_ages()) == 2
    assert audit_events_prune(now=NOW, batch_size=3, max_batches=2) == 1
    assert _ages() == ["10 days old"]


def test_the_default_retention_is_two_years(company_a):
    now = timezone.now()
    for age in (729, 731):
        event = audit_record(company=company_a, actor=HOUSEKEEPING, action="test.event", summary=f"{age} days old")
        with scopes_disabled():
            AuditEvent.objects.filter(pk=event.pk).update(created_at=now - datetime.timedelta(days=age))
    assert audit_events_prune(now=now) == 1
    assert _ages() == ["729 days old"]


def test_the_worker_housekeeping_prunes_the_trail(settings, company_a):
    settings.AUDIT_RETENTION_DAYS = 3
    event = audit_record(company=company_a, actor=HOUSEKEEPING, action="test.event", summary="old")
    with scopes_disabled():
        AuditEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - datetime.timedelta(days=4))
    results = worker_tasks_run()
    assert "audit: pruned 1 event older than 3 days" in results
    assert _ages() == []
