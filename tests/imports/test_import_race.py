"""
PostgreSQL only: two imports of the same rows at once (threads released by a
barrier). Each email is saved once, the licenses of imported devices are
never taken twice, and each import has a clear outcome: what it saved, and
the rows it left out as "already exists" (or, all-or-nothing, a refusal).
"""

from collections import Counter

import pytest
from django.db import connection

from backoffice.devices.models import Device
from backoffice.imports.kinds import KINDS
from backoffice.imports.services import import_run, import_upload_create
from backoffice.organization.models import Employee
from backoffice.tenancy.scoping import company_scope
from tests.factories import LicenseFactory
from tests.imports.helpers import csv_bytes
from tests.racing import outcome_label, race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.postgres_only,
]

ROUNDS = 4
ROWS = 30
TAKEN = "Email: An active employee with this email already exists."


def _uploads(admin, kind, rows, count=2):
    data = csv_bytes(rows)
    return [
        import_upload_create(acting_user=admin, kind=KINDS[kind], filename="x.csv", data=data) for _ in range(count)
    ]


def test_two_imports_of_the_same_employees_save_each_email_once(company_a, admin_a, team_a):
    for n in range(ROUNDS):
        rows = [["Name", "Email", "Team"]] + [[f"P{n}-{i}", f"p{n}-{i}@a.example", "Alpha Team"] for i in range(ROWS)]
        first, second = _uploads(admin_a, "employees", rows)
        outcomes = race(
            *(
                lambda upload=upload: import_run(
                    acting_user=admin_a, kind=KINDS["employees"], upload=upload, all_or_nothing=False
                )
                for upload in (first, second)
            ),
            jitter=0.05,
        )
        assert all(isinstance(outcome, dict) for outcome in outcomes), [outcome_label(o) for o in outcomes]
        created = sorted(outcome["created"] for outcome in outcomes)
        assert sum(created) == ROWS
        for outcome in outcomes:
            assert outcome["left_out"] == ROWS - outcome["created"]
            assert all(row["problems"] == [TAKEN] for row in outcome["problems"])
        with company_scope(company_a):
            assert Employee.objects.filter(email__startswith=f"p{n}-").count() == ROWS


def test_two_all_or_nothing_imports_one_saves_the_other_is_refused(company_a, admin_a, team_a):
    seen: Counter = Counter()
    for n in range(ROUNDS):
        rows = [["Name", "Email", "Team"]] + [[f"Q{n}-{i}", f"q{n}-{i}@a.example", "Alpha Team"] for i in range(ROWS)]
        uploads = _uploads(admin_a, "employees", rows)
        outcomes = race(
            *(
                lambda upload=upload: import_run(
                    acting_user=admin_a, kind=KINDS["employees"], upload=upload, all_or_nothing=True
                )
                for upload in uploads
            ),
            jitter=0.05,
        )
        labels = sorted(outcome_label(outcome) for outcome in outcomes)
        seen.update(labels)
        assert labels == ["invalid:30 rows have problems: nothing was imported.", "ok"], labels
        with company_scope(company_a):
            assert Employee.objects.filter(email__startswith=f"q{n}-").count() == ROWS
    print(dict(seen))


def test_two_device_imports_never_take_the_same_license(company_a, admin_a, team_a):
    with company_scope(company_a):
        for _ in range(8):
            LicenseFactory(company=company_a)
    # 2 x 6 rows for 8 free licenses: 8 devices, each with its own license.
    batches = [
        [["Nickname", "Team"]] + [[f"{prefix}{i}", "Alpha Team"] for i in range(6)] for prefix in ("East ", "West ")
    ]
    uploads = [_uploads(admin_a, "devices", rows, count=1)[0] for rows in batches]
    outcomes = race(
        *(
            lambda upload=upload: import_run(
                acting_user=admin_a, kind=KINDS["devices"], upload=upload, all_or_nothing=False
            )
            for upload in uploads
        ),
        jitter=0.05,
    )
    assert all(isinstance(outcome, dict) for outcome in outcomes), [outcome_label(o) for o in outcomes]
    assert sum(outcome["created"] for outcome in outcomes) == 8
    with company_scope(company_a):
        licenses = list(Device.objects.values_list("license_id", flat=True))
    assert len(licenses) == 8
    assert len(set(licenses)) == 8
    left_out = [problem for outcome in outcomes for row in outcome["problems"] for problem in row["problems"]]
    assert left_out
    assert all(problem.startswith("License: no free license left") for problem in left_out)
