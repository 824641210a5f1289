"""
Shared model bases. This app holds no domain models of its own.
"""

from django.db import models
from django_scopes import ScopedManager


class CompanyOwnedModel(models.Model):
    """
    Base for every row that belongs to one company (the tenant).

    The default manager refuses to run a query unless a company scope is open
    (see ``backoffice.tenancy.scoping``), and filters every query to that company.
    Related-object access (``device.team``) goes through the unscoped base
    manager, which is safe because the row it starts from was already scoped.
    """

    company = models.ForeignKey("tenancy.Company", on_delete=models.CASCADE, related_name="+")

    objects = ScopedManager(company="company")

    class Meta:
        abstract = True


class TimeStampedModel(models.Model):
    """Adds creation and last-change times maintained by Django."""

    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
