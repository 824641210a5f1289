"""
The check-in's direct way in (``api.check_in_direct``, routed by
``DeviceApiMiddleware``): a well-formed check-in is answered without
entering Ninja's view, with the answer the Ninja operation gives; every
other request is answered by the operation, byte for byte as with the
direct way turned off (``DEVICE_API_DIRECT_CHECK_INS``); and no request
records its check-in twice, whichever step fails.

Every test runs in the directory's two modes (database, credential cache).
"""

import datetime
import json

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from ninja.operation import PathView

from backoffice.device_api import api as device_api
from backoffice.device_api import errors
from backoffice.devices.models import Device, DeviceCredential
from backoffice.devices.services.check_ins import PENDING_KEY
from backoffice.licensing.models import License
from backoffice.licensing.services import license_suspend
from backoffice.tenancy.permissions import OPERATOR_COMMAND
from backoffice.tenancy.scoping import scopes_disabled
from tests.core.ratelimit_backends import redis_url
from tests.device_api.conftest import API
from tests.device_api.test_malformed import check_in_like

CHECK_IN = {"name": "Tech Tablet 7", "os_type": "Android 14", "platform": "Android", "app_version": "5.4.1"}
CHECK_IN_BYTES = json.dumps(CHECK_IN).encode()


@pytest.fixture
def ninja_views(monkeypatch):
    """The methods of the requests that entered a Ninja view (its method dispatch), in order."""
    entered: list[str] = []
    find_operation = PathView._find_operation

    def observed(self, request):
        entered.append(request.method)
        return find_operation(self, request)

    monkeypatch.setattr(PathView, "_find_operation", observed)
    return entered


@pytest.fixture
def recorded(monkeypatch):
    """The check-ins that entered ``device_check_in_confirmed`` (the record step), by device id."""
    entered: list[int] = []
    record = device_api.device_check_in_confirmed

    def observed(*, device, **reported):
        entered.append(device.pk)
        return record(device=device, **reported)

    monkeypatch.setattr(device_api, "device_check_in_confirmed", observed)
    return entered


@pytest.fixture
def direct_writes(settings):
    """Every check-in due and written at once (no buffer), so that each record step is an UPDATE to count."""
    settings.CHECK_IN_BUFFER = False
    settings.CHECK_IN_WRITE_INTERVAL_SECONDS = 0


def send(http, body=CHECK_IN_BYTES, *, method="POST", authorization=None, credential=None):
    headers = {}
    if credential is not None:
        headers["Authorization"] = f"Bearer {credential}"
    if authorization is not None:
        headers["Authorization"] = authorization
    return http.generic(method, f"{API}/check-ins", data=body, content_type="application/json", headers=headers)


def exact(response) -> tuple:
    """All a client receives: status, every header in order, the body."""
    return response.status_code, list(response.items()), response.content


def device_updates(queries) -> int:
    return sum(
        1
        for query in queries.captured_queries
        if query["sql"].lstrip().upper().startswith("UPDATE") and "devices_device" in query["sql"].split(" SET ")[0]
    )


def age_last_check_in(device, hours=2):
    with scopes_disabled():
        Device.objects.filter(pk=device.pk).update(last_check_in_at=timezone.now() - datetime.timedelta(hours=hours))


def stored(device) -> Device:
    with scopes_disabled():
        return Device.objects.get(pk=device.pk)


@pytest.fixture
def buffer(credential_cache):
    """The check-in buffer's entries (none without Redis), to empty and to look at."""
    if credential_cache == "database":
        yield None
        return
    client = redis.Redis.from_url(redis_url())
    yield client
    client.close()


def buffer_clear(buffer, device) -> None:
    if buffer is not None:
        buffer.delete(f"{PENDING_KEY}{device.company_id}")


def buffered(buffer, device) -> bool:
    return buffer is not None and bool(buffer.hexists(f"{PENDING_KEY}{device.company_id}", str(device.pk)))


def both_ways(http, settings, ninja_views, **request):
    """The answer with the direct way on (and whether a Ninja view was entered), then with it off."""
    settings.DEVICE_API_DIRECT_CHECK_INS = True
    del ninja_views[:]
    direct = send(http, **request)
    fell_back = bool(ninja_views)
    settings.DEVICE_API_DIRECT_CHECK_INS = False
    del ninja_views[:]
    operation = send(http, **request)
    assert ninja_views, "with the direct way off, the Ninja operation answers"
    settings.DEVICE_API_DIRECT_CHECK_INS = True
    return direct, fell_back, operation


