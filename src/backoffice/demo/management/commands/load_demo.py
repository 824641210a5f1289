"""Load the demo companies. Running it again changes nothing."""

import datetime
import random
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.audit.services import audit_record
from backoffice.devices.choices import ClientScope, Platform
from backoffice.devices.models import CheckInKind, Device, DeviceCheckIn, DeviceClient
from backoffice.devices.services import device_add
from backoffice.documents.choices import DocumentKind
from backoffice.documents.models import Document
from backoffice.invitations.services import invitation_send
from backoffice.licensing.choices import LicenseType
from backoffice.licensing.models import License
from backoffice.organization.choices import ClientType
from backoffice.organization.models import Area, Client, Employee, Team
from backoffice.organization.services import company_create
from backoffice.tenancy.choices import Role
from backoffice.tenancy.models import Company, User
from backoffice.tenancy.permissions import DEMO_DATA
from backoffice.tenancy.scoping import company_scope

DEMO_PASSWORD = "reconpro-demo"
MAIN_COMPANY = "Northwind Auto Reconditioning"
SECOND_COMPANY = "Bayside Dent & Paint"

DEMO_LOGINS = (
    ("admin@northwind.example", "Administrator", MAIN_COMPANY),
    ("teamadmin@northwind.example", "Team Administrator (Downtown Detail)", MAIN_COMPANY),
    ("viewer@northwind.example", "Viewer", MAIN_COMPANY),
    ("admin@bayside.example", "Administrator", SECOND_COMPANY),
    ("operator@backoffice.example", "Operator (Django admin at /admin/)", "all companies"),
)

VERSIONS = ("5.1.0", "5.2.3", "5.3.0", "5.4.1", "5.4.2", "6.0.0")
VERSION_WEIGHTS = (2, 4, 6, 12, 9, 5)
OS_BY_PLATFORM = {
    Platform.ANDROID: ("Android 13", "Android 14", "Android 15"),
    Platform.IOS: ("iOS 17.6", "iOS 18.1", "iOS 18.2"),
    Platform.WINDOWS: ("Windows 11",),
}
DEVICE_MODELS = {
    Platform.ANDROID: ("Samsung Galaxy Tab S9", "Samsung Galaxy S24", "Google Pixel 8", "Zebra TC58"),
    Platform.IOS: ("iPad Air", "iPad mini", "iPhone 15", "iPhone 14"),
    Platform.WINDOWS: ("Surface Go 4", "Surface Pro 9"),
}
FIRST = (
    "Ana",
    "Ben",
    "Carla",
    "Dev",
    "Elena",
    "Femi",
    "Grace",
    "Hugo",
    "Iris",
    "Jonas",
    "Kira",
    "Luis",
    "Maya",
    "Nate",
    "Olga",
    "Pavel",
)
LAST = (
    "Alvarez",
    "Brooks",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Novak",
    "Okafor",
    "Patel",
)
CLIENTS = (
    "Metro Ford",
    "Lakeside Toyota",
    "Summit Honda",
    "Harbor Chevrolet",
    "Pine Valley Nissan",
    "Crestview Kia",
    "Riverside BMW",
    "Oak Park Subaru",
    "Granite Hyundai",
    "Bluewater Mazda",
    "Eastgate Volkswagen",
    "Northstar Auto Auction",
    "Westline Fleet Leasing",
    "Cardinal Rentals",
    "Prime Auto Wholesale",
    "Redwood Motors",
    "Silver Creek Imports",
    "Maple Street Autos",
    "Heritage Classics",
    "Jet City Car Wash",
    "Sunrise Used Cars",
    "Valley Motor Group",
    "Coastal Car Rental",
    "Ironwood Trucks",
    "Liberty Auto Sales",
)
RETAIL_NAMES = ("Jamie Walker", "Pat Morgan", "Chris Taylor", "Sam Rivera", "Alex Kim")


