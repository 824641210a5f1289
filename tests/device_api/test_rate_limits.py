"""
The limit on failed redemptions, per client network: the answers, what
counts, and the guessing budget computed from the real settings
(docs/security.md). Concurrency is in test_rate_limit_concurrency.py.
"""

import datetime
import json
import math

import pytest
from django.conf import settings
from django.test import override_settings

from backoffice.core import ratelimit
from backoffice.core.http import client_address
from backoffice.device_api.services import (
    GUESS_PROBABILITY_PER_WINDOW,
    registration_failure_limits,
    registration_live_codes_bound,
)
from backoffice.devices.codes import CODE_ALPHABET, CODE_LENGTH, CODE_SPACE, code_format
from backoffice.devices.models import Device
from backoffice.tenancy.scoping import scopes_disabled
from tests.core.ratelimit_backends import BACKENDS, WINDOW_START, rate_limit_backend
from tests.device_api.conftest import API, REPORTED, add_code, make_pending

WRONG = "ZZZZ-ZZZZ-ZZZZ"
START = WINDOW_START  # the start of a window of 900 seconds (and of 5)
pytestmark = pytest.mark.usefixtures("inside_one_window")


def attempt(http, code, address="203.0.113.7", **environ):
    body = json.dumps({"code": code, "device": REPORTED})
    return http.post(f"{API}/registrations", data=body, content_type="application/json", REMOTE_ADDR=address, **environ)


@pytest.fixture(params=BACKENDS)
def backend(request):
    with rate_limit_backend(request.param) as name:
        yield name


# The guessing budget (DESIGN §3, docs/security.md), from the real settings.

ATTACKER_NETWORKS = 10_000  # the threat model's attacker
LIVE_CODES_NEEDED = 100_000  # live codes the service must allow across every company


def test_the_code_space_is_twelve_letters_of_twenty():
    assert CODE_LENGTH == 12
    assert len(set(CODE_ALPHABET)) == 20
    assert CODE_SPACE == 20**12 == 4_096_000_000_000_000


def test_no_limit_is_shared_by_every_client():
    """(a) Every limit counts one network only, so no attacker can exhaust one that a technician needs."""
    ours = registration_failure_limits(client_address="203.0.113.7")
    theirs = registration_failure_limits(client_address="198.51.100.9")
    assert {limit.key for limit in ours}.isdisjoint(limit.key for limit in theirs)
    assert [limit.key for limit in ours] == ["network:203.0.113.7"]


def test_ten_thousand_networks_guess_a_live_code_with_a_chance_below_two_to_the_minus_twenty():
    """
    (b) P ≈ networks × failures per network per window × live codes / code space
        = 10,000 × 3 × 130,208 / 20**12 ≈ 9.54e-7 ≤ 2**-20 ≈ 9.54e-7.
    """
    assert settings.REGISTRATION_ATTACKER_NETWORKS >= ATTACKER_NETWORKS
    per_network = settings.REGISTRATION_FAILED_PER_ADDRESS
    live_codes = registration_live_codes_bound()
    chance = ATTACKER_NETWORKS * per_network * live_codes / CODE_SPACE
    assert chance <= GUESS_PROBABILITY_PER_WINDOW == 2**-20
    # And with exactly the live codes the service must allow, with room to spare.
    assert ATTACKER_NETWORKS * per_network * LIVE_CODES_NEEDED / CODE_SPACE <= 2**-20
    assert (per_network, settings.REGISTRATION_RATE_WINDOW_SECONDS, live_codes) == (3, 900, 130_208)


def test_at_least_a_hundred_thousand_live_codes_fit_the_budget():
    """(c) The service-wide bound is derived from the code space, not counted, and exceeds 100,000."""
    bound = registration_live_codes_bound()
    assert bound >= LIVE_CODES_NEEDED
    networks_failures = settings.REGISTRATION_ATTACKER_NETWORKS * settings.REGISTRATION_FAILED_PER_ADDRESS
    assert bound == math.floor(CODE_SPACE * 2**-20 / networks_failures)
    assert not hasattr(settings, "REGISTRATION_MAX_LIVE_CODES")
    assert not hasattr(settings, "REGISTRATION_FAILED_GLOBAL")


