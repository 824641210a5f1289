"""
Company generations (``core.generations``) on a real Redis: every committed
write of a row the credential cache copies (device, credential, team,
license, area, company) bumps its own company's ``devices`` counter and no
other's, through every ORM path; a change of the other configuration inputs
(employees, clients, assigned clients, a device's first document for a
client) bumps its ``config`` counter only; a check-in's last-seen write
bumps nothing; a failed Redis loses no write.

Transactional tests, so that ``on_commit`` runs as in production.
"""

import logging

import pytest
from django.db import transaction
from django.utils import timezone

from backoffice.core.generations import KEY_PREFIX, company_generation, company_generations
from backoffice.devices.codes import credential_digest, credential_generate
from backoffice.devices.models import Device, DeviceClient, DeviceCredential
from backoffice.documents.models import Document
from backoffice.licensing.models import License
from backoffice.licensing.services import license_suspend
from backoffice.organization.models import Area, Employee, Team
from backoffice.organization.services import area_delete
from backoffice.tenancy.models import Company
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.core.ratelimit_backends import generations_on
from tests.factories import AreaFactory, ClientFactory, DeviceFactory, EmployeeFactory, LicenseFactory, make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def generations(settings):
    with generations_on(settings) as client:
        yield client


@pytest.fixture
def fleet(generations, company_a, team_a, company_b):
    """A registered device with a credential in company A, and one in company B."""
    devices = []
    for company, team in ((company_a, team_a), (company_b, None)):
        with company_scope(company):
            team = team or Team.objects.get(is_default=True)
            device = DeviceFactory(company=company, team=team, license=LicenseFactory(company=company))
            DeviceCredential.objects.create(
                company=company, device=device, digest=credential_digest(credential_generate())
            )
            devices.append(device)
    return devices


def _device_save(a, b):
    with company_scope(a.company):
        a.nickname = "Renamed"
        a.save(update_fields=["nickname"])


def _device_update_scoped(a, b):
    with company_scope(a.company):
        Device.objects.filter(pk=a.pk).update(nickname="Renamed")


def _device_update_unscoped(a, b):
    with scopes_disabled():
        Device.objects.filter(pk=a.pk).update(nickname="Renamed")


def _device_bulk_update(a, b):
    a.nickname = "Renamed"
    with scopes_disabled():
        Device.objects.bulk_update([a], ["nickname"])


def _device_delete(a, b):
    with scopes_disabled():
        Device.objects.filter(pk=a.pk).delete()


def _device_instance_delete(a, b):
    a.delete()


def _credential_revoke(a, b):
    with scopes_disabled():
        DeviceCredential.objects.filter(device=a).update(revoked_at=timezone.now())


def _team_save(a, b):
    team = a.team
    team.time_zone = "Asia/Tokyo"
    team.save()


def _area_delete(a, b):
    with company_scope(a.company):
        area = AreaFactory(company=a.company)
        Team.objects.filter(pk=a.team_id).update(area=area)
    with company_scope(a.company):
        area_delete(acting_user=make_user(a.company, email="areas@a.example"), area=Area.objects.get(pk=area.pk))


def _license_suspend(a, b):
    with scopes_disabled():
        license_suspend(acting_user=OPERATOR_COMMAND, license=License.objects.get(pk=a.license_id))


def _company_save(a, b):
    company = Company.objects.get(pk=a.company_id)
    company.default_time_zone = "Europe/Paris"
    company.save()


def _company_update(a, b):
    Company.objects.filter(pk=a.company_id).update(area_support=True)


WRITES = [
    _device_save,
    _device_update_scoped,
    _device_update_unscoped,
    _device_bulk_update,
    _device_delete,
    _device_instance_delete,
    _credential_revoke,
    _team_save,
    _area_delete,
    _license_suspend,
    _company_save,
    _company_update,
]