def test_a_well_formed_check_in_is_answered_without_entering_ninja(
    http, registered, settings, ninja_views, recorded, direct_writes
):
    age_last_check_in(registered.device)
    body = json.dumps({**CHECK_IN, "name": "Renamed tablet", "app_version": "5.5.0"}).encode()
    with CaptureQueriesContext(connection) as queries:
        direct = send(http, body, credential=registered.credential)
    assert direct.status_code == 200, direct.content
    assert ninja_views == []
    assert recorded == [registered.device.pk]
    assert device_updates(queries) == 1
    device = stored(registered.device)
    assert (device.device_name, device.app_version) == ("Renamed tablet", "5.5.0")
    assert timezone.now() - device.last_check_in_at < datetime.timedelta(minutes=1)

    settings.DEVICE_API_DIRECT_CHECK_INS = False
    age_last_check_in(registered.device)
    operation = send(http, body, credential=registered.credential)
    assert ninja_views == ["POST"]
    assert operation.status_code == 200
    assert list(direct.items()) == list(operation.items())
    assert direct["Content-Type"] == "application/json; charset=utf-8"
    direct_body, operation_body = direct.json(), operation.json()
    assert set(direct_body) == set(operation_body) == {"config_etag", "server_time"}
    assert direct_body["config_etag"] == operation_body["config_etag"]
    assert (
        direct_body["config_etag"]
        == http.get(f"{API}/config", headers={"Authorization": f"Bearer {registered.credential}"})["ETag"]
    )
    server_time = datetime.datetime.fromisoformat(direct_body["server_time"])
    assert abs((server_time - timezone.now()).total_seconds()) < 60
    # The same serialisation: keys in the same order, the same spacing.
    assert list(json.loads(direct.content)) == list(json.loads(operation.content))
    assert direct.content.replace(direct_body["server_time"].encode(), b"") == operation.content.replace(
        operation_body["server_time"].encode(), b""
    )


def test_a_coalesced_check_in_is_answered_directly_and_writes_nothing(http, registered, settings, ninja_views):
    settings.CHECK_IN_BUFFER = False
    settings.CHECK_IN_WRITE_INTERVAL_SECONDS = 3600
    assert send(http, credential=registered.credential).status_code == 200
    seen = stored(registered.device).last_check_in_at
    del ninja_views[:]
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            response = send(http, credential=registered.credential)
        assert response.status_code == 200
        assert device_updates(queries) == 0
    assert ninja_views == []
    assert stored(registered.device).last_check_in_at == seen


@pytest.mark.parametrize("authorization", ["bearer {}", "BEARER {}", "Bearer   {}  "])
def test_the_bearer_rules_are_the_operations(http, registered, ninja_views, authorization):
    response = send(http, authorization=authorization.format(registered.credential))
    assert response.status_code == 200
    assert ninja_views == []


def test_the_direct_way_turned_off_sends_every_check_in_through_ninja(http, registered, settings, ninja_views):
    settings.DEVICE_API_DIRECT_CHECK_INS = False
    assert send(http, credential=registered.credential).status_code == 200
    assert ninja_views == ["POST"]


# Valid but for its size (DEVICE_API_MAX_BODY_BYTES is 16 KiB): padded with whitespace.
BIG = CHECK_IN_BYTES[:-1] + b" " * 20_000 + b"}"

# Each request the direct way does not answer itself: (request, whether the
# credential goes with it). Answered by the operation: the same bytes.
# Refused by the authentication: answered directly, as Ninja answers it (one look-up, not two).
ANSWERED_DIRECTLY = pytest.mark.answered_directly

