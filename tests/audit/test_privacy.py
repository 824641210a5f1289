"""
The trail stays readable after the people and things it names are gone:
names are text copies (actor_label, summary, changes), never looked up again.
"""

from backoffice.audit.models import AuditEvent
from backoffice.devices.services import device_update
from backoffice.organization.services import employee_archive, employee_create, employee_update, team_delete
from backoffice.tenancy.choices import Role
from backoffice.tenancy.models import User
from backoffice.tenancy.scoping import company_scope
from backoffice.tenancy.services import user_deactivate
from tests.audit.conftest import change
from tests.factories import make_user


def _trail(company) -> list[tuple]:
    with company_scope(company):
        return list(
            AuditEvent.objects.exclude(action="company.created")
            .order_by("pk")
            .values_list("action", "actor_id", "actor_label", "summary", "changes")
        )


def test_an_archived_employees_name_stays_on_the_trail(company_a, admin_a, downtown, fleet):
    with company_scope(company_a):
        ana = employee_create(acting_user=admin_a, name="Ana Alvarez", email="ana@a.example", team=downtown)
        employee_update(acting_user=admin_a, employee=ana, name="Ana Alvarez", email="ana@a.example", team=fleet)
        employee_archive(acting_user=admin_a, employee=ana)
    admin = ("admin@a.example",)
    assert [row[:1] + row[2:] for row in _trail(company_a)] == [
        (
            "employee.created",
            *admin,
            "Employee Ana Alvarez added to Downtown",
            [
                change("Name", "(none)", "Ana Alvarez"),
                change("Email", "(none)", "ana@a.example"),
                change("Team", "(none)", "Downtown"),
            ],
        ),
        ("employee.updated", *admin, "Employee Ana Alvarez changed", [change("Team", "Downtown", "Fleet Services")]),
        ("employee.archived", *admin, "Employee Ana Alvarez archived", [change("Active", "Yes", "No")]),
    ]


def test_a_deactivated_or_deleted_users_name_stays_on_the_trail(company_a, admin_a, van, fleet, downtown):
    editor = make_user(company_a, Role.ADMINISTRATOR, email="eve@a.example")
    with company_scope(company_a):
        device_update(
            device=van, acting_user=editor, team=fleet, license=van.license, nickname=van.nickname, description=""
        )
        user_deactivate(acting_user=admin_a, user=editor)
    [moved] = [row for row in _trail(company_a) if row[0] == "device.changed"]
    assert moved[1:3] == (editor.pk, "eve@a.example")

    # A user row removed from the database (no service does; an operator might)
    # and the team the device left, deleted once empty: the text stays.
    User.objects.filter(pk=editor.pk).delete()
    with company_scope(company_a):
        team_delete(acting_user=admin_a, team=downtown)
    [moved] = [row for row in _trail(company_a) if row[0] == "device.changed"]
    assert moved[1:] == (
        None,
        "eve@a.example",
        "Device Van 3 tablet changed",
        [
            change("Team", "Downtown", "Fleet Services"),
            change("Time Zone", "Team default (America/Chicago)", "Team default (America/Denver)"),
        ],
    )
    [deleted] = [row for row in _trail(company_a) if row[0] == "team.deleted"]
    assert deleted[3] == "Team Downtown deleted"
