"""PostgreSQL only: concurrent redemptions of one code (row locks), a dead connection under the look-up."""

import threading
from collections import Counter

import pytest
from django.db import connection, connections
from django.test import Client as HttpClient
from django.test import override_settings

from backoffice.device_api.selectors import device_for_credential
from backoffice.devices.models import DeviceCredential
from backoffice.organization.models import Team
from backoffice.organization.services import company_create
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.device_api.conftest import make_pending, register

THREADS = 20


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
@pytest.mark.django_db(transaction=True)
@override_settings(REGISTRATION_FAILED_PER_ADDRESS=1000)
def test_twenty_concurrent_redemptions_of_one_code_register_once():
    company = company_create(acting_user=OPERATOR_COMMAND, name="Race Co")
    with company_scope(company):
        team = Team.objects.get(is_default=True)
    pending = make_pending(company, team)
    barrier = threading.Barrier(THREADS)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def redeem(n: int) -> None:
        try:
            http = HttpClient()
            barrier.wait(timeout=30)
            response = register(http, pending.code, name=f"Racer {n}")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: THREADS - 1}
    assert all(body["error"] == "code_used" for status, body in results if status == 409)
    with scopes_disabled():
        credentials = DeviceCredential.objects.filter(device=pending.device)
        assert credentials.count() == 1
        winner = next(body for status, body in results if status == 201)
        assert credentials.get().device_id == winner["device"]["id"]


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_credential_lookup_reconnects_once_when_the_connection_died():
    company = company_create(acting_user=OPERATOR_COMMAND, name="Reconnect Co")
    with company_scope(company):
        team = Team.objects.get(is_default=True)
    pending = make_pending(company, team)
    response = register(HttpClient(), pending.code)
    assert response.status_code == 201
    connection.ensure_connection()
    connection.connection.close()  # what a server restart looks like to this process
    device = device_for_credential(credential=response.json()["credential"])
    assert device is not None
    assert device.pk == pending.device.pk
