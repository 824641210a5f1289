"""Importing clients and devices through HTTP, their bad rows, and who may import what."""

import pytest

from backoffice.audit.models import AuditEvent
from backoffice.devices.codes import code_format, code_unseal
from backoffice.devices.models import Device, RegistrationCode
from backoffice.notifications.models import OutboxEmail
from backoffice.organization.models import Client
from backoffice.tenancy.models import Company
from backoffice.tenancy.scoping import company_scope, scopes_disabled
from tests.dbstate import snapshot
from tests.factories import AreaFactory, ClientFactory, DeviceFactory, LicenseFactory
from tests.imports.helpers import csv_bytes, latest_upload, preview_url, upload, xlsx_bytes


def problems_of(http, url):
    return [row.problems for row in http.get(url).context["preview"].rows]


# Clients


def test_clients_with_areas_and_every_bad_row(as_admin_a, company_a):
    Company.objects.filter(pk=company_a.pk).update(area_support=True)
    with company_scope(company_a):
        AreaFactory(company=company_a, name="North")
        ClientFactory(company=company_a, name="Metro Ford", client_type="retail")
    rows = [
        ["Name", "Type", "Area"],
        ["Lakeside Motors", "Wholesale", "north"],
        ["City Cars", "retail", ""],
        ["Metro Ford", "Retail", ""],
        ["Metro Ford", "Wholesale", ""],
        ["City Cars", "RETAIL", ""],
        ["Odd Type", "Leasing", ""],
        ["Far Away", "Retail", "South"],
        ["y" * 151, "Retail", ""],
    ]
    url = preview_url(upload(as_admin_a, "clients", csv_bytes(rows, delimiter=";", bom=True)))
    assert problems_of(as_admin_a, url) == [
        [],
        [],
        ["Name: A retail client named Metro Ford already exists."],
        [],  # the same name of the other type is another client
        ["Name: the same client as row 2 of the file."],
        ["Type: Choose Retail or Wholesale."],
        ["Area: unknown area “South”."],
        ["Name: Ensure this value has at most 150 characters (it has 151)."],
    ]
    before = snapshot()
    as_admin_a.post(url + "import/", {"mode": "all"})
    assert snapshot() == before
    as_admin_a.post(url + "import/", {"mode": "valid"})
    with company_scope(company_a):
        assert sorted(Client.objects.values_list("name", "client_type", "area__name")) == [
            ("City Cars", "retail", None),
            ("Lakeside Motors", "wholesale", "North"),
            ("Metro Ford", "retail", None),
            ("Metro Ford", "wholesale", None),
        ]
    with scopes_disabled():
        actions = list(AuditEvent.objects.filter(batch_id__isnull=False).values_list("action", flat=True))
    assert sorted(actions) == ["client.created"] * 3 + ["client.imported"]


def test_client_area_without_area_support_is_a_row_problem(as_admin_a, company_a):
    url = preview_url(
        upload(as_admin_a, "clients", xlsx_bytes([["Name", "Type", "Area"], ["A", "Retail", "North"]]), "c.xlsx")
    )
    assert problems_of(as_admin_a, url) == [["Area: areas need the Area Support subscription; leave the column empty."]]


# Devices


DEVICE_HEADER = ["Nickname", "Team", "Time Zone", "Recipients"]