def test_a_technician_on_another_network_is_never_held_back_by_a_hundred_attacker_networks(http, backend, pending):
    """
    (a) 100 attacker networks (50 IPv4 addresses, 50 IPv6 /64s) spend every
    failure they are allowed and are refused; a technician on another network
    then redeems a valid code at the first attempt.
    """
    per_network = settings.REGISTRATION_FAILED_PER_ADDRESS
    attackers = [f"198.51.100.{n}" for n in range(1, 51)] + [f"2001:db8:{n:x}::1" for n in range(1, 51)]
    for address in attackers:
        for _ in range(per_network):
            assert attempt(http, WRONG, address=address).status_code == 400
        assert attempt(http, WRONG, address=address).status_code == 429
        # Once out of allowance, even the right code is refused for that network.
        assert attempt(http, code_format(pending.code), address=address).status_code == 429
    response = attempt(http, code_format(pending.code), address="192.0.2.44")
    assert response.status_code == 201, response.content


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=3)
def test_per_network_limit_then_429_even_for_a_correct_code(http, backend, pending):
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


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=2)
def test_a_refused_request_looks_up_no_code(http, backend, pending, monkeypatch):
    from backoffice.device_api import services

    calls = []
    redeem = services.registration_code_redeem
    monkeypatch.setattr(services, "registration_code_redeem", lambda **kwargs: calls.append(1) or redeem(**kwargs))
    for _ in range(2):
        assert attempt(http, WRONG).status_code == 400
    for _ in range(5):
        assert attempt(http, pending.code).status_code == 429
    assert len(calls) == 2


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=2)
def test_successes_are_given_back_and_do_not_count(http, backend, company_a, team_a):
    for _ in range(5):
        assert attempt(http, make_pending(company_a, team_a).code).status_code == 201
    assert attempt(http, WRONG).status_code == 400
    assert attempt(http, WRONG).status_code == 400
    assert attempt(http, WRONG).status_code == 429


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=1)
def test_an_inactive_license_is_not_counted(http, backend, company_a, team_a):
    from backoffice.licensing.models import License

    pending = make_pending(company_a, team_a)
    with scopes_disabled():
        License.objects.filter(pk=pending.device.license_id).update(is_suspended=True)
    for _ in range(3):
        assert attempt(http, pending.code).json()["error"] == "license_inactive"
    assert attempt(http, WRONG).status_code == 400


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=2, REGISTRATION_RATE_WINDOW_SECONDS=5)
def test_limits_are_read_at_call_time_and_windows_end(http, backend, monkeypatch):
    monkeypatch.setattr(ratelimit, "_clock", lambda: START + 1)
    assert attempt(http, WRONG).status_code == 400
    assert attempt(http, WRONG).status_code == 400
    refused = attempt(http, WRONG)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "4"
    monkeypatch.setattr(ratelimit, "_clock", lambda: START + 5)
    assert attempt(http, WRONG).status_code == 400


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=3, REGISTRATION_FAILED_PER_CODE=10)
def test_retrying_a_stale_code_is_charged_to_that_code_not_the_network(http, backend, company_a, team_a):
    """A technician who retries an expired code still redeems the replacement from the same network."""
    stale = make_pending(company_a, team_a, expires_in=datetime.timedelta(seconds=-5))
    for _ in range(6):
        assert attempt(http, stale.code).json()["error"] == "code_expired"
    fresh, _ = add_code(stale.device)
    assert attempt(http, fresh).status_code == 201


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=3, REGISTRATION_FAILED_PER_CODE=2)
def test_a_known_dead_code_buys_no_extra_guesses(http, backend, company_a, team_a, monkeypatch):
    """
    Interleaving a dead code with wrong ones: the wrong ones still stop at the
    network's limit, and past the dead code's own allowance it counts on the
    network too.
    """
    from backoffice.device_api import services

    dead = make_pending(company_a, team_a, expires_in=datetime.timedelta(seconds=-5))
    unknown = []
    redeem = services.registration_code_redeem

    def counted(**kwargs):
        outcome = redeem(**kwargs)
        if outcome.refusal == "unknown":
            unknown.append(1)
        return outcome

    monkeypatch.setattr(services, "registration_code_redeem", counted)
    answers = []
    for _ in range(10):
        answers.append(attempt(http, dead.code).status_code)
        answers.append(attempt(http, WRONG).status_code)
    # dead (on the code, 1 of 2), wrong (network, 1 of 3), dead (code, 2 of 2), wrong (network, 2 of 3),
    # dead (code full: network, 3 of 3), and then nothing more from this network.
    assert len(unknown) == 2
    assert answers[:5] == [410, 400, 410, 400, 410]
    assert set(answers[5:]) == {429}


def test_legacy_ten_character_codes_still_register_while_accepted(http, company_a, team_a):
    legacy = make_pending(company_a, team_a, code="BCDFGHJKLM")
    with override_settings(REGISTRATION_ACCEPT_LEGACY_CODES=False):
        assert attempt(http, "BCDFG-HJKLM").json()["error"] == "code_invalid"
    assert attempt(http, "BCDFG-HJKLM", address="198.51.100.2").status_code == 201
    with scopes_disabled():
        assert Device.objects.get(pk=legacy.device.pk).registered_at is not None


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


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=2, TRUSTED_PROXIES=["10.0.0.1"])
def test_limit_follows_the_forwarded_address_behind_a_trusted_proxy(http, pending):
    for _ in range(2):
        assert attempt(http, WRONG, address="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4").status_code == 400
    assert attempt(http, WRONG, address="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4").status_code == 429
    # A different client behind the same proxy is not held back.
    assert attempt(http, pending.code, address="10.0.0.1", HTTP_X_FORWARDED_FOR="5.6.7.8").status_code == 201


@override_settings(REGISTRATION_FAILED_PER_ADDRESS=2)
def test_ipv6_addresses_are_limited_by_their_64_network(http, pending):
    assert attempt(http, WRONG, address="2001:db8:1:2::1").status_code == 400
    assert attempt(http, WRONG, address="2001:db8:1:2:ffff::9").status_code == 400
    assert attempt(http, pending.code, address="2001:db8:1:2::abcd").status_code == 429
    assert attempt(http, pending.code, address="2001:db8:1:3::1").status_code == 201
