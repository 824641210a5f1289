"""Areas, teams, employees (technicians) and clients of a company."""

from django.db import models
from django.db.models.functions import Lower
from django_scopes import ScopedManager

from backoffice.core.generations import CONFIG, GenerationManager, GenerationModel
from backoffice.core.models import CompanyOwnedModel, TimeStampedModel
from backoffice.organization.choices import ClientType


class Area(GenerationModel, CompanyOwnedModel, TimeStampedModel):
    """A geographic area that teams and clients can be assigned to (Area Support)."""

    name = models.CharField(max_length=100)

    objects = ScopedManager(_manager_class=GenerationManager, company="company")  # type: ignore[misc]

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "company",
                Lower("name"),
                name="organization_area_unique_name",
                violation_error_message="An area with this name already exists.",
            ),
            # Target of the composite foreign keys that keep a team's or a
            # client's area inside its own company.
            models.UniqueConstraint(fields=["company", "id"], name="organization_area_company_id"),
        ]

    def __str__(self) -> str:
        return self.name


class Team(GenerationModel, CompanyOwnedModel, TimeStampedModel):
    """
    A group of technicians. Devices of a team use its default time zone unless
    they have their own. Every company has exactly one Default Team.
    """

    name = models.CharField(max_length=100)
    time_zone = models.CharField("default time zone", max_length=64)
    area = models.ForeignKey(
        "organization.Area", on_delete=models.SET_NULL, null=True, blank=True, related_name="teams"
    )
    is_default = models.BooleanField(default=False, editable=False)

    objects = ScopedManager(_manager_class=GenerationManager, company="company")  # type: ignore[misc]

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "company",
                Lower("name"),
                name="organization_team_unique_name",
                violation_error_message="A team with this name already exists.",
            ),
            models.UniqueConstraint(
                fields=["company"],
                condition=models.Q(is_default=True),
                name="organization_team_one_default",
            ),
            # Target of the composite foreign keys that keep a device's or an
            # employee's team inside its own company.
            models.UniqueConstraint(fields=["company", "id"], name="organization_team_company_id"),
        ]

    def __str__(self) -> str:
        return self.name


class Employee(GenerationModel, CompanyOwnedModel, TimeStampedModel):
    """A technician who uses ReconPro; a member of one team."""

    team = models.ForeignKey("organization.Team", on_delete=models.PROTECT, related_name="employees")
    name = models.CharField(max_length=120)
    email = models.EmailField(max_length=254)
    is_active = models.BooleanField("active", default=True)

    generation_kinds = (CONFIG,)

    objects = ScopedManager(_manager_class=GenerationManager, company="company")  # type: ignore[misc]

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "company",
                Lower("email"),
                condition=models.Q(is_active=True),
                name="organization_employee_unique_active_email",
                violation_error_message="An active employee with this email already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Client(GenerationModel, CompanyOwnedModel, TimeStampedModel):
    """A customer of the company, Retail or Wholesale, optionally in an area."""

    name = models.CharField(max_length=150)
    client_type = models.CharField("type", max_length=16, choices=ClientType.choices)
    area = models.ForeignKey(
        "organization.Area", on_delete=models.SET_NULL, null=True, blank=True, related_name="clients"
    )
    is_active = models.BooleanField("active", default=True)

    generation_kinds = (CONFIG,)

    objects = ScopedManager(_manager_class=GenerationManager, company="company")  # type: ignore[misc]

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["company", "client_type", "is_active"], name="org_client_type_idx")]
        constraints = [
            # One "Metro Ford" per type: two would be listed twice, and could
            # not be told apart, in a device's Assigned Clients and preview.
            models.UniqueConstraint(
                "company",
                "client_type",
                Lower("name"),
                name="organization_client_unique_name_per_type",
                violation_error_message="A client of this type with this name already exists.",
            ),
            models.UniqueConstraint(fields=["company", "id"], name="organization_client_company_id"),
        ]

    def __str__(self) -> str:
        return self.name
