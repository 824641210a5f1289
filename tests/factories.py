"""factory_boy factories. Create rows inside ``company_scope`` or pass ``company``."""

import datetime
import itertools

import factory
from django.utils import timezone

from backoffice.devices.models import Device
from backoffice.licensing.choices import LicenseType
from backoffice.licensing.models import License
from backoffice.organization.choices import ClientType
from backoffice.organization.models import Area, Client, Employee, Team
from backoffice.tenancy.choices import Role
from backoffice.tenancy.models import User

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    time_zone = "America/Chicago"


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area

    name = factory.Sequence(lambda n: f"Area {n}")


class EmployeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employee

    name = factory.Sequence(lambda n: f"Employee {n}")
    email = factory.Sequence(lambda n: f"employee{n}@example.com")


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Client {n}")
    client_type = ClientType.WHOLESALE


class LicenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = License

    number = factory.Sequence(lambda n: f"LIC-{n:05d}")
    license_type = LicenseType.STANDARD
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=365))


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    nickname = factory.Sequence(lambda n: f"Device {n:03d}")
    platform = "Android"
    os_type = "Android 14"
    app_version = "5.4.1"
    device_name = "Galaxy Tab"
    device_identifier = factory.Sequence(lambda n: f"ID-{n:08d}")
    registered_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=3))
    changed_at = factory.LazyFunction(timezone.now)


def make_user(company, role=Role.ADMINISTRATOR, team=None, email=None) -> User:
    email = email or f"user{next(_seq)}@example.com"
    return User.objects.create_user(email, PASSWORD, company=company, role=role, team=team, full_name=email)


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "documents.Document"

    kind = "work_order"
    number = factory.Sequence(lambda n: f"WO-{n:05d}")


def company_today(company) -> datetime.date:
    """
    Today in ``company``'s time zone: the day by which the Back Office and the
    device API decide whether a license has expired. (The test process's own
    zone is UTC, a day ahead of an American company's evening.)
    """
    return timezone.localdate(timezone=company.zone)
