"""Thirty administrators racing for the last ten free licenses (PostgreSQL row locks)."""

import threading

import pytest
from django.db import connection, connections

from backoffice.devices.models import Device
from backoffice.licensing.models import License
from backoffice.tenancy.scoping import company_scope
from tests.conftest import login
from tests.devices.conftest import device_payload
from tests.factories import LicenseFactory, make_user


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_thirty_simultaneous_adds_for_ten_free_licenses(company_a, team_a):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks")
    with company_scope(company_a):
        licenses = [LicenseFactory(company=company_a, number=f"NW-{10041 + i}") for i in range(10)]
    clients = [login(make_user(company_a, email=f"admin{i}@a.example")) for i in range(30)]
    barrier = threading.Barrier(30)
    results: list[tuple[int, str]] = [(0, "")] * 30

    def add(i: int) -> None:
        try:
            barrier.wait()
            response = clients[i].post(
                "/devices/add/",
                device_payload(team=team_a, license=licenses[i % 10], nickname=f"Racer {i}", recipients=None),
            )
            results[i] = (response.status_code, response.content.decode())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=add, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    statuses = [status for status, _ in results]
    assert statuses.count(302) == 10
    assert statuses.count(200) == 20
    for status, html in results:
        if status == 200:
            assert "was just taken; pick another." in html
    with company_scope(company_a):
        assert Device.objects.count() == 10
        held = list(Device.objects.values_list("license_id", flat=True))
        assert sorted(held) == sorted(lic.pk for lic in licenses)
        assert License.objects.filter(device__isnull=True).count() == 0