def test_devices_are_pre_registered_with_a_license_a_code_and_emails(as_admin_a, company_a, team_a, licenses_a):
    rows = [
        DEVICE_HEADER,
        ["Tablet 01", "Alpha Team", "", "ops@a.example; lead@a.example"],
        ["Tablet 02", "Default Team", "chicago", "ops@a.example"],
    ]
    url = preview_url(upload(as_admin_a, "devices", csv_bytes(rows)))
    assert problems_of(as_admin_a, url) == [[], []]
    as_admin_a.post(url + "import/", {"mode": "all"})
    with company_scope(company_a):
        devices = list(Device.objects.order_by("nickname"))
        assert [(d.nickname, d.team.name, d.time_zone, d.recipients) for d in devices] == [
            ("Tablet 01", "Alpha Team", "", ["ops@a.example", "lead@a.example"]),
            ("Tablet 02", "Default Team", "America/Chicago", ["ops@a.example"]),
        ]
        assert all(d.license_id for d in devices)
        assert len({d.license_id for d in devices}) == 2
        assert RegistrationCode.objects.open().count() == 2
        assert sorted(OutboxEmail.objects.values_list("recipient", flat=True)) == [
            "lead@a.example",
            "ops@a.example",
            "ops@a.example",
        ]
    with scopes_disabled():
        events = list(AuditEvent.objects.filter(batch_id__isnull=False))
    assert (
        sorted(e.action for e in events)
        == ["device.added"] * 2 + ["device.imported"] + ["registration_code.issued"] * 2
    )
    assert len({e.batch_id for e in events}) == 1
    with company_scope(company_a):
        codes = [code_unseal(c.sealed_code) for c in RegistrationCode.objects.all()]
    text = str([(e.summary, e.data, e.changes) for e in events]).upper()
    assert len(codes) == 2
    assert all(code and code.upper() not in text and code_format(code) not in text for code in codes)


def test_device_rows_with_problems_and_no_free_license(as_admin_a, company_a, team_a, licenses_a):
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, license=LicenseFactory(company=company_a), nickname="Old Tab")
    rows = [
        DEVICE_HEADER,
        ["T1", "Alpha Team", "", ""],
        ["T2", "Alpha Team", "Mars/Olympus", ""],
        ["T3", "Alpha Team", "", "nobody"],
        ["T4", "Nowhere", "", ""],
        ["t1", "Alpha Team", "", ""],
        ["old tab", "Alpha Team", "", ""],
        ["z" * 65, "Alpha Team", "", ""],
        ["T5", "Alpha Team", "", ""],
        ["T6", "Alpha Team", "", ""],
        ["T7", "Alpha Team", "", ""],
    ]
    url = preview_url(upload(as_admin_a, "devices", csv_bytes(rows, delimiter="\t")))
    problems = problems_of(as_admin_a, url)
    assert problems[:7] == [
        [],
        ["Time zone: unknown time zone “Mars/Olympus” (use a name such as America/Chicago)."],
        ["Recipients: “nobody” is not a valid email address."],
        ["Team: unknown team “Nowhere”."],
        ["Nickname: the same nickname as row 1 of the file."],
        ["Nickname: a device called “old tab” already exists."],
        ["Nickname: Enter a nickname of at most 64 characters."],
    ]
    no_license = "License: no free license left (the company has 3 free licenses and the rows above take them)."
    assert problems[7:] == [[], [], [no_license]]
    before = snapshot()
    as_admin_a.post(url + "import/", {"mode": "all"})
    assert snapshot() == before
    as_admin_a.post(url + "import/", {"mode": "valid"})
    with company_scope(company_a):
        assert sorted(Device.objects.values_list("nickname", flat=True)) == ["Old Tab", "T1", "T5", "T6"]


def test_a_license_taken_since_the_preview_is_rechecked(as_admin_a, company_a, team_a, licenses_a):
    rows = [DEVICE_HEADER] + [[f"T{i}", "Alpha Team", "", ""] for i in range(3)]
    url = preview_url(upload(as_admin_a, "devices", csv_bytes(rows)))
    assert problems_of(as_admin_a, url) == [[], [], []]
    with company_scope(company_a):
        DeviceFactory(company=company_a, team=team_a, license=licenses_a[0], nickname="Meanwhile")
    before = snapshot()
    refused = as_admin_a.post(url + "import/", {"mode": "all"}, follow=True)
    assert "1 row has a problem: nothing was imported." in refused.content.decode()
    assert snapshot() == before
    as_admin_a.post(url + "import/", {"mode": "valid"})
    with company_scope(company_a):
        assert Device.objects.count() == 3


