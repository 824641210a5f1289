"""
The device API's calls skip the browser middleware (``DeviceApiMiddleware``)
but keep what applies to every request: the host check and the security
headers. The docs page, HTML, keeps every page header.
"""

from django.test import Client as HttpClient

from backoffice.devices.models import Device
from backoffice.tenancy.scoping import scopes_disabled
from tests.device_api.conftest import API, bearer, post_json

CHECK_IN = {"name": "Tech Tablet 7", "os_type": "Android 14", "platform": "Android", "app_version": "5.4.1"}


def test_api_call_keeps_the_security_headers_and_sets_no_cookie(http, registered):
    response = post_json(http, "/check-ins", CHECK_IN, **bearer(registered.credential))
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert not response.cookies
    assert "Vary" not in response


def test_api_call_to_a_host_not_allowed_is_refused_and_changes_nothing(registered):
    with scopes_disabled():
        before = Device.objects.values_list("last_check_in_at", "device_name").get(pk=registered.device.pk)
    http = HttpClient(HTTP_HOST="attacker.example")
    response = post_json(http, "/check-ins", {**CHECK_IN, "name": "Other"}, **bearer(registered.credential))
    assert response.status_code == 400
    with scopes_disabled():
        assert Device.objects.values_list("last_check_in_at", "device_name").get(pk=registered.device.pk) == before


def test_unknown_api_path_is_answered_in_the_api_shape(http):
    response = http.get(f"{API}/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_docs_page_keeps_the_page_headers(http):
    response = http.get(f"{API}/docs")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response
    assert response["X-Frame-Options"] == "DENY"
