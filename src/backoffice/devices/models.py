"""Devices, their registration codes and credentials, and saved views of the Active Devices page."""

import datetime
import re
from typing import Any

from django.db import models
from django.db.models.functions import Coalesce, Lower
from django_scopes import ScopedManager

from backoffice.core.generations import CONFIG, GenerationManager, GenerationModel
from backoffice.core.models import CompanyOwnedModel
from backoffice.devices.choices import ClientScope, ClientSelectionType, FunctionalityMode

_VERSION_PARTS = re.compile(r"[0-9]+|[^0-9]+")
VERSION_KEY_MAX_LENGTH = 200
# Where a device never seen sorts in "last seen, latest first" (last): the earliest instant.
NEVER_SEEN_SORTS_AS = datetime.datetime(1, 1, 1, tzinfo=datetime.UTC)


def version_sort_key(version: str) -> str:
    """
    A text that sorts as ``version`` does as a version: "6.10" after "6.9".

    Every run of digits becomes its length (two digits) followed by the digits
    without leading zeros, so that numbers compare by value; other text is
    lower-cased and kept. "6.10.2" gives "016.0210.012". A pre-release suffix
    sorts after its release ("6.1.0-beta" after "6.1.0"); an empty version
    gives "" and sorts first.
    """
    parts = []
    for part in _VERSION_PARTS.findall(version):
        if part[0] in "0123456789":
            digits = part.lstrip("0") or "0"
            parts.append(f"{len(digits):02d}{digits}")
        else:
            parts.append(part.lower())
    return "".join(parts)[:VERSION_KEY_MAX_LENGTH]


class Device(GenerationModel, CompanyOwnedModel):
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
    # version_sort_key(app_version), kept by save() and by the device API's
    # writes, which update app_version without save().
    app_version_key = models.CharField(max_length=VERSION_KEY_MAX_LENGTH, blank=True, editable=False)
    last_check_in_at = models.DateTimeField(null=True, blank=True)

    registered_at = models.DateTimeField("Reg Date", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField("Change Date")

    # The Active Devices list's sort keys that come from other rows: the
    # team's name, the license's number (empty without one) and the time zone
    # shown (the device's, or its team's). The database keeps them, in the
    # statement that changes their source (migration 0019's triggers); what
    # the application writes here is replaced. They let an index give those
    # orders, as the device's own columns do.
    sort_team = models.CharField(max_length=100, null=True, editable=False)  # noqa: DJ001 - NULL until the trigger fills it
    sort_license = models.CharField(max_length=32, null=True, editable=False)  # noqa: DJ001 - NULL: no license
    sort_time_zone = models.CharField(max_length=64, null=True, editable=False)  # noqa: DJ001 - NULL until filled

    objects = ScopedManager(_manager_class=GenerationManager, company="company")  # type: ignore[misc]

    class Meta:
        ordering = ["nickname", "id"]
        indexes = [
            models.Index(fields=["company", "registered_at"], name="devices_dev_company_reg_idx"),
            models.Index(fields=["company", "nickname"], name="devices_dev_company_nick_idx"),
            models.Index(fields=["company", "app_version"], name="devices_dev_company_ver_idx"),
            # The Active Devices list in each of its orders on the device's own
            # columns (the key, then nickname and id, as the list breaks ties),
            # registered devices only: a page's ids are read from the index in
            # order, however deep; the Platform filter and the Last seen
            # counts use them too.
            *(
                models.Index(
                    fields=["company", *dict.fromkeys([column, "nickname"]), "id"],
                    condition=models.Q(registered_at__isnull=False),
                    name=f"devices_dev_reg_{short}_idx",
                )
                for column, short in (
                    ("nickname", "nick"),
                    ("platform", "plat"),
                    ("registered_at", "date"),
                    ("changed_at", "chg"),
                    ("last_check_in_at", "seen"),
                    ("app_version_key", "ver"),
                )
            ),
            # The orders by the team, the license and the time zone, from the
            # keys the database keeps on the device row. A device without a
            # license sorts last both ways, so on PostgreSQL the license's
            # descending order has an index of its own (migration 0019;
            # SQLite has no NULLS LAST in an index).
            *(
                models.Index(
                    fields=["company", column, "nickname", "id"],
                    condition=models.Q(registered_at__isnull=False),
                    name=f"devices_dev_reg_{short}_idx",
                )
                for column, short in (("sort_team", "team"), ("sort_license", "lic"), ("sort_time_zone", "tz"))
            ),
            # "Last seen, latest first" with the devices never seen last.
            models.Index(
                "company",
                Coalesce("last_check_in_at", models.Value(NEVER_SEEN_SORTS_AS)),
                "nickname",
                "id",
                condition=models.Q(registered_at__isnull=False),
                name="devices_dev_reg_seen2_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.nickname

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Keep the version's sort key in step with the version."""
        self.app_version_key = version_sort_key(self.app_version)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "app_version" in update_fields:
            kwargs["update_fields"] = {*update_fields, "app_version_key"}
        super().save(*args, **kwargs)

    @property
    def is_registered(self) -> bool:
        return self.registered_at is not None

    @property
    def effective_time_zone(self) -> str:
        return self.time_zone or self.team.time_zone


class DeviceClient(GenerationModel, CompanyOwnedModel):
    """A wholesale client assigned one by one to a device (Clients tab, Selected)."""

    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="client_links")
    client = models.ForeignKey("organization.Client", on_delete=models.CASCADE, related_name="device_links")

    generation_kinds = (CONFIG,)

    objects = ScopedManager(_manager_class=GenerationManager, company="company")  # type: ignore[misc]

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


def expired_code_release_due(*, expires_at: datetime.datetime, grace_days: int) -> datetime.datetime:
    """
    When a never-registered device whose code expired at ``expires_at`` loses
    its license: the company's ``expired_code_grace_days`` later.
    """
    return expires_at + datetime.timedelta(days=grace_days)


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
    # Shared by the codes of devices added together in one batch: their code
    # sheet and their one email per recipient find them by it.
    batch_id = models.UUIDField(null=True, blank=True, db_index=True)

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


class DeviceCredential(GenerationModel, CompanyOwnedModel):
    """
    The secret a device received when it redeemed a code. Only its SHA-256
    digest is stored; revoked when the device is deleted or re-registered.
    """

    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="credentials")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(_manager_class=GenerationManager, company="company")  # type: ignore[misc]

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


SAVED_VIEW_NAME_MAX_LENGTH = 60
SAVED_VIEW_QUERY_MAX_LENGTH = 2000


class SavedView(CompanyOwnedModel):
    """
    A named search of the Active Devices page: the query string of its search,
    filters, sort and page size, as the page itself writes it (never what a
    person typed), owned by one user and optionally shared with the company.

    Opening a shared view runs its query as the person opening it, so a Team
    Administrator still sees only their own team's devices.
    """

    owner = models.ForeignKey("tenancy.User", on_delete=models.CASCADE, related_name="saved_device_views")
    name = models.CharField(max_length=SAVED_VIEW_NAME_MAX_LENGTH)
    query = models.CharField(max_length=SAVED_VIEW_QUERY_MAX_LENGTH, blank=True)
    is_shared = models.BooleanField("shared with the company", default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                "owner",
                Lower("name"),
                name="devices_savedview_owner_name_ci_unique",
                violation_error_message="You already have a saved view with this name.",
            ),
        ]
        indexes = [models.Index(fields=["company", "is_shared"], name="devices_savedview_shared_idx")]

    def __str__(self) -> str:
        return self.name