def test_team_administrator_devices_of_their_team_only(as_teamadmin_a, company_a, team_a, licenses_a):
    rows = [DEVICE_HEADER, ["T1", "Alpha Team", "", ""], ["T2", "Default Team", "", ""]]
    url = preview_url(upload(as_teamadmin_a, "devices", csv_bytes(rows)))
    assert problems_of(as_teamadmin_a, url) == [[], ["Team: not your team (you import into Alpha Team only)."]]
    as_teamadmin_a.post(url + "import/", {"mode": "valid"})
    with company_scope(company_a):
        assert list(Device.objects.values_list("nickname", "team__name")) == [("T1", "Alpha Team")]


# Roles and ownership


@pytest.mark.parametrize("kind", ["employees", "clients", "devices"])
def test_viewers_get_404_on_every_import_page(as_viewer_a, as_admin_a, kind, team_a):
    url = preview_url(
        upload(as_admin_a, kind, csv_bytes([["Name", "Email", "Team", "Type", "Nickname"], ["a", "b", "c", "d", "e"]]))
    )
    before = snapshot()
    for response in (
        as_viewer_a.get(f"/import/{kind}/"),
        upload(as_viewer_a, kind, b"Name,Email,Team\nA,a@a.example,Default Team\n"),
        as_viewer_a.get(f"/import/{kind}/template.csv"),
        as_viewer_a.get(url),
        as_viewer_a.post(url + "import/", {"mode": "valid"}),
    ):
        assert response.status_code == 404
    assert snapshot() == before


def test_team_administrators_do_not_import_clients(as_teamadmin_a):
    assert as_teamadmin_a.get("/import/clients/").status_code == 404
    assert upload(as_teamadmin_a, "clients", b"Name,Type\nA,Retail\n").status_code == 404


def test_an_upload_is_its_owners_only(as_admin_a, as_admin_b, admin_a, company_a, team_a):
    from tests.conftest import login
    from tests.factories import make_user

    url = preview_url(upload(as_admin_a, "employees", b"Name,Email,Team\nA,a@a.example,Alpha Team\n"))
    other_admin = login(make_user(company_a, email="admin2@a.example"))
    before = snapshot()
    for http in (as_admin_b, other_admin):
        assert http.get(url).status_code == 404
        assert http.post(url + "import/", {"mode": "valid"}).status_code == 404
    assert as_admin_a.get(url.replace("/employees/", "/clients/")).status_code == 404
    assert as_admin_a.get("/import/nothing/").status_code == 404
    assert snapshot() == before
    assert latest_upload().created_by == admin_a


def test_an_expired_upload_is_gone(as_admin_a, company_a, team_a):
    import datetime

    from backoffice.imports.models import ImportUpload

    url = preview_url(upload(as_admin_a, "employees", b"Name,Email,Team\nA,a@a.example,Alpha Team\n"))
    with scopes_disabled():
        ImportUpload.objects.update(expires_at=latest_upload().created_at - datetime.timedelta(seconds=1))
    assert as_admin_a.get(url).status_code == 404
    upload(as_admin_a, "employees", b"Name,Email,Team\nB,b@a.example,Alpha Team\n")
    with scopes_disabled():
        assert ImportUpload.objects.count() == 1  # the expired one was deleted on the way


def test_import_links_on_the_list_pages(as_admin_a, as_viewer_a, as_teamadmin_a):
    for page, link in (
        ("/employees/", "/import/employees/"),
        ("/clients/", "/import/clients/"),
        ("/devices/", "/import/devices/"),
    ):
        assert link in as_admin_a.get(page).content.decode()
        assert link not in as_viewer_a.get(page).content.decode()
    assert "/import/employees/" in as_teamadmin_a.get("/employees/").content.decode()
    assert "/import/clients/" not in as_teamadmin_a.get("/clients/").content.decode()


def test_a_device_file_holds_at_most_1000_rows(as_admin_a):
    from tests.imports.helpers import form_errors

    data = csv_bytes([DEVICE_HEADER] + [[f"T{i}", "Default Team", "", ""] for i in range(1001)])
    before = snapshot()
    errors = form_errors(upload(as_admin_a, "devices", data))
    assert errors == ["The file has more than 1,000 rows; import at most 1,000 devices at a time (split the file)."]
    assert snapshot() == before
