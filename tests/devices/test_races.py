"""
PostgreSQL only: every write on a device racing a redemption of its code or
another write, released together by a barrier and repeated ``ROUNDS`` times
(with a little jitter, so that both orders occur).

Every outcome must be a documented one (the write succeeds, the redemption's
refusal, or a ``ValidationError`` with its documented message), never a
deadlock or an integrity error, and the database must be consistent after
each round: at most one open code per device, live credentials only for
registered devices (one each), no license held twice, and every device's
license active and of its own company.
"""

import datetime
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.test import Client as HttpClient

from backoffice.device_api.selectors import device_license_is_active
from backoffice.devices.codes import code_normalize
from backoffice.devices.models import Device, DeviceCredential, RegistrationCode
from backoffice.devices.services import (
    Redemption,
    device_add,
    device_cancel,
    device_delete,
    device_update,
    registration_code_redeem,
    registration_code_replace,
    registration_code_revoke,
)
from backoffice.licensing.models import License
from backoffice.tenancy.choices import Role
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.device_api.conftest import Pending, add_code, make_pending, register
from tests.factories import DeviceFactory, LicenseFactory, make_user
from tests.racing import outcome_label
from tests.racing import race as run_at_once

ROUNDS = 25

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    pytest.mark.django_db(transaction=True),
]

REPORTED = {
    "device_name": "Race Tablet",
    "device_identifier": "RACE-0001",
    "os_type": "Android 14",
    "platform": "Android",
    "app_version": "5.4.1",
}


@pytest.fixture(autouse=True)
def _generous_rate_limits(settings):
    """Refused redemptions count against the failure limits; these tests make many."""
    settings.REGISTRATION_FAILED_PER_ADDRESS = 100_000


@pytest.fixture
def admin(company_a):
    return make_user(company_a, Role.ADMINISTRATOR, email="racer@a.example")


# Running calls at once


def _label(outcome: object) -> str:
    """An outcome as a label: "registered" or "refused:<reason>" for a redemption, else as ``outcome_label``."""
    if isinstance(outcome, Redemption):
        return "registered" if outcome.refusal is None else f"refused:{outcome.refusal}"
    return outcome_label(outcome)


def race(*calls: Callable[[], Any], jitter: float = 0.0) -> list[str]:
    """``tests.racing.race``, with each outcome as a label ("ok", "registered", "refused:…", "invalid:…")."""
    return [_label(outcome) for outcome in run_at_once(*calls, jitter=jitter)]


def spread(n: int) -> float:
    """Even rounds start both threads at once; odd ones let one start up to 30 ms later."""
    return 0.0 if n % 2 == 0 else 0.03


