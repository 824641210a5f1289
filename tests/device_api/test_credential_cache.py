"""
The device API's credential cache in one process (company generations on a
real Redis): a credential seen before costs no database query while nothing
of its company changed, and is read again as soon as something did, when
the counter vanished, when Redis cannot be reached, or when the copy expired.
Across processes: ``test_revocation_processes.py``.
"""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice.core.generations import generations_serving
from backoffice.device_api.selectors import _HELD
from backoffice.device_api.services import device_document_record
from backoffice.devices.clients import ClientSettings
from backoffice.devices.models import Device
from backoffice.devices.services import device_delete, device_update
from backoffice.devices.services.check_ins import PENDING_KEY, check_ins_hand_over
from backoffice.documents.models import Document
from backoffice.licensing.models import License
from backoffice.licensing.services import license_suspend, license_unsuspend
from backoffice.organization import services as organization
from backoffice.organization.choices import ClientType
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.core.ratelimit_backends import generations_on
from tests.device_api.conftest import API, make_pending, post_json, register
from tests.device_api.test_revocation_processes import CHECK_IN
from tests.factories import ClientFactory, make_user


@pytest.fixture(autouse=True, params=["credential-cache"])
def credential_cache(request, settings):
    """Only with the cache on (overrides the directory's two modes)."""
    with generations_on(settings) as client:
        yield client