@pytest.mark.parametrize("write", WRITES, ids=[w.__name__.strip("_") for w in WRITES])
def test_a_committed_write_bumps_its_company_and_no_other(fleet, write):
    a, b = fleet
    before_a, before_b = company_generation(a.company_id), company_generation(b.company_id)
    assert before_a is not None
    assert before_b is not None
    write(a, b)
    assert company_generation(a.company_id) != before_a
    assert company_generation(b.company_id) == before_b


def test_a_check_in_write_bumps_nothing(fleet):
    a, _ = fleet
    before = company_generation(a.company_id)
    with scopes_disabled():
        assert Device.objects.filter(pk=a.pk).update_uncached(last_check_in_at=timezone.now(), app_version="9.9") == 1
    assert company_generation(a.company_id) == before


def test_a_write_in_a_transaction_bumps_at_once_and_again_at_the_commit(fleet):
    a, _ = fleet
    before = company_generation(a.company_id)
    with transaction.atomic():
        with scopes_disabled():
            Device.objects.filter(pk=a.pk).update(nickname="In a transaction")
        during = company_generation(a.company_id)
        assert during != before
    # A copy read between the first bump and the commit carries `during`.
    assert company_generation(a.company_id) not in (before, during)


def test_a_vanished_counter_restarts_from_a_random_value(fleet, generations):
    a, _ = fleet
    generations.flushdb()
    _device_update_scoped(a, None)
    value = int(generations.get(f"{KEY_PREFIX}devices:{a.company_id}"))
    assert value > 2**32, "a counter must never restart from a small value a held copy could carry"
    generations.flushdb()
    assert int(company_generation(a.company_id)) > 2**32


def test_an_unreachable_redis_loses_no_write(fleet, settings, caplog):
    a, _ = fleet
    settings.GENERATIONS_REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    with caplog.at_level(logging.ERROR, logger="backoffice.core.generations"):
        _device_update_scoped(a, None)
    with scopes_disabled():
        assert Device.objects.get(pk=a.pk).nickname == "Renamed"
    assert company_generation(a.company_id) is None
    assert "generation bump failed" in caplog.text


def _employee_create(a):
    with company_scope(a.company):
        EmployeeFactory(company=a.company, team=a.team)


def _employees_bulk_create(a):
    with company_scope(a.company):
        Employee.objects.bulk_create([Employee(company=a.company, team=a.team, name="Bulk", email="bulk@a.example")])


def _client_save(a):
    with company_scope(a.company):
        client = ClientFactory(company=a.company)
    client.name = "Renamed client"
    client.save()


def _assigned_clients_bulk_create(a):
    with company_scope(a.company):
        client = ClientFactory(company=a.company, client_type="wholesale")
    with scopes_disabled():
        DeviceClient.objects.bulk_create([DeviceClient(company=a.company, device=a, client=client)])


def _first_document_for_a_client(a):
    with company_scope(a.company):
        client = ClientFactory(company=a.company, client_type="wholesale")
        Document.objects.create(company=a.company, kind="work_order", number="WO-1", client=client, device=a)


CONFIG_WRITES = [
    _employee_create,
    _employees_bulk_create,
    _client_save,
    _assigned_clients_bulk_create,
    _first_document_for_a_client,
]


@pytest.mark.parametrize("write", CONFIG_WRITES, ids=[w.__name__.strip("_") for w in CONFIG_WRITES])
def test_a_change_of_other_configuration_inputs_bumps_the_config_generation_only(fleet, write):
    a, b = fleet
    before_a, before_b = company_generations(a.company_id), company_generations(b.company_id)
    write(a)
    after_a = company_generations(a.company_id)
    assert after_a.config != before_a.config
    assert after_a.devices == before_a.devices  # the credential cache keeps its copies
    assert company_generations(b.company_id) == before_b


def test_a_second_document_for_the_same_client_bumps_nothing(fleet):
    a, _ = fleet
    with company_scope(a.company):
        client = ClientFactory(company=a.company, client_type="wholesale")
        Document.objects.create(company=a.company, kind="work_order", number="WO-1", client=client, device=a)
        before = company_generations(a.company_id)
        Document.objects.create(company=a.company, kind="work_order", number="WO-2", client=client, device=a)
    assert company_generations(a.company_id) == before
