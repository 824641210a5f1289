"""Companies (the tenants) and the Back Office users who sign in to them."""

import datetime
import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

from backoffice.core.generations import GenerationManager, GenerationModel
from backoffice.tenancy.choices import Functionality, Role, TwoFactorPolicy

# How long a never-registered device keeps its license after its code expired.
DEFAULT_EXPIRED_CODE_GRACE_DAYS = 7
MAX_EXPIRED_CODE_GRACE_DAYS = 90


def default_functionality() -> list[str]:
    return [f.value for f in Functionality]


class Company(GenerationModel):
    """
    A customer of the service and the tenant boundary: everything else belongs
    to exactly one company, and no user or device sees another company's data.
    """

    name = models.CharField(max_length=120, unique=True)
    default_time_zone = models.CharField(max_length=64, default="America/New_York")
    area_support = models.BooleanField(
        "Area Support subscription",
        default=False,
        help_text="Operators switch this subscription; it enables Include ALL from Area on devices.",
    )
    default_functionality = models.JSONField(
        default=default_functionality,
        help_text='The ReconPro functionality a device gets with "Use Company Settings".',
    )
    expired_code_grace_days = models.PositiveSmallIntegerField(
        "license release after an expired code (days)",
        default=DEFAULT_EXPIRED_CODE_GRACE_DAYS,
        help_text=(
            "A device that was never registered keeps its license this many days after its registration code "
            "expired; then the license is released for another device. 0 releases it as soon as the code expires."
        ),
    )
    audit_log_for_viewers = models.BooleanField(
        "Viewers may see the audit log",
        default=False,
        help_text="Administrators always see the company's audit log, Team Administrators their team's events.",
    )
    two_factor_required = models.CharField(
        "Require two-factor sign-in for",
        max_length=16,
        choices=TwoFactorPolicy.choices,
        default=TwoFactorPolicy.OPTIONAL,
        help_text=(
            "Whoever this covers adds an authenticator app or a passkey at their next sign-in, "
            "before they can use the Back Office."
        ),
    )
    pending_version = models.BigIntegerField(
        default=0,
        editable=False,
        help_text="Raised by the database whenever the Pending Registrations section would show something else.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(auto_now=True)

    objects = GenerationManager()

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expired_code_grace_days__lte=MAX_EXPIRED_CODE_GRACE_DAYS),
                name="tenancy_company_grace_days_range",
                violation_error_message=f"Enter 0 to {MAX_EXPIRED_CODE_GRACE_DAYS} days.",
            ),
            # Names are compared in any case (as operators type them), so two
            # companies racing to be "Acme" and "ACME" cannot both be created.
            models.UniqueConstraint(
                Lower("name"),
                name="tenancy_company_name_ci_unique",
                violation_error_message="A company with this name already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def requires_two_factor(self, role: str) -> bool:
        """Whether a user with ``role`` must sign in with a second factor here."""
        if self.two_factor_required == TwoFactorPolicy.EVERYONE:
            return True
        return self.two_factor_required == TwoFactorPolicy.ADMINISTRATORS and role in (
            Role.ADMINISTRATOR,
            Role.TEAM_ADMINISTRATOR,
        )

    @property
    def expired_code_grace(self) -> datetime.timedelta:
        """How long after its code expired a never-registered device keeps its license."""
        return datetime.timedelta(days=self.expired_code_grace_days)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        """The company's time zone, in which every page and email shows dates (UTC if unknown)."""
        try:
            return zoneinfo.ZoneInfo(self.default_time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """
    A person who signs in to the Back Office with an email address.

    A user belongs to at most one company and has a role in it. Operators (the
    people who run the service) are staff users without a company; they use
    the Django admin, not the Back Office pages.
    """

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=120, blank=True)
    company = models.ForeignKey(
        "tenancy.Company", on_delete=models.CASCADE, null=True, blank=True, related_name="users"
    )
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.VIEWER)
    team = models.ForeignKey(
        "organization.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="administrators",
        help_text="The one team a Team Administrator manages.",
    )
    is_active = models.BooleanField(default=True)  # type: ignore[assignment,misc]
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Raised when an administrator changes the user's role or team, or
    # deactivates them: every session signed in before ends at its next request.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []  # noqa: RUF012

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                name="tenancy_user_team_admin_has_team",
                condition=~models.Q(role="team_administrator") | models.Q(team__isnull=False),
                violation_error_message="A Team Administrator needs a team.",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """
        Django's session hash (an HMAC of the password) with the session epoch
        in it: raising the epoch ends every session, as changing the password
        does. Epoch 0 keeps Django's own value, so sessions made before the
        epoch existed stay valid.
        """
        value = self.password if not self.session_epoch else f"{self.password}:{self.session_epoch}"
        key_salt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    @property
    def is_administrator(self) -> bool:
        return self.role == Role.ADMINISTRATOR

    @property
    def is_team_administrator(self) -> bool:
        return self.role == Role.TEAM_ADMINISTRATOR

    @property
    def can_write(self) -> bool:
        return self.role in (Role.ADMINISTRATOR, Role.TEAM_ADMINISTRATOR)
