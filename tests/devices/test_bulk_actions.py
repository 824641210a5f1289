"""
The Active Devices list's selection and its bulk actions, through HTTP: each
action by checked ids and by "all matching this search", the confirmation's
counts and names, one audit event per device plus one for the batch (one
``batch_id``), roles (Team Administrators, Viewers), forged ids and bad
input refused with nothing changed (tests/dbstate.py's snapshot).
"""

import datetime
import email
import email.policy
import html
import re
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.urls import reverse

from backoffice.audit.models import AuditEvent
from backoffice.devices.codes import code_format, code_unseal, credential_digest
from backoffice.devices.models import Device, DeviceCredential, RegistrationCode
from backoffice.devices.services import device_add
from backoffice.licensing.models import License
from backoffice.notifications.models import OutboxEmail
from backoffice.organization.models import Team
from backoffice.tenancy.scoping import company_scope
from tests.dbstate import snapshot
from tests.factories import ClientFactory, DeviceFactory, LicenseFactory, TeamFactory
from tests.notifications.conftest import smtp_mailers

REGISTERED_AT = datetime.datetime(2026, 5, 1, 12, 0, tzinfo=datetime.UTC)


def url(action: str) -> str:
    return reverse("devices:bulk", args=[action])


def make_devices(company, team, n: int, prefix: str = "Van", **extra) -> list[Device]:
    """``n`` registered devices of ``team``, each with a license and a live credential."""
    with company_scope(company):
        devices = []
        for i in range(n):
            device = DeviceFactory(
                company=company,
                team=team,
                nickname=f"{prefix} {i + 1:02d}",
                time_zone="",
                license=LicenseFactory(company=company),
                registered_at=REGISTERED_AT,
                changed_at=REGISTERED_AT,
                **extra,
            )
            DeviceCredential.objects.create(company=company, device=device, digest=credential_digest(f"s-{device.pk}"))
            devices.append(device)
        return devices


def make_pending(company, team, admin, n: int) -> list[Device]:
    with company_scope(company):
        return [
            device_add(
                acting_user=admin,
                team=team,
                license=LicenseFactory(company=company),
                nickname=f"Tablet {i + 1:02d}",
                recipients=[f"tech{i}@a.example"],
            )
            for i in range(n)
        ]


def ids(devices) -> list[str]:
    return [str(d.pk) for d in devices]


def post(http, action, selection, step="", **fields):
    data = {**selection, **fields}
    if step:
        data["step"] = step
    return http.post(url(action), data, HTTP_HX_REQUEST="true")


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def batch_events(company):
    with company_scope(company):
        return list(AuditEvent.objects.exclude(batch_id=None).order_by("pk"))


@pytest.fixture
def fleet(company_a):
    with company_scope(company_a):
        return TeamFactory(company=company_a, name="Fleet Services", time_zone="Europe/Berlin")


# Move to team


def test_move_by_ids_confirms_counts_then_moves_with_one_event_per_device(
    company_a, as_admin_a, default_team_a, team_a, fleet
):
    devices = make_devices(company_a, default_team_a, 3)
    with company_scope(company_a):
        Device.objects.filter(pk=devices[0].pk).update(time_zone="Asia/Tokyo")
    selection = {"ids": ids(devices)}

    settings_step = post(as_admin_a, "move", selection)
    assert settings_step.status_code == 200
    assert "3 devices selected" in text(settings_step)
    assert 'id="bulk-dialog"' in settings_step.content.decode()

    review = post(as_admin_a, "move", selection, "review", team=str(fleet.pk))
    # Two use their team's default zone (America/Chicago → Europe/Berlin); one has its own.
    assert "Move 3 devices to Fleet Services: 2 change time zone (team default Europe/Berlin)." in text(review)
    assert "Van 01, Van 02, Van 03" in text(review)
    with company_scope(company_a):
        assert set(Device.objects.values_list("team_id", flat=True)) == {default_team_a.pk}

    done = post(as_admin_a, "move", selection, "confirm", team=str(fleet.pk))
    assert done.status_code == 204
    assert (
        "3 devices moved to Fleet Services; 2 changed time zone (team default Europe/Berlin)."
        in (done.headers["HX-Trigger"])
    )
    with company_scope(company_a):
        assert set(Device.objects.values_list("team_id", flat=True)) == {fleet.pk}
        assert all(d.changed_at > REGISTERED_AT for d in Device.objects.all())
    events = batch_events(company_a)
    assert [e.action for e in events] == ["device.changed"] * 3 + ["device.bulk_moved"]
    assert len({e.batch_id for e in events}) == 1
    first, second = events[0], events[1]
    assert first.device_id == devices[0].pk
    assert first.team_id == fleet.pk
    assert first.changes == [{"field": "Team", "old": default_team_a.name, "new": "Fleet Services"}]
    assert second.changes == [
        {"field": "Team", "old": default_team_a.name, "new": "Fleet Services"},
        {"field": "Time Zone", "old": "Team default (America/Chicago)", "new": "Team default (Europe/Berlin)"},
    ]
    assert events[-1].data["device_ids"] == [d.pk for d in devices]


