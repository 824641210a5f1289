"""Licenses issued to a company by the people who run the service."""

import datetime
from collections.abc import Callable
from typing import Any

from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from backoffice.core.generations import GenerationManager, GenerationModel
from backoffice.core.models import CompanyOwnedModel, TimeStampedModel
from backoffice.licensing.choices import LicenseStatus, LicenseType

# The status rule, the one place that defines it: the first condition that
# holds on ``day`` gives the status. Each condition is (field, lookup, value
# on ``day``). ``status_q`` turns it into a database filter and
# ``License.status_on`` evaluates it in Python; a test checks that the two
# agree on random licenses and days.
STATUS_RULE: tuple[tuple[LicenseStatus, tuple[str, str, Callable[[datetime.date], Any]] | None], ...] = (
    (LicenseStatus.SUSPENDED, ("is_suspended", "exact", lambda day: True)),
    (LicenseStatus.EXPIRED, ("expires_on", "lt", lambda day: day)),
    (LicenseStatus.ACTIVE, None),  # otherwise
)

# The lookups the rule uses, in Python: like SQL, a missing value matches no comparison.
_PYTHON_LOOKUPS: dict[str, Callable[[Any, Any], bool]] = {
    "exact": lambda value, wanted: value == wanted,
    "lt": lambda value, wanted: value is not None and value < wanted,
}


def status_q(status: str, *, day: datetime.date, prefix: str = "") -> models.Q:
    """
    A filter for licenses whose status is ``status`` on ``day``, from
    ``STATUS_RULE``: its condition holds and no earlier one does. ``prefix``
    reaches the license through a relation, e.g. ``"license__"``.
    """
    # Through a nullable relation, a missing license has no status (negated
    # lookups would otherwise match it).
    q = models.Q(**{f"{prefix}pk__isnull": False}) if prefix else models.Q()
    for rule_status, condition in STATUS_RULE:
        if condition is None:
            here = models.Q()
        else:
            field, lookup, wanted = condition
            here = models.Q(**{f"{prefix}{field}__{lookup}": wanted(day)})
        if rule_status == status:
            return q & here
        q &= ~here
    raise ValueError(f"Unknown license status {status!r}")


class License(GenerationModel, CompanyOwnedModel, TimeStampedModel):
    """
    A right to run ReconPro on one device. Its status is derived, never stored:
    Suspended when an operator suspended it, Expired after its expiry date,
    Active otherwise. A license is held by at most one device, which the
    unique ``Device.license`` column enforces.
    """

    number = models.CharField(max_length=32)
    license_type = models.CharField("type", max_length=16, choices=LicenseType.choices)
    expires_on = models.DateField(null=True, blank=True, help_text="Last day the license is valid.")
    is_suspended = models.BooleanField("suspended", default=False)

    objects = ScopedManager(_manager_class=GenerationManager, company="company")  # type: ignore[misc]

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"],
                name="licensing_license_unique_number",
                violation_error_message="A license with this number already exists.",
            ),
            models.UniqueConstraint(fields=["company", "id"], name="licensing_license_company_id"),
        ]
        # The licenses that are not active, reached without reading the
        # others: the counts of the Active Devices page start from them.
        indexes = [
            models.Index(fields=["company", "expires_on"], name="licensing_license_expiry_idx"),
            models.Index(fields=["company"], condition=models.Q(is_suspended=True), name="licensing_license_susp_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.get_license_type_display()}, {self.get_status_display()})"

    def status_on(self, day: datetime.date) -> LicenseStatus:
        """The status on ``day``: ``STATUS_RULE`` evaluated in Python, the twin of ``status_q``."""
        for status, condition in STATUS_RULE:
            if condition is None:
                return status
            field, lookup, wanted = condition
            if _PYTHON_LOOKUPS[lookup](getattr(self, field), wanted(day)):
                return status
        raise AssertionError("STATUS_RULE ends with an unconditional status")

    @property
    def status(self) -> LicenseStatus:
        return self.status_on(timezone.localdate())

    def get_status_display(self) -> str:
        return str(self.status.label)

    @property
    def is_active(self) -> bool:
        return self.status == LicenseStatus.ACTIVE


# ``LicenseTally.expires_on`` of a license that never expires (the column is
# part of the tally's key, where NULLs would never match one another).
NO_EXPIRY = datetime.date.max


class LicenseTally(CompanyOwnedModel):
    """
    How many of a company's licenses share one suspension, expiry date and
    holding (a device holds them or not): Total, Free and the status counts
    are summed from these few rows, with each row's status taken on the day
    asked, instead of counting every license.

    Kept by the database in the transaction of every write to the licenses
    and to the devices' license column (the triggers of migration devices
    0013, which knows both tables), so no write path can leave it behind;
    rows whose ``n`` fell to 0 stay, and readers skip them.
    """

    is_suspended = models.BooleanField()
    expires_on = models.DateField(help_text="NO_EXPIRY for a license without an expiry date.")
    held = models.BooleanField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "is_suspended", "expires_on", "held"], name="licensing_tally_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.is_suspended} {self.expires_on} {self.held}: {self.n}"

    def status_on(self, day: datetime.date) -> LicenseStatus:
        """The status, on ``day``, of the licenses this row counts (``License.status_on``'s rule)."""
        return tally_status_on(is_suspended=self.is_suspended, expires_on=self.expires_on, day=day)


def tally_status_on(*, is_suspended: bool, expires_on: datetime.date, day: datetime.date) -> LicenseStatus:
    """
    The status on ``day`` of the licenses a tally row counts (``LicenseTally``,
    ``devices.DeviceLicenseTally``), whose ``expires_on`` is ``NO_EXPIRY`` for
    no expiry date: ``License.status_on``'s rule.
    """
    return License(is_suspended=is_suspended, expires_on=None if expires_on == NO_EXPIRY else expires_on).status_on(day)