def in_scope(company, call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` inside the company scope (each thread opens its own, as a request does)."""

    def scoped() -> Any:
        with company_scope(company):
            return call()

    return scoped


def redeem_service(code: str) -> Callable[[], Redemption]:
    return lambda: registration_code_redeem(
        normalized_code=code_normalize(code),
        reported=REPORTED,
        client_address="203.0.113.7",
        license_is_active=lambda device: device_license_is_active(device=device),
    )


# The API answers code_invalid for unknown and replaced codes alike.
API_REFUSALS = {"code_invalid": "unknown", "code_used": "used", "code_expired": "expired"}


def redeem_api(code: str) -> Callable[[], Redemption]:
    """Redeem through ``POST /api/device/v1/registrations``, as a Redemption-like outcome."""

    def call() -> Redemption:
        response = register(HttpClient(), code)
        if response.status_code == 201:
            return Redemption(refusal=None)
        error = response.json().get("error", "")
        return Redemption(refusal=API_REFUSALS.get(error, f"status {response.status_code} {error}"))

    return call


REDEEMERS = {"service": redeem_service, "api": redeem_api}


def assert_consistent(company) -> None:
    with scopes_disabled():
        twice_open = RegistrationCode.objects.open().values("device_id").annotate(n=Count("id")).filter(n__gt=1)
        assert not twice_open.exists(), "a device has two open codes"
        live = DeviceCredential.objects.filter(revoked_at__isnull=True)
        assert not live.filter(device__registered_at__isnull=True).exists(), "a pending device has a live credential"
        assert not live.values("device_id").annotate(n=Count("id")).filter(n__gt=1).exists()
        held = Device.objects.exclude(license=None).values("license_id").annotate(n=Count("id")).filter(n__gt=1)
        assert not held.exists(), "a license is held by two devices"
        for device in Device.objects.filter(company=company).select_related("license", "company"):
            assert device.license is None or (
                device.license.company_id == device.company_id and device.license.is_active
            ), f"{device} holds {device.license}"


def assert_documented(labels: list[str], *allowed: str) -> None:
    for label in labels:
        assert label in allowed, f"undocumented outcome {label!r} (allowed: {allowed})"


def registered_with_replacement(company, team) -> tuple[Pending, str]:
    """A registered device with an open replacement code; returns it and the replacement code."""
    pending = make_pending(company, team)
    assert _label(redeem_service(pending.code)()) == "registered"
    code, _row = add_code(pending.device)
    return pending, code


def open_codes(device: Device) -> list[RegistrationCode]:
    with scopes_disabled():
        return list(RegistrationCode.objects.open().filter(device_id=device.pk))


def live_credentials(device: Device) -> int:
    with scopes_disabled():
        return DeviceCredential.objects.filter(device_id=device.pk, revoked_at__isnull=True).count()


def device_exists(device: Device) -> bool:
    with scopes_disabled():
        return Device.objects.filter(pk=device.pk).exists()


def report(name: str, seen: Counter) -> None:
    """Print how often each pair of outcomes occurred (shown with ``pytest -s``), numbers left out."""
    outcomes: Counter = Counter()
    for key, count in seen.items():
        outcomes[" / ".join(re.sub(r"\d+", "N", label) for label in key)] += count
    print(f"\n{name}: {ROUNDS} rounds: {dict(outcomes)}")


# Redemption against the Back Office's writes


@pytest.mark.parametrize("via", ["service", "api"])
def test_redemption_against_replace(company_a, team_a, admin, via):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        pending = make_pending(company_a, team_a, nickname=f"Replace race {n}")
        labels = race(
            REDEEMERS[via](pending.code),
            in_scope(company_a, lambda d=pending.device: registration_code_replace(device=d, acting_user=admin)),
            jitter=spread(n),
        )
        seen[tuple(labels)] += 1
        assert_documented(labels[:1], "registered", "refused:replaced", "refused:unknown")
        assert_documented(labels[1:], "ok")
        # Replace always leaves exactly one open code: the new one.
        assert len(open_codes(pending.device)) == 1
        assert live_credentials(pending.device) == (1 if labels[0] == "registered" else 0)
        assert_consistent(company_a)
    report(f"redeem ({via}) vs replace", seen)


@pytest.mark.parametrize("via", ["service", "api"])
def test_redemption_against_cancel(company_a, team_a, admin, via):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        pending = make_pending(company_a, team_a, nickname=f"Cancel race {n}")
        labels = race(
            REDEEMERS[via](pending.code),
            in_scope(company_a, lambda d=pending.device: device_cancel(device=d, acting_user=admin)),
            jitter=spread(n),
        )
        seen[tuple(labels)] += 1
        registered_first = [
            "registered",
            f"invalid:Cancel race {n} has just been registered; it can no longer be cancelled.",
        ]
        assert labels in (registered_first, ["refused:unknown", "ok"]), labels
        assert device_exists(pending.device) == (labels[0] == "registered")
        assert_consistent(company_a)
    report(f"redeem ({via}) vs cancel", seen)


@pytest.mark.parametrize("registered", [False, True], ids=["pending", "replacement-code"])
def test_redemption_against_delete(company_a, team_a, admin, registered):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        if registered:
            pending, code = registered_with_replacement(company_a, team_a)
        else:
            pending = make_pending(company_a, team_a, nickname=f"Delete race {n}")
            code = pending.code
        license_pk = pending.device.license_id
        labels = race(
            redeem_service(code),
            in_scope(company_a, lambda d=pending.device: device_delete(device=d, acting_user=admin)),
            jitter=spread(n),
        )
        seen[tuple(labels)] += 1
        assert_documented(labels[:1], "registered", "refused:unknown")
        assert_documented(labels[1:], "ok")
        assert not device_exists(pending.device)
        with scopes_disabled():
            assert not DeviceCredential.objects.filter(device_id=pending.device.pk).exists()
            assert not RegistrationCode.objects.filter(device_id=pending.device.pk).exists()
            assert License.objects.filter(pk=license_pk, device__isnull=True).exists()
        assert_consistent(company_a)
    report(f"redeem vs delete ({'registered' if registered else 'pending'})", seen)


def test_redemption_against_a_license_change_in_edit(company_a, team_a, admin):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        pending = make_pending(company_a, team_a, nickname=f"Edit race {n}")
        with company_scope(company_a):
            other = LicenseFactory(company=company_a)
        old_license_pk = pending.device.license_id

        def edit(d=pending.device, lic=other, nickname=f"Edit race {n}") -> Device:
            return device_update(device=d, acting_user=admin, team=team_a, license=lic, nickname=nickname)

        labels = race(redeem_service(pending.code), in_scope(company_a, edit), jitter=spread(n))
        seen[tuple(labels)] += 1
        assert labels == ["registered", "ok"], labels
        with scopes_disabled():
            device = Device.objects.get(pk=pending.device.pk)
            assert device.license_id == other.pk
            assert device.is_registered
            assert License.objects.filter(pk=old_license_pk, device__isnull=True).exists()
        assert live_credentials(pending.device) == 1
        assert_consistent(company_a)
    report("redeem vs edit (license change)", seen)


def test_redemption_of_a_replacement_code_against_revoke(company_a, team_a, admin):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        pending, code = registered_with_replacement(company_a, team_a)
        labels = race(
            redeem_service(code),
            in_scope(company_a, lambda d=pending.device: registration_code_revoke(device=d, acting_user=admin)),
            jitter=spread(n),
        )
        seen[tuple(labels)] += 1
        assert labels in (
            ["registered", "invalid:This device has no registration code to cancel."],
            ["refused:replaced", "ok"],
        ), labels
        assert open_codes(pending.device) == []
        assert live_credentials(pending.device) == 1
        assert_consistent(company_a)
    report("redeem vs revoke", seen)


# The Back Office's writes against each other


def test_two_replaces_at_once(company_a, team_a, admin):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        pending = make_pending(company_a, team_a, nickname=f"Double replace {n}")
        replace = in_scope(company_a, lambda d=pending.device: registration_code_replace(device=d, acting_user=admin))
        labels = race(replace, replace, jitter=spread(n))
        seen[tuple(labels)] += 1
        assert labels == ["ok", "ok"]
        with scopes_disabled():
            codes = RegistrationCode.objects.filter(device_id=pending.device.pk)
            assert codes.count() == 3
            assert codes.filter(revoked_at__isnull=False).count() == 2
        assert len(open_codes(pending.device)) == 1
        assert_consistent(company_a)
    report("replace vs replace", seen)


def _add(company, admin, team, license, nickname: str) -> Callable[[], Device]:
    return in_scope(
        company,
        lambda: device_add(
            acting_user=admin,
            team=team,
            license=license,
            nickname=nickname,
            expires_in=datetime.timedelta(minutes=15),
        ),
    )


def test_add_for_the_last_free_license_against_delete_of_another_device(company_a, team_a, admin):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        with company_scope(company_a):
            held = DeviceFactory(company=company_a, team=team_a, license=LicenseFactory(company=company_a))
            last_free = LicenseFactory(company=company_a)
            assert License.objects.filter(device__isnull=True, is_suspended=False).count() == 1
        labels = race(
            _add(company_a, admin, team_a, last_free, f"Last free {n}"),
            in_scope(company_a, lambda d=held: device_delete(device=d, acting_user=admin)),
            jitter=spread(n),
        )
        seen[tuple(labels)] += 1
        assert labels == ["ok", "ok"], labels
        with company_scope(company_a):
            assert Device.objects.get(nickname=f"Last free {n}").license_id == last_free.pk
            assert not Device.objects.filter(pk=held.pk).exists()
            assert License.objects.filter(pk=held.license_id, device__isnull=True).exists()
            # Leave no free license for the next round.
            License.objects.filter(device__isnull=True).update(is_suspended=True)
        assert_consistent(company_a)
    report("add (last free) vs delete (other)", seen)


def test_two_adds_for_the_same_license(company_a, team_a, admin):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        with company_scope(company_a):
            license = LicenseFactory(company=company_a)
        labels = race(
            _add(company_a, admin, team_a, license, f"First {n}"),
            _add(company_a, admin, team_a, license, f"Second {n}"),
            jitter=spread(n),
        )
        seen[tuple(sorted(labels))] += 1
        taken = f"invalid:License {license.number} was just taken; pick another."
        assert sorted(labels) == sorted(["ok", taken]), labels
        with company_scope(company_a):
            assert Device.objects.filter(license=license).count() == 1
            winner = Device.objects.get(license=license)
            assert len(open_codes(winner)) == 1
            assert Device.objects.filter(nickname__in=[f"First {n}", f"Second {n}"]).count() == 1
        assert_consistent(company_a)
    report("add vs add (same license)", seen)


def test_add_for_a_license_against_delete_of_its_holder(company_a, team_a, admin):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        with company_scope(company_a):
            license = LicenseFactory(company=company_a)
            holder = DeviceFactory(company=company_a, team=team_a, license=license)
        labels = race(
            _add(company_a, admin, team_a, license, f"Successor {n}"),
            in_scope(company_a, lambda d=holder: device_delete(device=d, acting_user=admin)),
            jitter=spread(n),
        )
        seen[tuple(labels)] += 1
        assert labels in (["ok", "ok"], [f"invalid:License {license.number} was just taken; pick another.", "ok"])
        with company_scope(company_a):
            assert not Device.objects.filter(pk=holder.pk).exists()
            successor = Device.objects.filter(nickname=f"Successor {n}").first()
            assert (successor is not None) == (labels[0] == "ok")
            if successor is not None:
                assert successor.license_id == license.pk
        assert_consistent(company_a)
    report("add vs delete (its holder)", seen)