def test_move_all_matching_search_spans_pages_and_is_evaluated_again(company_a, as_admin_a, default_team_a, fleet):
    vans = make_devices(company_a, default_team_a, 30, prefix="Van")
    others = make_devices(company_a, default_team_a, 2, prefix="Truck")
    # Page 1 of 10 shows 10 rows; "all matching" is the search, not the rows.
    query = urlencode({"nickname": "Van", "per_page": "10"})
    page = as_admin_a.get(reverse("devices:active") + "?" + query)
    assert "Select all 30 devices matching this search" in text(page)
    selection = {"all_matching": "on", "query": query}
    review = post(as_admin_a, "move", selection, "review", team=str(fleet.pk))
    assert "Move 30 devices to Fleet Services" in text(review)
    # One more matching device appears before OK: it is part of the selection.
    late = make_devices(company_a, default_team_a, 1, prefix="Van late")
    done = post(as_admin_a, "move", selection, "confirm", team=str(fleet.pk))
    assert done.status_code == 204
    with company_scope(company_a):
        moved = set(Device.objects.filter(team=fleet).values_list("pk", flat=True))
    assert moved == {d.pk for d in vans + late}
    assert not moved & {d.pk for d in others}


def test_team_administrator_moves_only_to_a_team_they_may_write(
    company_a, as_teamadmin_a, team_a, default_team_a, fleet
):
    devices = make_devices(company_a, team_a, 2)
    before = snapshot()
    refused = post(as_teamadmin_a, "move", {"ids": ids(devices)}, "confirm", team=str(fleet.pk))
    assert refused.status_code == 200
    assert "Select a team you may change." in text(refused)
    assert snapshot() == before


# Forged and foreign ids


@pytest.mark.parametrize("action", ["move", "time_zone", "clients", "functionality", "replace", "delete"])
def test_a_forged_id_of_another_team_fails_the_whole_request(
    company_a, as_teamadmin_a, teamadmin_a, team_a, default_team_a, action
):
    own = make_devices(company_a, team_a, 2)
    foreign = make_devices(company_a, default_team_a, 1, prefix="Other")
    before = snapshot()
    fields = {"team": str(team_a.pk), "time_zone": "Asia/Tokyo", "functionality_mode": "company", "expires_in": "15"}
    for step in ("", "review", "confirm"):
        response = post(as_teamadmin_a, action, {"ids": ids(own + foreign)}, step, **fields)
        assert response.status_code == 404
    assert snapshot() == before


def test_another_companys_id_answers_404_and_changes_nothing(company_a, company_b, as_admin_a, default_team_a):
    own = make_devices(company_a, default_team_a, 1)
    with company_scope(company_b):
        team_b = Team.objects.get(is_default=True)
    foreign = make_devices(company_b, team_b, 1, prefix="B")
    before = snapshot()
    response = post(as_admin_a, "delete", {"ids": ids(own + foreign)}, "confirm")
    assert response.status_code == 404
    assert snapshot() == before


def test_viewers_see_no_selection_controls_and_get_404(company_a, as_viewer_a, as_admin_a, default_team_a):
    devices = make_devices(company_a, default_team_a, 2)
    page = as_viewer_a.get(reverse("devices:active")).content.decode()
    assert 'name="ids"' not in page
    assert "bulk-bar" not in page
    assert "selection.js" not in page
    admin_page = as_admin_a.get(reverse("devices:active")).content.decode()
    assert 'form="bulk-bar"' in admin_page
    assert "Select all devices on this page" in admin_page
    before = snapshot()
    for action in ("move", "time_zone", "clients", "functionality", "replace", "delete", "nope"):
        assert post(as_viewer_a, action, {"ids": ids(devices)}, "confirm").status_code == 404
    assert snapshot() == before


def test_get_is_not_allowed(as_admin_a):
    assert as_admin_a.get(url("delete")).status_code == 405


