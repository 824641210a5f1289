"""
Fixtures for the device API: pending devices with a live code, created
directly (the Back Office side that issues codes lives in devices/services.py),
and a registered device with its credential, registered through the API.
"""

import datetime
import json
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client as HttpClient
from django.utils import timezone

from backoffice.device_api.selectors import _COMPANY_OF, _HELD, _LOCAL_ETAGS
from backoffice.devices.codes import code_digest, code_format, code_generate, code_seal
from backoffice.devices.models import Device, RegistrationCode
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.core.ratelimit_backends import generations_on
from tests.factories import DeviceFactory, LicenseFactory

API = "/api/device/v1"

REPORTED = {
    "name": "Tech Tablet 7",
    "device_id": "A1B2-C3D4-E5F6",
    "os_type": "Android 14",
    "platform": "Android",
    "app_version": "5.4.1",
}


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """
    Rate-limit counters and remembered ETags live in the cache table, which a
    transactional test's flush does not empty, and in this process's memory.
    """
    for held in (_LOCAL_ETAGS, _HELD, _COMPANY_OF):
        held.clear()
    cache.clear()
    yield
    cache.clear()
    for held in (_LOCAL_ETAGS, _HELD, _COMPANY_OF):
        held.clear()


@dataclass
class Pending:
    device: Device
    code: str
    row: RegistrationCode


def make_pending(company, team, *, license=None, code=None, expires_in=datetime.timedelta(minutes=15), **device_fields):
    """A pending device (never registered) with one live registration code, as device_add leaves it."""
    code = code or code_generate()
    with company_scope(company):
        if license is None:
            license = LicenseFactory(company=company)
        device = DeviceFactory(
            company=company,
            team=team,
            license=license,
            registered_at=None,
            device_name="",
            device_identifier="",
            os_type="",
            platform="",
            app_version="",
            **device_fields,
        )
        row = RegistrationCode.objects.create(
            company=company,
            device=device,
            digest=code_digest(code),
            sealed_code=code_seal(code),
            expires_at=timezone.now() + expires_in,
        )
    return Pending(device=device, code=code, row=row)


def add_code(pending_device, *, expires_in=datetime.timedelta(minutes=15)) -> tuple[str, RegistrationCode]:
    """Replace a device's live code with a new one, as registration_code_replace does."""
    code = code_generate()
    with scopes_disabled():
        RegistrationCode.objects.filter(device=pending_device, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), sealed_code=None
        )
        row = RegistrationCode.objects.create(
            company_id=pending_device.company_id,
            device=pending_device,
            digest=code_digest(code),
            sealed_code=code_seal(code),
            expires_at=timezone.now() + expires_in,
        )
    return code, row


def post_json(http: HttpClient, path: str, body, **headers):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return http.post(API + path, data=data, content_type="application/json", headers=headers)


def register(http: HttpClient, code: str, **overrides):
    return post_json(http, "/registrations", {"code": code, "device": {**REPORTED, **overrides}})


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


@pytest.fixture
def http():
    return HttpClient()


@pytest.fixture
def pending(company_a, team_a):
    return make_pending(company_a, team_a, nickname="Truck 12 tablet")


@dataclass
class Registered:
    device: Device
    credential: str


@pytest.fixture
def registered(http, pending):
    response = register(http, code_format(pending.code))
    assert response.status_code == 201, response.content
    return Registered(device=pending.device, credential=response.json()["credential"])


@pytest.fixture(autouse=True, params=["database", "credential-cache"])
def credential_cache(request, settings):
    """
    Every device API test runs twice: with each call reading the database
    (no company generations, the default without Redis) and with the
    credential cache on (company generations in the real Redis of
    ``scripts/with-redis.sh``, flushed around the test).
    """
    if request.param == "database":
        settings.GENERATIONS_REDIS_URL = ""
        yield request.param
        return
    with generations_on(settings):
        yield request.param