class CheckInKind(models.TextChoices):
    REGISTERED = "registered", "Registered"
    CHANGED = "changed", "Reported a change"
    SAMPLE = "sample", "Checked in"


class DeviceCheckIn(CompanyOwnedModel):
    """
    One entry of a device's check-in history: what it reported and when.

    Bounded by design: an entry is written when the device registers, when
    it reports a different device name, OS, platform or ReconPro version, and
    otherwise at most one sample per ``CHECK_IN_HISTORY_SAMPLE_MINUTES``;
    entries older than ``CHECK_IN_HISTORY_RETENTION_DAYS`` are pruned by the
    worker. Enough to answer "when did it upgrade" and "was it online last
    Tuesday" without a row per check-in.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="check_ins")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=CheckInKind.choices)
    device_name = models.CharField("device", max_length=64, blank=True)
    os_type = models.CharField("OS type", max_length=64, blank=True)
    platform = models.CharField(max_length=64, blank=True)
    app_version = models.CharField("ReconPro version", max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["device", "-at", "-id"], name="devices_checkin_device_at_idx"),
            models.Index(fields=["at"], name="devices_checkin_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()}"


class DeviceTally(CompanyOwnedModel):
    """
    How many registered devices share one team, platform, ReconPro version
    and license presence: the Active Devices page reads its total, the Team,
    Platform and Version filters' counts and the versions chart from these
    few rows instead of counting the fleet.

    Kept by the database, in the transaction of every write to
    ``devices_device`` (triggers of migration 0012), so no write path can
    leave it behind: a device counts from the moment it is registered until
    it is deleted, and moves between rows when its team, platform, version or
    license presence changes. Rows are applied in key order, after the device
    rows (one lock order). Rows whose ``n`` fell to 0 stay, and readers skip
    them. docs/active-devices.md tells the whole rule.
    """

    team = models.ForeignKey("organization.Team", on_delete=models.CASCADE, related_name="+")
    platform = models.CharField(max_length=64, blank=True)
    app_version = models.CharField(max_length=64, blank=True)
    app_version_key = models.CharField(max_length=VERSION_KEY_MAX_LENGTH, blank=True)
    licensed = models.BooleanField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "team", "platform", "app_version", "app_version_key", "licensed"],
                name="devices_tally_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.team_id} {self.platform} {self.app_version}: {self.n}"


class DeviceLicenseTally(CompanyOwnedModel):
    """
    How many registered devices share one team, platform, ReconPro version
    and license state (none; suspended or not, and its expiry date): the
    Active Devices filters' counts, total and versions chart, for a search by
    the filters alone, are summed from these rows (each row's license status
    taken on the day asked) instead of counting the fleet.

    Kept by the database like ``DeviceTally`` (triggers of migration 0020 on
    the devices and on their licenses' suspension and expiry).
    ``expires_on`` is ``licensing.models.NO_EXPIRY`` for a license without
    an expiry date, and for no license (``licensed`` false).
    """

    team = models.ForeignKey("organization.Team", on_delete=models.CASCADE, related_name="+")
    platform = models.CharField(max_length=64, blank=True, default="")
    app_version = models.CharField(max_length=64, blank=True, default="")
    app_version_key = models.CharField(max_length=VERSION_KEY_MAX_LENGTH, blank=True, default="")
    licensed = models.BooleanField()
    is_suspended = models.BooleanField()
    expires_on = models.DateField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "company",
                    "team",
                    "platform",
                    "app_version",
                    "app_version_key",
                    "licensed",
                    "is_suspended",
                    "expires_on",
                ],
                name="devices_license_tally_key2",
            )
        ]

    def __str__(self) -> str:
        return f"{self.team_id} {self.licensed} {self.is_suspended} {self.expires_on}: {self.n}"
