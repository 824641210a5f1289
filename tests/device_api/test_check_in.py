import datetime

from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.device_api.selectors import _LOCAL_ETAGS
from backoffice.devices.models import Device
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.device_api.conftest import API, bearer, post_json
from tests.factories import EmployeeFactory

CHECK_IN = {"name": "Tech Tablet 7", "os_type": "Android 14", "platform": "Android", "app_version": "5.4.1"}


def stored(device) -> Device:
    with scopes_disabled():
        return Device.objects.get(pk=device.pk)


def age_last_check_in(device, seconds: int) -> datetime.datetime:
    when = timezone.now() - datetime.timedelta(seconds=seconds)
    with scopes_disabled():
        Device.objects.filter(pk=device.pk).update(last_check_in_at=when)
    return when


def updates(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("UPDATE")]


def test_check_in_records_last_seen_and_what_the_device_runs(http, registered):
    old = age_last_check_in(registered.device, 3600)
    changed_at = stored(registered.device).changed_at
    body = {**CHECK_IN, "name": "Renamed tablet", "app_version": "5.5.0", "os_type": "Android 15", "platform": "iOS"}
    response = post_json(http, "/check-ins", body, **bearer(registered.credential))
    assert response.status_code == 200
    answer = response.json()
    assert set(answer) == {"config_etag", "server_time"}
    assert answer["config_etag"] == http.get(f"{API}/config", headers=bearer(registered.credential))["ETag"]
    server_time = datetime.datetime.fromisoformat(answer["server_time"])
    assert abs((server_time - timezone.now()).total_seconds()) < 60

    device = stored(registered.device)
    assert device.last_check_in_at > old
    assert (device.device_name, device.app_version, device.os_type, device.platform) == (
        "Renamed tablet",
        "5.5.0",
        "Android 15",
        "iOS",
    )
    # Reported details are not settings: Change Date stays.
    assert device.changed_at == changed_at


def test_check_in_within_the_interval_with_the_same_data_does_not_write(http, registered, credential_cache):
    age_last_check_in(registered.device, 3600)
    assert post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential)).status_code == 200
    first_seen = stored(registered.device).last_check_in_at

    with CaptureQueriesContext(connection) as queries:
        response = post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential))
    assert response.status_code == 200
    assert updates(queries) == []
    # The credential look-up (this process remembers the configuration ETag);
    # with the cache on, none: the first call held the device.
    assert len(queries) == (1 if credential_cache == "database" else 0)
    assert stored(registered.device).last_check_in_at == first_seen


def test_check_in_writes_when_a_field_changed_even_within_the_interval(http, registered):
    post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential))
    with CaptureQueriesContext(connection) as queries:
        post_json(http, "/check-ins", {**CHECK_IN, "app_version": "5.4.2"}, **bearer(registered.credential))
    assert len(updates(queries)) == 1
    assert stored(registered.device).app_version == "5.4.2"


@override_settings(CHECK_IN_WRITE_INTERVAL_SECONDS=30)
def test_check_in_writes_again_once_the_interval_passed(http, registered, settings):
    settings.CHECK_IN_BUFFER = False  # the direct write (the buffer: test_check_in_buffer.py)
    post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential))
    before = age_last_check_in(registered.device, 31)
    with CaptureQueriesContext(connection) as queries:
        post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential))
    assert len(updates(queries)) == 1
    assert stored(registered.device).last_check_in_at > before

    age_last_check_in(registered.device, 29)
    with CaptureQueriesContext(connection) as queries:
        post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential))
    assert updates(queries) == []


def test_check_in_announces_employee_changes_after_config_fetch_or_cache_expiry(http, registered, company_a, team_a):
    first = post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential)).json()["config_etag"]
    with company_scope(company_a):
        EmployeeFactory(company=company_a, team=team_a, name="New Tech")
    # Employees live outside the rows the remembered ETag is keyed on: once it
    # has expired, the check-in announces the new ETag, the one GET /config serves.
    with override_settings(CONFIG_ETAG_CACHE_SECONDS=0):
        _LOCAL_ETAGS.clear()
        cache.clear()
        fresh = post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential)).json()["config_etag"]
    assert fresh != first
    assert http.get(f"{API}/config", headers=bearer(registered.credential))["ETag"] == fresh


def test_check_in_announces_a_device_setting_change_at_once(http, registered):
    first = post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential)).json()["config_etag"]
    with scopes_disabled():
        Device.objects.filter(pk=registered.device.pk).update(nickname="Renamed by admin", changed_at=timezone.now())
    second = post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential)).json()["config_etag"]
    assert second != first
    assert http.get(f"{API}/config", headers=bearer(registered.credential))["ETag"] == second


def set_columns(sql: str) -> set[str]:
    """The columns an UPDATE statement sets."""
    assignments = sql.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
    return {part.split("=", 1)[0].strip().strip('"') for part in assignments.split(", ")}


@override_settings(CHECK_IN_WRITE_INTERVAL_SECONDS=30)
def test_check_in_updates_only_last_seen_and_the_reported_fields_that_changed(http, registered, settings):
    settings.CHECK_IN_BUFFER = False  # the direct write (the buffer: test_check_in_buffer.py)
    post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential))
    age_last_check_in(registered.device, 31)
    with CaptureQueriesContext(connection) as queries:
        post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential))
    [update] = updates(queries)
    assert set_columns(update) == {"last_check_in_at"}

    with CaptureQueriesContext(connection) as queries:
        post_json(http, "/check-ins", {**CHECK_IN, "app_version": "5.10.0"}, **bearer(registered.credential))
    [update] = updates(queries)
    assert set_columns(update) == {"last_check_in_at", "app_version", "app_version_key"}
    device = stored(registered.device)
    assert (device.app_version, device.device_name, device.os_type, device.platform) == (
        "5.10.0",
        CHECK_IN["name"],
        CHECK_IN["os_type"],
        CHECK_IN["platform"],
    )
