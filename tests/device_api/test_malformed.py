"""No request, however malformed, gets a 500 or an answer outside the error shape."""

import json

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.devices.models import Device
from backoffice.tenancy.scoping import scopes_disabled
from tests.device_api.conftest import API, REPORTED, bearer, post_json

CHECK_IN = {"name": "n", "os_type": "o", "platform": "p", "app_version": "v"}


def assert_error_shape(response, statuses=(400, 413, 422)):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert isinstance(body["error"], str)
    assert body["error"]
    assert isinstance(body["detail"], str)
    assert body["detail"]


BAD_BODIES = [
    pytest.param("{not json", id="invalid-json"),
    pytest.param(b"\xff\xfe\x00garbage", id="not-utf8"),
    pytest.param("[]", id="array"),
    pytest.param("[1, 2, 3]", id="array-of-numbers"),
    pytest.param('"a string"', id="string"),
    pytest.param("null", id="null"),
    pytest.param("42", id="number"),
    pytest.param("", id="empty"),
    pytest.param("{}", id="empty-object"),
    pytest.param("[" * 5000 + "]" * 5000, id="deeply-nested"),
    pytest.param("x" * 300_000, id="huge"),
    pytest.param(json.dumps({"padding": "x" * 3_000_000}), id="over-django-upload-limit"),
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_registration_bodies(http, pending, body):
    assert_error_shape(post_json(http, "/registrations", body))
    with scopes_disabled():
        assert Device.objects.get(pk=pending.device.pk).registered_at is None


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_check_in_bodies(http, registered, body):
    assert_error_shape(post_json(http, "/check-ins", body, **bearer(registered.credential)))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code": 1234567890}, "invalid_request"),
        ({"code": None}, "invalid_request"),
        ({"code": ["BCDFGHJKLM"]}, "invalid_request"),
        ({"code": "B" * 65}, "invalid_request"),
        ({"device": {**REPORTED, "name": "n" * 65}}, "invalid_request"),
        ({"device": {**REPORTED, "app_version": "5" * 65}}, "invalid_request"),
        ({"device": {**REPORTED, "os_type": "o" * 65}}, "invalid_request"),
        ({"device": {**REPORTED, "platform": "p" * 65}}, "invalid_request"),
        ({"device": {**REPORTED, "device_id": "i" * 257}}, "invalid_request"),
        ({"device": {**REPORTED, "app_version": 5.4}}, "invalid_request"),
        ({"device": {**REPORTED, "extra": "field"}}, "invalid_request"),
        ({"device": "a string"}, "invalid_request"),
        ({"unknown": "field"}, "invalid_request"),
    ],
)
def test_wrong_types_oversized_and_unknown_fields_in_registrations(http, pending, change, error):
    body = {"code": pending.code, "device": dict(REPORTED), **change}
    response = post_json(http, "/registrations", body)
    assert_error_shape(response)
    assert response.json()["error"] == error
    assert pending.code not in response.content.decode()
    with scopes_disabled():
        assert Device.objects.get(pk=pending.device.pk).registered_at is None


def test_longest_allowed_fields_are_accepted(http, pending):
    device = {**REPORTED, "name": "n" * 64, "os_type": "o" * 64, "platform": "p" * 64, "app_version": "v" * 64}
    device["device_id"] = "i" * 256
    assert post_json(http, "/registrations", {"code": pending.code, "device": device}).status_code == 201


@pytest.mark.parametrize(
    "change",
    [
        {"name": 7},
        {"name": "n" * 65},
        {"app_version": "v" * 65},
        {"platform": None},
        {"os_type": True},
        {"surprise": 1},
    ],
)
def test_wrong_types_oversized_and_unknown_fields_in_check_ins(http, registered, change):
    body = {key: value for key, value in {**CHECK_IN, **change}.items() if value is not None}
    response = post_json(http, "/check-ins", body, **bearer(registered.credential))
    assert_error_shape(response)
    assert response.json()["error"] == "invalid_request"


def test_unknown_path_and_wrong_method_answer_json(http, registered):
    assert_error_shape(http.get(f"{API}/nothing-here"), statuses=(404,))
    assert_error_shape(http.get(f"{API}/"), statuses=(404,))
    assert http.get(f"{API}/nothing-here").json()["error"] == "not_found"
    for response in (
        http.delete(f"{API}/health"),
        http.get(f"{API}/registrations"),
        http.put(f"{API}/check-ins", headers=bearer(registered.credential)),
        http.post(f"{API}/config", headers=bearer(registered.credential)),
    ):
        assert_error_shape(response, statuses=(405,))
        assert response.json()["error"] == "method_not_allowed"
        assert response["Allow"]


def test_post_without_csrf_token_is_accepted(pending):
    strict = HttpClient(enforce_csrf_checks=True)
    response = post_json(strict, "/registrations", {"code": pending.code, "device": REPORTED})
    assert response.status_code == 201


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
registration_like = st.fixed_dictionaries(
    {},
    optional={
        "code": json_values | st.text(alphabet="BCDFGHJKLMNPQRSTVWXZ- ", max_size=14),
        "device": st.fixed_dictionaries(
            {}, optional={key: json_values | st.text(max_size=300) for key in [*REPORTED, "extra"]}
        )
        | json_values,
        "other": json_values,
    },
)
check_in_like = st.fixed_dictionaries(
    {}, optional={key: json_values | st.text(max_size=100) for key in [*CHECK_IN, "extra"]}
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=registration_like | json_values)
def test_random_registration_bodies_never_fail_the_server(http, body):
    response = post_json(http, "/registrations", json.dumps(body))
    assert response.status_code in (400, 409, 410, 422, 429), (body, response.content[:300])
    assert set(response.json()) == {"error", "detail"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=check_in_like | json_values)
def test_random_check_in_bodies_never_fail_the_server(http, registered, body):
    response = post_json(http, "/check-ins", json.dumps(body), **bearer(registered.credential))
    assert response.status_code in (200, 422), (body, response.content[:300])
    if response.status_code == 422:
        assert set(response.json()) == {"error", "detail"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/health", "/config", "/check-ins", "/registrations"]),
    method=st.sampled_from(["get", "post", "put", "patch", "delete"]),
    raw=st.binary(max_size=200),
    authorization=st.text(max_size=80).filter(lambda text: "\n" not in text and "\r" not in text),
)
def test_random_requests_on_every_endpoint_never_fail_the_server(http, path, method, raw, authorization):
    response = http.generic(
        method.upper(),
        f"{API}{path}",
        data=raw,
        content_type="application/json",
        headers={"Authorization": authorization},
    )
    assert response.status_code < 500, (method, path, raw, response.content[:300])
    if response.status_code >= 400:
        assert set(response.json()) == {"error", "detail"}
