"""No registration code, credential or password reaches an audit event, whatever the flow."""

import pytest
from django.core.cache import cache
from django.test import Client as HttpClient

from backoffice.audit.models import AuditEvent
from backoffice.device_api.selectors import _LOCAL_ETAGS
from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import RegistrationCode
from backoffice.devices.services import (
    device_add,
    device_delete,
    registration_code_replace,
    registration_email_resend,
)
from backoffice.notifications.models import OutboxEmail
from backoffice.notifications.services import outbox_send_due
from backoffice.tenancy.choices import Role
from backoffice.tenancy.scoping import company_scope
from backoffice.tenancy.services import user_password_set
from tests.device_api.conftest import register
from tests.factories import LicenseFactory, make_user

NEW_PASSWORD = "a-new-long-password-42"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    _LOCAL_ETAGS.clear()
    yield
    cache.clear()
    _LOCAL_ETAGS.clear()


def _live_code(device) -> str:
    with company_scope(device.company):
        row = RegistrationCode.objects.open().get(device=device)
    code = code_unseal(row.sealed_code)
    assert code
    return code


def test_code_flows_write_no_code_credential_or_password(company_a, admin_a, team_a, operator):
    http = HttpClient()
    with company_scope(company_a):
        lic = LicenseFactory(company=company_a, number="NW-5")
        device = device_add(
            acting_user=admin_a, team=team_a, license=lic, nickname="Van 5", recipients=["tech@a.example"]
        )
    first = _live_code(device)
    outbox_send_due()
    with company_scope(company_a):
        email = OutboxEmail.objects.get()
        registration_email_resend(email=email, acting_user=admin_a)
        registration_code_replace(device=device, acting_user=admin_a)
    second = _live_code(device)
    outbox_send_due()
    assert register(http, code_format(first)).status_code != 201  # replaced: refused, and audited
    response = register(http, code_format(second))
    assert response.status_code == 201, response.content
    credential = response.json()["credential"]
    with company_scope(company_a):
        device.refresh_from_db()
        device_delete(device=device, acting_user=admin_a)
    user_password_set(acting_user=operator, user=make_user(company_a, Role.VIEWER), password=NEW_PASSWORD)

    with company_scope(company_a):
        events = list(AuditEvent.objects.values("action", "summary", "data", "changes", "actor_label"))
        filed = set(
            AuditEvent.objects.exclude(action__in=["company.created", "user.created", "user.password_set"])
            .values_list("device_id", "team_id")
            .distinct()
        )
    # Every event of the flow is on the device's trail, the device's own and its codes', emails' and credential's.
    assert filed == {(device.pk, team_a.pk)}
    actions = {event["action"] for event in events}
    assert {
        "device.added",
        "registration_code.issued",
        "registration_code.replaced",
        "email.sent",
        "email.resent",
        "device.registration_failed",
        "device.registered",
        "device.deleted",
        "credential.revoked",
        "user.password_set",
    } <= actions
    secrets = [first, code_format(first), second, code_format(second), credential, NEW_PASSWORD]
    written = str(events).lower()
    for secret in secrets:
        assert secret.lower() not in written, secret