REFUSED = [
    pytest.param({"authorization": None}, False, id="no-header"),
    pytest.param({"authorization": "Basic dXNlcjpwYXNz"}, False, id="wrong-scheme"),
    pytest.param({"authorization": "Bearer"}, False, id="scheme-only"),
    pytest.param({"authorization": "Bearer    "}, False, id="blank-token"),
    pytest.param({"authorization": "Bearer " + "A" * 129}, False, id="overlong-token"),
    pytest.param({"authorization": "Bearer " + "A" * 43}, False, id="unknown-credential", marks=ANSWERED_DIRECTLY),
    pytest.param({"body": BIG}, True, id="body-too-large"),
    pytest.param({"body": json.dumps({"padding": "x" * 3_000_000}).encode()}, True, id="over-django-upload-limit"),
    pytest.param({"body": b"{not json"}, True, id="not-json"),
    pytest.param({"body": b"\xff\xfe\x00garbage"}, True, id="not-utf8"),
    pytest.param({"body": b""}, True, id="empty-body"),
    pytest.param({"body": b"[]"}, True, id="json-array"),
    pytest.param({"body": b'"a string"'}, True, id="json-string"),
    pytest.param({"body": b"null"}, True, id="json-null"),
    pytest.param({"body": b"{}"}, True, id="empty-object"),
    pytest.param({"body": json.dumps({**CHECK_IN, "surprise": 1}).encode()}, True, id="unknown-field"),
    pytest.param({"body": json.dumps({**CHECK_IN, "name": 7}).encode()}, True, id="wrong-type"),
    pytest.param({"body": json.dumps({**CHECK_IN, "app_version": "v" * 65}).encode()}, True, id="too-long"),
    pytest.param({"body": json.dumps({**CHECK_IN, "name": "bad\u0001name"}).encode()}, True, id="control-character"),
    pytest.param({"body": json.dumps({**CHECK_IN, "name": "bad\x00name"}).encode()}, True, id="nul"),
    pytest.param({"body": json.dumps({**CHECK_IN, "name": "a\u202eb"}).encode()}, True, id="bidi-character"),
    pytest.param({"body": CHECK_IN_BYTES.replace(b'"Tech Tablet 7"', b'"\\ud800"')}, True, id="lone-surrogate-escape"),
    pytest.param({"body": CHECK_IN_BYTES.replace(b'"Tech Tablet 7"', b'"\xed\xa0\x80"')}, True, id="encoded-surrogate"),
    pytest.param({"body": CHECK_IN_BYTES + b" x"}, True, id="trailing-garbage"),
    pytest.param({"method": "GET", "body": b""}, True, id="get"),
    pytest.param({"method": "PUT"}, True, id="put"),
    pytest.param({"method": "HEAD", "body": b""}, True, id="head"),
]


@pytest.mark.parametrize(("request_", "with_credential"), REFUSED)
def test_every_refusal_is_the_operations_answer_byte_for_byte(
    http, registered, settings, ninja_views, recorded, buffer, request_, with_credential, request
):
    age_last_check_in(registered.device)
    before = stored(registered.device).last_check_in_at
    request_ = dict(request_)
    if with_credential:
        request_["credential"] = registered.credential
    direct, fell_back, operation = both_ways(http, settings, ninja_views, **request_)
    assert direct.status_code >= 400, direct.content
    assert exact(direct) == exact(operation)
    assert fell_back == (request.node.get_closest_marker("answered_directly") is None)
    assert recorded == []
    assert stored(registered.device).last_check_in_at == before
    assert not buffered(buffer, registered.device)


def revoke(device):
    with scopes_disabled():
        DeviceCredential.objects.filter(device_id=device.pk).update(revoked_at=timezone.now())


def suspend(device):
    with scopes_disabled():
        license = License.objects.get(device=device.pk)
    license_suspend(acting_user=OPERATOR_COMMAND, license=license)


