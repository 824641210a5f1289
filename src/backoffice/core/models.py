"""
Shared model bases, and the one table of the core app: rate-limit counters
(``ratelimit``). This app holds no domain models.
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


class RateLimitCounter(models.Model):
    """
    One fixed-window counter of ``core.ratelimit`` (the database backend).

    ``key`` names the limit and what it counts by (``registration-failed:network:…``);
    ``window_end`` is the end of the window the counts belong to, in seconds
    since the epoch; ``count`` is the events counted in it and ``in_flight``
    the slots reserved and not yet counted or given back. The row is reused
    from one window to the next: the reserving statement resets the counts
    of a window that has ended, so there is at most one row per key, and rows
    of keys no longer used are deleted by ``ratelimit_prune`` (through the
    ``window_end`` index).
    """

    key = models.CharField(max_length=200, primary_key=True)
    window_end = models.BigIntegerField()
    count = models.IntegerField(default=0)
    in_flight = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["window_end"], name="core_ratelimit_window_end_idx")]

    def __str__(self) -> str:
        return f"{self.key}: {self.count} (+{self.in_flight} in flight) until {self.window_end}"
