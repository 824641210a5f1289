"""Licenses issued to a company by the people who run the service."""

import datetime

from django.db import models
from django.utils import timezone

from backoffice.core.models import CompanyOwnedModel, TimeStampedModel
from backoffice.licensing.choices import LicenseStatus, LicenseType


class License(CompanyOwnedModel, TimeStampedModel):
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

    def __str__(self) -> str:
        return f"{self.number} ({self.get_license_type_display()}, {self.get_status_display()})"

    def status_on(self, day: datetime.date) -> LicenseStatus:
        if self.is_suspended:
            return LicenseStatus.SUSPENDED
        if self.expires_on is not None and self.expires_on < day:
            return LicenseStatus.EXPIRED
        return LicenseStatus.ACTIVE

    @property
    def status(self) -> LicenseStatus:
        return self.status_on(timezone.localdate())

    def get_status_display(self) -> str:
        return str(self.status.label)

    @property
    def is_active(self) -> bool:
        return self.status == LicenseStatus.ACTIVE
