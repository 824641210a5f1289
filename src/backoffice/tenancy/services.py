"""Writes on companies and users."""

from django.db import transaction

from backoffice.audit.services import audit_record
from backoffice.core.scoping import company_scope
from backoffice.organization.models import Team
from backoffice.tenancy.models import Company, User

DEFAULT_TEAM_NAME = "Default Team"


@transaction.atomic
def company_create(
    *,
    name: str,
    default_time_zone: str = "America/New_York",
    area_support: bool = False,
    acting_user: User | None = None,
) -> Company:
    """Create a company together with its Default Team."""
    company = Company.objects.create(name=name, default_time_zone=default_time_zone, area_support=area_support)
    with company_scope(company):
        Team.objects.create(company=company, name=DEFAULT_TEAM_NAME, time_zone=default_time_zone, is_default=True)
        audit_record(
            company=company, actor=acting_user, action="company.created", obj=company, summary=f"Company {name} created"
        )
    return company