# Bad input


@pytest.mark.parametrize(
    "selection",
    [
        {"ids": ["abc"]},
        {"ids": ["1\x00"]},
        {"ids": ["9" * 40]},
        {"ids": ["-3"]},
        {"ids": ["٣"]},
        {},
        {"all_matching": "on", "query": "nickname=\x00"},
        {"all_matching": "on", "query": "x" * 3000},
    ],
)
def test_bad_selections_get_a_clear_error_and_change_nothing(company_a, as_admin_a, default_team_a, selection):
    make_devices(company_a, default_team_a, 1)
    before = snapshot()
    response = post(as_admin_a, "delete", selection, "confirm")
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("zone", ["Not/AZone", "\x00", "x" * 500])
def test_bad_time_zone_is_a_form_error(company_a, as_admin_a, default_team_a, zone):
    devices = make_devices(company_a, default_team_a, 1)
    before = snapshot()
    response = post(as_admin_a, "time_zone", {"ids": ids(devices)}, "confirm", time_zone=zone)
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    assert snapshot() == before


def test_too_many_ids_are_refused(company_a, as_admin_a):
    before = snapshot()
    response = post(as_admin_a, "delete", {"ids": [str(i) for i in range(1, 902)]}, "confirm")
    assert response.status_code == 200
    assert "Check at most 900 rows; for more, select all devices matching the search." in text(response)
    assert snapshot() == before


# Time zone, Allowed Functionality


def test_set_time_zone_and_back_to_team_default(company_a, as_admin_a, default_team_a):
    devices = make_devices(company_a, default_team_a, 3)
    selection = {"ids": ids(devices)}
    review = post(as_admin_a, "time_zone", selection, "review", time_zone="Asia/Tokyo")
    assert "Set the time zone of 3 devices to Asia/Tokyo." in text(review)
    assert post(as_admin_a, "time_zone", selection, "confirm", time_zone="Asia/Tokyo").status_code == 204
    with company_scope(company_a):
        assert set(Device.objects.values_list("time_zone", flat=True)) == {"Asia/Tokyo"}
    events = batch_events(company_a)
    assert events[0].changes == [{"field": "Time Zone", "old": "Team default (America/Chicago)", "new": "Asia/Tokyo"}]
    assert events[-1].action == "device.bulk_time_zone_set"

    review = post(as_admin_a, "time_zone", selection, "review", time_zone="")
    assert "Set the time zone of 3 devices to their team's default." in text(review)
    assert post(as_admin_a, "time_zone", selection, "confirm", time_zone="").status_code == 204
    with company_scope(company_a):
        assert set(Device.objects.values_list("time_zone", flat=True)) == {""}


def test_nothing_to_change_is_said_and_has_no_ok(company_a, as_admin_a, default_team_a):
    devices = make_devices(company_a, default_team_a, 2)
    review = post(as_admin_a, "time_zone", {"ids": ids(devices)}, "review", time_zone="")
    assert "Every selected device already uses their team's default." in text(review)
    assert 'value="confirm"' not in review.content.decode()


def test_set_allowed_functionality_to_a_custom_list(company_a, as_admin_a, default_team_a):
    from backoffice.tenancy.choices import Functionality

    devices = make_devices(company_a, default_team_a, 2)
    chosen = [Functionality.values[0]]
    selection = {"ids": ids(devices)}
    review = post(as_admin_a, "functionality", selection, "review", functionality_mode="custom", functionality=chosen)
    assert "Set Allowed Functionality of 2 devices to a custom list: 1 functions allowed." in text(review)
    done = post(as_admin_a, "functionality", selection, "confirm", functionality_mode="custom", functionality=chosen)
    assert done.status_code == 204
    with company_scope(company_a):
        assert {(d.functionality_mode, tuple(d.functionality)) for d in Device.objects.all()} == {
            ("custom", tuple(chosen))
        }
    events = batch_events(company_a)
    assert [e.action for e in events] == ["device.changed", "device.changed", "device.bulk_functionality_set"]
    assert {c["field"] for c in events[0].changes} >= {"Allowed Functionality"}


# Clients tab