@pytest.mark.parametrize(("change", "status"), [(revoke, 401), (suspend, 403)], ids=["revoked", "license-inactive"])
def test_a_refused_device_is_the_operations_answer_and_nothing_is_written(
    http, registered, settings, ninja_views, recorded, credential_cache, buffer, change, status
):
    """
    Without the credential cache the authentication refuses the device, and
    the refusal is answered directly as the operation answers it (one look-up).
    With it the device is held from the first
    check-ins: its held copy passes the authentication and is refused by the
    confirmation inside the record step, before anything is written, and
    that refusal is answered by the API's handlers as the operation answers
    it, without running the check-in again.
    """
    settings.CHECK_IN_WRITE_INTERVAL_SECONDS = 0  # every check-in is due: a write if it were let through
    for _ in range(2):
        assert send(http, credential=registered.credential).status_code == 200
    buffer_clear(buffer, registered.device)
    age_last_check_in(registered.device)
    before = stored(registered.device).last_check_in_at
    change(registered.device)
    del recorded[:]
    with CaptureQueriesContext(connection) as queries:
        direct, fell_back, operation = both_ways(http, settings, ninja_views, credential=registered.credential)
    assert direct.status_code == status
    assert exact(direct) == exact(operation)
    if credential_cache == "credential-cache":
        assert not fell_back
        assert recorded == [registered.device.pk]  # the direct way's record step, once
    else:
        assert not fell_back
        assert recorded == []
    assert device_updates(queries) == 0
    assert stored(registered.device).last_check_in_at == before
    assert not buffered(buffer, registered.device)


ACCEPTED_BY_THE_OPERATION_ONLY = [
    pytest.param(b"\xef\xbb\xbf" + CHECK_IN_BYTES, id="byte-order-mark"),
    pytest.param(json.dumps(CHECK_IN).encode("utf-16"), id="utf-16"),
]


@pytest.mark.parametrize("body", ACCEPTED_BY_THE_OPERATION_ONLY)
def test_a_body_only_the_operation_parses_is_answered_by_it_and_written_once(
    http, registered, ninja_views, recorded, direct_writes, body
):
    age_last_check_in(registered.device)
    with CaptureQueriesContext(connection) as queries:
        response = send(http, body, credential=registered.credential)
    assert response.status_code == 200, response.content
    assert ninja_views == ["POST"]
    assert recorded == [registered.device.pk]
    assert device_updates(queries) == 1


def failing_answer(error):
    def device_config_etag(*, device):
        raise error

    return device_config_etag


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(RuntimeError("a bug"), id="bug"),
        pytest.param(errors.database_unavailable(), id="api-error"),
    ],
)
def test_a_failure_after_the_write_is_answered_as_the_operation_answers_it_without_a_second_write(
    http, registered, settings, monkeypatch, ninja_views, recorded, direct_writes, error
):
    monkeypatch.setattr(device_api, "device_config_etag", failing_answer(error))
    answers = {}
    for direct in (True, False):
        settings.DEVICE_API_DIRECT_CHECK_INS = direct
        age_last_check_in(registered.device)
        del ninja_views[:], recorded[:]
        with CaptureQueriesContext(connection) as queries:
            answers[direct] = send(http, credential=registered.credential)
        assert recorded == [registered.device.pk]
        assert device_updates(queries) == 1
        assert ninja_views == ([] if direct else ["POST"])
    assert exact(answers[True]) == exact(answers[False])
    expected = 500 if isinstance(error, RuntimeError) else 503
    assert answers[True].status_code == expected
    assert set(answers[True].json()) == {"error", "detail"}


def test_an_api_error_of_the_record_step_other_than_a_refusal_is_not_run_again(
    http, registered, settings, monkeypatch, ninja_views, recorded, direct_writes
):
    """Only the confirmation's refusals come before the write; any other error may follow it."""
    record = device_api.device_check_in_confirmed

    def record_then_fail(**arguments):
        record(**arguments)
        raise errors.database_unavailable()

    monkeypatch.setattr(device_api, "device_check_in_confirmed", record_then_fail)
    age_last_check_in(registered.device)
    with CaptureQueriesContext(connection) as queries:
        response = send(http, credential=registered.credential)
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert ninja_views == []
    assert recorded == [registered.device.pk]
    assert device_updates(queries) == 1


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=check_in_like)
def test_random_check_in_bodies_get_the_operations_answer(http, registered, settings, ninja_views, body):
    raw = json.dumps(body).encode()
    direct, fell_back, operation = both_ways(http, settings, ninja_views, body=raw, credential=registered.credential)
    assert direct.status_code == operation.status_code, (body, direct.content, operation.content)
    assert list(direct.items()) == list(operation.items())
    if operation.status_code == 200:
        assert not fell_back
        assert direct.json()["config_etag"] == operation.json()["config_etag"]
    else:
        assert fell_back
        assert direct.content == operation.content
