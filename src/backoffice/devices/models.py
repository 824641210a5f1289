"""Devices, their registration codes and their credentials."""

import datetime

from django.db import models
from django_scopes import ScopedManager

from backoffice.core.models import CompanyOwnedModel
from backoffice.devices.choices import ClientScope, ClientSelectionType, FunctionalityMode


class Device(CompanyOwnedModel):
    """
    One entry on the Active Devices page.

    The administrator enters the settings (team, time zone, license, nickname,
    description, the Clients and Allowed Functionality tabs); the device
    reports the rest when it redeems a code and at every check-in. A device is
    pending until a code is redeemed (``registered_at`` is empty), then
    registered.
    """

    team = models.ForeignKey("organization.Team", on_delete=models.PROTECT, related_name="devices")
    time_zone = models.CharField(max_length=64, blank=True, help_text="Empty means the team's default time zone.")
    license = models.OneToOneField(
        "licensing.License",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="device",
        verbose_name="Lic.#",
    )
    nickname = models.CharField(max_length=64)
    description = models.CharField(max_length=500, blank=True)
    recipients = models.JSONField(
        default=list,
        blank=True,
        help_text="Addresses the registration code is emailed to; Replace emails them again.",
    )

    client_selection_type = models.CharField(
        max_length=16, choices=ClientSelectionType.choices, default=ClientSelectionType.BOTH
    )
    client_scope = models.CharField(max_length=16, choices=ClientScope.choices, default=ClientScope.ALL)
    include_area_clients = models.BooleanField("Include ALL from Area", default=False)
    assigned_clients = models.ManyToManyField(
        "organization.Client", through="devices.DeviceClient", related_name="assigned_devices", blank=True
    )
    functionality_mode = models.CharField(
        max_length=16, choices=FunctionalityMode.choices, default=FunctionalityMode.COMPANY
    )
    functionality = models.JSONField(default=list, blank=True)

    # Reported by the device itself.
    device_name = models.CharField("device", max_length=64, blank=True)
    device_identifier = models.CharField("device ID", max_length=256, blank=True)
    os_type = models.CharField("OS type", max_length=64, blank=True)
    platform = models.CharField(max_length=64, blank=True)
    app_version = models.CharField("ReconPro version", max_length=64, blank=True)
    last_check_in_at = models.DateTimeField(null=True, blank=True)

    registered_at = models.DateTimeField("Reg Date", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField("Change Date")

    class Meta:
        ordering = ["nickname", "id"]
        indexes = [
            models.Index(fields=["company", "registered_at"], name="devices_dev_company_reg_idx"),
            models.Index(fields=["company", "nickname"], name="devices_dev_company_nick_idx"),
            models.Index(fields=["company", "app_version"], name="devices_dev_company_ver_idx"),
            models.Index(fields=["company", "platform"], name="devices_dev_company_plat_idx"),
        ]

    def __str__(self) -> str:
        return self.nickname

    @property
    def is_registered(self) -> bool:
        return self.registered_at is not None

    @property
    def effective_time_zone(self) -> str:
        return self.time_zone or self.team.time_zone


class DeviceClient(CompanyOwnedModel):
    """A wholesale client assigned one by one to a device (Clients tab, Selected)."""

    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="client_links")
    client = models.ForeignKey("organization.Client", on_delete=models.CASCADE, related_name="device_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "client"], name="devices_deviceclient_unique"),
        ]


# A code that is neither used nor revoked: at most one per device (a database
# constraint), shown in Pending Registrations until it is used or replaced.
OPEN_CODE = models.Q(used_at__isnull=True, revoked_at__isnull=True)


class RegistrationCodeManager(models.Manager["RegistrationCode"]):
    """
    The one definition of which codes still count. Methods go through
    ``filter`` so that, outside a company scope, they raise like any other
    tenant query.
    """

    def open(self) -> "models.QuerySet[RegistrationCode]":
        """Codes neither used nor revoked, expired or not."""
        return self.filter(OPEN_CODE)

    def live(self, now: datetime.datetime) -> "models.QuerySet[RegistrationCode]":
        """Codes that can be redeemed at ``now``: open and not yet expired."""
        return self.filter(OPEN_CODE, expires_at__gt=now)


class RegistrationCode(CompanyOwnedModel):
    """
    A one-time code that a technician types on the device to register it.

    The code itself is never stored in clear: ``digest`` is an HMAC of it for
    look-ups, and ``sealed_code`` is an encrypted copy for the Pending
    Registrations section, wiped once the code is used, replaced or expired.
    At most one live (neither used nor revoked) code exists per device.
    """

    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, unique=True)
    sealed_code = models.BinaryField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("tenancy.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    # Scoped like every tenant model, with the code queries above.
    objects = ScopedManager(_manager_class=RegistrationCodeManager, company="company")  # type: ignore[misc]

    class Meta:
        indexes = [
            # Wiping expired copies and finding a device's open code read
            # only unused, unrevoked codes.
            models.Index(
                fields=["expires_at"],
                condition=OPEN_CODE,
                name="devices_regcode_live_exp_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["device"],
                condition=OPEN_CODE,
                name="devices_registrationcode_one_live_per_device",
                violation_error_message="This device already has a live registration code.",
            ),
        ]

    def __str__(self) -> str:
        return f"Registration code #{self.pk} for {self.device_id}"

    @property
    def is_open(self) -> bool:
        return self.used_at is None and self.revoked_at is None

    def is_live(self, now: datetime.datetime) -> bool:
        """Whether the code can be redeemed at ``now``: the row-level twin of ``objects.live``."""
        return self.is_open and self.expires_at > now


class DeviceCredential(CompanyOwnedModel):
    """
    The secret a device received when it redeemed a code. Only its SHA-256
    digest is stored; revoked when the device is deleted or re-registered.
    """

    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="credentials")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["device"],
                condition=models.Q(revoked_at__isnull=True),
                name="devices_devicecredential_one_live_per_device",
            ),
        ]

    def __str__(self) -> str:
        return f"Credential #{self.pk} for {self.device_id}"