def wait_until(check, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def check_in(http, credential):
    with CaptureQueriesContext(connection) as queries:
        response = post_json(http, "/check-ins", CHECK_IN, Authorization=f"Bearer {credential}")
    return response, len(queries)


def warm(http, credential) -> None:
    """The first call learns the credential's company, the second holds the device."""
    for _ in range(2):
        response, _ = check_in(http, credential)
        assert response.status_code == 200


def test_a_held_credential_costs_no_query(http, registered):
    warm(http, registered.credential)
    for _ in range(3):
        response, queries = check_in(http, registered.credential)
        assert response.status_code == 200
        assert queries == 0


def test_a_device_deleted_in_this_process_is_refused_at_its_next_call(http, registered, company_a):
    warm(http, registered.credential)
    with company_scope(company_a):
        device_delete(device=Device.objects.get(pk=registered.device.pk), acting_user=make_user(company_a))
    response, queries = check_in(http, registered.credential)
    assert response.status_code == 401
    assert queries == 1


def test_a_vanished_counter_reads_the_database_again_without_pushed_generations(
    http, registered, credential_cache, settings
):
    settings.GENERATIONS_PUSH = False
    warm(http, registered.credential)
    credential_cache.flushdb()
    _, queries = check_in(http, registered.credential)
    assert queries == 1  # the look-up (the configuration's ETag is its name: nothing computed)
    _, queries = check_in(http, registered.credential)
    assert queries == 0


def test_vanished_counters_serve_the_copy_until_the_next_change(http, registered, credential_cache, company_a):
    """
    With pushed generations, Redis losing its keys changes nothing a copy
    shows: it serves on; the next change restarts the counter from a random
    value, published like any bump, and the copy is refused at once.
    """
    warm(http, registered.credential)
    credential_cache.flushdb()
    response, queries = check_in(http, registered.credential)
    assert (response.status_code, queries) == (200, 0)
    with company_scope(company_a):
        device_delete(device=Device.objects.get(pk=registered.device.pk), acting_user=make_user(company_a))
    response, _ = check_in(http, registered.credential)
    assert response.status_code == 401


def test_an_unreachable_redis_reads_the_database_on_every_call(http, registered, settings, company_a):
    warm(http, registered.credential)
    settings.GENERATIONS_REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    # The look-up each time; the first also computes the ETag, then kept for CONFIG_ETAG_CACHE_SECONDS.
    for expected in (3, 1, 1):
        response, queries = check_in(http, registered.credential)
        assert response.status_code == 200
        assert queries == expected
    with company_scope(company_a):
        device_delete(device=Device.objects.get(pk=registered.device.pk), acting_user=make_user(company_a))
    response, _ = check_in(http, registered.credential)
    assert response.status_code == 401


def test_an_expired_copy_is_read_again(http, registered, settings):
    settings.DEVICE_API_CREDENTIAL_CACHE_SECONDS = 1
    warm(http, registered.credential)
    _, queries = check_in(http, registered.credential)
    assert queries == 0
    time.sleep(1.1)
    _, queries = check_in(http, registered.credential)
    assert queries == 1


def test_no_cache_with_its_expiry_at_zero(http, registered, settings):
    settings.DEVICE_API_CREDENTIAL_CACHE_SECONDS = 0
    warm(http, registered.credential)
    for _ in range(2):
        _, queries = check_in(http, registered.credential)
        assert queries == 1


def test_a_due_write_is_kept_in_the_copy(http, registered, settings):
    """After this process wrote a check-in, its copy has the new last-seen: the next one writes nothing."""
    settings.CHECK_IN_WRITE_INTERVAL_SECONDS = 1
    settings.CHECK_IN_BUFFER = False  # a write to the database (buffered, it costs none)
    warm(http, registered.credential)
    time.sleep(1.1)
    _, queries = check_in(http, registered.credential)
    assert queries >= 1  # the due write
    _, queries = check_in(http, registered.credential)
    assert queries == 0


def test_the_oldest_copy_makes_room_at_the_limit(http, registered, settings, company_a, team_a):
    settings.DEVICE_API_CREDENTIAL_CACHE_ENTRIES = 1
    other = register(http, make_pending(company_a, team_a, nickname="Second tablet").code).json()["credential"]
    warm(http, registered.credential)
    _, queries = check_in(http, registered.credential)
    assert queries == 0
    warm(http, other)
    assert len(_HELD) == 1
    _, queries = check_in(http, other)
    assert queries == 0
    _, queries = check_in(http, registered.credential)
    assert queries == 1


def config_etag_now(http, credential):
    response = http.get(f"{API}/config", headers={"Authorization": f"Bearer {credential}"})
    return response["ETag"]


@pytest.mark.parametrize("change", ["employee_joins", "client_added", "first_document_for_a_client"])
def test_employees_clients_and_documents_reach_the_check_in_at_once(
    http, registered, admin_a, company_a, team_a, change
):
    """With generations an ETag serves until its company's config generation moves: no 60 s delay."""
    with company_scope(company_a):
        if change == "first_document_for_a_client":
            # Selected clients only: a document's client is then what makes it available.
            device = Device.objects.get(pk=registered.device.pk)
            device_update(
                device=device,
                acting_user=admin_a,
                team=device.team,
                license=device.license,
                nickname=device.nickname,
                clients=ClientSettings(client_selection_type="wholesale", client_scope="selected"),
            )
        outside = ClientFactory(company=company_a, client_type=ClientType.WHOLESALE, name="Outside")
    warm(http, registered.credential)
    held = post_json(http, "/check-ins", CHECK_IN, Authorization=f"Bearer {registered.credential}").json()
    _, queries = check_in(http, registered.credential)
    assert queries == 0
    with company_scope(company_a):
        if change == "employee_joins":
            organization.employee_create(acting_user=admin_a, name="Ben", email="ben@a.example", team=team_a)
        elif change == "client_added":
            organization.client_create(acting_user=admin_a, name="New Fleet", client_type=ClientType.WHOLESALE)
        else:
            Document.objects.create(
                company=company_a, kind="work_order", number="WO-7", client=outside, device=registered.device
            )
    response, _ = check_in(http, registered.credential)
    assert response.json()["config_etag"] != held["config_etag"]
    assert response.json()["config_etag"] == config_etag_now(http, registered.credential)


def test_a_second_document_for_the_same_client_keeps_the_etag(http, registered, company_a):
    with company_scope(company_a):
        client = ClientFactory(company=company_a, client_type=ClientType.WHOLESALE, name="Fleet")
        device = Device.objects.get(pk=registered.device.pk)
        device_document_record(device=device, kind="work_order", number="WO-1", client_id=client.pk)
    warm(http, registered.credential)
    etag = check_in(http, registered.credential)[0].json()["config_etag"]
    with company_scope(company_a):
        device_document_record(device=device, kind="work_order", number="WO-2", client_id=client.pk)
    response, queries = check_in(http, registered.credential)
    assert response.json()["config_etag"] == etag
    assert queries == 0


def redis_calls(client) -> dict[str, int]:
    stats = client.info("commandstats")
    return {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("mget", "evalsha", "eval", "get")}


def test_a_due_check_in_of_a_held_credential_costs_no_round_trip(http, registered, settings, credential_cache):
    """With pushed generations and the hand-over in memory: no Redis command, no query, until the hand-over."""
    settings.CHECK_IN_WRITE_INTERVAL_SECONDS = 0  # every check-in is due
    settings.CHECK_IN_LOCAL_FLUSH_SECONDS = 30  # the hand-over thread stays out of the way
    warm(http, registered.credential)
    wait_until(generations_serving)
    check_ins_hand_over()
    pending_key = f"{PENDING_KEY}{registered.device.company_id}"
    credential_cache.delete(pending_key)
    before = credential_cache.info("commandstats")
    response, queries = check_in(http, registered.credential)
    after = credential_cache.info("commandstats")
    assert response.status_code == 200
    assert queries == 0
    # The watcher's own ticks run meanwhile; the request sent nothing else.
    for name in ("mget", "get", "hset", "eval"):
        assert after.get(f"cmdstat_{name}", {}).get("calls", 0) == before.get(f"cmdstat_{name}", {}).get("calls", 0)
    assert not credential_cache.exists(pending_key)
    assert check_ins_hand_over() == 1
    assert credential_cache.hget(pending_key, str(registered.device.pk)) is not None


def test_a_due_check_in_of_a_held_credential_is_one_redis_round_trip_without_pushed_generations(
    http, registered, settings, credential_cache
):
    """The generations check and the buffered write are one script: no MGET, no query."""
    settings.GENERATIONS_PUSH = False
    settings.CHECK_IN_WRITE_INTERVAL_SECONDS = 0  # every check-in is due
    warm(http, registered.credential)
    check_in(http, registered.credential)  # loads the script into Redis
    before = redis_calls(credential_cache)
    response, queries = check_in(http, registered.credential)
    after = redis_calls(credential_cache)
    assert response.status_code == 200
    assert queries == 0
    assert after["evalsha"] - before["evalsha"] == 1
    assert after["get"] - before["get"] == 2  # inside the script: the two generations
    assert (after["mget"], after["eval"]) == (before["mget"], before["eval"])
    pending = credential_cache.hget(f"{PENDING_KEY}{registered.device.company_id}", str(registered.device.pk))
    assert pending is not None


def test_a_due_check_in_of_a_revoked_held_credential_is_refused_and_buffers_nothing(
    http, registered, settings, company_a, credential_cache
):
    settings.CHECK_IN_WRITE_INTERVAL_SECONDS = 0
    warm(http, registered.credential)
    credential_cache.delete(f"{PENDING_KEY}{registered.device.company_id}")
    with company_scope(company_a):
        device_delete(device=Device.objects.get(pk=registered.device.pk), acting_user=make_user(company_a))
    response, _ = check_in(http, registered.credential)
    assert response.status_code == 401
    assert not credential_cache.exists(f"{PENDING_KEY}{registered.device.company_id}")


def test_a_held_credential_with_a_bad_body_is_refused_and_changes_nothing(http, registered, settings, credential_cache):
    """The body is validated before the held copy is confirmed: 422, nothing buffered or written."""
    settings.CHECK_IN_WRITE_INTERVAL_SECONDS = 0
    warm(http, registered.credential)
    credential_cache.delete(f"{PENDING_KEY}{registered.device.company_id}")
    response = post_json(
        http, "/check-ins", {**CHECK_IN, "name": "bad\x00name"}, Authorization=f"Bearer {registered.credential}"
    )
    assert response.status_code == 422
    assert not credential_cache.exists(f"{PENDING_KEY}{registered.device.company_id}")


def test_a_license_suspended_is_refused_at_the_next_call_of_a_held_credential(http, registered):
    warm(http, registered.credential)
    with scopes_disabled():
        license = License.objects.get(device=registered.device.pk)
    license_suspend(acting_user=OPERATOR_COMMAND, license=license)
    response, _ = check_in(http, registered.credential)
    assert response.status_code == 403
    config = http.get(f"{API}/config", headers={"Authorization": f"Bearer {registered.credential}"})
    assert config.status_code == 403
    with scopes_disabled():
        license = License.objects.get(pk=license.pk)
    license_unsuspend(acting_user=OPERATOR_COMMAND, license=license)
    response, _ = check_in(http, registered.credential)
    assert response.status_code == 200