def test_set_the_clients_tab_replaces_assigned_clients(company_a, company_b, as_admin_a, default_team_a):
    from backoffice.devices.models import DeviceClient

    devices = make_devices(company_a, default_team_a, 2)
    with company_scope(company_a):
        old, one, two = (ClientFactory(company=company_a, name=n) for n in ("Old Motors", "Alpha Cars", "Beta Auto"))
        DeviceClient.objects.create(company=company_a, device=devices[0], client=old)
    with company_scope(company_b):
        foreign = ClientFactory(company=company_b, name="Elsewhere")
    selection = {"ids": ids(devices)}
    fields = {"client_selection_type": "wholesale", "client_scope": "selected"}
    before = snapshot()
    refused = post(as_admin_a, "clients", selection, "confirm", **fields, assigned_clients=[str(foreign.pk)])
    assert "Select clients from the list." in text(refused)
    assert snapshot() == before

    chosen = [str(one.pk), str(two.pk)]
    review = post(as_admin_a, "clients", selection, "review", **fields, assigned_clients=chosen)
    assert (
        "Set the Clients tab of 2 devices: Wholesale, Selected, 2 assigned clients, "
        "the current Assigned Clients are replaced." in text(review)
    )
    assert post(as_admin_a, "clients", selection, "confirm", **fields, assigned_clients=chosen).status_code == 204
    with company_scope(company_a):
        links = sorted(DeviceClient.objects.values_list("device_id", "client_id"))
        assert links == sorted((d.pk, c.pk) for d in devices for c in (one, two))
        assert set(Device.objects.values_list("client_selection_type", "client_scope")) == {("wholesale", "selected")}
    events = batch_events(company_a)
    assert [e.action for e in events] == ["device.changed", "device.changed", "device.bulk_clients_set"]
    assigned = next(c for c in events[0].changes if c["field"] == "Assigned Clients")
    assert assigned == {"field": "Assigned Clients", "old": "Old Motors", "new": "Alpha Cars, Beta Auto"}


# Delete


def test_delete_confirms_licenses_freed_then_deletes_with_events(company_a, as_admin_a, admin_a, default_team_a):
    registered = make_devices(company_a, default_team_a, 3)
    pending = make_pending(company_a, default_team_a, admin_a, 1)
    keep = make_devices(company_a, default_team_a, 1, prefix="Keep")
    selection = {"ids": ids(registered + pending)}
    with company_scope(company_a):
        free_before = License.objects.filter(device__isnull=True).count()
    review = post(as_admin_a, "delete", selection)
    assert "Delete 4 devices: frees 4 licenses, 3 apps stop working, 1 pending registration is cancelled." in text(
        review
    )
    done = post(as_admin_a, "delete", selection, "confirm")
    assert done.status_code == 204
    assert "4 devices deleted; 4 licenses are free again." in done.headers["HX-Trigger"]
    with company_scope(company_a):
        assert list(Device.objects.values_list("pk", flat=True)) == [keep[0].pk]
        assert License.objects.filter(device__isnull=True).count() == free_before + 4
        assert not DeviceCredential.objects.filter(device_id__in=[d.pk for d in registered]).exists()
        assert not RegistrationCode.objects.filter(device_id=pending[0].pk).exists()
        assert set(OutboxEmail.objects.values_list("state", flat=True)) <= {"obsolete"}
    events = batch_events(company_a)
    assert [e.action for e in events] == ["device.deleted"] * 3 + ["device.cancelled", "device.bulk_deleted"]
    assert (
        events[0].summary
        == f"Device Van 01 deleted; license {registered[0].license.number} is free again; its credential is revoked"
    )
    assert len(events[0].data["revoked_credential_ids"]) == 1
    assert len({e.batch_id for e in events}) == 1
    assert events[-1].data["licenses_freed"] == 4


def test_delete_of_a_device_gone_meanwhile_fails_as_a_whole(company_a, admin_a, default_team_a):
    from django.core.exceptions import ValidationError

    from backoffice.devices.services import devices_bulk_delete

    devices = make_devices(company_a, default_team_a, 3)
    before = snapshot()
    with company_scope(company_a), pytest.raises(ValidationError, match="1 of the selected devices no longer exists"):
        devices_bulk_delete(acting_user=admin_a, ids=[*(d.pk for d in devices), devices[-1].pk + 1000])
    assert snapshot() == before


# Replace codes


