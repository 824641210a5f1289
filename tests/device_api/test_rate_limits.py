import json
import time

import pytest
from django.conf import settings
from django.test import override_settings

from backoffice.core.http import client_address
from backoffice.core.ratelimit import Limit, ratelimit_check, ratelimit_hit
from backoffice.devices.codes import CODE_ALPHABET, CODE_LENGTH
from backoffice.devices.models import Device
from backoffice.tenancy.scoping import scopes_disabled
from tests.device_api.conftest import API, REPORTED

WRONG = "ZZZZZ-ZZZZZ"


def attempt(http, code, address="203.0.113.7", **environ):
    body = json.dumps({"code": code, "device": REPORTED})
    return http.post(f"{API}/registrations", data=body, content_type="application/json", REMOTE_ADDR=address, **environ)


def test_guessing_budget_is_below_two_to_the_minus_twenty():
    """Most live codes × failed attempts allowed per window / number of codes ≤ 2**-20 (DESIGN §3)."""
    codes = len(CODE_ALPHABET) ** CODE_LENGTH
    assert codes == 20**10
    budget = settings.REGISTRATION_MAX_LIVE_CODES * settings.REGISTRATION_FAILED_GLOBAL / codes
    assert budget <= 2**-20
    assert settings.REGISTRATION_FAILED_PER_ADDRESS <= settings.REGISTRATION_FAILED_GLOBAL


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=3, REGISTRATION_FAILED_GLOBAL=100)
def test_per_address_limit_then_429_even_for_a_correct_code(http, pending):
    for _ in range(3):
        assert attempt(http, WRONG).status_code == 400
    refused = attempt(http, pending.code)
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= settings.REGISTRATION_RATE_WINDOW_SECONDS
    with scopes_disabled():
        assert Device.objects.get(pk=pending.device.pk).registered_at is None
    # Another address is not held back.
    assert attempt(http, pending.code, address="198.51.100.9").status_code == 201


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=100, REGISTRATION_FAILED_GLOBAL=4)
def test_global_limit_holds_back_every_address(http, pending):
    for n in range(4):
        assert attempt(http, WRONG, address=f"192.0.2.{n + 1}").status_code == 400
    refused = attempt(http, pending.code, address="192.0.2.200")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=2, REGISTRATION_FAILED_GLOBAL=100)
def test_successes_are_not_counted(http, company_a, team_a):
    from tests.device_api.conftest import make_pending

    for _ in range(3):
        assert attempt(http, make_pending(company_a, team_a).code).status_code == 201
    assert attempt(http, WRONG).status_code == 400


@override_settings(
    REGISTRATION_FAILED_PER_ADDRESS=2, REGISTRATION_FAILED_GLOBAL=100, REGISTRATION_RATE_WINDOW_SECONDS=5
)
def test_limits_are_read_at_call_time_and_windows_end(http):
    assert attempt(http, WRONG).status_code == 400
    assert attempt(http, WRONG).status_code == 400
    refused = attempt(http, WRONG)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 5


def test_fixed_windows_count_and_expire():
    limit = Limit("test", "k", maximum=2, window_seconds=60)
    start = 6000.0  # the start of a window
    assert ratelimit_check(limit, now=start).allowed
    ratelimit_hit(limit, now=start)
    ratelimit_hit(limit, now=start + 1)
    verdict = ratelimit_check(limit, now=start + 20)
    assert not verdict.allowed
    assert verdict.retry_after_seconds == 40
    # The next window starts afresh.
    assert ratelimit_check(limit, now=start + 60).allowed


def test_windows_are_aligned_across_processes():
    limit = Limit("test", "aligned", maximum=1, window_seconds=900)
    now = time.time()
    ratelimit_hit(limit, now=now)
    assert not ratelimit_check(limit, now=now).allowed


@pytest.mark.parametrize(
    ("remote", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.7", "", [], "203.0.113.7"),
        ("203.0.113.7", "1.2.3.4", [], "203.0.113.7"),  # an untrusted sender's header is ignored
        ("10.0.0.1", "1.2.3.4", ["10.0.0.1"], "1.2.3.4"),
        ("10.0.0.1", "6.6.6.6, 1.2.3.4", ["10.0.0.1"], "1.2.3.4"),  # the left part is the client's own claim
        ("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2", ["10.0.0.1", "10.0.0.2"], "1.2.3.4"),
        ("10.0.0.1", "", ["10.0.0.1"], "10.0.0.1"),
        ("10.0.0.1", "10.0.0.2", ["10.0.0.1", "10.0.0.2"], "10.0.0.1"),
    ],
)
def test_client_address(rf, remote, forwarded, trusted, expected):
    request = rf.post("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(TRUSTED_PROXIES=trusted):
        assert client_address(request) == expected


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=2, REGISTRATION_FAILED_GLOBAL=100, TRUSTED_PROXIES=["10.0.0.1"])
def test_limit_follows_the_forwarded_address_behind_a_trusted_proxy(http, pending):
    for _ in range(2):
        assert attempt(http, WRONG, address="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4").status_code == 400
    assert attempt(http, WRONG, address="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4").status_code == 429
    # A different client behind the same proxy is not held back.
    assert attempt(http, pending.code, address="10.0.0.1", HTTP_X_FORWARDED_FOR="5.6.7.8").status_code == 201


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=2, REGISTRATION_FAILED_GLOBAL=100)
def test_ipv6_addresses_are_limited_by_their_64_network(http, pending):
    assert attempt(http, WRONG, address="2001:db8:1:2::1").status_code == 400
    assert attempt(http, WRONG, address="2001:db8:1:2:ffff::9").status_code == 400
    assert attempt(http, pending.code, address="2001:db8:1:2::abcd").status_code == 429
    assert attempt(http, pending.code, address="2001:db8:1:3::1").status_code == 201
