"""
Keyset paging, as a property: whatever the times (many of them equal), walking
the Older links lists every visible event exactly once, newest first, and the
Newer links walk back through the same pages.
"""

import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.audit.models import AuditEvent
from backoffice.auditlog.selectors import PAGE_SIZE, AuditLogFilters, audit_log_page
from backoffice.tenancy.scoping import company_scope
from tests.auditlog.helpers import T0

# Offsets in seconds from T0, drawn from a few values so that most times repeat, across the page boundaries.
offsets = st.lists(st.integers(min_value=0, max_value=3), min_size=0, max_size=3 * PAGE_SIZE + 7)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offsets=offsets)
def test_older_and_newer_pages_neither_skip_nor_repeat(company_a, admin_a, offsets):
    with company_scope(company_a):
        AuditEvent.objects.all().delete()
        created = AuditEvent.objects.bulk_create(
            AuditEvent(company=company_a, actor_label="x", action="team.updated", summary=str(n))
            for n in range(len(offsets))
        )
        ids = [event.pk for event in created] if created and created[0].pk else list(
            AuditEvent.objects.order_by("id").values_list("pk", flat=True)
        )  # fmt: skip
        for pk, offset in zip(ids, offsets, strict=True):
            AuditEvent.objects.filter(pk=pk).update(created_at=T0 + datetime.timedelta(seconds=offset))
        expected = list(AuditEvent.objects.order_by("-created_at", "-id").values_list("pk", flat=True))

        filters = AuditLogFilters()
        pages = [audit_log_page(user=admin_a, filters=filters)]
        while pages[-1].older is not None:
            pages.append(audit_log_page(user=admin_a, filters=filters, before=pages[-1].older))
        walked = [row.event.pk for page in pages for row in page.rows]
        assert walked == expected
        assert all(len(page.rows) == PAGE_SIZE for page in pages[:-1])
        assert pages[0].newer is None

        back = [pages[-1]]
        while back[-1].newer is not None:
            back.append(audit_log_page(user=admin_a, filters=filters, after=back[-1].newer))
        assert [[row.event.pk for row in page.rows] for page in reversed(back)] == [
            [row.event.pk for row in page.rows] for page in pages
        ]