class Command(BaseCommand):
    help = "Load demo companies, users, teams, employees, clients, licenses and devices (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        if Company.objects.filter(name=MAIN_COMPANY).exists():
            self.stdout.write("Demo data already loaded.")
        else:
            with transaction.atomic():
                self.load_main()
                self.load_second()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        if not User.objects.filter(email="operator@backoffice.example").exists():
            User.objects.create_superuser("operator@backoffice.example", DEMO_PASSWORD, full_name="Service Operator")

    def load_main(self) -> None:
        rng = random.Random(20261129)
        company = company_create(
            acting_user=DEMO_DATA, name=MAIN_COMPANY, default_time_zone="America/Chicago", area_support=True
        )
        now = timezone.now()
        today = timezone.localdate()
        with company_scope(company):
            north = Area.objects.create(company=company, name="North Metro")
            south = Area.objects.create(company=company, name="South County")
            default_team = Team.objects.get(is_default=True)
            teams = [
                default_team,
                Team.objects.create(company=company, name="Downtown Detail", time_zone="America/Chicago", area=north),
                Team.objects.create(company=company, name="Fleet Services", time_zone="America/Denver"),
                Team.objects.create(
                    company=company, name="Mobile Dent Repair", time_zone="America/New_York", area=south
                ),
            ]
            for i in range(15):
                name = f"{FIRST[i]} {LAST[i]}"
                Employee.objects.create(
                    company=company,
                    team=teams[i % len(teams)],
                    name=name,
                    email=f"{FIRST[i].lower()}.{LAST[i].lower()}@northwind.example",
                    is_active=i != 14,
                )
            for i, name in enumerate(CLIENTS):
                Client.objects.create(
                    company=company,
                    name=name,
                    client_type=ClientType.WHOLESALE,
                    area=(north, south, None)[i % 3],
                    is_active=i != 24,
                )
            for i, name in enumerate(RETAIL_NAMES):
                Client.objects.create(
                    company=company, name=name, client_type=ClientType.RETAIL, area=north if i < 2 else None
                )
            licenses = []
            # 60 licenses for the fleet, and 30 more standard ones (NW-10061 on) so a rollout of
            # 20 tablets in one Device dialog fits in the demo.
            for i in range(90):
                license_type = (LicenseType.STANDARD, LicenseType.PROFESSIONAL, LicenseType.TRIAL)[
                    0 if i < 36 or i >= 60 else 1 if i < 54 else 2
                ]
                expires = today + datetime.timedelta(days=365 + i)
                if i in (52, 53, 58, 59):
                    expires = today - datetime.timedelta(days=10 + i)
                licenses.append(
                    License.objects.create(
                        company=company,
                        number=f"NW-{10001 + i}",
                        license_type=license_type,
                        expires_on=expires,
                        is_suspended=i in (50, 51, 57),
                    )
                )
            usable = [lic for lic in licenses if lic.is_active]
            for i in range(40):
                platform = rng.choices(list(OS_BY_PLATFORM), weights=(6, 4, 1))[0]
                registered = now - datetime.timedelta(days=rng.randint(3, 400), minutes=rng.randint(0, 1440))
                changed = registered + datetime.timedelta(days=rng.randint(0, 3))
                team = teams[i % len(teams)]
                Device.objects.create(
                    company=company,
                    team=team,
                    license=usable[i],
                    time_zone="" if i % 3 else rng.choice(("America/Chicago", "America/Denver", "America/Phoenix")),
                    nickname=f"{team.name.split()[0]} {platform.label} {i + 1:02d}",
                    description="Shared by the morning and evening shift." if i % 7 == 0 else "",
                    device_name=rng.choice(DEVICE_MODELS[platform]),
                    device_identifier=f"{platform.value[:3].upper()}-{rng.getrandbits(48):012X}",
                    os_type=rng.choice(OS_BY_PLATFORM[platform]),
                    platform=platform.value,
                    app_version=rng.choices(VERSIONS, weights=VERSION_WEIGHTS)[0],
                    registered_at=registered,
                    changed_at=changed,
                    last_check_in_at=now - datetime.timedelta(minutes=rng.choice((2, 9, 45, 300, 3000, 20000))),
                )
            admin = self.users(company, "northwind", teams[1])
            self.device_story(company, teams, now)
            # Pending devices go through the same service as the Device dialog,
            # so they get live codes (a week long) and queued emails.
            for i in range(3):
                team = teams[1 + i]
                recipients = list(
                    Employee.objects.filter(team=team, is_active=True).order_by("name").values_list("email", flat=True)
                )[:1]
                device_add(
                    acting_user=admin,
                    team=team,
                    license=usable[40 + i],
                    nickname=f"New tablet {i + 1}",
                    recipients=[*recipients, "shop-manager@northwind.example"] if i == 0 else recipients,
                    expires_in=datetime.timedelta(days=7),
                )
            # One pending invitation on the Users page (its email waits in the outbox).
            invitation_send(
                acting_user=admin,
                email="new.hire@northwind.example",
                full_name="Nico Newhire",
                role=Role.VIEWER,
                team=None,
            )

    def device_story(self, company: Company, teams: list[Team], now: datetime.datetime) -> None:
        """
        A past for the first Downtown Detail device with a version above the
        oldest, for its page: its registration on the version before, hourly
        check-ins (but for a quiet morning), an upgrade three days ago, a few
        documents for clients of its area, and its trail (added, registered,
        moved from Fleet Services).
        """
        rng = random.Random(15)  # its own: the other demo data stay as they were
        device = next(
            d
            for d in Device.objects.filter(team=teams[1]).order_by("pk")
            if d.app_version in VERSIONS
            and VERSIONS.index(d.app_version) > 0
            and d.last_check_in_at is not None
            and d.last_check_in_at >= now - datetime.timedelta(hours=1)
        )
        assert device.registered_at is not None
        assert device.last_check_in_at is not None
        before = VERSIONS[VERSIONS.index(device.app_version) - 1]
        start = max(device.registered_at, now - datetime.timedelta(days=6))
        end = device.last_check_in_at
        upgraded_at = end - datetime.timedelta(days=3, hours=2)
        reported = {"device_name": device.device_name, "os_type": device.os_type, "platform": device.platform}
        rows = []
        if start == device.registered_at:
            rows.append(
                DeviceCheckIn(
                    company=company,
                    device=device,
                    at=start,
                    kind=CheckInKind.REGISTERED,
                    app_version=before,
                    **reported,
                )
            )
        moment = start
        while moment < end:
            moment = min(end, moment + datetime.timedelta(minutes=60 + rng.randint(0, 15)))
            quiet = 1 <= (end - moment).days <= 2 and 6 <= timezone.localtime(moment, company.zone).hour < 13
            if quiet or abs((moment - upgraded_at).total_seconds()) < 1800:
                continue
            version = before if moment < upgraded_at else device.app_version
            rows.append(
                DeviceCheckIn(
                    company=company, device=device, at=moment, kind=CheckInKind.SAMPLE, app_version=version, **reported
                )
            )
        rows.append(
            DeviceCheckIn(
                company=company,
                device=device,
                at=upgraded_at,
                kind=CheckInKind.CHANGED,
                app_version=device.app_version,
                **reported,
            )
        )
        DeviceCheckIn.objects.bulk_create(rows)
        # Its Clients tab gives every reason a client can be available: retail
        # clients by type, two assigned wholesale clients, the clients of its
        # documents and its team's area.
        # Its Change Date is that of the team change on its trail.
        moved_at = start + datetime.timedelta(days=1, hours=3)
        Device.objects.filter(pk=device.pk).update(
            client_scope=ClientScope.SELECTED, include_area_clients=True, changed_at=moved_at
        )
        for name in ("Summit Honda", "Crestview Kia"):
            DeviceClient.objects.create(company=company, device=device, client=Client.objects.get(name=name))
        clients = [
            *Client.objects.filter(area=teams[1].area, is_active=True, client_type=ClientType.WHOLESALE).order_by(
                "name"
            )[:2],
            Client.objects.get(name="Prime Auto Wholesale"),
        ]
        kinds = list(DocumentKind.values)
        for n in range(6):
            document = Document.objects.create(
                company=company,
                device=device,
                client=clients[n % len(clients)],
                kind=kinds[n % len(kinds)],
                number=f"{('SR', 'IN', 'WO')[n % 3]}-{2101 + n}",
            )
            recorded = end - datetime.timedelta(hours=(5 - n) * 19 + rng.randint(1, 4), minutes=rng.randint(0, 59))
            Document.objects.filter(pk=document.pk).update(created_at=recorded)
        trail = [
            ("device.added", f"Device {device.nickname} added", [], device.registered_at - datetime.timedelta(hours=1)),
            (
                "device.registered",
                f"{device.nickname} registered from {device.platform} {before}",
                [],
                device.registered_at,
            ),
            (
                "device.changed",
                f"Device {device.nickname} changed",
                [{"field": "Team", "old": teams[2].name, "new": teams[1].name}],
                moved_at,
            ),
        ]
        for action, summary, changes, at in trail:
            event = audit_record(
                company=company, actor=DEMO_DATA, action=action, obj=device, summary=summary, changes=changes
            )
            AuditEvent.objects.filter(pk=event.pk).update(created_at=at)

    def load_second(self) -> None:
        company = company_create(acting_user=DEMO_DATA, name=SECOND_COMPANY, default_time_zone="America/Los_Angeles")
        now = timezone.now()
        with company_scope(company):
            team = Team.objects.get(is_default=True)
            Employee.objects.create(company=company, team=team, name="Rosa Quinn", email="rosa@bayside.example")
            Client.objects.create(company=company, name="Bayside Honda", client_type=ClientType.WHOLESALE)
            licenses = [
                License.objects.create(
                    company=company,
                    number=f"BD-{i:03d}",
                    license_type=LicenseType.STANDARD,
                    expires_on=timezone.localdate() + datetime.timedelta(days=200),
                )
                for i in range(1, 6)
            ]
            Device.objects.create(
                company=company,
                team=team,
                license=licenses[0],
                nickname="Bayside iPad",
                platform="iOS",
                os_type="iOS 18.1",
                device_name="iPad Air",
                device_identifier="IOS-BAYSIDE0001",
                app_version="5.4.1",
                registered_at=now - datetime.timedelta(days=30),
                changed_at=now,
                last_check_in_at=now,
            )
        User.objects.create_user(
            "admin@bayside.example", DEMO_PASSWORD, full_name="Bay Admin", company=company, role=Role.ADMINISTRATOR
        )

    def users(self, company: Company, slug: str, team: Team) -> User:
        admin = User.objects.create_user(
            f"admin@{slug}.example", DEMO_PASSWORD, full_name="Morgan Admin", company=company, role=Role.ADMINISTRATOR
        )
        User.objects.create_user(
            f"teamadmin@{slug}.example",
            DEMO_PASSWORD,
            full_name="Terry Teamlead",
            company=company,
            role=Role.TEAM_ADMINISTRATOR,
            team=team,
        )
        User.objects.create_user(
            f"viewer@{slug}.example", DEMO_PASSWORD, full_name="Vic Viewer", company=company, role=Role.VIEWER
        )
        return admin