def test_replace_codes_of_pending_devices(company_a, as_admin_a, admin_a, default_team_a):
    pending = make_pending(company_a, default_team_a, admin_a, 3)
    with company_scope(company_a):
        old_codes = set(RegistrationCode.objects.values_list("pk", flat=True))
        emails_before = OutboxEmail.objects.count()
    selection = {"ids": ids(pending)}
    review = post(as_admin_a, "replace", selection, "review", expires_in="60")
    assert "Replace the codes of 3 devices: their current codes stop working at once, 3 emails are queued." in text(
        review
    )
    done = post(as_admin_a, "replace", selection, "confirm", expires_in="60")
    assert done.status_code == 204
    with company_scope(company_a):
        live = RegistrationCode.objects.open()
        assert len(live) == 3
        assert not {c.pk for c in live} & old_codes
        assert all(
            abs((c.expires_at - c.created_at) - datetime.timedelta(minutes=60)) < datetime.timedelta(seconds=5)
            for c in live
        )
        assert OutboxEmail.objects.count() == emails_before + 3
    events = [e for e in batch_events(company_a) if e.action.startswith("registration_code")]
    assert [e.action for e in events] == ["registration_code.replaced"] * 3 + ["registration_code.bulk_replaced"]
    assert len({e.batch_id for e in events}) == 1


def test_replace_codes_refuses_a_selection_with_registered_devices(company_a, as_admin_a, admin_a, default_team_a):
    pending = make_pending(company_a, default_team_a, admin_a, 1)
    registered = make_devices(company_a, default_team_a, 1)
    before = snapshot()
    selection = {"ids": ids(pending + registered)}
    review = post(as_admin_a, "replace", selection, "review", expires_in="15")
    assert "Replace codes acts on pending devices only: 1 of the selection is registered." in text(review)
    assert 'value="confirm"' not in review.content.decode()
    # Posted anyway (or registered meanwhile): the service refuses it as a whole.
    forced = post(as_admin_a, "replace", selection, "confirm", expires_in="15")
    assert "Replace codes acts on pending devices only; 1 of the selection is registered (Van 01)." in text(forced)
    assert snapshot() == before


# The page


def test_page_has_check_boxes_labelled_by_nickname_and_the_bar(company_a, as_admin_a, admin_a, default_team_a):
    make_devices(company_a, default_team_a, 2)
    make_pending(company_a, default_team_a, admin_a, 1)
    page = as_admin_a.get(reverse("devices:active")).content.decode()
    assert 'aria-label="Select Van 01"' in page
    assert 'aria-label="Select Tablet 01"' in page
    assert "Select all pending registrations shown" in page
    assert 'id="bulk-bar"' in page
    assert "Move to team" in page
    # The partial the list refreshes with keeps the bar.
    partial = as_admin_a.get(reverse("devices:active"), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="bulk-bar"' in partial


def test_without_javascript_the_steps_are_full_pages(company_a, as_admin_a, default_team_a):
    devices = make_devices(company_a, default_team_a, 2)
    page = as_admin_a.post(url("delete"), {"ids": ids(devices)})
    assert page.status_code == 200
    assert "<html" in page.content.decode()
    assert "Delete 2 devices: frees 2 licenses, their apps stop working." in text(page)
    done = as_admin_a.post(url("delete"), {"ids": ids(devices), "step": "confirm"})
    assert done.status_code == 302
    with company_scope(company_a):
        assert not Device.objects.exists()


def test_replace_codes_sends_one_email_per_recipient_listing_the_new_codes(
    settings, smtp_server, company_a, as_admin_a, admin_a, default_team_a
):
    """Three pending devices emailed to the same two people: two emails, each with the three new codes."""
    settings.MAILERS = smtp_mailers(smtp_server.port)
    shared = ["lead@a.example", "tech@a.example"]
    with company_scope(company_a):
        pending = [
            device_add(
                acting_user=admin_a,
                team=default_team_a,
                license=LicenseFactory(company=company_a),
                nickname=f"Shared {i}",
                recipients=shared,
            )
            for i in range(3)
        ]
        OutboxEmail.objects.all().delete()  # the codes of the add, not under test here
    selection = {"ids": ids(pending)}
    review = post(as_admin_a, "replace", selection, "review", expires_in="60")
    assert "2 emails are queued" in text(review)
    assert post(as_admin_a, "replace", selection, "confirm", expires_in="60").status_code == 204
    with company_scope(company_a):
        new_codes = {
            code.device.nickname: code_format(code_unseal(code.sealed_code) or "")
            for code in RegistrationCode.objects.open().select_related("device")
        }
    assert len(new_codes) == 3
    call_command("send_outbox")
    messages = smtp_server.handler.messages
    assert sorted(m.rcpt_tos[0] for m in messages) == shared
    for envelope in messages:
        body = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        text_body = body.get_body(preferencelist=("plain",)).get_content()
        for nickname, code in new_codes.items():
            assert nickname in text_body
            assert code in text_body
