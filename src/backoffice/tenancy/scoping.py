"""
Tenant scoping that fails closed.

Every tenant-owned model uses django-scopes' ``ScopedManager``: a query on it
raises ``ScopeError`` unless code runs inside ``company_scope(company)``. The
middleware opens the scope for a signed-in user's company and the device API
opens it for the authenticated device's company. Jobs that must cross
companies (the email outbox worker, operators' admin pages) say so explicitly
with ``scopes_disabled()``, which is greppable.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django_scopes import scope, scopes_disabled
from django_scopes.exceptions import ScopeError

from backoffice.tenancy.models import Company

__all__ = ["ScopeError", "company_scope", "scopes_disabled"]


@contextmanager
def company_scope(company: Company) -> Iterator[None]:
    """
    Open a scope in which tenant-owned queries see only ``company``'s rows.

    Refuse a missing company: django-scopes treats ``None`` as "no filter",
    which would open every company's data.
    """
    if company is None or company.pk is None:
        raise ScopeError("A company scope needs a saved company.")
    with scope(company=company.pk):
        yield
